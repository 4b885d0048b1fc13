"""Regenerate the sample Taobao exports in this folder (deterministic).

    python tracker/samples/make_samples.py

Writes, as the seller centre does (GBK, CRLF, ``="…"`` ids, every quirk):
  ExportOrderList202611120930.csv        60 orders after 双十一: many provinces, every status,
                                         seven carriers, 发顺丰 / 不要中通 messages, multi-waybill cells
  ExportOrderDetailList202611120930.csv  their order lines (宝贝报表)
  ExportRefundList202611120930.csv       refunds on some of them (退款报表)
The writers live in tracker/demo/exportfiles.py, so samples, the demo and tests share one idea of the format.
"""
from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from the repository

from tracker.demo.exportfiles import (
    taobao_item_row,
    taobao_order_row,
    taobao_refund_row,
    write_taobao_items_csv,
    write_taobao_orders_csv,
    write_taobao_refunds_csv,
)

STAMP = "202611120930"
PLACES = [
    ("浙江省 杭州市 西湖区", "310000"), ("广东省 深圳市 南山区", "518000"), ("北京 北京市 朝阳区", "100000"),
    ("上海 上海市 浦东新区", "200120"), ("四川省 成都市 武侯区", "610041"), ("新疆维吾尔自治区 乌鲁木齐市 天山区", "830000"),
    ("西藏自治区 拉萨市 城关区", "850000"), ("海南省 海口市 美兰区", "570100"), ("黑龙江省 哈尔滨市 南岗区", "150000"),
    ("内蒙古自治区 呼和浩特市 新城区", "010010"), ("广西壮族自治区 南宁市 青秀区", "530000"), ("江苏省 南京市 鼓楼区", "210000"),
    ("湖北省 武汉市 洪山区", "430070"), ("云南省 昆明市 五华区", "650000"), ("甘肃省 兰州市 城关区", "730000"),
    ("山东省 青岛市 崂山区", "266100"), ("河南省 郑州市 金水区", "450000"), ("福建省 厦门市 思明区", "361000"),
]
CARRIERS = [("中通快递", "73{:012d}"), ("圆通速递", "YT{:013d}"), ("韵达快递", "43{:011d}"), ("申通快递", "77{:011d}"),
            ("顺丰速运", "SF{:013d}"), ("极兔速递", "JT{:013d}"), ("邮政快递包裹", "98{:011d}")]
STATUSES = (["卖家已发货，等待买家确认"] * 30 + ["交易成功"] * 12 + ["买家已付款，等待卖家发货"] * 10
            + ["交易关闭"] * 4 + ["等待买家付款"] * 2 + ["卖家已发货，等待买家确认收货并付款"] * 2)
MESSAGES = [""] * 6 + ["发顺丰", "不要中通", "加钱发顺丰", "韵达不到，发邮政", "请尽快发货", "中通的快递员态度好",
                       "不要发顺丰了，发中通就行", "别发圆通"]
ITEMS = [("加厚保暖羽绒服", "129.00"), ("羊毛围巾", "59.00"), ("加绒牛仔裤", "89.00"), ("保温杯 500ml", "49.90"),
         ("电热毯 双人", "159.00"), ("儿童棉鞋", "69.00")]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴霞"]


def build(rnd: random.Random):
    orders, items, refunds = [], [], []
    start = datetime(2026, 11, 11, 0, 0, 3)
    for i in range(60):
        order_id = str(4_183_650_000_000_000_000 + i * 1_000_003)
        status = STATUSES[i]
        created = start + timedelta(minutes=i * 7, seconds=rnd.randrange(60))
        paid = created + timedelta(seconds=rnd.randrange(5, 90)) if status != "等待买家付款" else None
        shipped = status.startswith("卖家已发货") or status == "交易成功"
        carrier, pattern = CARRIERS[i % len(CARRIERS)]
        waybill = pattern.format(20261111000 + i) if shipped else ""
        if shipped and i % 11 == 3:  # split shipment: two waybills in one cell
            waybill += "," + pattern.format(20261112000 + i)
        place, zip_code = PLACES[i % len(PLACES)]
        lines = [ITEMS[(i + k) % len(ITEMS)] for k in range(1 + (i % 5 == 0))]
        total = sum(float(price) for _title, price in lines)
        shipped_at = created + timedelta(hours=rnd.randrange(6, 40)) if shipped else None
        confirmed = shipped_at + timedelta(days=rnd.randrange(3, 10)) if status == "交易成功" else None
        orders.append(taobao_order_row(
            订单编号=order_id, 主订单编号=order_id, 买家会员名=f"tb{rnd.randrange(10**7, 10**8)}",
            买家应付货款=f"{total:.2f}", 总金额=f"{total:.2f}", 买家实际支付金额=f"{total:.2f}" if paid else "0.00",
            订单状态=status, 买家留言=MESSAGES[i % len(MESSAGES)], 收货人姓名=NAMES[i % len(NAMES)],
            收货地址=f"{place} 幸福路{rnd.randrange(1, 999)}号{rnd.randrange(1, 30)}幢({zip_code})",
            联系手机=f"1{rnd.choice('35789')}{rnd.randrange(10**8, 10**9)}",
            订单创建时间=f"{created:%Y-%m-%d %H:%M:%S}", 订单付款时间=f"{paid:%Y-%m-%d %H:%M:%S}" if paid else "",
            宝贝标题="，".join(t for t, _p in lines), 宝贝种类=str(len(lines)), 宝贝总数量=str(len(lines)),
            物流单号=waybill, 物流公司=carrier if shipped else "",
            订单备注="已核对地址" if i % 9 == 4 else ("只发邮政" if i % 13 == 6 else ""),
            订单关闭原因="买家不想买了" if status == "交易关闭" else "订单未关闭",
            发货时间=f"{shipped_at:%Y-%m-%d %H:%M:%S}" if shipped_at else "",
            确认收货时间=f"{confirmed:%Y-%m-%d %H:%M:%S}" if confirmed else "",
            退款金额=f"{total:.2f}" if status == "交易关闭" and paid else "0.00",
        ))
        for k, (title, price) in enumerate(lines):
            items.append(taobao_item_row(订单编号=order_id, 标题=title, 价格=price, 购买数量="1", 订单状态=status,
                                         商家编码=f"SKU-{(i + k) % len(ITEMS):03d}"))
        if i % 7 == 2 and paid:
            returned = i % 2 == 0
            refunds.append(taobao_refund_row(
                订单编号=order_id, 退款编号=str(155_000_000_000_000 + i), 买家实际支付金额=f"{total:.2f}",
                宝贝标题=lines[0][0], 买家退款金额=f"{total:.2f}", 是否需要退货="是" if returned else "否",
                订单付款时间=f"{paid:%Y-%m-%d %H:%M:%S}",
                退款的申请时间=f"{created + timedelta(days=5):%Y-%m-%d %H:%M:%S}",
                退款状态=["买家已经申请退款，等待卖家同意", "退款成功", "买家已经退货，等待卖家确认收货", "卖家拒绝退款"][i % 4],
                货物状态="已退货" if returned else "买家未收到货",
                买家退款原因=["物流一直未送达", "收到商品破损", "快递/物流一直未送到", "不想要了"][i % 4],
                退货物流单号=f"YT{9_000_000_000_000 + i}" if returned else "", 退货物流公司="圆通速递" if returned else "",
                发货物流信息=f"{carrier},{waybill.split(',')[0]}" if waybill else "",
            ))
    return orders, items, refunds


def main() -> None:
    orders, items, refunds = build(random.Random(2026))
    write_taobao_orders_csv(HERE / f"ExportOrderList{STAMP}.csv", orders)
    write_taobao_items_csv(HERE / f"ExportOrderDetailList{STAMP}.csv", items)
    write_taobao_refunds_csv(HERE / f"ExportRefundList{STAMP}.csv", refunds)
    print(f"wrote {len(orders)} orders, {len(items)} order lines, {len(refunds)} refunds to {HERE}")


if __name__ == "__main__":
    main()
