"""Storing what a provider said about parcels: events once, shipment state, provider counters.

    (Tracked shipment, TrackingResult) pairs  ── from a poll or from a push
        ─► events: INSERT … ON CONFLICT (shipment_id, fingerprint) DO NOTHING, chunked
        ─► shipment: status, incident, last scan, carrier correction, next_poll_at (schedule)
           one executemany UPDATE per kind of outcome
        ─► provider_health: calls and unmapped codes counted

Set-based on purpose: per-object ORM work costs ~20 µs a row and the poller's target is
1,000 waybills a second end to end.  The caller owns the connection and its transaction
(habit 8); nothing here commits.  A re-poll or a push repeating known scans adds nothing:
the fingerprint is the scan's time and text, which both providers repeat verbatim.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from couriers.base import ParcelStatus, PushResult, TrackingResult
from tracker import schedule
from tracker.models import Order, ProviderHealth, Shipment, Shop, TrackingEvent

CHUNK = 2_000
SHIPMENTS = Shipment.__table__
EVENTS = TrackingEvent.__table__
HEALTH = ProviderHealth.__table__


@dataclass(frozen=True, slots=True)
class Tracked:
    """What the store and the schedule need to know about a shipment before an update."""

    id: int
    waybill: str
    carrier: str | None
    status: str
    first_scan_at: datetime | None
    last_event_at: datetime | None
    last_event_text: str | None
    last_location: str | None
    last_polled_at: datetime | None
    eta: datetime | None
    subscribed_at: datetime | None
    poll_count: int
    error_count: int
    error_since: datetime | None
    created_at: datetime
    kind: str
    phone: str | None
    shipped_at: datetime | None
    origin: str | None
    destination: str | None

    @property
    def shipped(self) -> datetime:
        """When this parcel left: a reship leaves when the agent registers it, not with the order."""
        if self.kind == "reship":
            return self.created_at
        return self.shipped_at or self.created_at

    def expected_arrival(self, policy: schedule.Policy) -> datetime:
        return self.eta or self.shipped + schedule.expected_transit(self.origin, self.destination, policy)


_s, _o, _sh = SHIPMENTS.c, Order.__table__.c, Shop.__table__.c
TRACKED = select(
    _s.id, _s.waybill, _s.carrier, _s.status, _s.first_scan_at, _s.last_event_at, _s.last_event_text,
    _s.last_location, _s.last_polled_at, _s.eta, _s.subscribed_at, _s.poll_count, _s.error_count,
    _s.error_since, _s.created_at, _s.kind,
    _o.receiver_phone, _o.shipped_at, _sh.origin_province, _o.province,
).select_from(SHIPMENTS.join(Order.__table__).join(Shop.__table__)).order_by(_s.next_poll_at, _s.id)


def load_tracked(conn: Connection, where: Any) -> list[Tracked]:
    """The shipments matching ``where`` (a clause on the shipments table), with their order facts."""
    return [Tracked(*row) for row in conn.execute(TRACKED.where(where))]


def fingerprint(time: datetime, text: str) -> str:
    return hashlib.blake2b(f"{time.isoformat()}|{text}".encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class Applied:
    events_added: int = 0
    delivered: int = 0
    done: int = 0
    unmapped: int = 0


def apply_results(conn: Connection, pairs: Sequence[tuple[Tracked, TrackingResult]], *, now: datetime,
                  policy: schedule.Policy, polled_by: str | None = None) -> Applied:
    """Store results: new events, the shipments' state and their next poll time.

    ``polled_by``: the lease owner when the results come from our queries (the poll counters
    move, errors clear, the lease is released, and a lease lost meanwhile skips the update);
    None for a push.
    """
    applied = Applied()
    applied.events_added = insert_events(conn, (
        _event_row(tracked.id, event, now) for tracked, result in pairs for event in result.events))
    rows = []
    for tracked, result in pairs:
        row = _state(tracked, result, now, policy, polled=polled_by is not None)
        applied.done += row["done"]
        applied.delivered += row["status"] == ParcelStatus.DELIVERED
        applied.unmapped += result.unmapped
        rows.append(row)
    update_shipments(conn, rows, owner=polled_by)
    return applied


def _event_row(shipment_id: int, event, now: datetime) -> dict:
    return {"shipment_id": shipment_id, "time": event.time, "location": event.location[:128] or None,
            "text": event.text, "raw_code": event.raw_code[:16] or None, "status": event.status.value,
            "fingerprint": fingerprint(event.time, event.text), "received_at": now}


def _state(tracked: Tracked, result: TrackingResult, now: datetime, policy: schedule.Policy,
           polled: bool) -> dict:
    status = result.status.value
    events = result.events
    latest = events[-1] if events else None
    last_at, last_text, last_place = tracked.last_event_at, tracked.last_event_text, tracked.last_location
    if latest is not None and (last_at is None or latest.time >= last_at):
        last_at, last_text, last_place = latest.time, latest.text, latest.location[:128] or None
    first_scan = min((t for t in (tracked.first_scan_at, events[0].time if events else None) if t), default=None)
    done = status in schedule.FINAL
    delivered_at = None
    if status == ParcelStatus.DELIVERED:
        delivered_at = next((e.time for e in events if e.status == ParcelStatus.DELIVERED), last_at or now)
    carrier, note = tracked.carrier, {}
    if result.carrier_correction and result.carrier_correction != tracked.carrier:
        carrier = result.carrier_correction
        note = {"carrier_note": f"{result.provider}: carrier is {carrier}, not {tracked.carrier}"[:255]}
    eta = result.eta or tracked.eta
    polled_fields = polled_fields_of(tracked, now) if polled else {}
    next_at = None if done else schedule.next_poll_at(
        status, now=now, shipped_at=tracked.shipped, first_scan_at=first_scan, last_event_at=last_at,
        last_polled_at=now if polled else tracked.last_polled_at,
        expected_arrival=eta or tracked.expected_arrival(policy), pushed=tracked.subscribed_at is not None,
        policy=policy)
    return {"id": tracked.id, "status": status, "incident": result.incident.value if result.incident else None,
            "raw_state": result.raw_state[:16] or None, "first_scan_at": first_scan, "last_event_at": last_at,
            "last_event_text": last_text, "last_location": last_place, "delivered_at": delivered_at,
            "eta": eta, "done": done, "carrier": carrier, "next_poll_at": next_at, "updated_at": now, **note,
            **polled_fields}


def polled_fields_of(tracked: Tracked, now: datetime) -> dict:
    """A query the provider answered: counters move, errors clear, the lease is released."""
    return {"last_polled_at": now, "poll_count": tracked.poll_count + 1, "last_error": None, "error_count": 0,
            "error_since": None, "lease_owner": None, "lease_until": None}


def insert_events(conn: Connection, rows: Iterable[dict]) -> int:
    """Insert events, skipping those already stored; returns how many were new."""
    stmt = dialect_insert(conn, EVENTS).on_conflict_do_nothing(
        index_elements=["shipment_id", "fingerprint"]).returning(EVENTS.c.id)
    added = 0
    for chunk in chunks(rows, CHUNK):
        added += len(conn.execute(stmt, chunk).all())
    return added


def update_shipments(conn: Connection, rows: Sequence[dict], *, owner: str | None = None) -> None:
    """Executemany UPDATEs by id, one per set of columns (rows are dicts with ``id``);
    ``owner``: only rows this poller still holds the lease of (a lost lease skips the row)."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(k for k in row if k != "id")), []).append(row)
    for columns, group in groups.items():
        stmt = update(SHIPMENTS).where(SHIPMENTS.c.id == bindparam("b_id"))
        if owner is not None:
            stmt = stmt.where(SHIPMENTS.c.lease_owner == owner)
        stmt = stmt.values({c: bindparam(f"b_{c}") for c in columns})
        for chunk in chunks(({f"b_{k}": v for k, v in row.items()} for row in group), CHUNK):
            conn.execute(stmt, chunk)


def count_provider(conn: Connection, provider: str, *, calls: int = 0, unmapped: int = 0,
                   values: Mapping[str, Any] | None = None) -> None:
    """Add to a provider's counters and set ``values`` on its health row (created if missing)."""
    conn.execute(dialect_insert(conn, HEALTH).values(provider=provider, calls=0, unmapped_codes=0,
                                                      error_count=0).on_conflict_do_nothing())
    conn.execute(update(HEALTH).where(HEALTH.c.provider == provider).values(
        calls=HEALTH.c.calls + calls, unmapped_codes=HEALTH.c.unmapped_codes + unmapped, **(values or {})))


def dialect_insert(conn: Connection, table: Table):
    """The dialect's INSERT (PostgreSQL and SQLite both offer ON CONFLICT DO NOTHING)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def chunks(rows: Iterable[dict], size: int) -> Iterable[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(slots=True)
class PushStored:
    matched: int = 0
    unknown_waybills: int = 0
    events_added: int = 0
    resubscribe: int = 0


def store_push(conn: Connection, push: PushResult, *, provider: str, now: datetime,
               policy: schedule.Policy) -> PushStored:
    """A verified push: match each result to its shipment (waybill, then carrier), store it.

    An ``abort`` without a corrected company means the provider gave up on the waybill: the
    subscription is dropped and renewed no sooner than the lock window (Kuaidi100 asks ≥ 30 min).
    """
    stored = PushStored()
    waybills = {r.waybill for r in push.results}
    found: dict[str, list[Tracked]] = {}
    for tracked in load_tracked(conn, SHIPMENTS.c.waybill.in_(waybills) & SHIPMENTS.c.superseded_at.is_(None)):
        found.setdefault(tracked.waybill, []).append(tracked)
    pairs = []
    for result in push.results:
        candidates = found.get(result.waybill, [])
        named = [t for t in candidates if t.carrier in (result.carrier, result.carrier_correction)]
        matched = named or candidates
        stored.unknown_waybills += not matched
        pairs.extend((tracked, result) for tracked in matched)
    stored.matched = len(pairs)
    applied = apply_results(conn, pairs, now=now, policy=policy)
    stored.events_added = applied.events_added
    if push.resubscribe:
        update_shipments(conn, [{"id": t.id, "subscribed_at": None, "resubscribe_at": now + policy.lock}
                                for t, _result in pairs])
        stored.resubscribe = len(pairs)
    count_provider(conn, provider, unmapped=applied.unmapped)
    return stored
