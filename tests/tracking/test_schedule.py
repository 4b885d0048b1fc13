"""The adaptive poll schedule: pure, table-driven."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tracker.schedule import DEFAULT_POLICY as P
from tracker.schedule import circuit_open_for, expected_transit, next_poll_at, retry_at

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
    ("浙江", "浙江", 2), ("浙江", "广东", 4), ("浙江", "新疆维吾尔自治区", 7), (None, "北京", 4),
])
def test_expected_transit_by_route(origin, dest, days) -> None:
    assert expected_transit(origin, dest) == timedelta(days=days)
