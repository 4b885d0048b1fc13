"""The sandbox over real HTTP: Kuaidi100 query answers, checks, faults, lock counting, control."""
from __future__ import annotations

import re
import socket
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from couriers.base import NoResultYet, ParcelStatus
from couriers.kuaidi100 import Kuaidi100
from couriers.sandbox import DEFAULT_CUSTOMER, DEFAULT_KEY
from couriers.timeparse import CHINA
from sandbox_helpers import CLOCK_START, md5_upper, query

SHIPPED = CLOCK_START - timedelta(days=2)
ZTO = {"num": "73100012345678", "com": "zhongtong", "phone": "13800001234", "shipped_at": SHIPPED,
       "from_province": "浙江", "to_province": "海南", "to_city": "海口", "scenario": "delivered"}
YTO = {"num": "YT7510345712345", "com": "yuantong", "shipped_at": SHIPPED, "to_province": "江苏",
       "scenario": "delivered"}
ROW_KEYS = {"time", "context", "ftime", "location", "areaCode", "areaName", "status", "areaCenter",
            "areaPinYin", "statusCode"}
NO_RESULT = {"result": False, "returnCode": "500", "message": "查询无结果，请隔段时间再查"}


def code_of(response: httpx.Response) -> str:
    return response.json().get("returnCode", "200")


def test_signed_query_answers_exactly_like_kuaidi100(control, http):
    control.register([YTO])
    response = query(http, com="yuantong", num=YTO["num"], resultv2="4")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "nu", "ischeck", "condition", "com", "status", "state", "data",
                         "routeInfo", "isLoop"}
    assert (body["message"], body["nu"], body["com"], body["status"]) == ("ok", YTO["num"], "yuantong", "200")
    assert body["ischeck"] in ("0", "1") and isinstance(body["state"], str)
    assert body["state"] == body["data"][0]["statusCode"]  # resultv2=4: the advanced state
    assert set(body["routeInfo"]) == {"from", "cur", "to"}
    assert body["routeInfo"]["to"]["name"].startswith("江苏,")
    rows = body["data"]
    assert all(set(row) == ROW_KEYS for row in rows)
    assert all(isinstance(v, str) for row in rows for k, v in row.items() if k not in ("areaCenter", "areaPinYin"))
    times = [row["ftime"] for row in rows]
    assert times == sorted(times, reverse=True), "newest first"
    # ftime is China wall-clock time: between shipping and now, both as seen in Shanghai.
    shipped_local = SHIPPED.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    now_local = CLOCK_START.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t) and shipped_local < t <= now_local
               for t in times)
    assert all(row["time"] == row["ftime"] for row in rows)
    assert all(re.fullmatch(r"CN\d{12}", row["areaCode"]) for row in rows)


def test_plain_query_has_main_states_and_no_areas(control, http):
    control.register([YTO])
    body = query(http, com="yuantong", num=YTO["num"]).json()
    assert body["state"] in {"0", "1", "2", "3", "4", "5", "6", "14"}
    assert all(set(row) == {"time", "context", "ftime", "location"} for row in body["data"])
    assert "routeInfo" not in body


def test_signed_parcel_is_checked(control, http):
    control.register([YTO])
    control.advance(timedelta(days=10))
    body = query(http, com="yuantong", num=YTO["num"], resultv2="4").json()
    assert (body["ischeck"], body["condition"], body["state"][0]) == ("1", "F00", "3")


@pytest.mark.parametrize(("change", "code"), [
    ({"sign": "0" * 32}, "503"),
    ({"customer": "SOMEONE-ELSE"}, "400"),
])
def test_bad_credentials(control, http, change, code):
    control.register([YTO])
    assert code_of(query(http, com="yuantong", num=YTO["num"], **change)) == code


def test_lower_case_sign_is_rejected(control, http):
    param = orjson.dumps({"com": "yuantong", "num": YTO["num"]}).decode()
    sign = md5_upper(param + DEFAULT_KEY + DEFAULT_CUSTOMER).lower()
    response = http.post("/poll/query.do", data={"customer": DEFAULT_CUSTOMER, "sign": sign, "param": param})
    assert response.json()["returnCode"] == "503"
    assert response.json()["message"] == "验证签名失败"


@pytest.mark.parametrize("param", [
    {"com": "nosuchcourier", "num": "YT7510345712345"},
    {"com": "yuantong", "num": "12345"},
    {"com": "yuantong", "num": "Y" * 33},
])
def test_bad_params_answer_400(control, http, param):
    assert code_of(query(http, **param)) == "400"


def test_json_body_is_not_a_form(http, control):
    response = http.post("/poll/query.do", json={"customer": "x"})
    assert response.json() == {"result": False, "returnCode": "400", "message": "找不到对应公司"}


def test_sf_and_zto_need_the_receivers_phone(control, http):
    control.register([ZTO])
    assert code_of(query(http, com="zhongtong", num=ZTO["num"])) == "408"
    assert code_of(query(http, com="zhongtong", num=ZTO["num"], phone="9999")) == "408"
    assert code_of(query(http, com="zhongtong", num=ZTO["num"], phone="1234")) == "200"
    assert code_of(query(http, com="zhongtong", num=ZTO["num"], phone="13800001234")) == "200"
    assert code_of(query(http, com="shunfeng", num="SF1402334455667")) == "408"


def test_no_scan_yet_is_500(control, http):
    control.register([{**YTO, "scenario": "never_scanned"}])
    assert query(http, com="yuantong", num=YTO["num"]).json() == NO_RESULT


def test_a_waybill_registered_under_another_company_has_no_result(control, http):
    control.register([YTO])
    assert query(http, com="yunda", num=YTO["num"]).json() == NO_RESULT


def test_unregistered_waybills_get_a_journey_from_the_seed(control, http):
    first = query(http, com="yunda", num="432100009999001").content
    control.reset()
    assert query(http, com="yunda", num="432100009999001").content == first


def test_requerying_within_30_minutes_is_counted_but_answered(control, http):
    control.register([YTO])
    for _ in range(3):
        assert code_of(query(http, com="yuantong", num=YTO["num"])) == "200"
    control.advance(timedelta(minutes=31))
    query(http, com="yuantong", num=YTO["num"])
    stats = control.stats()
    assert (stats["queries"], stats["lock_violations"]) == (4, 2)
    assert stats["queries_per_waybill"] == {"4": 1}


def test_expired_key_answers_601(control, http):
    control.register([YTO])
    control.faults(expired_key=True)
    assert query(http, com="yuantong", num=YTO["num"]).json()["returnCode"] == "601"


@pytest.mark.parametrize(("fault", "check"), [
    ("http_500_rate", lambda r: r.status_code == 500 and b"nginx" in r.content),
    ("http_429_rate", lambda r: r.status_code == 429 and r.headers["retry-after"] == "7"),
    ("busy_502_rate", lambda r: r.json() == {"result": False, "returnCode": "502", "message": "服务器繁忙"}),
    ("html_rate", lambda r: r.status_code == 200 and r.content.startswith(b"<html>")),
])
def test_injected_faults(control, http, fault, check):
    control.register([YTO])
    control.faults(**{fault: 1.0, "retry_after": 7})
    assert check(query(http, com="yuantong", num=YTO["num"]))
    assert sum(control.stats()["faults_injected"].values()) == 1


def test_garbled_answers_are_cut_json(control, http):
    control.register([YTO])
    control.faults(garbled_rate=1.0)
    response = query(http, com="yuantong", num=YTO["num"])
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_faults_are_drawn_from_their_seed(control, http):
    control.register([YTO])

    def pattern() -> list[int]:
        control.faults(http_500_rate=0.5, seed=3)
        return [query(http, com="yuantong", num=YTO["num"]).status_code for _ in range(20)]

    first = pattern()
    assert first == pattern() and set(first) == {200, 500}


def test_down_drops_connections_and_delay_delays(control, http):
    control.register([YTO])
    control.faults(down=True)
    with pytest.raises(httpx.TransportError):
        query(http, com="yuantong", num=YTO["num"])
    control.faults(delay_ms=150)
    began = time.perf_counter()
    assert code_of(query(http, com="yuantong", num=YTO["num"])) == "200"
    assert time.perf_counter() - began >= 0.15
    assert control.stats()["queries"] == 1  # control endpoints are never faulted


def test_unknown_fault_is_refused(control):
    with pytest.raises(httpx.HTTPStatusError) as err:
        control.faults(http_500=1.0)
    assert "known: http_500_rate" in err.value.response.json()["error"]


@pytest.mark.parametrize("parcel", [
    {**YTO, "to_province": "火星"},
    {**YTO, "scenario": "vanished"},
    {**YTO, "shipped_at": "2024-11-11T10:00:00"},
    {**YTO, "com": "nosuchcourier"},
    {**YTO, "colour": "red"},
])
def test_bad_registrations_are_refused(control, parcel):
    with pytest.raises(httpx.HTTPStatusError) as err:
        control.register([parcel])
    assert err.value.response.status_code == 400


def test_clock_set_advance_and_real_mode(control):
    assert control.now() == CLOCK_START
    control.set_clock(datetime(2024, 11, 20, tzinfo=UTC))
    control.advance(timedelta(hours=2))
    assert control.now() == datetime(2024, 11, 20, 2, tzinfo=UTC)
    assert control.set_clock(mode="real")["mode"] == "real"
    time.sleep(0.05)
    assert control.now() > datetime(2024, 11, 20, 2, tzinfo=UTC)
    control.set_clock(mode="manual")


def test_journey_truth_includes_the_future(control, http):
    control.register([YTO])
    truth = control.journey(YTO["num"])
    assert truth["scenario"] == "delivered" and truth["trace"]["ischeck"] == "1"
    seen = query(http, com="yuantong", num=YTO["num"], resultv2="4").json()
    assert len(truth["trace"]["data"]) > len(seen["data"])
    assert truth["trace"]["data"][-len(seen["data"]):] == seen["data"]


def test_pipelined_keep_alive_requests(server, control):
    """Two requests in one write on one connection: two answers, in order."""
    request = b"GET /sandbox/clock HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(request * 2)
        received = b""
        while received.count(b"HTTP/1.1 200") < 2 or not received.endswith(b"}"):
            received += sock.recv(65536)
    assert received.count(b'"mode":"manual"') == 2


def test_the_real_adapter_reads_the_sandbox(server, control):
    control.register([ZTO, {**YTO, "scenario": "never_scanned"}])
    control.advance(timedelta(days=10))
    provider = Kuaidi100(customer=server.customer, key=server.key, base_url=server.url)
    try:
        result = provider.query(ZTO["num"], "zto", ZTO["phone"])
        assert result.status is ParcelStatus.DELIVERED and result.signed and not result.unmapped
        assert result.destination.startswith("海南,海口市")
        with pytest.raises(NoResultYet):
            provider.query(YTO["num"], "yto")
    finally:
        provider.close()
