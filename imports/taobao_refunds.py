"""Taobao/Tmall 退款报表 (refund export, from 千牛 退款管理): one row per refund.

Columns checked against a public importer that lists all 42 (订单编号, 退款编号,
支付宝交易号, 订单付款时间, … 退货物流单号, 退货物流公司, 买家退款原因 …) and a
second schema that agrees; newer files add 退款总额 and 退给买家金额.
"""
from __future__ import annotations

from .formats import Format

COLUMNS = {
    "退款编号": "refund_id",
    "订单编号": "platform_order_id",
    "退款状态": "status",
    "买家退款金额": "amount",
    "退给买家金额": "amount",
    "退款总额": "amount",
    "买家实际支付金额": "paid_amount",
    "买家退款原因": "reason",
    "买家退款说明": "description",
    "订单付款时间": "paid_at",
    "退款的申请时间": "requested_at",
    "超时时间": "timeout_at",
    "买家退货时间": "returned_at",
    "退款完结时间": "finished_at",
    "完结时间": "finished_at",
    "货物状态": "goods_status",
    "是否需要退货": "needs_return",
    "售中或售后": "after_sale_phase",
    "责任方": "responsible_party",
    "宝贝标题": "item_title",
    "退货物流单号": "return_waybill",
    "退货物流公司": "return_carrier",
}

SIGNATURE = ("退款编号", "订单编号", "退款状态")

STATUSES = {
    "买家已经申请退款，等待卖家同意": "requested",
    "卖家已经同意退款，等待买家退货": "awaiting_return",
    "买家已经退货，等待卖家确认收货": "returning",
    "卖家拒绝退款": "refused",
    "待买家修改": "refused",  # the seller refused; the buyer may amend the request
    "退款成功": "succeeded",
    "退款关闭": "closed",
}

FORMAT = Format("taobao_refunds", "taobao", "refunds", COLUMNS, SIGNATURE, STATUSES, title="淘宝/天猫退款报表")
