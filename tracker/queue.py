"""The exception queue's query core: filters, sort orders, keyset pages and counts per kind.

    request args ─► QueueFilter.from_args (validated: QueueError names the bad parameter)
    counts(conn, f)       ─► {kind: n}: one GROUP BY on exception_cases with every filter but kind;
                             its sum over the chosen kinds is the view's total (no second count)
    page(conn, f, sort, after=/before=)
        phase 1: ≤ limit + 1 case ids and their sort keys, from exception_cases alone (filters on
                 the order, its parcel or the search are semi-joins), keyset from the cursor
        phase 2: rows(conn, ids): those cases with order, shop, parcel and assignee ─► Page

Plain SQL on the caller's connection; the queue page, the bulk actions and the JSON API all
call it.  Pagination is keyset: a cursor is the sort key of the row at a page's edge, ending
in the case id, so rows never repeat or go missing between pages however many share a
severity, and a case resolved meanwhile does not shift the pages after it.

URL parameters (empty values are ignored; those marked * repeat):
    kind*  status* (default open + in_progress; "all": any)  carrier*  shop* (id)
    assignee ("me", "none" or a user id)  province* (浙江 or 浙江省)  age ("24h", "7d": detected
    longer ago than that)  promo (a promotion of the policy: orders paid inside its window)
    severity (at least 1–4)  q (platform order id, waybill, buyer nick, or a phone's last 4 digits)
    sort ("severity", "deadline", "age")  after / before (cursors)  page (a page number: an offset)
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    false,
    func,
    or_,
    select,
    union,
    union_all,
    update,
)

from couriers import carriers
from imports.address import province_name
from tracker import triage
from tracker.classify import CORE_KINDS, KINDS
from tracker.models import ExceptionCase, Order, Shipment, Shop, User
from tracker.policy import Policy, Promotion

CASES = ExceptionCase.__table__
ORDERS = Order.__table__
SHIPMENTS = Shipment.__table__
SHOPS = Shop.__table__
USERS = User.__table__

STATUSES = (*triage.SETTABLE, "cleared")
DEFAULT_STATUSES = ("open", "in_progress")
PAGE_SIZE = 50
COUNTS_CACHE_SIZE = 512
AGES = ("24h", "48h", "72h", "7d")  # the choices the page offers; any "<n>h" / "<n>d" is accepted
PARAMS = ("kind", "status", "carrier", "shop", "assignee", "province", "age", "promo", "severity", "q", "sort",
          "after", "before", "page")
_AGE = re.compile(r"^([1-9]\d{0,3})([hd])$")
_PHONE_TAIL = re.compile(r"^\d{4}$")


class QueueError(ValueError):
    """A bad request parameter; the message names it."""


def _bad(name: str, value: object, known: Iterable[str] | None = None) -> QueueError:
    hint = f"; known: {', '.join(known)}" if known is not None else ""
    return QueueError(f"参数无效 · bad parameter {name}={value!r}{hint}")


@dataclass(frozen=True)
class QueueFilter:
    """What the agent asked to see.  ``me`` (the viewer) and ``now`` resolve "me" and ages."""

    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = DEFAULT_STATUSES  # () = every status
    carriers: tuple[str, ...] = ()
    shop_ids: tuple[int, ...] = ()
    assignee: str | None = None  # "me" | "none" | a user id, as text
    provinces: tuple[str, ...] = ()  # official names, as orders.province stores them
    age: str | None = None
    promotion: Promotion | None = None
    min_severity: int | None = None
    q: str | None = None
    me: int | None = field(default=None, compare=False)
    now: datetime = field(default_factory=lambda: datetime.now(UTC), compare=False)

    @classmethod
    def from_args(cls, args: Mapping, *, me: int | None, now: datetime, policy: Policy) -> QueueFilter:
        """From request args (a MultiDict, or a plain mapping of lists or strings)."""
        def values(name: str) -> list[str]:
            raw = args.getlist(name) if hasattr(args, "getlist") else args.get(name, [])
            raw = [raw] if isinstance(raw, str) else raw
            return [v.strip() for v in raw if v and v.strip()]

        def one(name: str) -> str | None:
            found = values(name)
            if len(found) > 1:
                raise _bad(name, found)
            return found[0] if found else None

        kinds = tuple(dict.fromkeys(values("kind")))
        for kind in kinds:
            if kind not in KINDS:
                raise _bad("kind", kind, KINDS)
        statuses = tuple(dict.fromkeys(values("status"))) or DEFAULT_STATUSES
        if "all" in statuses:
            statuses = ()
        for status in statuses:
            if status not in STATUSES:
                raise _bad("status", status, (*STATUSES, "all"))
        codes = tuple(dict.fromkeys(values("carrier")))
        for code in codes:
            try:
                carriers.get(code)
            except carriers.UnknownCarrier:
                raise _bad("carrier", code) from None
        try:
            shop_ids = tuple(dict.fromkeys(int(v) for v in values("shop")))
        except ValueError:
            raise _bad("shop", values("shop")) from None
        assignee = one("assignee")
        if assignee is not None and assignee not in ("me", "none") and not assignee.isdigit():
            raise _bad("assignee", assignee, ("me", "none", "<user id>"))
        if assignee == "me" and me is None:
            raise _bad("assignee", assignee)
        provinces = []
        for name in values("province"):
            official = province_name(name)
            if official is None:
                raise _bad("province", name)
            provinces.append(official)
        age = one("age")
        if age is not None and not _AGE.match(age):
            raise _bad("age", age, AGES)
        promo_name = one("promo")
        promotion = None
        if promo_name is not None:
            promotion = next((p for p in policy.promotions if p.name == promo_name), None)
            if promotion is None:
                raise _bad("promo", promo_name, [p.name for p in policy.promotions])
        severity = one("severity")
        if severity is not None and severity not in ("1", "2", "3", "4"):
            raise _bad("severity", severity, ("1", "2", "3", "4"))
        q = one("q")
        return cls(kinds=kinds, statuses=statuses, carriers=codes, shop_ids=shop_ids, assignee=assignee,
                   provinces=tuple(dict.fromkeys(provinces)), age=age, promotion=promotion,
                   min_severity=int(severity) if severity else None, q=q[:64] if q else None, me=me, now=now)

    @property
    def older_than(self) -> timedelta | None:
        if self.age is None:
            return None
        n, unit = _AGE.match(self.age).groups()
        return timedelta(hours=int(n)) if unit == "h" else timedelta(days=int(n))


# ---------------------------------------------------------------- filters


def _parcel_id() -> ColumnElement:
    """The case's parcel: its own shipment, else the order's first active outbound one."""
    c, s = CASES.c, SHIPMENTS.alias("first_parcel")
    first = (select(func.min(s.c.id))
             .where(s.c.order_id == c.order_id, s.c.superseded_at.is_(None), s.c.kind != "return")
             .correlate(CASES).scalar_subquery())
    return func.coalesce(c.shipment_id, first)


def refresh_case_facts(conn: Connection, order_ids: Sequence[int] | None = None) -> None:
    """Copy each case's shop, destination province, paid time and parcel carrier from its
    order and parcel (all cases, or those of ``order_ids``).  Classification calls it for the
    orders it looked at, so the copies follow every import, poll and reship."""
    c, o, s = CASES.c, ORDERS.c, SHIPMENTS.c

    def of_order(column):
        return select(column).where(o.id == c.order_id).scalar_subquery()

    statement = update(CASES).values(
        shop_id=of_order(o.shop_id), province=of_order(o.province), paid_at=of_order(o.paid_at),
        carrier=select(s.carrier).where(s.id == _parcel_id()).scalar_subquery())
    if order_ids is None:
        conn.execute(statement)
        triage.bump_queue_version(conn)
        return
    ids = sorted(set(order_ids))
    for start in range(0, len(ids), 5000):
        conn.execute(statement.where(c.order_id.in_(ids[start:start + 5000])))
    triage.bump_queue_version(conn)


def _search(q: str):
    """Order ids matching q: platform order id, buyer nick, phone tail (4 digits), waybill."""
    o, s = ORDERS.c, SHIPMENTS.c
    terms = [o.platform_order_id == q, o.buyer_nick == q]
    if _PHONE_TAIL.match(q):
        terms.append(o.phone_tail == q)
    waybills = sorted({q, q.upper()})
    return union(select(o.id).where(or_(*terms)), select(s.order_id).where(s.waybill.in_(waybills)))


def conditions(f: QueueFilter, *, statuses: bool = True, kinds: bool = True) -> list[ColumnElement[bool]]:
    """The WHERE terms on exception_cases for the filter, less the status or kind terms when
    asked.  Shop, province, carrier and paid time are the case's own copies
    (``refresh_case_facts``), so no filter but the search leaves the table."""
    c = CASES.c
    where: list[ColumnElement[bool]] = []
    if statuses and f.statuses:
        where.append(c.status.in_(f.statuses))
    if kinds and f.kinds:
        where.append(c.kind.in_(f.kinds))
    if f.assignee == "none":
        where.append(c.assignee_id.is_(None))
    elif f.assignee == "me":
        where.append(c.assignee_id == f.me)
    elif f.assignee is not None:
        where.append(c.assignee_id == int(f.assignee))
    if f.min_severity:
        where.append(c.severity >= f.min_severity)
    if f.older_than is not None:
        where.append(c.detected_at < f.now - f.older_than)
    if f.shop_ids:
        where.append(c.shop_id.in_(f.shop_ids))
    if f.provinces:
        where.append(c.province.in_(f.provinces))
    if f.promotion is not None:
        where += [c.paid_at >= f.promotion.start, c.paid_at < f.promotion.end]
    if f.carriers:
        where.append(c.carrier.in_(f.carriers))
    if f.q:
        where.append(c.order_id.in_(_search(f.q)))
    return where


def counts(conn: Connection, f: QueueFilter) -> dict[str, int]:
    """Cases per kind under every filter but the kind itself (so each kind's link shows what it
    would give).  Grouped by status too: that is the order of the index it reads."""
    c = CASES.c
    found: dict[str, int] = {}
    for _status, kind, n in conn.execute(select(c.status, c.kind, func.count())
                                         .where(*conditions(f, kinds=False))
                                         .group_by(c.status, c.kind)):
        found[kind] = found.get(kind, 0) + n
    return found


def counts_cached(conn: Connection, f: QueueFilter, cache: dict) -> dict[str, int]:
    """``counts``, kept in ``cache`` (one per web process) until any case changes: most queue
    views share a handful of filters, and counting 100,000 open cases was a third of a page's
    CPU.  Filters by age move with the clock and are always counted afresh."""
    version = triage.queue_version(conn)
    if version is None or f.age is not None:
        return counts(conn, f)
    key = (version, f, f.me if f.assignee == "me" else None)
    found = cache.get(key)
    if found is None:
        if len(cache) >= COUNTS_CACHE_SIZE:
            cache.clear()
        found = cache[key] = counts(conn, f)
    return found


def kinds_shown(found: Mapping[str, int]) -> list[tuple[str, int]]:
    """The six core kinds always, in their order, then the extra kinds that have cases."""
    extra = [k for k in KINDS if k not in CORE_KINDS and found.get(k)]
    extra += sorted(k for k in found if k not in KINDS)  # a kind a newer classifier wrote
    return [(k, found.get(k, 0)) for k in (*CORE_KINDS, *extra)]


def total(found: Mapping[str, int], f: QueueFilter) -> int:
    """The filtered view's size, from the counts per kind."""
    return sum(n for k, n in found.items() if not f.kinds or k in f.kinds)


# ---------------------------------------------------------------- sort orders and cursors


class Key(NamedTuple):
    """One sort key.  NULLs (``nullable``) sort last, whatever the database's habit."""

    column: ColumnElement
    descending: bool = False
    nullable: bool = False
    is_time: bool = False

    def order(self, reverse: bool, column: ColumnElement | None = None):
        column = self.column if column is None else column
        term = column.desc() if self.descending != reverse else column.asc()
        if self.nullable:
            term = term.nulls_first() if reverse else term.nulls_last()
        return term

    def index_order(self, reverse: bool):
        """The order of an index on the column (within a part of the queue where it is
        all NULL or never NULL, so the NULLs' place does not matter)."""
        return self.column.desc() if self.descending != reverse else self.column.asc()

    def equal(self, value) -> ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.column == value

    def beyond(self, value, reverse: bool) -> ColumnElement[bool]:
        """Rows strictly after ``value`` in this key's order (before it when reverse)."""
        if value is None:
            return self.column.is_not(None) if reverse else false()
        beyond = self.column < value if self.descending != reverse else self.column > value
        return or_(beyond, self.column.is_(None)) if self.nullable and not reverse else beyond

    def reached(self, value, reverse: bool) -> ColumnElement[bool]:
        """Rows at or after ``value``: a range the index can start from (non-null keys)."""
        return self.column <= value if self.descending != reverse else self.column >= value


_c = CASES.c
# Each order has an index of exception_cases with these columns after status (and kind, for
# the severity order): see the models' ExceptionCase indexes.
SORTS: Mapping[str, tuple[Key, ...]] = {
    "severity": (Key(_c.severity, descending=True), Key(_c.deadline, nullable=True, is_time=True),
                 Key(_c.detected_at, is_time=True), Key(_c.id)),
    "deadline": (Key(_c.deadline, nullable=True, is_time=True), Key(_c.severity, descending=True),
                 Key(_c.detected_at, is_time=True), Key(_c.id)),
    "age": (Key(_c.detected_at, is_time=True), Key(_c.id)),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TOKEN = re.compile(r"-?\d{1,19}")


def encode_cursor(keys: Sequence[Key], values: Sequence) -> str:
    """Sort key values as dotted integers (times in microseconds since 1970; NULL empty)."""
    out = []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            out.append("")
        elif key.is_time:
            out.append(str((value - EPOCH) // timedelta(microseconds=1)))
        else:
            out.append(str(int(value)))
    return ".".join(out)


def decode_cursor(keys: Sequence[Key], cursor: str, name: str = "after") -> tuple:
    parts = cursor.split(".")
    if len(parts) != len(keys):
        raise _bad(name, cursor)
    values = []
    for key, part in zip(keys, parts, strict=True):
        if part == "" and key.nullable:
            values.append(None)
        elif _TOKEN.fullmatch(part):
            values.append(EPOCH + timedelta(microseconds=int(part)) if key.is_time else int(part))
        else:
            raise _bad(name, cursor)
    return tuple(values)


def _keyset(keys: Sequence[Key], values: Sequence, reverse: bool) -> list[ColumnElement[bool]]:
    """(k1, k2, …) strictly after ``values`` in the sort order: an OR of equal prefixes, plus the
    first key's range when it has no NULLs, so an index scan starts at the cursor."""
    terms = [and_(*(k.equal(v) for k, v in zip(keys[:i], values[:i], strict=True)), key.beyond(values[i], reverse))
             for i, key in enumerate(keys)]
    first = [] if keys[0].nullable else [keys[0].reached(values[0], reverse)]
    return [*first, or_(*terms)]


# ---------------------------------------------------------------- rows and pages


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    order_id: int  # orders.id
    platform_order_id: str
    shop: str
    kind: str
    severity: int
    status: str
    evidence_text: str
    deadline: datetime | None
    detected_at: datetime
    assignee_id: int | None
    assignee: str | None  # display name
    buyer_nick: str | None
    province: str | None
    city: str | None
    shipment_id: int | None
    carrier: str | None
    waybill: str | None
    last_event_text: str | None
    last_event_at: datetime | None
    last_location: str | None


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[QueueRow]
    next: str | None  # cursor for after=
    prev: str | None  # cursor for before=


def rows(conn: Connection, case_ids: Sequence[int]) -> list[QueueRow]:
    """The cases with what the queue shows of them, in the order of ``case_ids``."""
    if not case_ids:
        return []
    c, o, s, u = CASES.c, ORDERS.c, SHIPMENTS.c, USERS.c
    query = (select(c.id, c.order_id, o.platform_order_id, SHOPS.c.name.label("shop"), c.kind, c.severity, c.status,
                    c.evidence_text, c.deadline, c.detected_at, c.assignee_id,
                    func.coalesce(u.display_name, u.username).label("assignee"), o.buyer_nick, o.province, o.city,
                    s.id.label("shipment_id"), s.carrier, s.waybill, s.last_event_text, s.last_event_at,
                    s.last_location)
             .select_from(CASES.join(ORDERS, o.id == c.order_id).join(SHOPS, SHOPS.c.id == o.shop_id)
                          .outerjoin(USERS, u.id == c.assignee_id).outerjoin(SHIPMENTS, s.id == _parcel_id()))
             .where(c.id.in_(case_ids)))
    found = {r.id: QueueRow(**{**r._mapping, "evidence_text": r.evidence_text or ""}) for r in conn.execute(query)}
    return [found[i] for i in case_ids if i in found]


def page(conn: Connection, f: QueueFilter, sort: str = "severity", *, after: str | None = None,
         before: str | None = None, offset: int = 0, limit: int = PAGE_SIZE) -> Page:
    """One page of the filtered queue in ``sort`` order, after or before a cursor, or
    ``offset`` rows into it (a page number in a link; the cursors are what the pager uses).

    The queue is read in parts that an index holds in sort order: one per status (and per
    kind asked for, in the severity order), each split into rows with and without a deadline
    (an index puts NULLs where its database likes).  Each part stops after limit + 1 rows;
    merging them costs a sort of a few hundred rows, however long the queue."""
    keys = SORTS.get(sort)
    if keys is None:
        raise _bad("sort", sort, SORTS)
    if after and before or offset and (after or before):
        raise _bad("before" if before else "after", before or after)
    reverse = bool(before)
    by_kind = sort == "severity" and bool(f.kinds)
    where = conditions(f, statuses=False, kinds=not by_kind)
    if after or before:
        where += _keyset(keys, decode_cursor(keys, before or after, "before" if before else "after"), reverse)
    c = CASES.c
    parts = []
    for status in f.statuses or STATUSES:
        for kind in f.kinds if by_kind else (None,):
            for null in (True, False) if any(k.nullable for k in keys) else (None,):
                part = [c.status == status]
                if null is not None:
                    part.append(c.deadline.is_(None) if null else c.deadline.is_not(None))
                if kind is not None:
                    part.append(c.kind == kind)
                parts.append(select(*(k.column for k in keys)).where(*part, *where)
                             .order_by(*(k.index_order(reverse) for k in keys)).limit(offset + limit + 1).subquery())
    merged = union_all(*(select(*p.c).select_from(p) for p in parts)).subquery()
    query = (select(*merged.c).order_by(*(k.order(reverse, merged.c[k.column.key]) for k in keys))
             .offset(offset).limit(limit + 1))
    found = [tuple(r) for r in conn.execute(query)]
    more = len(found) > limit
    found = found[:limit]
    if reverse:
        found.reverse()
    if not found:
        return Page([], None, None)
    first, last = encode_cursor(keys, found[0]), encode_cursor(keys, found[-1])
    has_prev, has_next = (more, True) if reverse else (bool(after or offset), more)
    return Page(rows(conn, [r[-1] for r in found]), last if has_next else None, first if has_prev else None)
