"""The adaptive poll schedule: pure, table-driven."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tracker.schedule import DEFAULT_POLICY as P
from tracker.schedule import (
    circuit_open_for,
    expected_transit,
    next_poll_at,
    retry_at,
    route_of,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)
SHIPPED = datetime(2024, 11, 11, 10, 0, tzinfo=UTC)
NOW = SHIPPED + 30 * H
SCAN = NOW - 5 * H  # the last scan
ARRIVAL = SHIPPED + 4 * 24 * H


def when(status: str, *, now=NOW, first_scan=SHIPPED + 2 * H, last_event=SCAN, last_polled=None,
         arrival=ARRIVAL, pushed=False):
    return next_poll_at(status, now=now, shipped_at=SHIPPED, first_scan_at=first_scan, last_event_at=last_event,
                        last_polled_at=last_polled, expected_arrival=arrival, pushed=pushed)


@pytest.mark.parametrize(("status", "expected"), [
    ("picked_up", SCAN + P.stall_limits["picked_up"] + P.stall_margin),  # before the arrival: the stall check
    ("in_transit", ARRIVAL),  # the expected arrival comes before the stall check here
    ("out_for_delivery", NOW + P.out_for_delivery_every),
    ("available_for_pickup", NOW + P.pickup_station_every),
    ("failed_attempt", SCAN + P.stall_limits["failed_attempt"] + P.stall_margin),  # no redelivery for a day
    ("exception", SCAN + P.stall_limits["exception"] + P.stall_margin),
    ("returning", ARRIVAL),
    ("refused", SCAN + P.stall_limits["refused"] + P.stall_margin),
    ("unknown", SCAN + P.stall_limits["unknown"] + P.stall_margin),
    ("delivered", None),
    ("returned", None),
])
def test_each_state(status, expected) -> None:
    assert when(status) == expected


def test_in_transit_is_asked_at_the_expected_arrival_when_that_comes_first() -> None:
    arrival = NOW + 3 * H
    assert when("in_transit", arrival=arrival) == arrival


def test_in_transit_past_the_expected_arrival_falls_back_to_the_overdue_cadence() -> None:
    assert when("in_transit", arrival=NOW - H, last_event=NOW - H) == NOW + P.overdue_every


def test_a_stall_is_seen_right_after_its_threshold() -> None:
    limit = P.stall_limits["in_transit"]
    last = NOW - limit + H
    assert when("in_transit", last_event=last, arrival=NOW - H) == last + limit + P.stall_margin
    assert when("in_transit", last_event=last) - (last + P.stall_limits["in_transit"]) <= 2 * H


def test_no_scan_yet_every_few_hours_and_once_right_after_the_pickup_deadline() -> None:
    early = SHIPPED + H
    assert when("pending", now=early, first_scan=None, last_event=None) == early + P.unscanned_every
    late = SHIPPED + 20 * H
    deadline = SHIPPED + P.pickup_deadline + P.stall_margin
    assert when("pending", now=late, first_scan=None, last_event=None) == deadline
    after = SHIPPED + 30 * H
    assert when("pending", now=after, first_scan=None, last_event=None) == after + 15 * H  # half its age
    week = SHIPPED + 8 * 24 * H  # never scanned: nothing can fail unseen, so the sparsest cadence
    assert when("pending", now=week, first_scan=None, last_event=None) == week + P.unscanned_max_every
    assert P.unscanned_max_every > P.stalled_max_every


def test_a_stall_already_seen_is_watched_ever_more_sparsely() -> None:
    assert when("picked_up", last_event=NOW - 40 * H) == NOW + 20 * H  # past its 24 h limit: half its age
    # never sparser than 36 h: a parcel that moves again may fail delivery (24 h limit) at once
    assert when("in_transit", last_event=NOW - 20 * 24 * H, now=NOW) == NOW + 36 * H


def test_near_the_auto_confirm_deadline_sooner() -> None:
    now = SHIPPED + P.auto_confirm_after - 10 * H
    assert when("in_transit", now=now, last_event=now - 5 * 24 * H, arrival=now - H) == now + P.near_deadline_every


@pytest.mark.parametrize("status", ["in_transit", "out_for_delivery", "pending", "exception"])
def test_never_inside_the_lock_window(status) -> None:
    polled = NOW - 5 * M
    stall_now = NOW - P.stall_limits["in_transit"]  # a stall check already due
    result = when(status, last_event=stall_now, last_polled=polled)
    assert result >= polled + P.lock


def test_with_push_only_a_sparse_safety_net() -> None:
    assert when("in_transit", pushed=True) == SCAN + P.push_silence
    assert when("delivered", pushed=True) is None


def test_retry_backoff_grows_is_capped_has_jitter_and_honours_retry_after() -> None:
    rng = random.Random(1)
    delays = [retry_at(n, now=NOW, last_polled_at=None, rng=rng) - NOW for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(P.retry_cap, P.retry_base * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= P.retry_cap
    assert len({d.total_seconds() for d in delays[-3:]}) == 3  # jitter
    assert retry_at(1, now=NOW, last_polled_at=None, retry_after=900) >= NOW + 15 * M


def test_retry_never_inside_the_lock_window_of_the_last_answered_query() -> None:
    assert retry_at(1, now=NOW, last_polled_at=NOW - 10 * M) == NOW + 20 * M
    assert retry_at(1, now=NOW, last_polled_at=None, counted=True) == NOW + P.lock


def test_circuit_opening_doubles_and_is_capped() -> None:
    assert [circuit_open_for(n) for n in (1, 2, 3)] == [P.circuit_open_for * k for k in (1, 2, 4)]
    assert circuit_open_for(50) == P.circuit_open_cap


@pytest.mark.parametrize(("origin", "dest", "days"), [
    ("浙江", "浙江", 2), ("浙江", "江苏", 3), ("浙江", "山东", 3), ("浙江", "广东", 4), ("浙江", "北京", 4),
    ("浙江", "新疆维吾尔自治区", 7), ("新疆", None, 7), (None, "北京", 4), (None, None, 4),
    # places as a courier writes them: the city counts when both name one
    ("浙江省杭州市西湖区", "浙江,杭州市,滨江区", 1), ("浙江省杭州市西湖区", "浙江,宁波市,鄞州区", 2),
    ("上海市浦东新区", "上海,上海市,徐汇区", 1), ("浙江省杭州市西湖区", "浙江", 2),
    ("杭州转运中心", "浙江,杭州市", 2),  # a hub name: the province, not a pickup city
])
def test_expected_transit_by_route(origin, dest, days) -> None:
    assert expected_transit(origin, dest) == timedelta(days=days)


def test_the_route_is_the_one_the_courier_reports() -> None:
    # where the first scan happened, then routeInfo.from; the shop's origin only when neither says
    assert route_of("浙江", "江苏", first_scan_place="北京市朝阳区", route_from="上海,上海市") == ("北京市朝阳区", "江苏")
    assert route_of("浙江", "江苏", first_scan_place="", route_from="上海,上海市")[0] == "上海,上海市"
    assert route_of("浙江", "江苏") == ("浙江", "江苏")
    # routeInfo.to names the city (and the address the courier delivers to), else the order's province
    assert route_of("浙江", "江苏", route_to="江苏,苏州市,吴中区") == ("浙江", "江苏,苏州市,吴中区")
    assert route_of("浙江", "江苏", route_to="") == ("浙江", "江苏")


# A same-city parcel in 北京 from a shop whose origin province is 浙江 (the journey the sandbox
# played in bench/bench_api_cost.py): it fails delivery 27 h after shipping, stalls at 51 h
# (failed_attempt: 24 h) and is redelivered at 76 h.
LOCAL_SHIPPED = datetime(2024, 11, 13, 4, 35, tzinfo=UTC)
LOCAL_SCANS = [(LOCAL_SHIPPED + timedelta(hours=h), status) for h, status in [
    (2.9, "picked_up"), (7.1, "in_transit"), (8.4, "in_transit"), (9.3, "in_transit"), (28.2, "in_transit"),
    (29.7, "out_for_delivery"), (31.5, "failed_attempt"), (69.5, "out_for_delivery"), (72.2, "delivered"),
]]


def polls(scans, origin, destination, shipped=LOCAL_SHIPPED, until=timedelta(days=6)) -> list[datetime]:
    """The queries next_poll_at asks for, from shipping on, each seeing the scans up to its time."""
    asked, at = [], shipped
    while at is not None and at < shipped + until:
        asked.append(at)
        seen = [(t, s) for t, s in scans if t <= at]
        status = seen[-1][1] if seen else "pending"
        at = next_poll_at(status, now=at, shipped_at=shipped, first_scan_at=seen[0][0] if seen else None,
                          last_event_at=seen[-1][0] if seen else None, last_polled_at=at,
                          expected_arrival=shipped + expected_transit(origin, destination))
    return asked


def seen_after(crossing: datetime, asked: list[datetime]) -> timedelta:
    return min(t for t in asked if t >= crossing) - crossing


def test_a_failed_delivery_on_a_short_route_is_seen_within_two_hours_of_its_stall() -> None:
    failed = next(t for t, s in LOCAL_SCANS if s == "failed_attempt")
    crossing, redelivered = failed + P.stall_limits["failed_attempt"], LOCAL_SCANS[-2][0]
    # with the shop's origin the parcel looked like a 4-day one: no query between the failure
    # and the redelivery, the stall went unseen (the bench's miss)
    assert seen_after(crossing, polls(LOCAL_SCANS, "浙江", "北京")) > redelivered - crossing
    # with the route the courier reports, the expected arrival comes first and then the daily look
    origin, destination = route_of("浙江", "北京", first_scan_place="北京市朝阳区", route_to="北京,北京市,海淀区")
    assert expected_transit(origin, destination) == P.transit_same_city
    assert seen_after(crossing, polls(LOCAL_SCANS, origin, destination)) <= 2 * H
    # the same journey within a province, the city unknown (2 days): still in time
    assert expected_transit("江苏省", "江苏") == P.transit_same_province
    assert seen_after(crossing, polls(LOCAL_SCANS, "江苏省", "江苏")) <= 2 * H
