"""Exception cases: classify orders and keep one case per (order, kind) in step with the findings.

    which orders ─ full run: every order, by id range
                 ─ incremental: facts changed since the last run's start (orders.facts_changed_at,
                   shipments.updated_at, damage reports) + orders whose next_check_at has come
        ─► chunks of CHUNK orders:
           SQL: which of them may have a finding (classify.may_find)      [load]
           plain SQL ─► snapshots of those (orders, active shipments, the scans that matter,
                        refunds, damage reports)                          [load]
           classify.evaluate per order ─► findings, recheck time            [rules]
           diff with the stored cases ─► open · refresh · reopen · clear, case_events
           history, orders.next_check_at, the cases' queue copies            [write]
           (one short transaction per WRITE_EVERY orders: a few chunks)
        ─► classify_runs row: the watermark of the next incremental run, counts, timings

Case lifecycle: a finding without a case opens one; an open (or in-progress) case is
refreshed when its evidence changes and cleared by itself when its finding is gone; a
case the system cleared reopens when the condition returns; a case an agent dismissed
or resolved reopens only when the facts behind it change (``facts_hash``).

Time alone can make a finding true (a shipping deadline passes with no new fact): every
evaluation says when its answer could change next (a deadline, a stall limit), and open
findings are looked at again after ``refresh_every`` so their ages stay current; that
time is ``orders.next_check_at``, and incremental runs pick up the orders it has reached.

Quiet orders are neither loaded nor evaluated: most orders of a full run are delivered and
confirmed, with no refund, no carrier wish and no damage, and no rule can say
anything of them now or later (``classify.may_find`` states the condition beside the rules;
MAY_FIND_SQL and MARKED_SQL ask it in SQL, ``damage_cue`` reads the few scan texts that
could name damage).  Evaluated, they would give no finding and no recheck time: the writer
clears their open cases (as for any order of the chunk without a finding), and those with a
stored next_check_at are evaluated anyway, so that it is emptied.  Skipping them changes no
result.

Loading is set-based and lean: plain SQL on the driver's cursor (no ORM objects, no
SQLAlchemy result processing), times parsed by one C call; delivered parcels carry only the
scans that could speak of damage; every other parcel carries all its scans.

Large runs use both cores: a second interpreter (``python -m tracker.cases``, not a fork)
loads and evaluates chunks and sends the outcomes back over a pipe, while this process
writes them, and loads and evaluates chunks itself from the other end of the list whenever
nothing is waiting to be written.  Only this process writes.
"""
from __future__ import annotations

import json
import os
import pickle
import queue
import subprocess
import sys
import time as clock
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text

from tracker import triage
from tracker.bulk import few_collections
from tracker.childproc import ReadAhead, picklable, read_message, write_message
from tracker.classify import (
    DAMAGE_CODES,
    DAMAGE_MARKS,
    SETTLED,
    Finding,
    Parcel,
    RefundFacts,
    Scan,
    Snapshot,
    damage_cue,
    evaluate,
)
from tracker.dbtypes import UTCDateTime
from tracker.models import CaseEvent, ClassifyRun, ExceptionCase, Order
from tracker.policy import Policy
from tracker.queue import refresh_case_facts

CHUNK = 20_000
TWO_PROCESSES_FROM = 4  # chunks: below that, starting the second interpreter costs more than it saves
AHEAD = 5  # chunks handed to the second process before it asks for more
WRITE_EVERY = 100_000  # orders per write transaction (about a second of writing)
OPEN = ("open", "in_progress")
AGENT_CLOSED = ("dismissed", "resolved")
DAMAGE_REPORT = "damage_reported"  # Action.code of an agent's damage report
CASES = ExceptionCase.__table__
CASE_EVENTS = CaseEvent.__table__
ORDERS = Order.__table__

# The chunk's condition on each table's order id column is {o} {s} {r} {a} {c}: an id range
# (a full run) or a list of ids (an incremental run, and the orders left after MAY_FIND).
# SQLite hands times back as the UTC text UTCDateTime wrote: x{Z} appends the offset in SQL so
# that one C call (datetime.fromisoformat) makes the aware datetime.
ORDERS_SQL = """
SELECT o.id, o.platform_order_id, o.status, o.platform, o.status_raw, o.paid_at{Z}, o.ship_deadline{Z},
       o.shipped_at{Z}, o.confirmed_at{Z}, o.province, o.city, o.buyer_message, o.seller_memo,
       o.requested_carriers, o.excluded_carriers, sh.origin_province, o.next_check_at{Z}, o.shop_id
FROM orders o JOIN shops sh ON sh.id = o.shop_id WHERE {o} ORDER BY o.id"""
SHIPMENTS_SQL = """
SELECT s.order_id, s.id, s.waybill, s.carrier, s.status, s.kind, s.incident, s.first_scan_at{Z},
       s.last_event_at{Z}, s.last_event_text, s.last_location, s.delivered_at{Z}, s.created_at{Z}, s.eta{Z}
FROM shipments s WHERE s.superseded_at IS NULL AND {s} ORDER BY s.order_id, s.id"""
# Delivered parcels carry only the scans that could speak of damage (damage codes, a damage mark).
EVENTS_SQL = """
SELECT e.shipment_id, e.time{Z}, e.location, e.text, e.raw_code, e.status
FROM tracking_events e JOIN shipments s ON s.id = e.shipment_id
WHERE s.superseded_at IS NULL AND {s}
  AND ((s.delivered_at IS NULL AND s.status <> 'delivered') OR e.raw_code IN ({codes}) OR {marked})
ORDER BY e.shipment_id, e.time, e.id"""
REFUNDS_SQL = "SELECT r.order_id, r.status, r.reason, r.description FROM refunds r WHERE {r} ORDER BY r.id"
REPORTS_SQL = "SELECT a.order_id, a.note FROM actions a WHERE a.code = '{report}' AND {a} ORDER BY a.id"
CASES_SQL = ("SELECT c.id, c.order_id, c.kind, c.status, c.facts_hash, c.evidence_text, c.severity "
             "FROM exception_cases c WHERE {c}")
COUNT_SQL = "SELECT count(*) FROM orders o WHERE {o}"
# classify.may_find in SQL, but for scan texts: the orders that are not quiet, and those whose stored
# next_check_at must be emptied.  A parcel is "delivered" here by its columns only (a text-only
# delivery is not: the rules may read it).  Open cases need no evaluation to clear: the writer clears
# those of every order of the chunk without a finding.
MAY_FIND_SQL = """
SELECT o.id FROM orders o WHERE {o} AND (o.next_check_at IS NOT NULL OR (o.status NOT IN ({settled}) AND (
    o.status = 'awaiting_shipment' OR COALESCE(o.requested_carriers, '') <> ''
    OR COALESCE(o.excluded_carriers, '') <> '')))
UNION SELECT s.order_id FROM shipments s JOIN orders o ON o.id = s.order_id
WHERE {s} AND s.superseded_at IS NULL AND s.kind <> 'return' AND o.status NOT IN ({settled})
  AND ((s.delivered_at IS NULL AND s.status <> 'delivered') OR s.incident = 'damaged')
UNION SELECT r.order_id FROM refunds r JOIN orders o ON o.id = r.order_id
WHERE {r} AND r.status <> 'closed' AND o.status NOT IN ({settled})
UNION SELECT a.order_id FROM actions a JOIN orders o ON o.id = a.order_id
WHERE {a} AND a.code = '{report}' AND o.status NOT IN ({settled})"""
# ... and the scans of the parcels it calls delivered that may name damage: classify.damage_cue
# decides (most say "如有破损请当场拒收", which is not damage).
MARKED_SQL = """
SELECT s.order_id, e.raw_code, e.text FROM shipments s JOIN orders o ON o.id = s.order_id
JOIN tracking_events e ON e.shipment_id = s.id
WHERE {s} AND s.superseded_at IS NULL AND s.kind <> 'return' AND o.status NOT IN ({settled})
  AND NOT (s.delivered_at IS NULL AND s.status <> 'delivered') AND (e.raw_code IN ({codes}) OR {marked})"""
# "Could the scan text name damage?": every damage word has one of DAMAGE_MARKS.  SQLite: one
# instr() per mark beats a GLOB character class by ~30 %; PostgreSQL: one regular expression.
DAMAGE_TEXT = {"sqlite": "(" + " OR ".join(f"instr(e.text, '{m}')" for m in DAMAGE_MARKS) + ")",
               "postgresql": f"e.text ~ '[{DAMAGE_MARKS}]'"}
CHANGED_SQL = """
SELECT id FROM orders WHERE facts_changed_at > :since
UNION SELECT id FROM orders WHERE next_check_at <= :now
UNION SELECT order_id FROM shipments WHERE updated_at > :since
UNION SELECT order_id FROM actions WHERE code = :report AND at > :since"""


@dataclass
class ClassifyReport:
    full: bool
    orders_seen: int = 0  # the orders the run looked at: every order of a full run, or the changed and due
    orders_evaluated: int = 0  # those not quiet (classify.may_find), loaded and evaluated
    chunks: int = 0
    chunks_elsewhere: int = 0  # evaluated by the second process
    opened: Counter = field(default_factory=Counter)
    refreshed: Counter = field(default_factory=Counter)
    reopened: Counter = field(default_factory=Counter)
    cleared: Counter = field(default_factory=Counter)
    found: Counter = field(default_factory=Counter)  # findings of this run, per kind
    # seconds, summed over both processes when two evaluate (they overlap: more than the run's time)
    load_seconds: float = 0.0  # which orders may have findings, and their snapshots
    rules_seconds: float = 0.0
    write_seconds: float = 0.0


# ---------------------------------------------------------------- loading


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


@dataclass(frozen=True)
class _Where:
    """The chunk's orders: an id range or a list of ids, as SQL on each table and its parameters."""

    lo: int = 0
    hi: int = -1
    ids: tuple[int, ...] | None = None

    def sql(self, dialect: str) -> dict[str, str]:
        p = (lambda name: f":{name}") if dialect == "sqlite" else (lambda name: f"%({name})s")
        if self.ids is None:
            cond = f"{{}} BETWEEN {p('lo')} AND {p('hi')}"
        elif dialect == "sqlite":
            cond = f"{{}} IN (SELECT value FROM json_each({p('ids')}))"
        else:
            cond = f"{{}} = ANY({p('ids')})"
        return {t: cond.format(col) for t, col in (("o", "o.id"), ("s", "s.order_id"), ("r", "r.order_id"),
                                                    ("a", "a.order_id"), ("c", "c.order_id"))}

    def params(self, dialect: str) -> dict:
        if self.ids is None:
            return {"lo": self.lo, "hi": self.hi}
        return {"ids": json.dumps(self.ids) if dialect == "sqlite" else list(self.ids)}


class _Loader:
    """The snapshots of a chunk's orders, with plain SQL on the driver's cursor: no ORM objects,
    no SQLAlchemy result or type processing (they cost more than the queries)."""

    def __init__(self, conn: Connection):
        self.dialect = conn.dialect.name
        self.cursor = conn.connection.cursor()
        self.t = datetime.fromisoformat if self.dialect == "sqlite" else _utc
        self.fmt = {"Z": " || '+00:00'" if self.dialect == "sqlite" else "", "report": DAMAGE_REPORT,
                    "settled": ", ".join(f"'{s}'" for s in sorted(SETTLED)),
                    "codes": ", ".join(f"'{c}'" for c in sorted(DAMAGE_CODES)), "marked": DAMAGE_TEXT[self.dialect]}

    def rows(self, template: str, where: _Where) -> list:
        self.cursor.execute(template.format(**where.sql(self.dialect), **self.fmt), where.params(self.dialect))
        return self.cursor.fetchall()

    def count(self, where: _Where) -> int:
        return self.rows(COUNT_SQL, where)[0][0]

    def may_find(self, where: _Where) -> list[int]:
        """The chunk's orders that are not quiet (``classify.may_find``), in id order."""
        found = {row[0] for row in self.rows(MAY_FIND_SQL, where)}
        codes = DAMAGE_CODES
        for oid, code, txt in self.rows(MARKED_SQL, where):
            if oid not in found and (code in codes or damage_cue(txt) is not None):
                found.add(oid)
        return sorted(found)

    def load(self, where: _Where) -> list[tuple[int, Snapshot, datetime | None, int]]:
        """[(order id, snapshot, stored next_check_at, shop id)], in id order."""
        t = self.t
        new = tuple.__new__  # Scan(...) without the NamedTuple's Python-level __new__
        scans: dict[int, list[Scan]] = defaultdict(list)
        for sid, at, loc, txt, code, status in self.rows(EVENTS_SQL, where):
            scans[sid].append(new(Scan, (t(at), loc, txt, code, status)))
        parcels: dict[int, list[Parcel]] = defaultdict(list)
        no_scans = ()
        for (oid, sid, waybill, carrier, status, kind, incident, first, last, last_text, last_loc, done,
             created, eta) in self.rows(SHIPMENTS_SQL, where):
            found = scans.get(sid)
            parcels[oid].append(Parcel(
                waybill, carrier, status, kind, incident, t(first) if first else None, t(last) if last else None,
                last_text, last_loc, t(done) if done else None, t(created) if created else None,
                t(eta) if eta else None, tuple(found) if found else no_scans, sid))
        refunds: dict[int, list[RefundFacts]] = defaultdict(list)
        for oid, status, reason, description in self.rows(REFUNDS_SQL, where):
            refunds[oid].append(RefundFacts(status, reason, description))
        reports: dict[int, list[str]] = defaultdict(list)
        for oid, note in self.rows(REPORTS_SQL, where):
            reports[oid].append(note or "客服登记破损")
        snapshots = []
        get_parcels, get_refunds, get_reports = parcels.get, refunds.get, reports.get
        for (oid, pid, status, platform, raw, paid, deadline, shipped, confirmed, province, city, message, memo,
             requested, excluded, origin, next_check, shop_id) in self.rows(ORDERS_SQL, where):
            p, r, d = get_parcels(oid), get_refunds(oid), get_reports(oid)
            snapshots.append((oid, Snapshot(
                pid, status, platform, raw, t(paid) if paid else None, t(deadline) if deadline else None,
                t(shipped) if shipped else None, t(confirmed) if confirmed else None, province, city,
                message, memo, tuple(requested.split(",")) if requested else (),
                tuple(excluded.split(",")) if excluded else (), origin, tuple(p) if p else (),
                tuple(r) if r else (), tuple(d) if d else (), oid), t(next_check) if next_check else None,
                shop_id))
        return snapshots

    def stored_cases(self, where: _Where) -> list:
        return self.rows(CASES_SQL, where)


# ---------------------------------------------------------------- evaluating a chunk


class Found(NamedTuple):
    """A finding as the case diff needs it, its evidence and facts hash computed where it was
    evaluated, with the case's queue copy of its parcel's carrier."""

    kind: str
    severity: int
    evidence: str  # JSON, as SQLAlchemy's JSON type writes it (json.dumps)
    text: str
    facts_hash: str
    deadline: datetime | None
    shipment_id: int | None
    refines: str | None
    carrier: str | None


class _Outcome(NamedTuple):
    """An evaluated order with something to write: findings, or a new next_check_at."""

    order_id: int
    found: tuple[Found, ...]
    due: datetime | None
    due_changed: bool
    copies: tuple | None  # (shop_id, province, paid_at): the queue's copies, when found


@dataclass
class _Evaluated:
    """A chunk, evaluated: what the writer needs.  Orders absent from ``outcomes`` have no
    finding and an unchanged next_check_at (quiet ones included)."""

    where: _Where
    seen: int
    evaluated: int
    outcomes: list[_Outcome]
    load_seconds: float
    rules_seconds: float


def _carrier(s: Snapshot, shipment_id: int | None) -> str | None:
    """The carrier ``tracker.queue.refresh_case_facts`` copies onto a case: its parcel's, else
    that of the order's first active outbound parcel."""
    if shipment_id is None:
        outbound = [p for p in s.parcels if p.kind != "return"]
        return min(outbound, key=lambda p: p.id).carrier if outbound else None
    return next((p.carrier for p in s.parcels if p.id == shipment_id), None)


def _found(f: Finding, s: Snapshot) -> Found:
    return Found(f.kind, f.severity, json.dumps(f.evidence), f.text, f.facts_hash, f.deadline, f.shipment_id, f.refines,
                 _carrier(s, f.shipment_id))


def _evaluate_chunk(conn: Connection, where: _Where, policy: Policy, now: datetime, refresh_every: timedelta,
                    skip_quiet: bool) -> _Evaluated:
    t0 = clock.perf_counter()
    loader = _Loader(conn)
    if skip_quiet:
        seen = loader.count(where)
        ids = loader.may_find(where)
        snapshots = loader.load(_Where(ids=tuple(ids))) if ids else []
    else:
        snapshots = loader.load(where)
        seen = len(snapshots)
    t1 = clock.perf_counter()
    refresh_at = now + refresh_every
    outcomes = []
    for oid, s, checked, shop_id in snapshots:
        ev = evaluate(s, policy, now)
        due = ev.recheck_at
        if ev.findings:
            due = refresh_at if due is None else min(due, refresh_at)
            outcomes.append(_Outcome(oid, tuple(_found(f, s) for f in ev.findings), due, due != checked,
                                     (shop_id, s.province, s.paid_at)))
        elif due != checked:
            outcomes.append(_Outcome(oid, (), due, True, None))
    return _Evaluated(where, seen, len(snapshots), outcomes, t1 - t0, clock.perf_counter() - t1)


# ---------------------------------------------------------------- the case diff


@dataclass
class _Writes:
    """Rows for the driver's executemany, in the column order of the statements below."""

    inserts: list[tuple] = field(default_factory=list)
    updates: list[tuple] = field(default_factory=list)
    clears: list[tuple] = field(default_factory=list)
    events: list[tuple[int | None, tuple[int, str], str, str]] = field(default_factory=list)  # id | key
    next_checks: list[tuple[int, datetime | None]] = field(default_factory=list)


CLEARED = "条件已解除 · condition cleared"


def _diff(order_id: int, found: tuple[Found, ...], copies: tuple | None, stored: list, now: datetime,
          report: ClassifyReport, writes: _Writes) -> None:
    by_kind = {row[2]: row for row in stored}
    for f in found:
        report.found[f.kind] += 1
        row = by_kind.pop(f.kind, None)
        values = (f.severity, f.evidence, f.text, f.facts_hash, f.deadline, f.shipment_id, f.refines, now)
        if row is None:
            shop_id, province, paid_at = copies
            writes.inserts.append((order_id, f.kind, "open", now, shop_id, province, paid_at, f.carrier, *values))
            writes.events.append((None, (order_id, f.kind), "opened", f.text))
            report.opened[f.kind] += 1
            continue
        case_id, _oid, _kind, status, facts_hash, old_text, _sev = row
        if status in OPEN:
            if old_text != f.text or facts_hash != f.facts_hash:
                writes.updates.append((status, None, None, *values, case_id))
                if facts_hash != f.facts_hash:
                    writes.events.append((case_id, (order_id, f.kind), "refreshed", f.text))
                report.refreshed[f.kind] += 1
        elif status == "cleared" or facts_hash != f.facts_hash:
            writes.updates.append(("open", None, None, *values, case_id))
            why = "condition returned" if status == "cleared" else f"facts changed after {status}"
            writes.events.append((case_id, (order_id, f.kind), "reopened", f"{why}: {f.text}"))
            report.reopened[f.kind] += 1
    for case_id, _oid, kind, status, *_rest in by_kind.values():
        if status in OPEN:
            writes.clears.append(("cleared", now, CLEARED, now, case_id))
            writes.events.append((case_id, (order_id, kind), "cleared", CLEARED))
            report.cleared[kind] += 1


# The statements, with "?" for the driver's placeholder; times are at the positions listed,
# evidence is JSON text (what SQLAlchemy's JSON type would write: json.dumps of the dict).
_VALUES = "severity, evidence, evidence_text, facts_hash, deadline, shipment_id, refines, updated_at"
_INSERT_CASE = (f"INSERT INTO exception_cases (order_id, kind, status, detected_at, shop_id, province, paid_at, "
                f"carrier, {_VALUES}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?json, ?, ?, ?, ?, ?, ?)", (3, 6, 12, 15))
_UPDATE_CASE = ("UPDATE exception_cases SET status = ?, closed_at = ?, close_reason = ?, "
                + ", ".join(f"{c} = ?json" if c == "evidence" else f"{c} = ?" for c in _VALUES.split(", "))
                + " WHERE id = ?", (1, 7, 10))
_CLEAR_CASE = ("UPDATE exception_cases SET status = ?, closed_at = ?, close_reason = ?, updated_at = ? "
               "WHERE id = ?", (1, 3))
_INSERT_EVENT = ("INSERT INTO case_events (case_id, at, event, detail) VALUES (?, ?, ?, ?)", (1,))
_NEXT_CHECK = ("UPDATE orders SET next_check_at = ? WHERE id = ?", (0,))
_NEW_IDS = "SELECT c.id, c.order_id, c.kind FROM exception_cases c WHERE {c}"


def _executemany(conn: Connection, statement: tuple[str, tuple[int, ...]], rows: list[tuple]) -> None:
    """The driver's executemany: no SQLAlchemy compilation or per-row bind processing (a full
    run writes a row per order that may have a finding)."""
    sql, times = statement
    if conn.dialect.name == "sqlite":
        sql = sql.replace("?json", "?")

        def at(t):  # as UTCDateTime stores it
            return t.astimezone(UTC).isoformat(" ", "microseconds")[:26] if t is not None else None

        rows = [tuple(at(v) if i in times else v for i, v in enumerate(row)) for row in rows] if times else rows
    else:
        sql = sql.replace("?json", "CAST(%s AS json)").replace("?", "%s")
    conn.connection.cursor().executemany(sql, rows)


def _write(conn: Connection, writes: _Writes, now: datetime) -> None:
    if writes.inserts:
        _executemany(conn, _INSERT_CASE, writes.inserts)
    if writes.updates:
        _executemany(conn, _UPDATE_CASE, writes.updates)
    if writes.clears:
        _executemany(conn, _CLEAR_CASE, writes.clears)
    if writes.events:
        new_ids = {}
        if writes.inserts:
            keys = {(r[0], r[1]) for r in writes.inserts}
            where = _Where(ids=tuple(sorted({k[0] for k in keys})))
            rows = _Loader(conn).rows(_NEW_IDS, where)
            new_ids = {(oid, kind): cid for cid, oid, kind in rows if (oid, kind) in keys}
        _executemany(conn, _INSERT_EVENT, [(cid or new_ids[key], now, event, detail)
                                           for cid, key, event, detail in writes.events])
    if writes.next_checks:
        _executemany(conn, _NEXT_CHECK, [(due, oid) for oid, due in writes.next_checks])


class _Writer:
    """Writes evaluated chunks, several to a transaction (WRITE_EVERY orders): each commit
    rewrites the index pages its inserts touched, and most pages are touched by every chunk."""

    def __init__(self, engine: Engine, now: datetime, report: ClassifyReport):
        self.engine, self.now, self.report = engine, now, report
        self.pending: list[_Evaluated] = []

    def add(self, evaluated: _Evaluated) -> None:
        self.pending.append(evaluated)
        if sum(ev.seen for ev in self.pending) >= WRITE_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        t0 = clock.perf_counter()
        with self.engine.begin() as conn:
            for evaluated in self.pending:
                _write_chunk(conn, evaluated, self.now, self.report)
        self.pending = []
        self.report.write_seconds += clock.perf_counter() - t0


def _write_chunk(conn: Connection, ev: _Evaluated, now: datetime, report: ClassifyReport) -> None:
    """Bring the chunk's cases and next_check_at in step with its evaluation."""
    stored: dict[int, list] = defaultdict(list)
    for row in _Loader(conn).stored_cases(ev.where):
        stored[row[1]].append(row)
    outcomes = {o.order_id: o for o in ev.outcomes}
    writes = _Writes()
    for oid in sorted(outcomes.keys() | stored.keys()):
        o = outcomes.get(oid)
        if o is None:  # no finding (evaluated or quiet): its open cases clear
            _diff(oid, (), None, stored[oid], now, report, writes)
            continue
        if o.found or oid in stored:
            _diff(oid, o.found, o.copies, stored.get(oid, []), now, report, writes)
        if o.due_changed:
            writes.next_checks.append((oid, o.due))
    _write(conn, writes, now)
    if stored:  # new cases got their copies with the insert; these follow their order and parcel
        refresh_case_facts(conn, sorted(stored))  # the queue filters on these copies (and it bumps the version)
    elif writes.inserts:
        triage.bump_queue_version(conn)  # the web's cached queue counts are stale
    report.chunks += 1
    report.orders_seen += ev.seen
    report.orders_evaluated += ev.evaluated
    report.load_seconds += ev.load_seconds
    report.rules_seconds += ev.rules_seconds


# ---------------------------------------------------------------- the run


def classify_orders(engine: Engine, policy: Policy, now: datetime, *, only_changed: bool = True,
                    refresh_every: timedelta = timedelta(hours=6), chunk: int = CHUNK, skip_quiet: bool = True,
                    processes: int | None = None) -> ClassifyReport:
    """Classify orders and bring their cases up to date; one short transaction per few chunks.

    ``only_changed``: only orders whose facts changed since the last run started, or whose
    ``next_check_at`` has come (the first run, or ``False``, takes every order).
    ``refresh_every``: how soon an order with open findings is looked at again.
    ``skip_quiet``: load and evaluate only the orders that may have a finding
    (``classify.may_find``); False evaluates every order (the reference the tests compare with).
    ``processes``: 2 evaluates in a second process too, 1 only here; None: 2 from
    TWO_PROCESSES_FROM chunks on, on a database file or server.
    """
    started = datetime.now(UTC)
    with engine.connect() as conn:
        since = conn.execute(select(func.max(ClassifyRun.started_at))).scalar() if only_changed else None
        if since is None:
            lo, hi = conn.execute(select(func.min(ORDERS.c.id), func.max(ORDERS.c.id))).one()
            chunks = [_Where(a, min(a + chunk - 1, hi)) for a in range(lo or 0, (hi or -1) + 1, chunk)]
        else:
            changed = text(CHANGED_SQL).bindparams(bindparam("since", type_=UTCDateTime()),
                                                   bindparam("now", type_=UTCDateTime()))
            ids = sorted(conn.execute(changed, {"since": since, "now": now, "report": DAMAGE_REPORT}).scalars())
            chunks = [_Where(ids=tuple(ids[i:i + chunk])) for i in range(0, len(ids), chunk)]
    report = ClassifyReport(full=since is None)
    shared = engine.url.database not in (None, "", ":memory:")
    if processes is None:
        processes = 2 if len(chunks) >= TWO_PROCESSES_FROM and shared else 1
    writer = _Writer(engine, now, report)
    with few_collections():
        if processes > 1:
            _run_two(engine, chunks, policy, now, refresh_every, skip_quiet, writer)
        else:
            for where in chunks:
                with engine.connect() as conn:
                    writer.add(_evaluate_chunk(conn, where, policy, now, refresh_every, skip_quiet))
        writer.flush()
    with engine.begin() as conn:
        conn.execute(insert(ClassifyRun.__table__).values(
            started_at=started, finished_at=datetime.now(UTC), now=now, full=report.full,
            orders_seen=report.orders_seen, opened=report.opened.total(), refreshed=report.refreshed.total(),
            reopened=report.reopened.total(), cleared=report.cleared.total(), load_seconds=report.load_seconds,
            rules_seconds=report.rules_seconds, write_seconds=report.write_seconds))
    return report


def _run_two(engine: Engine, chunks: list[_Where], policy: Policy, now: datetime, refresh_every: timedelta,
             skip_quiet: bool, writer: _Writer) -> None:
    """The second process takes chunks from the front of the list, AHEAD at a time; this one
    writes what it sends back and, while nothing waits, evaluates chunks from the back."""
    todo = deque(chunks)
    setup = (engine.url.render_as_string(hide_password=False), _policy_state(policy), now, refresh_every,
             skip_quiet)
    with _Helper(setup) as helper:
        while todo or helper.outstanding:
            while todo and helper.outstanding < min(AHEAD, max(1, len(todo) // 3)):  # fewer towards the end
                helper.send(todo.popleft())
            evaluated = helper.poll()
            if evaluated is not None:
                writer.report.chunks_elsewhere += 1
            elif todo:
                with engine.connect() as conn:
                    evaluated = _evaluate_chunk(conn, todo.pop(), policy, now, refresh_every, skip_quiet)
            else:
                evaluated = helper.receive()
                writer.report.chunks_elsewhere += 1
            writer.add(evaluated)


def _policy_state(policy: Policy) -> dict:
    """The policy as plain picklable values (its tables are read-only mapping proxies)."""
    return {f.name: dict(v) if isinstance(v := getattr(policy, f.name), MappingProxyType) else v
            for f in fields(policy) if f.init and not f.name.startswith("_")}


def _policy_from(state: dict) -> Policy:
    return Policy(**{k: MappingProxyType(v) if isinstance(v, dict) else v for k, v in state.items()})


# ---------------------------------------------------------------- the second process


class _Helper:
    """The second process (``python -m tracker.cases``: a fresh interpreter, not a fork, so it
    holds none of this process's connections).  Length-prefixed pickles both ways: the setup,
    then chunks in; evaluated chunks (or the exception that stopped it) out.  A thread drains
    its output as it comes, so it never waits for this process to read; it exits when its
    input closes, and when this process dies its next write fails."""

    def __init__(self, setup: tuple):
        import tracker

        root = str(Path(tracker.__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
        self._child = subprocess.Popen([sys.executable, "-m", "tracker.cases"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, env=env)
        self.outstanding = 0
        self._results = ReadAhead(self._child.stdout)
        self._put(setup)

    def _put(self, obj) -> None:
        try:
            write_message(self._child.stdin, obj)
            self._child.stdin.flush()
        except BrokenPipeError:
            self.receive()  # the child stopped: raise its reason
            raise

    def send(self, where: _Where) -> None:
        self._put(where)
        self.outstanding += 1

    def _unpack(self, data: bytes | None) -> _Evaluated:
        self.outstanding -= 1
        if data is None:
            raise RuntimeError(f"the classifying process stopped unexpectedly (exit {self._child.wait()})")
        tag, payload = pickle.loads(data)
        if tag == "error":
            raise payload
        return payload

    def poll(self) -> _Evaluated | None:
        """An evaluated chunk if one is waiting, else None."""
        try:
            data = self._results.get(block=False)
        except queue.Empty:
            return None
        return self._unpack(data)

    def receive(self) -> _Evaluated:
        return self._unpack(self._results.get())

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._child.stdin.close()
        except OSError:
            pass
        try:
            self._child.wait(timeout=10 if exc[0] is None else 0.1)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        self._results.close(timeout=10)
        self._child.stdout.close()


def _helper_main() -> None:
    """The second process: evaluate the chunks it is sent until its input closes."""
    from tracker import db

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the messages
    source = sys.stdin.buffer
    try:
        url, state, now, refresh_every, skip_quiet = read_message(source)
        policy = _policy_from(state)
        engine = db.make_engine(url)
    except EOFError:
        return
    try:
        with few_collections():
            while True:
                try:
                    where = read_message(source)
                except EOFError:
                    break
                with engine.connect() as conn:
                    evaluated = _evaluate_chunk(conn, where, policy, now, refresh_every, skip_quiet)
                write_message(out, ("chunk", evaluated))
                out.flush()
    except BrokenPipeError:
        return  # the writing process is gone; so is the point of evaluating
    except BaseException as err:  # noqa: BLE001 - handed to the writing process, which raises it
        try:
            write_message(out, ("error", picklable(err)))
            out.flush()
        except BrokenPipeError:
            pass
    finally:
        engine.dispose()


def history(conn: Connection, case_id: int) -> list[tuple[datetime, str, str | None]]:
    """A case's history, oldest first: (when, event, detail)."""
    rows = conn.execute(select(CASE_EVENTS.c.at, CASE_EVENTS.c.event, CASE_EVENTS.c.detail)
                        .where(CASE_EVENTS.c.case_id == case_id).order_by(CASE_EVENTS.c.id))
    return [tuple(r) for r in rows]


if __name__ == "__main__":  # the second process of _run_two; its classes must be tracker.cases's
    from tracker.cases import _helper_main as main

    main()
