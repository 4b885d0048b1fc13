"""Subscriptions and pushes: signed form POSTs to the callback as the clock moves."""
from __future__ import annotations

from datetime import timedelta

import pytest

from couriers.kuaidi100 import Kuaidi100
from couriers.sandbox import DEFAULT_KEY
from sandbox_helpers import CLOCK_START, md5_upper, subscribe

SALT = "pepper"
PARCEL = {"num": "YT7510345712345", "com": "yuantong", "shipped_at": CLOCK_START, "to_province": "江苏"}


def test_subscription_replies(control, http, callback):
    control.register([{**PARCEL, "scenario": "delivered"}])
    assert subscribe(http, PARCEL["num"], "yuantong", callback.url, salt=SALT) == {
        "result": True, "returnCode": "200", "message": "提交成功"}
    assert subscribe(http, PARCEL["num"], "yuantong", callback.url)["returnCode"] == "501"
    assert subscribe(http, PARCEL["num"], "yuantong", callback.url, key="wrong")["returnCode"] == "600"
    assert subscribe(http, PARCEL["num"], "yuantong", "not a url")["returnCode"] == "700"
    assert subscribe(http, PARCEL["num"], "nosuchcourier", callback.url)["returnCode"] == "700"
    assert control.stats()["subscriptions"] == 1


def test_pushes_follow_the_clock_and_stop_when_signed(control, http, callback):
    control.register([{**PARCEL, "scenario": "delivered"}])
    subscribe(http, PARCEL["num"], "yuantong", callback.url, salt=SALT)
    assert control.advance(timedelta(hours=12))["pushes_sent"] == 1
    control.advance(timedelta(days=20), step=timedelta(hours=12))
    control.advance(timedelta(days=20))
    for form in callback.pushes:
        assert form["sign"] == md5_upper(form["param"] + SALT)
    pushes = callback.params()
    assert [p["status"] for p in pushes] == ["polling"] * (len(pushes) - 1) + ["shutdown"]
    sizes = [len(p["lastResult"]["data"]) for p in pushes]
    assert len(pushes) >= 3 and sizes == sorted(set(sizes)), "each push carries the full, longer trace"
    last = pushes[-1]
    assert last["lastResult"]["ischeck"] == "1" and last["lastResult"]["nu"] == PARCEL["num"]
    assert last["lastResult"]["data"][0]["statusCode"] in {"301", "303"}  # newest first
    assert {"billstatus", "message", "autoCheck", "comOld", "comNew"} <= set(last)
    assert control.stats()["pushes_by_status"] == {"polling": len(pushes) - 1, "shutdown": 1}


def test_no_scan_three_days_after_subscribing_aborts(control, http, callback):
    control.register([{**PARCEL, "scenario": "never_scanned"}])
    subscribe(http, PARCEL["num"], "yuantong", callback.url, salt=SALT)
    control.advance(timedelta(days=2, hours=23))
    assert callback.pushes == []
    control.advance(timedelta(hours=1))
    control.advance(timedelta(days=5))
    (abort,) = callback.params()
    assert (abort["status"], abort["message"], abort["comNew"]) == ("abort", "3天查询无记录", "")
    assert abort["lastResult"]["data"] == []


def test_wrong_company_aborts_with_the_right_one_and_polls_on(control, http, callback):
    control.register([{**PARCEL, "com": "zhongtong", "num": "73100055554444", "phone": "13800001234",
                       "scenario": "delivered"}])
    subscribe(http, "73100055554444", "yuantong", callback.url, salt=SALT, phone="1234")
    control.advance(timedelta(days=3))
    control.advance(timedelta(days=1))
    abort, polling = callback.params()
    assert (abort["status"], abort["autoCheck"], abort["comOld"], abort["comNew"]) == (
        "abort", "1", "yuantong", "zhongtong")
    assert polling["status"] in {"polling", "shutdown"} and polling["lastResult"]["com"] == "zhongtong"


def test_sixty_days_without_change_aborts(control, http, callback):
    control.register([{**PARCEL, "scenario": "lost"}])
    subscribe(http, PARCEL["num"], "yuantong", callback.url, salt=SALT)
    control.advance(timedelta(days=5))
    control.advance(timedelta(days=60))
    control.advance(timedelta(days=5))
    statuses = [(p["status"], p["message"]) for p in callback.params()]
    assert statuses == [("polling", ""), ("abort", "60天无变化")]


def test_failed_pushes_are_retried_every_30_minutes_three_times(control, http, callback):
    control.register([{**PARCEL, "scenario": "delivered"}])
    subscribe(http, PARCEL["num"], "yuantong", callback.url, salt=SALT)
    callback.status = 500
    control.advance(timedelta(days=1))
    control.advance(timedelta(hours=3), step=timedelta(minutes=10))
    stats = control.stats()
    assert (len(callback.pushes), stats["pushes_failed"], stats["pushes_sent"]) == (4, 4, 0)
    callback.status = 200
    control.advance(timedelta(days=20))
    assert callback.params()[-1]["status"] == "shutdown"


def test_unreachable_callback_counts_as_failed(control, http):
    control.register([{**PARCEL, "scenario": "delivered"}])
    subscribe(http, PARCEL["num"], "yuantong", "http://127.0.0.1:9/closed", salt=SALT)
    assert control.advance(timedelta(days=1))["pushes_failed"] == 1


def test_no_salt_no_sign(control, http, callback):
    control.register([{**PARCEL, "scenario": "delivered"}])
    subscribe(http, PARCEL["num"], "yuantong", callback.url)
    control.advance(timedelta(days=1))
    assert "sign" not in callback.pushes[0]


def test_flush_pushes_without_moving_the_clock(control, http, callback):
    control.register([{**PARCEL, "scenario": "delivered", "shipped_at": CLOCK_START - timedelta(days=1)}])
    subscribe(http, PARCEL["num"], "yuantong", callback.url)
    assert control.flush() == {"pushes_sent": 1, "pushes_failed": 0}
    assert control.now() == CLOCK_START


@pytest.mark.parametrize("scenario", ["delivered", "refused_returned", "damaged"])
def test_the_real_adapter_accepts_the_pushes(control, http, callback, scenario):
    control.register([{**PARCEL, "scenario": scenario}])
    subscribe(http, PARCEL["num"], "yuantong", callback.url, salt=SALT)
    control.advance(timedelta(days=30), step=timedelta(hours=6))
    provider = Kuaidi100(customer="unused", key=DEFAULT_KEY, salt=SALT)
    try:
        results = [provider.parse_push(form) for form in callback.pushes]
    finally:
        provider.close()
    assert results[-1].stopped and results[-1].results[0].signed
    assert not any(r.results[0].unmapped for r in results)
