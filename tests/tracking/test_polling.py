"""The poller through ``httpx.MockTransport`` with real-shaped Kuaidi100 answers, on SQLite and
PostgreSQL: events stored once, state and schedule, per-parcel errors, provider failures,
retries, the circuit breaker, and a poller killed mid-poll."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tracker.polling import LEASE_FOR, Poller
from tracker.schedule import DEFAULT_POLICY
from tracking_helpers import (
    MINUTE,
    T0,
    Courier,
    add_shipments,
    events,
    failure,
    health,
    shipment,
    trace,
)

HOUR = timedelta(hours=1)


class Sleeps(list):
    """Records the poller's waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def poller(courier: Courier, **options) -> Poller:
    options.setdefault("sleep", Sleeps())
    return Poller(courier.provider(), **options)


def poll(engine, courier: Courier, now=T0, **options):
    with poller(courier, **options) as p:
        return p.poll_once(engine, now=now, owner="test")


def test_in_transit_events_stored_once_even_when_polled_twice(engine) -> None:
    add_shipments(engine, ["ZT1"])
    courier = Courier()
    report = poll(engine, courier)
    assert (report.polled, report.events_added) == (1, 3)
    first = shipment(engine, "ZT1")
    assert first.status == "in_transit" and first.raw_state == "1002"
    assert first.last_polled_at == T0 and first.poll_count == 1 and first.lease_owner is None
    assert first.last_event_text.startswith("【义乌转运中心】 已发出")
    assert first.next_poll_at >= T0 + DEFAULT_POLICY.lock
    again = poll(engine, courier, now=first.next_poll_at)
    assert (again.polled, again.events_added) == (1, 0)
    assert len(events(engine, "ZT1")) == 3 and shipment(engine, "ZT1").poll_count == 2


def test_a_parcel_shared_by_several_orders_is_asked_about_once(engine) -> None:
    """Douyin sub-orders packed together carry one waybill: one query (Kuaidi100 locks a
    waybill asked about again within 30 minutes), its answer stored on each shipment."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tracker.models import Order, Shipment

    add_shipments(engine, ["ZT7", "ZT8"])
    with Session(engine) as session, session.begin():
        order = session.scalars(select(Order).where(Order.platform_order_id == "OZT7")).one()
        sibling = Order(shop_id=order.shop_id, platform="taobao", platform_order_id="OZT7-2", status="shipped",
                        status_raw="卖家已发货", receiver_phone="13800001111", source_hash="x")
        session.add_all([sibling, Shipment(order=sibling, waybill="ZT7", carrier="yto", next_poll_at=T0)])
    courier = Courier()
    report = poll(engine, courier)
    assert courier.counts == {"ZT7": 1, "ZT8": 1} and report.calls == 2
    assert (report.leased, report.polled, report.events_added) == (3, 3, 9)
    with Session(engine) as session:
        shared = session.scalars(select(Shipment).where(Shipment.waybill == "ZT7")).all()
    assert len(shared) == 2 and all(s.status == "in_transit" and s.poll_count == 1 for s in shared)


def test_the_schedule_expects_the_transit_of_the_route_the_courier_reports(engine) -> None:
    add_shipments(engine, ["ZT1", "ZT2"])  # the shop's origin is 浙江, the order goes to 海南: 7 days
    local = trace("query_in_transit.json")

    def same_city(param: dict) -> httpx.Response:  # picked up in 海口, going to 海口: a day
        body = local(param).content.decode()
        body = body.replace("浙江省金华市义乌市", "海南省海口市美兰区").replace("浙江,金华市,义乌市", "海南,海口市,美兰区")
        return httpx.Response(200, content=body.encode())

    poll(engine, Courier().answer("ZT2", same_city))
    far, near = shipment(engine, "ZT1"), shipment(engine, "ZT2")
    # 浙江 → 海南: before its expected arrival, the next look is the stall check of its last scan
    assert far.next_poll_at == far.last_event_at + DEFAULT_POLICY.stall_limit("in_transit") + DEFAULT_POLICY.stall_margin
    # the same parcel within 海口 is past its expected arrival (shipped a day ago): daily, so a
    # failed delivery is seen before it stalls
    assert near.next_poll_at == T0 + DEFAULT_POLICY.overdue_every


def test_nothing_is_polled_before_it_is_due(engine) -> None:
    add_shipments(engine, ["ZT1"], due=T0 + HOUR)
    courier = Courier()
    assert poll(engine, courier).leased == 0
    assert courier.calls == []


def test_delivered_is_done_and_never_polled_again(engine) -> None:
    add_shipments(engine, ["YT1"])
    courier = Courier(trace("query_delivered.json"))
    report = poll(engine, courier)
    assert (report.delivered, report.done) == (1, 1)
    parcel = shipment(engine, "YT1")
    assert parcel.done and parcel.status == "delivered" and parcel.next_poll_at is None
    assert parcel.delivered_at is not None
    assert poll(engine, courier, now=T0 + timedelta(days=30)).leased == 0
    assert courier.calls == ["YT1"]


def test_no_result_yet_is_rescheduled_not_an_error(engine) -> None:
    add_shipments(engine, ["YT1"], shipped_at=T0 - HOUR)
    courier = Courier(failure("500", "查询无结果，请隔段时间再查"))
    report = poll(engine, courier)
    assert (report.no_trace, report.calls, report.errors) == (1, 1, {})
    parcel = shipment(engine, "YT1")
    assert parcel.status == "pending" and parcel.error_count == 0 and parcel.last_error is None
    assert parcel.next_poll_at == T0 + DEFAULT_POLICY.unscanned_every
    assert health(engine).error_count == 0 and health(engine).circuit_open_until is None


def test_parcel_errors_stay_on_the_parcel_and_do_not_stop_the_batch(engine) -> None:
    add_shipments(engine, ["SF1", "YT2", "YT3"])
    courier = Courier().answer("SF1", failure("408", "验证码错误"))
    report = poll(engine, courier)
    assert report.errors == {"PhoneRequired": 1} and report.polled == 2
    bad = shipment(engine, "SF1")
    assert "408" in bad.last_error and bad.error_count == 1 and bad.error_since == T0
    assert bad.next_poll_at == T0 + DEFAULT_POLICY.parcel_error_every
    assert shipment(engine, "YT2").status == "in_transit"
    assert health(engine).error_count == 0


def test_unknown_state_is_status_unknown_and_counted(engine) -> None:
    add_shipments(engine, ["YT1", "YT2"])

    def strange(param: dict) -> httpx.Response:
        response = trace("query_in_transit.json")(param)
        return httpx.Response(200, content=response.content.replace(b'"state":"1002"', b'"state":"99"'))

    report = poll(engine, Courier(strange))
    assert report.unmapped == 2
    assert shipment(engine, "YT1").status == "unknown" and shipment(engine, "YT1").raw_state == "99"
    assert health(engine).unmapped_codes == 2


@pytest.mark.parametrize("answer", [
    httpx.Response(200, content=b'{"message":"ok","nu":"YT1","state":"0","data":[{"time":'),
    httpx.Response(200, content=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                   headers={"content-type": "text/html"}),
], ids=["garbled", "html"])
def test_garbled_or_html_body_is_a_bad_response_on_the_shipment(engine, answer) -> None:
    add_shipments(engine, ["YT1"])
    courier = Courier(answer)
    report = poll(engine, courier)
    assert report.errors == {"BadResponse": 1} and courier.calls == ["YT1"]  # not retried in the lock window
    parcel = shipment(engine, "YT1")
    assert parcel.last_error.startswith("kuaidi100") and parcel.error_count == 1 and parcel.lease_owner is None
    assert parcel.next_poll_at >= T0 + DEFAULT_POLICY.lock
    assert health(engine).last_error == parcel.last_error and health(engine).error_since == T0


@pytest.mark.parametrize("answer", [
    failure("502", "服务器繁忙"),
    httpx.Response(500, content=b"<html>500 Internal Server Error</html>"),
    httpx.Response(429, json={"message": "Too Many Requests"}, headers={"Retry-After": "3"}),
], ids=["busy-502", "http-500", "http-429"])
def test_temporary_failures_are_retried_with_backoff_then_recover(engine, answer) -> None:
    add_shipments(engine, ["YT1"])
    courier = Courier().answer("YT1", answer, answer, trace("query_in_transit.json"))
    sleeps = Sleeps()
    report = poll(engine, courier, sleep=sleeps)
    assert courier.calls == ["YT1"] * 3 and report.retries == 2 and report.errors == {}
    assert sleeps[1] > sleeps[0] or sleeps[0] >= 3  # growing backoff, or the Retry-After
    if "429" in str(answer.status_code):
        assert min(sleeps) >= 3
    assert shipment(engine, "YT1").status == "in_transit" and shipment(engine, "YT1").error_count == 0
    assert health(engine).error_count == 0 and health(engine).last_ok_at == T0


def test_persistent_failure_is_rescheduled_with_backoff_and_visible(engine) -> None:
    add_shipments(engine, ["YT1"])
    courier = Courier(httpx.Response(503, content=b"busy"))
    report = poll(engine, courier)
    assert courier.calls == ["YT1"] * 3 and report.errors == {"TemporaryError": 1}
    parcel = shipment(engine, "YT1")
    assert parcel.error_count == 1 and "HTTP 503" in parcel.last_error
    assert T0 + DEFAULT_POLICY.retry_base / 2 <= parcel.next_poll_at <= T0 + DEFAULT_POLICY.retry_base
    state = health(engine)
    assert state.error_count == 3 and state.error_since == T0 and state.calls == 3


def test_retry_after_longer_than_the_in_call_cap_reschedules(engine) -> None:
    add_shipments(engine, ["YT1"])
    courier = Courier(httpx.Response(429, json={}, headers={"Retry-After": "600"}))
    poll(engine, courier)
    assert courier.calls == ["YT1"]
    assert shipment(engine, "YT1").next_poll_at >= T0 + timedelta(seconds=600)


def test_expired_key_opens_the_circuit_at_once_and_recovers_when_fixed(engine) -> None:
    add_shipments(engine, [f"YT{i}" for i in range(20)])
    courier = Courier(failure("601", "key已过期"))
    report = poll(engine, courier, concurrency=1)
    assert courier.calls == ["YT0"]  # no retry storm: one call, then nothing is sent
    assert report.errors == {"AuthError": 1} and report.skipped == 19
    state = health(engine)
    assert state.circuit_open_until == T0 + DEFAULT_POLICY.auth_open_for and "601" in state.last_error
    assert shipment(engine, "YT0").error_count == 1
    assert shipment(engine, "YT5").error_count == 0 and shipment(engine, "YT5").next_poll_at == state.circuit_open_until
    assert poll(engine, courier, now=T0 + MINUTE).leased == 0 and len(courier.calls) == 1  # still open
    courier.default = trace("query_in_transit.json")  # the key is fixed
    later = state.circuit_open_until + MINUTE
    recovered = poll(engine, courier, now=later)
    assert recovered.polled == 20 and recovered.errors == {}
    state = health(engine)
    assert state.circuit_open_until is None and state.error_count == 0 and state.last_ok_at == later
    assert shipment(engine, "YT0").error_count == 0 and shipment(engine, "YT0").last_error is None


def test_provider_down_opens_the_circuit_after_repeated_failures(engine) -> None:
    add_shipments(engine, [f"YT{i}" for i in range(10)])
    courier = Courier()
    provider_down = httpx.ConnectError("connection refused")

    def down(param: dict) -> httpx.Response:
        raise provider_down

    courier.default = down
    report = poll(engine, courier, concurrency=1)
    threshold = DEFAULT_POLICY.circuit_failures
    assert len(courier.calls) == threshold and report.skipped > 0
    assert health(engine).circuit_open_until == T0 + DEFAULT_POLICY.circuit_open_for
    # half-open: one probe; it fails, the circuit reopens for longer
    probe_at = T0 + DEFAULT_POLICY.circuit_open_for + MINUTE
    poll(engine, courier, now=probe_at, concurrency=1)
    assert len(courier.calls) == threshold + 1
    assert health(engine).circuit_open_until == probe_at + 2 * DEFAULT_POLICY.circuit_open_for
    courier.default = trace("query_in_transit.json")
    healed = poll(engine, courier, now=probe_at + HOUR, concurrency=1)
    assert healed.polled == 10 and health(engine).circuit_open_until is None


def test_killed_mid_poll_is_picked_up_after_the_lease_without_duplicates(engine) -> None:
    add_shipments(engine, ["YT1", "YT2"])
    courier = Courier()
    with poller(courier) as crashed:  # leases, then dies before storing anything
        leased = crashed._lease(engine, True, owner="crashed", now=T0, limit=10)
    assert len(leased) == 2
    assert poll(engine, courier, now=T0 + MINUTE).leased == 0  # still leased
    poll(engine, courier, now=T0 + 2 * MINUTE)
    resumed = poll(engine, courier, now=T0 + LEASE_FOR + MINUTE)
    assert resumed.polled == 2 and resumed.events_added == 6
    assert len(events(engine, "YT1")) == 3


def test_a_lost_lease_does_not_overwrite_the_new_owner(engine) -> None:
    add_shipments(engine, ["YT1"])
    courier = Courier()
    with poller(courier) as slow:
        slow._lease(engine, True, owner="slow", now=T0, limit=1)
    later = T0 + LEASE_FOR + MINUTE
    poll(engine, courier, now=later)  # the lease expired: another poller took the waybill
    assert shipment(engine, "YT1").last_polled_at == later
