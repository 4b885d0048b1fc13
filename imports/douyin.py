"""抖店 (Douyin shop) 订单导出: one row per 子订单, with 主订单编号 as the parent.

The waybill comes in one 快递信息 cell ("中通快递 7312…", several separated by ; or ,);
some vintages have separate 快递公司 / 快递单号 columns.  Sources: domain notes §1.4
(two entities modelling the export) and a public sync tool that splits 快递信息.
"""
from __future__ import annotations

from .formats import Format

COLUMNS = {
    "子订单编号": "platform_order_id",
    "主订单编号": "parent_order_id",
    "订单状态": "status",
    "售后状态": "after_sale_status",
    "取消原因": "closed_reason",
    "选购商品": "item_summary",
    "商品数量": "item_count",
    "订单应付金额": "paid_amount",
    "运费": "postage",
    "收件人": "receiver_name",
    "收件人手机号": "receiver_phone",
    "省": "province",
    "市": "city",
    "区": "district",
    "详细地址": "receiver_address",
    "买家留言": "buyer_message",
    "商家备注": "seller_memo",
    "订单提交时间": "created_at",
    "支付完成时间": "paid_at",
    "承诺发货时间": "ship_deadline",
    "发货时间": "shipped_at",
    "订单完成时间": "confirmed_at",
    "快递信息": "express",
    "物流信息": "express",
    "快递单号": "waybill",
    "运单号": "waybill",
    "物流单号": "waybill",
    "快递公司": "carrier",
    "物流公司": "carrier",
}

SIGNATURE = ("主订单编号", "子订单编号", "选购商品")

STATUSES = {
    "待支付": "awaiting_payment",
    "待付款": "awaiting_payment",
    "已支付": "awaiting_shipment",  # paid, before the shop's confirmation (待确认)
    "待确认": "awaiting_shipment",
    "备货中": "awaiting_shipment",
    "待发货": "awaiting_shipment",
    "部分发货": "shipped",
    "已发货": "shipped",
    "已完成": "finished",
    "已关闭": "closed",
    "已取消": "closed",
}

FORMAT = Format("douyin_orders", "douyin", "orders", COLUMNS, SIGNATURE, STATUSES, title="抖店订单导出")
