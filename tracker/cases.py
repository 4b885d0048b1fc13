"""Exception cases: classify orders and keep one case per (order, kind) in step with the findings.

    which orders ─ full run: every order, by id range
                 ─ incremental: facts changed since the last run's start (orders.facts_changed_at,
                   shipments.updated_at, damage reports) + orders whose next_check_at has come
        ─► chunks of CHUNK orders, each one short transaction:
           plain SQL ─► snapshots (orders, active shipments, the scans that matter, refunds,
                        damage reports)                                   [load]
           classify.evaluate per order ─► findings, recheck time             [rules]
           diff with the stored cases ─► open · refresh · reopen · clear,
           case_events history, orders.next_check_at                      [write]
        ─► classify_runs row: the watermark of the next incremental run, counts, timings

Case lifecycle: a finding without a case opens one; an open (or in-progress) case is
refreshed when its evidence changes and cleared by itself when its finding is gone; a
case the system cleared reopens when the condition returns; a case an agent dismissed
or resolved reopens only when the facts behind it change (``facts_hash``).

Time alone can make a finding true (a shipping deadline passes with no new fact): every
evaluation says when its answer could change next (a deadline, a stall limit), and open
findings are looked at again after ``refresh_every`` so their ages stay current; that
time is ``orders.next_check_at``, and incremental runs pick up the orders it has reached.

Loading is set-based and lean: delivered parcels carry only the scans that could speak of
damage (a SQL prefilter on the damage words and the providers' damage codes); every other
parcel carries all its scans.  Sessions are not used: plain SQL on the caller's engine.
"""
from __future__ import annotations

import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text, update

from tracker.classify import DAMAGE_CODES, DAMAGE_MARKS, Evaluation, Parcel, RefundFacts, Scan, Snapshot, evaluate
from tracker.dbtypes import UTCDateTime
from tracker.models import CaseEvent, ClassifyRun, ExceptionCase, Order
from tracker.policy import Policy
from tracker.queue import refresh_case_facts

CHUNK = 20_000
OPEN = ("open", "in_progress")
AGENT_CLOSED = ("dismissed", "resolved")
DAMAGE_REPORT = "damage_reported"  # Action.code of an agent's damage report
CASES = ExceptionCase.__table__
CASE_EVENTS = CaseEvent.__table__
ORDERS = Order.__table__

ORDERS_SQL = """
SELECT o.id, o.platform_order_id, o.status, o.platform, o.status_raw, o.paid_at, o.ship_deadline, o.shipped_at,
       o.confirmed_at, o.province, o.city, o.buyer_message, o.seller_memo, o.requested_carriers,
       o.excluded_carriers, sh.origin_province, o.next_check_at
FROM orders o JOIN shops sh ON sh.id = o.shop_id WHERE {orders} ORDER BY o.id"""
SHIPMENTS_SQL = """
SELECT s.order_id, s.id, s.waybill, s.carrier, s.status, s.kind, s.incident, s.first_scan_at, s.last_event_at,
       s.last_event_text, s.last_location, s.delivered_at, s.created_at, s.eta
FROM shipments s WHERE s.superseded_at IS NULL AND {shipments} ORDER BY s.order_id, s.id"""
EVENTS_SQL = """
SELECT e.shipment_id, e.time, e.location, e.text, e.raw_code, e.status
FROM tracking_events e JOIN shipments s ON s.id = e.shipment_id
WHERE s.superseded_at IS NULL AND {shipments}
  AND ((s.delivered_at IS NULL AND s.status <> 'delivered') OR e.raw_code IN ({codes}) OR {damage_text})
ORDER BY e.shipment_id, e.time"""
REFUNDS_SQL = "SELECT r.order_id, r.status, r.reason, r.description FROM refunds r WHERE {refunds}"
REPORTS_SQL = "SELECT a.order_id, a.note FROM actions a WHERE a.code = :report AND {actions}"
CASES_SQL = ("SELECT c.id, c.order_id, c.kind, c.status, c.facts_hash, c.evidence_text, c.severity "
             "FROM exception_cases c WHERE {cases}")
# One test per scan text for "could it name damage?": a character class, per dialect.
DAMAGE_TEXT = {"sqlite": f"e.text GLOB '*[{DAMAGE_MARKS}]*'", "postgresql": f"e.text ~ '[{DAMAGE_MARKS}]'"}
CHANGED_SQL = """
SELECT id FROM orders WHERE facts_changed_at > :since
UNION SELECT id FROM orders WHERE next_check_at <= :now
UNION SELECT order_id FROM shipments WHERE updated_at > :since
UNION SELECT order_id FROM actions WHERE code = :report AND at > :since"""


@dataclass
class ClassifyReport:
    full: bool
    orders_seen: int = 0
    opened: Counter = field(default_factory=Counter)
    refreshed: Counter = field(default_factory=Counter)
    reopened: Counter = field(default_factory=Counter)
    cleared: Counter = field(default_factory=Counter)
    found: Counter = field(default_factory=Counter)  # findings of this run, per kind
    load_seconds: float = 0.0
    rules_seconds: float = 0.0
    write_seconds: float = 0.0


# ---------------------------------------------------------------- loading


def _time_reader(dialect: str) -> Callable[[object], datetime | None]:
    """SQLite hands back the UTC text UTCDateTime wrote; PostgreSQL an aware datetime."""
    if dialect == "sqlite":
        parse = datetime.fromisoformat
        return lambda v: parse(v + "+00:00") if v else None
    return lambda v: v.astimezone(UTC) if v else None


def _codes(value: str | None) -> tuple[str, ...]:
    return tuple(value.split(",")) if value else ()


class _Loader:
    """The snapshots of a set of orders, with plain SQL (no ORM objects, no type processing)."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.dialect = conn.dialect.name
        self.t = _time_reader(self.dialect)

    def _sql(self, template: str, where: Callable[[str], str], **params) -> list:
        sql = template.format(orders=where("o.id"), shipments=where("s.order_id"), refunds=where("r.order_id"),
                              actions=where("a.order_id"), cases=where("c.order_id"),
                              codes=", ".join(f"'{c}'" for c in sorted(DAMAGE_CODES)),
                              damage_text=DAMAGE_TEXT[self.dialect])
        statement = text(sql)
        if "ids" in params:
            statement = statement.bindparams(bindparam("ids", expanding=True))
        return self.conn.execute(statement, params).all()

    def load(self, where: Callable[[str], str], **params) -> tuple[list[tuple[int, Snapshot, datetime | None]],
                                                                   list]:
        """[(order id, snapshot, stored next_check_at)], and the stored cases of those orders."""
        t = self.t
        scans: dict[int, list[Scan]] = defaultdict(list)
        for sid, at, loc, txt, code, status in self._sql(EVENTS_SQL, where, **params):
            scans[sid].append(Scan(t(at), loc, txt, code, status))
        parcels: dict[int, list[Parcel]] = defaultdict(list)
        for (oid, sid, waybill, carrier, status, kind, incident, first, last, last_text, last_loc, delivered,
             created, eta) in self._sql(SHIPMENTS_SQL, where, **params):
            parcels[oid].append(Parcel(waybill, carrier, status, kind, incident, t(first), t(last), last_text,
                                       last_loc, t(delivered), t(created), t(eta), tuple(scans.get(sid, ())), sid))
        refunds: dict[int, list[RefundFacts]] = defaultdict(list)
        for oid, status, reason, description in self._sql(REFUNDS_SQL, where, **params):
            refunds[oid].append(RefundFacts(status, reason, description))
        reports: dict[int, list[str]] = defaultdict(list)
        for oid, note in self._sql(REPORTS_SQL, where, report=DAMAGE_REPORT, **params):
            reports[oid].append(note or "客服登记破损")
        snapshots = []
        for (oid, pid, status, platform, raw, paid, deadline, shipped, confirmed, province, city, message, memo,
             requested, excluded, origin, next_check) in self._sql(ORDERS_SQL, where, **params):
            snapshots.append((oid, Snapshot(
                pid, status, platform, raw, t(paid), t(deadline), t(shipped), t(confirmed), province, city,
                message, memo, _codes(requested), _codes(excluded), origin, tuple(parcels.get(oid, ())),
                tuple(refunds.get(oid, ())), tuple(reports.get(oid, ())), oid), t(next_check)))
        return snapshots, self._sql(CASES_SQL, where, **params)


def _id_range(lo: int, hi: int) -> Callable[[str], str]:
    return lambda column: f"{column} BETWEEN {lo} AND {hi}"


def _id_list(column: str) -> str:
    return f"{column} IN :ids"


# ---------------------------------------------------------------- the case diff


@dataclass
class _Writes:
    inserts: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    clears: list[dict] = field(default_factory=list)
    events: list[tuple[int | None, tuple[int, str], str, str]] = field(default_factory=list)  # id | key
    next_checks: list[dict] = field(default_factory=list)


def _diff(order_id: int, ev: Evaluation, stored: list, now: datetime, report: ClassifyReport,
          writes: _Writes) -> None:
    by_kind = {row[2]: row for row in stored}
    for f in ev.findings:
        report.found[f.kind] += 1
        row = by_kind.pop(f.kind, None)
        values = {"severity": f.severity, "evidence": f.evidence, "evidence_text": f.text,
                  "facts_hash": f.facts_hash, "deadline": f.deadline, "shipment_id": f.shipment_id,
                  "refines": f.refines, "updated_at": now}
        if row is None:
            writes.inserts.append({"order_id": order_id, "kind": f.kind, "status": "open", "detected_at": now,
                                   **values})
            writes.events.append((None, (order_id, f.kind), "opened", f.text))
            report.opened[f.kind] += 1
            continue
        case_id, _oid, _kind, status, facts_hash, old_text, _sev = row
        if status in OPEN:
            if old_text != f.text or facts_hash != f.facts_hash:
                writes.updates.append({"case_id": case_id, "status": status, "closed_at": None,
                                       "close_reason": None, **values})
                if facts_hash != f.facts_hash:
                    writes.events.append((case_id, (order_id, f.kind), "refreshed", f.text))
                report.refreshed[f.kind] += 1
        elif status == "cleared" or facts_hash != f.facts_hash:
            writes.updates.append({"case_id": case_id, "status": "open", "closed_at": None, "close_reason": None,
                                   **values})
            why = "condition returned" if status == "cleared" else f"facts changed after {status}"
            writes.events.append((case_id, (order_id, f.kind), "reopened", f"{why}: {f.text}"))
            report.reopened[f.kind] += 1
    for case_id, _oid, kind, status, *_rest in by_kind.values():
        if status in OPEN:
            writes.clears.append({"case_id": case_id, "status": "cleared", "closed_at": now,
                                  "close_reason": "条件已解除 · condition cleared", "updated_at": now})
            writes.events.append((case_id, (order_id, kind), "cleared", "条件已解除 · condition cleared"))
            report.cleared[kind] += 1


_UPDATE_CASE = (update(CASES).where(CASES.c.id == bindparam("case_id"))
                .values({c: bindparam(c) for c in ("status", "closed_at", "close_reason", "updated_at", "severity",
                                                    "evidence", "evidence_text", "facts_hash", "deadline",
                                                    "shipment_id", "refines")}))
_CLEAR_CASE = (update(CASES).where(CASES.c.id == bindparam("case_id"))
               .values({c: bindparam(c) for c in ("status", "closed_at", "close_reason", "updated_at")}))
_NEXT_CHECK = update(ORDERS).where(ORDERS.c.id == bindparam("order_id")).values(next_check_at=bindparam("at"))


def _write(conn: Connection, writes: _Writes, now: datetime) -> None:
    if writes.inserts:
        conn.execute(insert(CASES), writes.inserts)
    if writes.updates:
        conn.execute(_UPDATE_CASE, writes.updates)
    if writes.clears:
        conn.execute(_CLEAR_CASE, writes.clears)
    if writes.events:
        new_ids = {}
        if writes.inserts:
            keys = {(r["order_id"], r["kind"]) for r in writes.inserts}
            rows = conn.execute(select(CASES.c.id, CASES.c.order_id, CASES.c.kind)
                                .where(CASES.c.order_id.in_(sorted({k[0] for k in keys})))).all()
            new_ids = {(oid, kind): cid for cid, oid, kind in rows if (oid, kind) in keys}
        conn.execute(insert(CASE_EVENTS), [{"case_id": cid or new_ids[key], "at": now, "event": event, "detail": detail}
                                           for cid, key, event, detail in writes.events])
    if writes.next_checks:
        conn.execute(_NEXT_CHECK, writes.next_checks)


# ---------------------------------------------------------------- the run


def classify_orders(engine: Engine, policy: Policy, now: datetime, *, only_changed: bool = True,
                    refresh_every: timedelta = timedelta(hours=6), chunk: int = CHUNK) -> ClassifyReport:
    """Classify orders and bring their cases up to date; one short transaction per chunk.

    ``only_changed``: only orders whose facts changed since the last run started, or whose
    ``next_check_at`` has come (the first run, or ``False``, takes every order).
    ``refresh_every``: how soon an order with open findings is looked at again.
    """
    started = datetime.now(UTC)
    with engine.connect() as conn:
        since = conn.execute(select(func.max(ClassifyRun.started_at))).scalar() if only_changed else None
        if since is None:
            lo, hi = conn.execute(select(func.min(ORDERS.c.id), func.max(ORDERS.c.id))).one()
            chunks: Iterable[tuple[Callable[[str], str], dict]] = (
                (_id_range(a, min(a + chunk - 1, hi)), {}) for a in range(lo or 0, (hi or -1) + 1, chunk))
        else:
            changed = text(CHANGED_SQL).bindparams(bindparam("since", type_=UTCDateTime()),
                                                   bindparam("now", type_=UTCDateTime()))
            ids = sorted(conn.execute(changed, {"since": since, "now": now, "report": DAMAGE_REPORT}).scalars())
            chunks = ((_id_list, {"ids": ids[i:i + chunk]}) for i in range(0, len(ids), chunk))
    report = ClassifyReport(full=since is None)
    for where, params in chunks:
        with engine.begin() as conn:
            _run_chunk(conn, where, params, policy, now, refresh_every, report)
    with engine.begin() as conn:
        conn.execute(insert(ClassifyRun.__table__).values(
            started_at=started, finished_at=datetime.now(UTC), now=now, full=report.full,
            orders_seen=report.orders_seen, opened=report.opened.total(), refreshed=report.refreshed.total(),
            reopened=report.reopened.total(), cleared=report.cleared.total(), load_seconds=report.load_seconds,
            rules_seconds=report.rules_seconds, write_seconds=report.write_seconds))
    return report


def _run_chunk(conn: Connection, where: Callable[[str], str], params: dict, policy: Policy, now: datetime,
               refresh_every: timedelta, report: ClassifyReport) -> None:
    t0 = clock.perf_counter()
    snapshots, stored_rows = _Loader(conn).load(where, **params)
    t1 = clock.perf_counter()
    evaluations = [(oid, evaluate(s, policy, now), checked) for oid, s, checked in snapshots]
    t2 = clock.perf_counter()
    stored: dict[int, list] = defaultdict(list)
    for row in stored_rows:
        stored[row[1]].append(row)
    writes = _Writes()
    refresh_at = now + refresh_every
    for oid, ev, checked in evaluations:
        if ev.findings or oid in stored:
            _diff(oid, ev, stored.get(oid, []), now, report, writes)
        due = ev.recheck_at
        if ev.findings:
            due = refresh_at if due is None else min(due, refresh_at)
        if due != checked:
            writes.next_checks.append({"order_id": oid, "at": due})
    _write(conn, writes, now)
    with_cases = [oid for oid, ev, _checked in evaluations if ev.findings or oid in stored]
    if with_cases:
        refresh_case_facts(conn, with_cases)  # the queue filters on these copies
    report.orders_seen += len(snapshots)
    report.load_seconds += t1 - t0
    report.rules_seconds += t2 - t1
    report.write_seconds += clock.perf_counter() - t2


def history(conn: Connection, case_id: int) -> list[tuple[datetime, str, str | None]]:
    """A case's history, oldest first: (when, event, detail)."""
    rows = conn.execute(select(CASE_EVENTS.c.at, CASE_EVENTS.c.event, CASE_EVENTS.c.detail)
                        .where(CASE_EVENTS.c.case_id == case_id).order_by(CASE_EVENTS.c.id))
    return [tuple(r) for r in rows]

