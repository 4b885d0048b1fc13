"""``tracker exceptions``: the case list as CSV, JSON or XLSX, one row per case.

    exception_cases ⋈ orders ⋈ shops, active waybills, the buyer's contacts
        ─► rows (COLUMNS) with the playbook's action codes ─► WRITERS[format]

Columns, exactly: order_id (the platform's order id), shop, waybills, carrier, kind,
status, severity, detected_at, evidence (the readable Chinese text), actions (codes).
Times are China time: ISO 8601 with ``+08:00`` in CSV and JSON, a date-time cell
(``yyyy-mm-dd hh:mm:ss``, Asia/Shanghai) in XLSX.  Ids stay text everywhere.  In JSON
``waybills`` and ``actions`` are lists; CSV and XLSX join them with commas.
"""
from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import timedelta, timezone
from pathlib import Path
from typing import IO

import openpyxl
from sqlalchemy import Connection, select

from tracker.models import CustomerContact, ExceptionCase, Order, Shipment, Shop
from tracker.playbook import Contact, action_codes
from tracker.policy import Policy

COLUMNS = ("order_id", "shop", "waybills", "carrier", "kind", "status", "severity", "detected_at", "evidence",
           "actions")
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def case_rows(conn: Connection, policy: Policy, *, kind: str | None = None,
              status: str | None = None) -> list[dict]:
    """One dict per case (keys: COLUMNS), most severe first; lists for waybills and actions."""
    c, o = ExceptionCase.__table__.c, Order.__table__.c
    query = (select(c.order_id, o.platform_order_id, Shop.__table__.c.name, c.shipment_id, c.kind, c.status,
                    c.severity, c.detected_at, c.evidence, c.evidence_text)
             .select_from(ExceptionCase.__table__.join(Order.__table__).join(Shop.__table__))
             .order_by(c.severity.desc(), c.detected_at, c.id))
    if kind:
        query = query.where(c.kind == kind)
    if status:
        query = query.where(c.status == status)
    cases = conn.execute(query).all()
    order_ids = sorted({r.order_id for r in cases})
    parcels: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
    contacts: dict[int, list[Contact]] = defaultdict(list)
    s, cc = Shipment.__table__.c, CustomerContact.__table__.c
    for start in range(0, len(order_ids), 5000):
        ids = order_ids[start:start + 5000]
        for oid, sid, waybill, carrier in conn.execute(
                select(s.order_id, s.id, s.waybill, s.carrier).where(s.order_id.in_(ids), s.superseded_at.is_(None),
                                                                     s.kind != "return").order_by(s.id)):
            parcels[oid].append((sid, waybill, carrier))
        for oid, code, outcome in conn.execute(select(cc.order_id, cc.reply_code, cc.outcome)
                                               .where(cc.order_id.in_(ids)).order_by(cc.at)):
            contacts[oid].append(Contact(code, outcome))
    rows = []
    for r in cases:
        mine = parcels.get(r.order_id, [])
        carrier = next((p[2] for p in mine if p[0] == r.shipment_id), mine[0][2] if mine else None)
        rows.append({
            "order_id": r.platform_order_id, "shop": r.name, "waybills": [p[1] for p in mine], "carrier": carrier,
            "kind": r.kind, "status": r.status, "severity": r.severity,
            "detected_at": r.detected_at.astimezone(CHINA_TZ), "evidence": r.evidence_text or "",
            "actions": action_codes(r.kind, r.evidence or {}, contacts.get(r.order_id, []), policy),
        })
    return rows


def _flat(row: Mapping) -> dict:
    return {**row, "waybills": ",".join(row["waybills"]), "actions": ",".join(row["actions"]),
            "detected_at": row["detected_at"].isoformat(timespec="seconds"), "carrier": row["carrier"] or ""}


def write_csv(rows: list[dict], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_flat(r) for r in rows)


def write_json(rows: list[dict], out: IO[str]) -> None:
    json.dump([{**r, "detected_at": r["detected_at"].isoformat(timespec="seconds")} for r in rows], out,
              ensure_ascii=False, indent=1)
    out.write("\n")


def write_xlsx(rows: list[dict], path: Path) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("异常 exceptions")
    sheet.append(list(COLUMNS))
    for r in rows:
        flat = _flat(r)
        cells = [flat[c] for c in COLUMNS]
        cells[COLUMNS.index("detected_at")] = r["detected_at"].replace(tzinfo=None)
        sheet.append(cells)
    book.save(path)


TEXT_WRITERS: Mapping[str, Callable[[list[dict], IO[str]], None]] = {"csv": write_csv, "json": write_json}
FORMATS = ("csv", "json", "xlsx")
