"""The normalized records every export parser yields.

A parser turns one platform's rows into these plain values; the tracker's ingest
stores them.  Nothing here knows about a database.  Ids stay strings from the first
byte read, money is ``Decimal``, times are timezone-aware UTC ``datetime``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

# Order status vocabulary shared by every platform (the raw text is kept beside it).
# ``unknown`` is what an unmapped platform status becomes: counted and shown, never
# silently taken for one of the others.
ORDER_STATUSES = ("awaiting_payment", "awaiting_shipment", "shipped", "finished", "closed", "unknown")

# Refund status vocabulary (raw text kept beside it); ``unknown`` as above.
REFUND_STATUSES = ("requested", "awaiting_return", "returning", "refused", "succeeded", "closed", "unknown")


class ShipmentRef(NamedTuple):
    """One waybill named by an export.  ``carrier`` is our code or None if unknown.

    A named tuple: an import makes one per waybill, and a frozen dataclass cost 0.67 µs
    each to build against 0.3 µs."""

    waybill: str
    carrier: str | None
    carrier_raw: str = ""


@dataclass(slots=True)
class OrderRecord:
    row: int  # 1-based row number in the file, header included (what a spreadsheet shows)
    platform: str  # taobao | pdd | douyin | jd | custom
    platform_order_id: str
    status: str  # one of ORDER_STATUSES
    status_raw: str
    parent_order_id: str | None = None  # 主订单编号 when the export splits orders
    shop_name: str | None = None  # 店铺名称 when the export carries it
    buyer_nick: str | None = None
    receiver_name: str | None = None
    receiver_phone: str | None = None
    receiver_address: str | None = None
    province: str | None = None  # full official name, e.g. 浙江省
    city: str | None = None
    district: str | None = None
    buyer_message: str | None = None
    seller_memo: str | None = None
    requested_carriers: tuple[str, ...] = ()  # carriers the buyer/seller asked for
    excluded_carriers: tuple[str, ...] = ()  # carriers the buyer/seller ruled out
    item_summary: str | None = None
    item_count: int | None = None
    total_amount: Decimal | None = None  # goods + postage the buyer owed
    paid_amount: Decimal | None = None  # what the buyer actually paid
    postage: Decimal | None = None
    refund_amount: Decimal | None = None
    delay_compensation: Decimal | None = None  # 延迟发货自动赔付金额
    created_at: datetime | None = None
    paid_at: datetime | None = None
    ship_deadline: datetime | None = None  # 承诺发货时间 when the platform states it
    shipped_at: datetime | None = None
    confirmed_at: datetime | None = None  # 确认收货时间 (also auto-confirm)
    closed_reason: str | None = None
    after_sale_status: str | None = None  # raw 售后状态 text where the order export has it
    shipping_method: str | None = None  # 运送方式
    shipments: tuple[ShipmentRef, ...] = ()
    source_digest: str | None = None  # of the row as read (CSV bytes, xlsx cells): a cheap "did anything change?"


_ORDER_DEFAULTS = {f.name: f.default for f in fields(OrderRecord) if f.default is not MISSING}
# Fields derived from others (``imports.formats.derive_orders``): province, city and district
# from the address where the export has no province column; the carriers a buyer asked for
# or refused, from the buyer's message and the seller's memo.
LATER_FIELDS = frozenset({"province", "city", "district", "requested_carriers", "excluded_carriers"})


@dataclass(slots=True)
class OrderColumns:
    """A batch of order rows as columns (OrderRecord field → values, row by row).

    What a bulk writer wants: building an OrderRecord per row only to take it apart
    again cost more than converting the cells.  Absent fields take OrderRecord's defaults.
    """

    rows: list[int]
    values: dict[str, list]
    # What the other columns tell (``LATER_FIELDS``), derived when one of them is first read:
    # it cannot fail a row, so a bulk import leaves it to the process that writes.
    underived: Callable[[dict[str, list], int], None] | None = None

    def column(self, name: str) -> list:
        if name in LATER_FIELDS:
            self.derive()
        return self.given(name)

    def given(self, name: str) -> list:
        """The column as the parser made it (nothing derived)."""
        values = self.values.get(name)
        return values if values is not None else [_ORDER_DEFAULTS.get(name)] * len(self.rows)

    def derive(self) -> None:
        if self.underived is not None:
            underived, self.underived = self.underived, None
            underived(self.values, len(self.rows))

    @classmethod
    def of(cls, records: list[OrderRecord]) -> OrderColumns:
        return cls([r.row for r in records],
                   {f.name: [getattr(r, f.name) for r in records] for f in fields(OrderRecord)})


@dataclass(slots=True)
class ItemRecord:
    row: int
    platform: str
    platform_order_id: str
    title: str
    quantity: int = 1
    sub_order_id: str | None = None
    price: Decimal | None = None
    sku: str | None = None
    outer_id: str | None = None  # 商家编码
    status_raw: str | None = None
    refund_status: str | None = None
    refund_amount: Decimal | None = None
    paid_amount: Decimal | None = None


@dataclass(slots=True)
class RefundRecord:
    row: int
    platform: str
    refund_id: str
    platform_order_id: str
    status: str  # one of REFUND_STATUSES
    status_raw: str
    amount: Decimal | None = None  # 买家退款金额
    paid_amount: Decimal | None = None  # 买家实际支付金额
    reason: str | None = None  # 买家退款原因, e.g. 物流一直未送达
    description: str | None = None  # 买家退款说明
    requested_at: datetime | None = None
    finished_at: datetime | None = None
    paid_at: datetime | None = None  # 订单付款时间
    timeout_at: datetime | None = None  # 超时时间: when the current refund step times out
    returned_at: datetime | None = None  # 买家退货时间
    goods_status: str | None = None  # 货物状态: 买家未收到货 / 买家已收到货 / 已退货
    needs_return: bool | None = None
    after_sale_phase: str | None = None  # 售中 / 售后
    responsible_party: str | None = None  # 责任方
    item_title: str | None = None
    return_shipment: ShipmentRef | None = None  # 退货物流单号 + 公司
    source_digest: str | None = None  # of the row as read (CSV bytes, xlsx cells)


@dataclass(slots=True, frozen=True)
class RowError:
    row: int
    reason: str  # readable, Chinese first: "订单编号为空 (missing order id)"
    column: str | None = None
    value: str | None = None


@dataclass(slots=True, frozen=True)
class UnchangedRows:
    """A run of consecutive order rows whose raw cells are stored exactly so already:
    passed on unconverted, as one object (a re-import is mostly such rows, and an object
    per row cost more than the rest of its way through the parser)."""

    rows: list[int]
    keys: list[tuple[str, str | None, str]]  # (order id, shop name, raw digest) per row

    def __len__(self) -> int:
        return len(self.rows)


Record = OrderRecord | ItemRecord | RefundRecord


@dataclass(slots=True)
class ExportInfo:
    """What the reader learned about a file before the first record."""

    format: str  # e.g. taobao_orders, taobao_items, taobao_refunds, pdd_orders, douyin_orders, jd_orders, mapped
    platform: str
    kind: str  # orders | items | refunds
    encoding: str | None  # None for xlsx
    header_row: int
    columns: list[str] = field(default_factory=list)
    engine: str = "csv"  # csv | calamine | openpyxl: how the cells were read
    sheet: str | None = None  # xlsx: the sheet the records come from
    unmapped_columns: list[str] = field(default_factory=list)  # header cells no alias knows
