"""The urge list (催件单): the spreadsheet a courier's outlet (网点) works through when a shop
asks it to chase parcels.

    queue rows (tracker.queue.QueueRow) ─► lines(): one line per parcel, from its most severe
        case; cases without a waybill (not shipped yet) have nothing to urge and are left out
    ─► workbook(): xlsx, one sheet per carrier (each outlet gets its own), columns COLUMNS
    ─► record(): one ``urge_courier`` action per order, in the caller's transaction

The sheet is written for the outlet, in Chinese whatever the agent's language.  Ids (waybill,
order number) are text cells, so a spreadsheet never shows 7.8E+13; times are China time.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from io import BytesIO

import openpyxl
from openpyxl.styles import Font
from sqlalchemy import Connection, insert

from couriers import carriers
from tracker.classify import KINDS
from tracker.models import Action
from tracker.queue import QueueRow

COLUMNS = ("运单号", "快递公司", "收件城市", "问题", "要求", "订单号", "最后轨迹", "最后更新时间")
WIDTHS = (20, 10, 16, 48, 22, 22, 48, 17)
TEXT_COLUMNS = (0, 5)  # waybill, order number
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
EVIDENCE_CHARS = 60
ACTION_CODE = "urge_courier"
# What the shop asks the outlet to do, per kind of problem.
REQUESTS = {
    "stalled": "请尽快派送",
    "lost": "请核实去向并回复",
    "no_tracking": "请核实是否已揽收并回复",
    "reship_not_moving": "请核实是否已揽收并回复",
    "auto_confirmed_undelivered": "请尽快派送",
    "auto_confirm_soon": "请尽快派送",
    "pickup_uncollected": "请联系收件人取件或送货上门",
    "failed_delivery": "请联系收件人再次派送",
    "refused": "请安排退回",
    "returned": "请尽快退回并告知退回单号",
    "damaged": "请核实破损情况并回复",
    "wrong_carrier": "请确认能否派送到收件地址并回复",
}
DEFAULT_REQUEST = "请核实去向并回复"
OTHER_CARRIER = "其他快递"


@dataclass(frozen=True, slots=True)
class UrgeLine:
    case_id: int
    order_id: int
    shipment_id: int | None
    waybill: str
    carrier: str  # the carrier's Chinese name
    city: str
    problem: str
    request: str
    platform_order_id: str
    last_event: str
    last_event_at: datetime | None


def _carrier_name(code: str | None) -> str:
    try:
        return carriers.get(code).name if code else OTHER_CARRIER
    except carriers.UnknownCarrier:
        return code


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS - 1] + "…"


def _city(row: QueueRow) -> str:
    parts = [p for p in (row.province, row.city) if p]
    return " ".join(dict.fromkeys(parts))  # 上海市 上海市 ─► 上海市


def _last_event(row: QueueRow) -> str:
    text = row.last_event_text or ""
    if row.last_location and row.last_location not in text:
        return f"【{row.last_location}】{text}"
    return text


def lines(rows: Iterable[QueueRow]) -> list[UrgeLine]:
    """One line per parcel with a waybill, from its most severe case, in the rows' order."""
    chosen: dict[str, QueueRow] = {}
    for row in rows:
        if row.waybill and (row.waybill not in chosen or row.severity > chosen[row.waybill].severity):
            chosen[row.waybill] = row
    out = []
    for row in chosen.values():
        name = KINDS[row.kind].name if row.kind in KINDS else row.kind
        problem = f"{name}：{_short(row.evidence_text)}" if row.evidence_text else name
        out.append(UrgeLine(case_id=row.id, order_id=row.order_id, shipment_id=row.shipment_id, waybill=row.waybill,
                            carrier=_carrier_name(row.carrier), city=_city(row), problem=problem,
                            request=REQUESTS.get(row.kind, DEFAULT_REQUEST), platform_order_id=row.platform_order_id,
                            last_event=_last_event(row), last_event_at=row.last_event_at))
    return out


def workbook(found: list[UrgeLine]) -> bytes:
    """The xlsx: a sheet per carrier, in the order the carriers first appear."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for name in dict.fromkeys(line.carrier for line in found):
        sheet = book.create_sheet(name[:31])
        sheet.append(list(COLUMNS))
        for cell in sheet[1]:
            cell.font = bold
        for line in (x for x in found if x.carrier == name):
            when = line.last_event_at.astimezone(CHINA_TZ).replace(tzinfo=None) if line.last_event_at else None
            sheet.append([line.waybill, line.carrier, line.city, line.problem, line.request, line.platform_order_id,
                          line.last_event, when])
            row = sheet.max_row
            for col in TEXT_COLUMNS:
                sheet.cell(row, col + 1).number_format = "@"
            sheet.cell(row, len(COLUMNS)).number_format = "yyyy-mm-dd hh:mm"
        for i, width in enumerate(WIDTHS):
            sheet.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = width
        sheet.freeze_panes = "A2"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def record(conn: Connection, found: list[UrgeLine], *, user_id: int | None, now: datetime) -> int:
    """One ``urge_courier`` action per order (naming its waybills); returns how many."""
    by_order: dict[int, list[UrgeLine]] = {}
    for line in found:
        by_order.setdefault(line.order_id, []).append(line)
    if by_order:
        conn.execute(insert(Action.__table__), [
            {"order_id": order_id, "case_id": mine[0].case_id, "shipment_id": mine[0].shipment_id,
             "code": ACTION_CODE, "user_id": user_id, "at": now,
             "note": "催件单：" + "；".join(f"{line.waybill} {line.request}" for line in mine)}
            for order_id, mine in by_order.items()])
    return len(by_order)
