"""京东 POP 订单导出: one row per order line (an order's lines are joined into one order).

Only a 2015-era layout is public (30 columns, no waybill column); 运单号 / 快递公司 or a
combined 物流信息 column are accepted as aliases but are unverified.  Addresses have no
spaces, so the province comes from the cpca fall-back.  Sources: domain notes §1.2.
"""
from __future__ import annotations

from .formats import Format

COLUMNS = {
    "订单号": "platform_order_id",
    "订单状态": "status",
    "商品名称": "item_summary",
    "订购数量": "item_count",
    "订单金额": "total_amount",
    "应付金额": "paid_amount",
    "运费金额": "postage",
    "下单帐号": "buyer_nick",
    "下单账号": "buyer_nick",
    "客户姓名": "receiver_name",
    "客户地址": "receiver_address",
    "联系电话": "receiver_phone",
    "订单备注": "buyer_message",
    "商家备注": "seller_memo",
    "下单时间": "created_at",
    "付款确认时间": "paid_at",
    "出库时间": "shipped_at",
    "发货时间": "shipped_at",
    "订单完成时间": "confirmed_at",
    "运单号": "waybill",
    "快递单号": "waybill",
    "物流单号": "waybill",
    "快递公司": "carrier",
    "承运商": "carrier",
    "物流公司": "carrier",
    "物流信息": "express",
}

SIGNATURE = ("订单号", "订单状态", "客户姓名|客户地址")

# A leading tag such as "(删除)" is dropped before lookup (formats.status_key).
STATUSES = {
    "等待付款": "awaiting_payment",
    "等待出库": "awaiting_shipment",
    "锁定": "awaiting_shipment",  # paid, held (e.g. a pending cancel request): not shipped yet
    "已锁定": "awaiting_shipment",
    "等待发货": "awaiting_shipment",
    "暂停": "awaiting_shipment",
    "等待确认收货": "shipped",
    "完成": "finished",
    "已完成": "finished",
    "已取消": "closed",
    "取消": "closed",
}

FORMAT = Format("jd_orders", "jd", "orders", COLUMNS, SIGNATURE, STATUSES, title="京东订单导出", order_lines=True)
