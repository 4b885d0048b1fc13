"""Taobao/Tmall 宝贝报表 (ExportOrderDetailList<yyyyMMddHHmm>.csv): one row per order line.

Exported as a pair with the 订单报表 and joined on 订单编号.  Newer vintages add
子订单编号, 主订单编号, 退款状态 and amounts.  Sources: domain notes §1.1.
"""
from __future__ import annotations

from .formats import Format

COLUMNS = {
    "订单编号": "platform_order_id",
    "主订单编号": "platform_order_id",
    "子订单编号": "sub_order_id",
    "标题": "title",
    "宝贝标题": "title",
    "商品标题": "title",
    "价格": "price",
    "购买数量": "quantity",
    "宝贝数量": "quantity",
    "商品属性": "sku",
    "颜色/尺码": "sku",
    "商家编码": "outer_id",
    "订单状态": "status",
    "退款状态": "refund_status",
    "退款金额": "refund_amount",
    "买家实际支付金额": "paid_amount",
    "买家实付金额": "paid_amount",
}

SIGNATURE = ("订单编号|主订单编号", "购买数量|宝贝数量", "标题|宝贝标题|商品标题")

FORMAT = Format("taobao_items", "taobao", "items", COLUMNS, SIGNATURE, title="淘宝/天猫宝贝报表")
