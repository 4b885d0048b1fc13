"""拼多多 (PDD) 订单导出: one row per order, separate 省/市/区 columns.

PDD puts tab characters in cells to keep Excel from reformatting them; the shared
cleaning drops them.  Sources: domain notes §1.3 (several parsers agree).
"""
from __future__ import annotations

from .formats import Format

COLUMNS = {
    "订单号": "platform_order_id",
    "订单状态": "status",
    "售后状态": "after_sale_status",
    "商品": "item_summary",
    "商品名称": "item_summary",
    "商品数量(件)": "item_count",
    "商品总价(元)": "total_amount",
    "邮费(元)": "postage",
    "用户实付金额(元)": "paid_amount",
    "订单成交时间": "created_at",
    "支付时间": "paid_at",
    "承诺发货时间": "ship_deadline",
    "发货时间": "shipped_at",
    "确认收货时间": "confirmed_at",
    "商家备注": "seller_memo",
    "买家留言": "buyer_message",
    "快递单号": "waybill",
    "快递公司": "carrier",
    "收货人": "receiver_name",
    "手机": "receiver_phone",
    "收货人手机号": "receiver_phone",
    "省": "province",
    "市": "city",
    "区": "district",
    "详细地址": "receiver_address",
    "店铺名称": "shop_name",
}

SIGNATURE = ("订单号", "订单状态", "商品|商品名称", "快递单号")

STATUSES = {
    "待支付": "awaiting_payment",
    "待发货": "awaiting_shipment",
    "已取消": "closed",
    "交易关闭": "closed",
    "未发货，退款成功": "closed",
    "未发货退款成功": "closed",
    "已发货，待签收": "shipped",
    "已发货，待收货": "shipped",
    "已签收": "finished",  # PDD counts the order as received
    "已收货": "finished",
    "交易成功": "finished",  # the wording of some exports and of the order detail page
    "已发货，退款成功": "closed",
    "已签收，退款成功": "closed",
}

FORMAT = Format("pdd_orders", "pdd", "orders", COLUMNS, SIGNATURE, STATUSES, title="拼多多订单导出")
