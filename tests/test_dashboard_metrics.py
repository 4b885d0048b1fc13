"""Dashboard metrics on small hand-built data: every number is worked out by hand."""
from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

from tracker import dashboard
from tracker.dashboard import Period
from tracker.models import (
    Action,
    CaseEvent,
    CustomerContact,
    ExceptionCase,
    Order,
    Refund,
    Shipment,
    Shop,
    User,
)

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 on 11-20 in China
H = timedelta(hours=1)
PERIOD = Period(date(2026, 11, 11), date(2026, 11, 20))
_ids = itertools.count(1)


def china(day: int, hour: float = 0) -> datetime:
    """A November 2026 China wall-clock time, as UTC."""
    return datetime(2026, 11, day, tzinfo=UTC) - 8 * H + hour * H


class Data:
    """Terse inserts, each committed; every row gets what the schema requires."""

    def __init__(self, engine):
        self.engine = engine

    def _insert(self, model, **values) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(model.__table__).values(**values)).inserted_primary_key[0]

    def shop(self, name: str, origin: str | None = None) -> int:
        return self._insert(Shop, name=name, platform="taobao", origin_province=origin)

    def user(self, name: str) -> int:
        return self._insert(User, username=name, display_name=f"{name} 名", role="agent", password_hash="x")

    def order(self, shop: int, *, shipped_at: datetime | None = None, province: str = "广东省") -> int:
        return self._insert(Order, shop_id=shop, platform="taobao", platform_order_id=str(next(_ids)),
                            status="shipped", status_raw="卖家已发货", source_hash="h", province=province,
                            shipped_at=shipped_at)

    def parcel(self, order: int, carrier: str | None, *, first_scan: datetime | None = None,
               delivered: datetime | None = None, kind: str = "original", superseded: bool = False) -> int:
        return self._insert(Shipment, order_id=order, kind=kind, waybill=f"W{next(_ids)}", carrier=carrier,
                            first_scan_at=first_scan, delivered_at=delivered,
                            superseded_at=NOW if superseded else None)

    def shipped(self, shop: int, carrier: str, shipped_at: datetime, *, scan_after: float | None = None,
                transit: float | None = None, province: str = "广东省") -> int:
        """An order shipped at ``shipped_at``, first scan ``scan_after`` hours later, delivered
        ``transit`` hours after the first scan."""
        order = self.order(shop, shipped_at=shipped_at, province=province)
        scan = shipped_at + scan_after * H if scan_after is not None else None
        self.parcel(order, carrier, first_scan=scan,
                    delivered=(scan or shipped_at) + transit * H if transit is not None else None)
        return order

    def case(self, order: int, kind: str, detected: datetime, *, shipment: int | None = None,
             status: str = "open", closed: datetime | None = None, assignee: int | None = None) -> int:
        return self._insert(ExceptionCase, order_id=order, kind=kind, detected_at=detected, shipment_id=shipment,
                            status=status, closed_at=closed, assignee_id=assignee, updated_at=detected)

    def contact(self, order: int, at: datetime) -> None:
        self._insert(CustomerContact, order_id=order, at=at)


@pytest.fixture
def data(engine):
    return Data(engine)


@pytest.mark.parametrize(("tenths", "hours"), [
    ({}, None), ({200: 1}, 20.0), ({100: 1, 200: 1, 400: 1}, 20.0), ({100: 1, 300: 1}, 20.0),
    ({5: 3, 7: 1}, 0.5), ({5: 2, 7: 2}, 0.6), ({-10: 5, 30: 1}, 3.0), ({None: 2, 12: 1}, 1.2)])
def test_median_of_tenths(tenths, hours):
    assert dashboard.median(Counter(tenths)) == hours


def test_period_is_china_days(engine):
    assert PERIOD.since == datetime(2026, 11, 10, 16, tzinfo=UTC)
    assert PERIOD.until == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert len(PERIOD.days) == 10
    with pytest.raises(ValueError):
        Period(date(2026, 11, 2), date(2026, 11, 1))
    with pytest.raises(ValueError):
        Period(date(2025, 1, 1), date(2026, 11, 1))


def test_cases_per_day_kind_carrier_and_route(engine, data):
    east, west = data.shop("东店", "江苏省"), data.shop("西店")
    o1 = data.order(east, province="广东省")
    zto = data.parcel(o1, "zto")
    o2 = data.order(west, province="北京市")
    o3 = data.order(east, province="广东省")
    data.case(o1, "stalled", china(12, 23.5), shipment=zto)  # late on the 12th, China time
    data.case(o3, "stalled", china(13, 0.5))  # just after midnight: the 13th
    data.case(o2, "not_shipped", china(13, 10))
    data.case(o2, "damaged", china(11, 0))  # the period's first minute
    data.case(o3, "damaged", china(10, 23.9))  # before the period
    data.case(o3, "no_tracking", china(21, 0))  # after it
    with engine.connect() as conn:
        found = dashboard.cases(conn, PERIOD, "浙江")
        east_only = dashboard.cases(conn, Period(PERIOD.first, PERIOD.last, shop_id=east), "浙江").daily
        top = dashboard.cases(conn, PERIOD, "浙江", top=1).routes
    daily, carriers, routes = found.daily, found.carriers, found.routes
    assert daily.days[0] == date(2026, 11, 11) and daily.days[-1] == date(2026, 11, 20)
    assert list(daily.counts) == ["stalled", "damaged", "not_shipped"]  # most first
    assert daily.counts["stalled"] == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert daily.counts["not_shipped"] == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert daily.counts["damaged"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert [(c.carrier, c.total, dict(c.kinds)) for c in carriers] == [
        (None, 3, {"stalled": 1, "not_shipped": 1, "damaged": 1}), ("zto", 1, {"stalled": 1})]
    assert [(r.origin, r.destination, r.total) for r in routes] == [("浙江", "北京", 2), ("江苏", "广东", 2)]  # ties by name
    assert east_only.counts == {"stalled": [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]}
    assert [(r.origin, r.destination) for r in top] == [("浙江", "北京")]


def test_pickup_rate_and_median_transit_per_carrier(engine, data):
    shop = data.shop("店")
    day = china(12, 9)
    data.shipped(shop, "zto", day, scan_after=2, transit=10)
    data.shipped(shop, "zto", day, scan_after=23.5, transit=40)
    data.shipped(shop, "zto", day, scan_after=30, transit=20)  # picked up late
    data.shipped(shop, "zto", day)  # never scanned, long ago: decided, late
    data.shipped(shop, "zto", NOW - 5 * H)  # not scanned yet, but 24 h have not passed: undecided
    data.shipped(shop, "zto", NOW - 3 * H, scan_after=1)  # already picked up: decided, on time
    data.shipped(shop, "yto", day, scan_after=-1, transit=30)  # scanned before being marked shipped
    data.shipped(shop, "yto", day, transit=10)  # no first scan: transit counts from shipped_at
    data.shipped(shop, "yto", china(9), scan_after=1, transit=1)  # shipped before the period
    late = data.order(shop, shipped_at=day)
    data.parcel(late, "yto", first_scan=day + 50 * H, delivered=day + 60 * H, superseded=True)  # no longer named
    data.parcel(late, "sto", first_scan=day + H, delivered=day + 9 * H, kind="reship")  # a reship is not counted
    with engine.connect() as conn:
        rows = {r.carrier: r for r in dashboard.shipping(conn, PERIOD, NOW, 24 * H, "浙江").carriers}
    assert set(rows) == {"zto", "yto"}
    zto, yto = rows["zto"], rows["yto"]
    assert (zto.decided, zto.on_time, zto.pickup_rate) == (5, 3, 0.6)
    assert (zto.delivered, zto.median_hours) == (3, 20.0)
    assert (yto.decided, yto.on_time) == (2, 1)  # a parcel never scanned is late once 24 h have passed
    assert (yto.delivered, yto.median_hours) == (2, 20.0)  # (30 + 10) / 2


def test_unscanned_parcel_counts_as_late_after_the_limit(engine, data):
    shop = data.shop("店")
    data.shipped(shop, "yto", NOW - 25 * H)
    data.shipped(shop, "yto", NOW - 23 * H)
    with engine.connect() as conn:
        (yto,) = dashboard.shipping(conn, PERIOD, NOW, 24 * H, "浙江").carriers
    assert (yto.decided, yto.on_time, yto.pickup_rate, yto.median_hours) == (1, 0, 0.0, None)


def test_median_transit_per_route(engine, data):
    east, plain = data.shop("东店", "江苏省"), data.shop("店")
    for hours in (5, 7, 100):
        data.shipped(east, "zto", china(12), scan_after=1, transit=hours, province="广东省")
    for hours in (20, 40, 30, 10):
        data.shipped(plain, "zto", china(12), scan_after=1, transit=hours, province="北京市")
    data.shipped(plain, "zto", china(12), scan_after=1, province="北京市")  # not delivered yet
    with engine.connect() as conn:
        routes = dashboard.shipping(conn, PERIOD, NOW, 24 * H, "浙江").routes
        top = dashboard.shipping(conn, PERIOD, NOW, 24 * H, "浙江", top=1).routes
    assert [(r.origin, r.destination, r.delivered, r.median_hours) for r in routes] == [
        ("浙江", "北京", 4, 25.0), ("江苏", "广东", 3, 7.0)]
    assert [r.destination for r in top] == ["北京"]


def test_first_contact_resolution(engine, data):
    shop = data.shop("店")
    ann, bob = data.user("ann"), data.user("bob")
    closed = china(15, 12)

    def resolved(contacts: list[datetime], *, by: int | None = None, assignee: int | None = None,
                 status: str = "resolved", when: datetime = closed) -> None:
        order = data.order(shop)
        case = data.case(order, "stalled", china(12), status=status, closed=when, assignee=assignee)
        if by is not None:
            data._insert(CaseEvent, case_id=case, at=when, event="resolved", user_id=by)
        for at in contacts:
            data.contact(order, at)

    resolved([china(14)], by=ann)  # first contact
    resolved([china(14), china(15)], by=ann)  # two contacts
    resolved([china(14)], assignee=bob)  # no resolve event: the assignee resolved it
    resolved([], by=bob)  # resolved without any contact: not in the rate
    resolved([china(16)], by=bob)  # the only contact came after resolution
    resolved([china(14)], by=ann, status="dismissed")  # dismissed: not resolved
    resolved([china(14)], by=ann, when=china(22))  # resolved after the period
    with engine.connect() as conn:
        overall, agents = dashboard.first_contact(conn, PERIOD)
    assert (overall.resolved, overall.contacted, overall.first) == (5, 3, 2)
    assert overall.rate == pytest.approx(2 / 3)
    assert [(a.agent, a.resolved, a.contacted, a.first, a.rate) for a in agents] == [
        ("bob 名", 3, 1, 1, 1.0), ("ann 名", 2, 2, 1, 0.5)]


def test_refund_timeliness_and_agent_refunds(engine, data):
    shop, other = data.shop("店"), data.shop("别的店")
    ann = data.user("ann")
    order = data.order(shop)

    def refund(requested: datetime, finished: datetime | None, shop_id: int = shop) -> None:
        data._insert(Refund, shop_id=shop_id, platform="taobao", refund_id=str(next(_ids)), platform_order_id="1",
                     status="succeeded" if finished else "requested", status_raw="x", source_hash="h",
                     requested_at=requested, finished_at=finished)

    refund(china(12), china(13))  # 24 h: in time
    refund(china(12), china(15))  # 72 h: late
    refund(china(12, 6), china(14, 6))  # exactly 48 h: in time
    refund(NOW - 100 * H, None)  # still open after 48 h: decided, late
    refund(NOW - 10 * H, None)  # open, within its 48 h: undecided
    refund(china(9), china(10))  # requested before the period
    refund(china(12), china(12, 1), shop_id=other)
    for code, amount in (("refund", "10.50"), ("refund", "5.25"), ("compensate", "3.00"), ("urge", None)):
        data._insert(Action, order_id=order, code=code, amount=Decimal(amount) if amount else None,
                     user_id=ann, at=china(13))
    with engine.connect() as conn:
        refunds = dashboard.refund_timeliness(conn, Period(PERIOD.first, PERIOD.last, shop_id=shop), NOW)
        everyone = dashboard.refund_timeliness(conn, PERIOD, NOW)
    assert (refunds.requested, refunds.finished, refunds.decided, refunds.in_time) == (5, 3, 4, 2)
    assert refunds.median_hours == 48.0
    assert refunds.in_time_rate == 0.5
    assert [(a.agent, a.code, a.count, a.amount) for a in refunds.actions] == [
        ("ann 名", "refund", 2, Decimal("15.75")), ("ann 名", "compensate", 1, Decimal("3.00"))]
    assert (everyone.requested, everyone.finished, everyone.median_hours) == (6, 4, 36.0)
