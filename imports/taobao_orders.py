"""Taobao/Tmall 订单报表 (ExportOrderList<yyyyMMddHHmm>.csv / .xlsx): one row per order.

GBK CSV from the seller centre, or xlsx from 千牛 and re-saves.  Headers vary between
vintages (物流单号 / 运单号, 订单付款时间 / 买家付款时间), some carry a trailing space,
ids come as ``="…"``; the shared cleaning handles all of it.  Sources: domain notes §1.1.
"""
from __future__ import annotations

from .formats import Format

# Header alias → field; for one field the alias listed first wins.
COLUMNS = {
    "订单编号": "platform_order_id",
    "主订单编号": "parent_order_id",
    "店铺名称": "shop_name",
    "买家会员名": "buyer_nick",
    "买家会员昵称": "buyer_nick",
    "总金额": "total_amount",
    "买家应付邮费": "postage",
    "买家实际支付金额": "paid_amount",
    "买家实付金额": "paid_amount",
    "订单状态": "status",
    "买家留言": "buyer_message",
    "订单备注": "seller_memo",
    "商家备忘": "seller_memo",
    "卖家备注": "seller_memo",
    "收货人姓名": "receiver_name",
    "收货人": "receiver_name",
    "收货地址": "receiver_address",
    "运送方式": "shipping_method",
    "联系手机": "receiver_phone",
    "手机": "receiver_phone",
    "联系电话": "receiver_phone",
    "订单创建时间": "created_at",
    "买家下单时间": "created_at",
    "订单付款时间": "paid_at",
    "买家付款时间": "paid_at",
    "发货时间": "shipped_at",
    "确认收货时间": "confirmed_at",
    "宝贝标题": "item_summary",
    "宝贝总数量": "item_count",
    "物流单号": "waybill",
    "运单号": "waybill",
    "物流公司": "carrier",
    "订单关闭原因": "closed_reason",
    "退款金额": "refund_amount",
    "延迟发货自动赔付金额": "delay_compensation",
}

SIGNATURE = ("订单编号", "订单状态", "收货地址|收货人姓名|收货人")

# 订单状态 → vocabulary (domain notes §1.1: the API enum table, COD variants).
STATUSES = {
    "等待买家付款": "awaiting_payment",
    "没有创建支付宝交易": "awaiting_payment",
    "等待买家确认货到付款订单信息": "awaiting_payment",  # COD: the buyer has not confirmed yet
    "买家已付款，等待卖家发货": "awaiting_shipment",
    "卖家部分发货": "shipped",
    "卖家已发货，等待买家确认": "shipped",
    "卖家已发货，等待买家确认收货并付款": "shipped",  # COD on its way
    "买家已签收": "shipped",  # COD signed, trade not closed yet
    "交易成功": "finished",
    "交易关闭": "closed",
    "交易被淘宝关闭": "closed",
    "卖家已发货，等待买家确认收货": "shipped",  # the wording of some exports and ERPs
    # the API's names, which ERP exports of Taobao orders carry (domain notes §1.1)
    "WAIT_BUYER_PAY": "awaiting_payment",
    "TRADE_NO_CREATE_PAY": "awaiting_payment",
    "WAIT_SELLER_SEND_GOODS": "awaiting_shipment",
    "SELLER_CONSIGNED_PART": "shipped",
    "WAIT_BUYER_CONFIRM_GOODS": "shipped",
    "TRADE_BUYER_SIGNED": "shipped",
    "TRADE_FINISHED": "finished",
    "TRADE_CLOSED": "closed",
    "TRADE_CLOSED_BY_TAOBAO": "closed",
}

FORMAT = Format("taobao_orders", "taobao", "orders", COLUMNS, SIGNATURE, STATUSES, title="淘宝/天猫订单报表")
