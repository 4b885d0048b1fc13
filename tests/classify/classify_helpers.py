"""Builders of classification snapshots with a fixed clock: shipped from 浙江 (杭州) unless told."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracker.classify import Parcel, RefundFacts, Scan, Snapshot

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 China time, two weeks after 双十一
H = timedelta(hours=1)
D = timedelta(days=1)


def ago(delta: timedelta) -> datetime:
    return NOW - delta


def parcel(status: str = "in_transit", *, first: timedelta | None = None, last: timedelta | None = None,
           text: str = "快件已到达【北京转运中心】", location: str = "北京转运中心", origin: str = "浙江省杭州市西湖区",
           waybill: str = "73100000000001", carrier: str | None = "zto", **fields) -> Parcel:
    """A parcel first scanned ``first`` ago at ``origin`` and last scanned ``last`` ago (status ``status``)."""
    scans = []
    if first is not None:
        scans.append(Scan(ago(first), origin, "【杭州市】快件已揽收", None, "picked_up"))
    if last is not None and last != first:
        scans.append(Scan(ago(last), location, text, fields.pop("raw_code", None), status))
    latest = scans[-1] if scans else None
    return Parcel(waybill, carrier, status, first_scan_at=ago(first) if first is not None else None,
                  last_event_at=latest.time if latest else None, last_event_text=latest.text if latest else None,
                  last_location=latest.location if latest else None, scans=tuple(scans), **fields)


def order(status: str = "shipped", *parcels: Parcel, paid: timedelta = 3 * D, shipped: timedelta | None = None,
          province: str = "北京市", refunds: tuple[RefundFacts, ...] = (), **fields) -> Snapshot:
    shipped_at = ago(shipped) if shipped is not None else (ago(paid - 6 * H) if parcels else None)
    return Snapshot("3900000000000007919", status, paid_at=ago(paid), shipped_at=shipped_at, province=province,
                    city=fields.pop("city", "北京市"), parcels=parcels, refunds=refunds, status_raw=fields.pop(
                        "status_raw", ""), **fields)
