"""The leads' dashboard metrics: plain SQL on the caller's connection, plain data out.

    Period (China dates, inclusive; optional shop) ─► a few bounded, aggregating queries:
      cases              cases detected, per China day × kind, per carrier, per route   exception_cases.detected_at
                         (one pass grouped by all four; Python folds it three ways)
      shipping           24-hour pickup rate and median transit per carrier; median     orders.shipped_at
                         transit per route (one pass each)
      first_contact      resolved cases settled with exactly one customer contact        exception_cases.closed_at
      refund_timeliness  refunds requested → finished; agents' refund actions             refunds.requested_at

Each query is bounded by the period and aggregates in the database, so nothing loads one
row per order into Python: medians come from counts per tenth of an hour (a histogram of
at most a few thousand rows per group), exact to the 0.1 h the page shows, where a sort of
every value (window functions, percentile_cont) would cost seconds at a million orders.
Only the hour arithmetic and the China-date bucketing differ per dialect (``_DIALECT``).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Integer, String, bindparam, text

from couriers.timeparse import CHINA
from tracker.dbtypes import Money, UTCDateTime
from tracker.policy import short_province

REFUND_WITHIN = timedelta(hours=48)  # the platforms' usual promise for handling a refund request
REFUND_ACTIONS = ("refund", "compensate")  # Action codes of money an agent gave back
TOP_ROUTES = 15
MAX_DAYS = 366  # the longest period a query may span

# (day of a UTC time column in China, hours from a to b) per dialect
_DIALECT = {
    "sqlite": ("date({col}, '+8 hours')", "((julianday({b}) - julianday({a})) * 24.0)"),
    "postgresql": ("CAST(({col} AT TIME ZONE 'Asia/Shanghai') AS DATE)",
                   "(date_part('epoch', {b} - {a}) / 3600.0)"),  # a float: numeric EXTRACT is 2× slower
}
# The original parcel of an order that is still named by the latest export.
_ORIGINAL = "s.order_id = o.id AND s.kind = 'original' AND s.superseded_at IS NULL"


@dataclass(frozen=True)
class Period:
    """China dates ``first``..``last`` inclusive, optionally one shop."""

    first: date
    last: date
    shop_id: int | None = None

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ValueError(f"a period spans at most {MAX_DAYS} days")

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), CHINA)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), CHINA)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class Daily:
    days: list[date]
    counts: dict[str, list[int]]  # kind ─► one count per day, in ``days`` order


@dataclass(frozen=True)
class CarrierCases:
    carrier: str | None  # None: no parcel (not shipped)
    total: int
    kinds: Counter


@dataclass(frozen=True)
class RouteCases:
    origin: str | None
    destination: str | None
    total: int


@dataclass(frozen=True)
class CarrierPerformance:
    carrier: str | None
    decided: int  # parcels picked up in time, or shipped at least the pickup limit ago
    on_time: int  # first scan within the pickup limit of shipped_at
    delivered: int
    median_hours: float | None  # first scan (else shipped_at) ─► delivered

    @property
    def pickup_rate(self) -> float | None:
        return self.on_time / self.decided if self.decided else None


@dataclass(frozen=True)
class Cases:
    daily: Daily
    carriers: list[CarrierCases]
    routes: list[RouteCases]


@dataclass(frozen=True)
class RouteTransit:
    origin: str | None
    destination: str | None
    delivered: int
    median_hours: float | None


@dataclass(frozen=True)
class Shipping:
    carriers: list[CarrierPerformance]
    routes: list[RouteTransit]


@dataclass(frozen=True)
class ContactRate:
    """Resolved cases; ``contacted``: with a customer contact before resolution; ``first``: exactly one."""

    agent: str | None  # display name of who resolved the cases (None: overall)
    resolved: int
    contacted: int
    first: int

    @property
    def rate(self) -> float | None:
        return self.first / self.contacted if self.contacted else None


@dataclass(frozen=True)
class RefundActions:
    agent: str | None
    code: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Refunds:
    requested: int
    finished: int
    median_hours: float | None  # requested ─► finished, of the finished ones
    decided: int  # finished, or still open after ``REFUND_WITHIN``
    in_time: int  # finished within ``REFUND_WITHIN``
    actions: list[RefundActions] = field(default_factory=list)

    @property
    def in_time_rate(self) -> float | None:
        return self.in_time / self.decided if self.decided else None


class _Query:
    """The period's bound parameters and the dialect's SQL snippets for one connection."""

    def __init__(self, conn: Connection, period: Period):
        self.conn = conn
        self.period = period
        self._day, self._hours = _DIALECT[conn.dialect.name]

    def day(self, col: str) -> str:
        return self._day.format(col=col)

    def hours(self, a: str, b: str) -> str:
        return self._hours.format(a=a, b=b)

    def tenths(self, a: str, b: str) -> str:
        """Hours from a to b in whole tenths: the buckets medians are read from."""
        return f"CAST(ROUND({self.hours(a, b)} * 10) AS INTEGER)"

    def shop(self, col: str) -> str:
        return f" AND {col} = :shop" if self.period.shop_id is not None else ""

    def run(self, sql: str, *, times: tuple[str, ...] = (), lists: tuple[str, ...] = (), columns: dict | None = None,
            **params):
        """Execute with the period bound; ``times`` name more UTC-time parameters, ``lists``
        parameters that are lists (``IN :name``), ``columns`` the result types."""
        stmt = text(sql).bindparams(
            bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime()),
            *(bindparam(name, type_=UTCDateTime()) for name in times),
            *(bindparam(name, expanding=True) for name in lists))
        if columns:
            stmt = stmt.columns(**columns)
        values = {"since": self.period.since, "until": self.period.until, **params}
        if self.period.shop_id is not None:
            values["shop"] = self.period.shop_id
        return self.conn.execute(stmt, values)


def median(tenths: Counter) -> float | None:
    """The median in hours of values counted per tenth of an hour (``{tenths: count}``):
    the middle one, or the mean of the two middle ones; negative values are ignored."""
    values = sorted((v, n) for v, n in tenths.items() if v is not None and v >= 0)
    total = sum(n for _v, n in values)
    if not total:
        return None
    wanted, found, seen = sorted({(total - 1) // 2, total // 2}), [], 0
    for value, n in values:
        while wanted and wanted[0] < seen + n:
            found.append(value)
            wanted.pop(0)
        seen += n
    return round(sum(found) / len(found) / 10, 2)


def _province(name: str | None) -> str | None:
    """The short name (浙江), or the text as stored when it names no province."""
    return short_province(name) or name


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def cases(conn: Connection, period: Period, default_origin: str, top: int = TOP_ROUTES) -> Cases:
    """The cases detected in the period, counted in one pass per (China day, kind, carrier of
    the parcel they concern, route): per day and kind (zeros included), per carrier, and the
    ``top`` routes (origin: the shop's province, else the policy's; short names)."""
    q = _Query(conn, period)
    days = period.days
    index = {d: i for i, d in enumerate(days)}
    daily: dict[str, list[int]] = {}
    carriers: dict[str | None, Counter] = defaultdict(Counter)
    routes: Counter = Counter()
    for day, kind, carrier, origin, destination, n in q.run(
            f"SELECT {q.day('c.detected_at')}, c.kind, s.carrier, COALESCE(sh.origin_province, :origin), o.province,"
            " COUNT(*) FROM exception_cases c JOIN orders o ON o.id = c.order_id JOIN shops sh ON sh.id = o.shop_id"
            " LEFT JOIN shipments s ON s.id = c.shipment_id"
            " WHERE c.detected_at >= :since AND c.detected_at < :until" + q.shop("o.shop_id") +
            " GROUP BY 1, 2, 3, 4, 5", origin=default_origin):
        daily.setdefault(kind, [0] * len(days))[index[_day(day)]] += n
        carriers[carrier][kind] += n
        routes[(_province(origin), _province(destination))] += n
    return Cases(
        daily=Daily(days, dict(sorted(daily.items(), key=lambda kv: (-sum(kv[1]), kv[0])))),
        carriers=sorted((CarrierCases(c, k.total(), k) for c, k in carriers.items()),
                        key=lambda c: (-c.total, c.carrier or "")),
        routes=[RouteCases(o, d, n) for (o, d), n in sorted(routes.items(), key=lambda kv: (-kv[1], kv[0][1] or ""))[:top]])


def shipping(conn: Connection, period: Period, now: datetime, pickup_limit: timedelta, default_origin: str,
             top: int = TOP_ROUTES) -> Shipping:
    """The original parcels of the orders shipped in the period, in two passes (per carrier,
    per route):
      pickup rate   first scan within ``pickup_limit`` of shipped_at; a parcel shipped less
                    than that ago and not scanned yet is not decided, so not counted;
      transit       median hours from the first scan (else shipped_at) to delivered, to the
                    tenth of an hour; the ``top`` routes with the most deliveries."""
    q = _Query(conn, period)
    transit = q.tenths("COALESCE(s.first_scan_at, o.shipped_at)", "s.delivered_at")
    shipped = (" FROM orders o JOIN shipments s ON s.order_id = o.id AND s.kind = 'original' AND s.superseded_at IS NULL"
               "{shops} WHERE o.shipped_at >= :since AND o.shipped_at < :until" + q.shop("o.shop_id"))
    in_time = f"s.first_scan_at IS NOT NULL AND {q.hours('o.shipped_at', 's.first_scan_at')} <= :limit"
    per_carrier: dict[str | None, list] = defaultdict(lambda: [0, 0, Counter()])  # decided, on time, transit
    for carrier, pickup, tenths, n in q.run(
            f"SELECT s.carrier, CASE WHEN {in_time} THEN 2 WHEN o.shipped_at <= :decided THEN 1 ELSE 0 END,"
            f" CASE WHEN s.delivered_at IS NOT NULL THEN {transit} END, COUNT(*){shipped.format(shops='')} GROUP BY 1, 2, 3",
            times=("decided",), limit=pickup_limit / timedelta(hours=1), decided=now - pickup_limit):
        row = per_carrier[carrier]
        row[0] += n if pickup else 0
        row[1] += n if pickup == 2 else 0
        if tenths is not None:
            row[2][tenths] += n
    per_route: dict[tuple, Counter] = defaultdict(Counter)
    for origin, destination, tenths, n in q.run(
            f"SELECT COALESCE(sh.origin_province, :origin), o.province, {transit},"
            f" COUNT(*){shipped.format(shops=' JOIN shops sh ON sh.id = o.shop_id')}"
            " AND s.delivered_at IS NOT NULL GROUP BY 1, 2, 3", origin=default_origin):
        per_route[(_province(origin), _province(destination))][tenths] += n
    carriers = [CarrierPerformance(c, decided, on_time, hist.total(), median(hist))
                for c, (decided, on_time, hist) in per_carrier.items()]
    routes = [RouteTransit(o, d, hist.total(), median(hist)) for (o, d), hist in per_route.items()]
    return Shipping(carriers=sorted(carriers, key=lambda c: (-c.decided, c.carrier or "")),
                    routes=sorted(routes, key=lambda r: (-r.delivered, r.destination or ""))[:top])


_CONTACTS_BEFORE = "(SELECT COUNT(*) FROM customer_contacts k WHERE k.order_id = c.order_id AND k.at <= c.closed_at)"
_RESOLVER = ("COALESCE((SELECT e.user_id FROM case_events e WHERE e.case_id = c.id AND e.event = 'resolved'"
             " ORDER BY e.id DESC LIMIT 1), c.assignee_id)")


def first_contact(conn: Connection, period: Period) -> tuple[ContactRate, list[ContactRate]]:
    """Cases resolved in the period (``closed_at``), overall and per agent who resolved them
    (else their assignee): how many had a customer contact on their order before
    resolution, and how many exactly one (the first-contact resolution rate's numerator)."""
    q = _Query(conn, period)
    rows = q.run(
        "SELECT x.agent, u.display_name, u.username, COUNT(*), SUM(CASE WHEN x.contacts > 0 THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN x.contacts = 1 THEN 1 ELSE 0 END)"
        f" FROM (SELECT {_RESOLVER} AS agent, {_CONTACTS_BEFORE} AS contacts"
        " FROM exception_cases c JOIN orders o ON o.id = c.order_id"
        " WHERE c.status = 'resolved' AND c.closed_at >= :since AND c.closed_at < :until" + q.shop("o.shop_id") +
        ") x LEFT JOIN users u ON u.id = x.agent GROUP BY x.agent, u.display_name, u.username").all()
    agents = sorted((ContactRate(display or username, int(n), int(contacted), int(first))
                     for _uid, display, username, n, contacted, first in rows),
                    key=lambda r: (-r.resolved, r.agent or ""))
    overall = ContactRate(None, sum(a.resolved for a in agents), sum(a.contacted for a in agents),
                          sum(a.first for a in agents))
    return overall, agents


def refund_timeliness(conn: Connection, period: Period, now: datetime, within: timedelta = REFUND_WITHIN) -> Refunds:
    """Refunds requested in the period: how long until finished (median hours) and the share
    finished within ``within`` (those still open but younger than that are not decided);
    plus the refund and compensation actions agents recorded in the period."""
    q = _Query(conn, period)
    span = q.hours("r.requested_at", "r.finished_at")
    in_period = "FROM refunds r WHERE r.requested_at >= :since AND r.requested_at < :until" + q.shop("r.shop_id")
    requested, finished, decided, in_time = q.run(
        f"SELECT COUNT(*), SUM(CASE WHEN r.finished_at IS NOT NULL THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN r.finished_at IS NOT NULL OR r.requested_at <= :decided THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN r.finished_at IS NOT NULL AND {span} <= :limit THEN 1 ELSE 0 END) {in_period}",
        times=("decided",), decided=now - within, limit=within / timedelta(hours=1)).one()
    took = Counter(dict(q.run(f"SELECT {q.tenths('r.requested_at', 'r.finished_at')}, COUNT(*) {in_period}"
                              " AND r.finished_at IS NOT NULL GROUP BY 1").all()))
    actions = q.run(
        "SELECT u.display_name, u.username, a.code, COUNT(*) AS n, SUM(a.amount) AS amount"
        " FROM actions a JOIN orders o ON o.id = a.order_id LEFT JOIN users u ON u.id = a.user_id"
        " WHERE a.code IN :codes AND a.at >= :since AND a.at < :until" + q.shop("o.shop_id") +
        " GROUP BY u.display_name, u.username, a.code",
        lists=("codes",), codes=list(REFUND_ACTIONS),
        columns={"display_name": String, "username": String, "code": String, "n": Integer, "amount": Money()})
    return Refunds(
        requested=requested, finished=int(finished or 0), median_hours=median(took),
        decided=int(decided or 0), in_time=int(in_time or 0),
        actions=sorted((RefundActions(display or username, code, n, amount or Decimal(0))
                        for display, username, code, n, amount in actions),
                       key=lambda a: (-a.count, a.agent or "", a.code)))
