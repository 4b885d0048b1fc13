"""Kuaidi100 protocol: the request we send, every answer we parse, pushes we verify."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from courier_helpers import fixture_bytes, fixture_json, form_of
from couriers.base import (
    AuthError,
    BadRequest,
    BadResponse,
    Incident,
    NoResultYet,
    ParcelStatus,
    PhoneRequired,
    RateLimited,
    SignatureError,
    TemporaryError,
    UnknownCarrierCode,
)
from couriers.kuaidi100 import PUSH_REPLY, STATES, Kuaidi100, push_sign, query_sign

CUSTOMER, KEY, SALT = "TESTCUSTOMER01", "testkey123", "saltysalt"
CALLBACK = "https://shop.example.com/hooks/kuaidi100?shop=7"


def provider(client: httpx.Client, **settings) -> Kuaidi100:
    return Kuaidi100(**({"customer": CUSTOMER, "key": KEY, "salt": SALT, "callback_url": CALLBACK,
                         "client": client} | settings))


def failure(code: str, message: str) -> bytes:
    return orjson.dumps({"result": False, "returnCode": code, "message": message})


def with_state(state: str) -> bytes:
    return orjson.dumps(fixture_json("kuaidi100/query_in_transit.json") | {"state": state})


# ---------------------------------------------------------------- the request


def test_sign_worked_example() -> None:
    # md5 of param+key+customer, uppercased; expected value computed with coreutils md5sum.
    param = '{"com":"yuantong","num":"YT7510345712345","resultv2":"4"}'
    assert query_sign(param, KEY, CUSTOMER) == "B5B9868D5E1770985A91710FF8601B9F"


def test_query_request_is_a_signed_form_post(serve) -> None:
    served, client = serve(fixture_bytes("kuaidi100/query_delivered.json"))
    provider(client).query("YT7510345712345", "yto")

    (request,) = served.requests
    assert request.method == "POST"
    assert str(request.url) == "https://poll.kuaidi100.com/poll/query.do"
    form = served.form
    assert set(form) == {"customer", "sign", "param"}
    assert form["customer"] == CUSTOMER
    assert form["param"] == '{"com":"yuantong","num":"YT7510345712345","resultv2":"4"}'
    assert form["sign"] == "B5B9868D5E1770985A91710FF8601B9F"


@pytest.mark.parametrize(("carrier", "com"), [("sf", "shunfeng"), ("zto", "zhongtong"),
                                              ("sfky", "shunfengkuaiyun")])
def test_phone_is_sent_for_carriers_that_check_it(serve, carrier: str, com: str) -> None:
    served, client = serve(fixture_bytes("kuaidi100/query_in_transit.json"))
    provider(client).query("73100012345678", carrier, "13812345678")

    param = served.form["param"]
    assert orjson.loads(param) == {"com": com, "num": "73100012345678", "phone": "13812345678",
                                   "resultv2": "4"}
    expected = hashlib.md5((param + KEY + CUSTOMER).encode()).hexdigest().upper()
    assert served.form["sign"] == expected


def test_phone_is_not_sent_where_not_needed_and_virtual_numbers_send_the_extension(serve) -> None:
    served, client = serve(fixture_bytes("kuaidi100/query_in_transit.json"))
    k100 = provider(client)
    k100.query("YT7510345712345", "yto", "13812345678")
    k100.query("73100012345678", "zto", "18400001234-5678")

    assert "phone" not in orjson.loads(form_param(served.requests[0]))
    assert orjson.loads(form_param(served.requests[1]))["phone"] == "5678"


def form_param(request: httpx.Request) -> str:
    return form_of(request)["param"]


def test_base_url_is_scheme_and_host_only(serve) -> None:
    served, client = serve(fixture_bytes("kuaidi100/query_delivered.json"))
    provider(client, base_url="http://127.0.0.1:8765/").query("YT7510345712345", "yto")
    assert str(served.requests[0].url) == "http://127.0.0.1:8765/poll/query.do"


def test_unknown_carrier_is_refused_before_sending(serve) -> None:
    served, client = serve()
    with pytest.raises(UnknownCarrierCode) as caught:
        provider(client).query("123", "nosuchcarrier")
    assert caught.value.parcel and "known:" in str(caught.value)
    assert served.requests == []


# ---------------------------------------------------------------- answers


def test_delivered_with_eight_events(serve) -> None:
    _, client = serve(fixture_bytes("kuaidi100/query_delivered.json"))
    result = provider(client).query("YT7510345712345", "yto")

    assert result.status is ParcelStatus.DELIVERED and result.incident is None
    assert result.signed and not result.unmapped
    assert (result.waybill, result.carrier, result.provider) == ("YT7510345712345", "yto", "kuaidi100")
    assert (result.raw_state, result.provider_carrier, result.carrier_correction) == ("301", "yuantong", None)
    assert (result.origin, result.destination) == ("广东,深圳市,宝安区", "浙江,杭州市,西湖区")
    assert len(result.events) == 8
    first, last = result.events[0], result.events[-1]
    assert first.time == datetime(2024, 11, 12, 8, 8, 44, tzinfo=UTC)  # 16:08:44 China time
    assert first.status is ParcelStatus.PICKED_UP and first.raw_code == "103"
    assert "已揽收" in first.text and first.location == "广东省深圳市宝安区"
    assert last.status is ParcelStatus.DELIVERED and last.raw_code == "301"
    assert [e.time for e in result.events] == sorted(e.time for e in result.events)
    assert [e.status for e in result.events][3:6] == [ParcelStatus.IN_TRANSIT] * 3


def test_in_transit(serve) -> None:
    _, client = serve(fixture_bytes("kuaidi100/query_in_transit.json"))
    result = provider(client).query("73100012345678", "zto", "13812345678")
    assert result.status is ParcelStatus.IN_TRANSIT and not result.signed
    assert result.destination == "海南,海口市"
    assert [e.raw_code for e in result.events] == ["103", "1002", "1002"]


def test_problem_parcel_damaged(serve) -> None:
    _, client = serve(fixture_bytes("kuaidi100/query_damaged.json"))
    result = provider(client).query("73100099887766", "zto", "13812345678")
    assert (result.status, result.incident) == (ParcelStatus.EXCEPTION, Incident.DAMAGED)
    assert result.events[-1].status is ParcelStatus.EXCEPTION


@pytest.mark.parametrize(("state", "status", "incident"), [
    ("201", ParcelStatus.EXCEPTION, Incident.NOT_SIGNED),
    ("202", ParcelStatus.EXCEPTION, Incident.NOT_UPDATED),
    ("203", ParcelStatus.REFUSED, Incident.REFUSED),
    ("205", ParcelStatus.EXCEPTION, Incident.PICKUP_OVERDUE),
    ("206", ParcelStatus.EXCEPTION, Incident.UNREACHABLE),
    ("207", ParcelStatus.EXCEPTION, Incident.OUT_OF_AREA),
    ("208", ParcelStatus.EXCEPTION, Incident.HELD),
    ("210", ParcelStatus.EXCEPTION, Incident.CANCELLED),
    ("2", ParcelStatus.EXCEPTION, Incident.OTHER),
    ("501", ParcelStatus.AVAILABLE_FOR_PICKUP, None),
    ("5", ParcelStatus.OUT_FOR_DELIVERY, None),
    ("4", ParcelStatus.RETURNED, None),
    ("6", ParcelStatus.RETURNING, None),
    ("14", ParcelStatus.REFUSED, Incident.REFUSED),
    ("13", ParcelStatus.EXCEPTION, Incident.CUSTOMS),
    ("102", ParcelStatus.PENDING, None),
])
def test_states_map_by_table(serve, state: str, status: ParcelStatus, incident: Incident | None) -> None:
    _, client = serve(with_state(state))
    result = provider(client).query("73100012345678", "zto")
    assert (result.status, result.incident, result.unmapped, result.raw_state) == (status, incident, False, state)


DOCUMENTED_STATES = ("0 1 2 3 4 5 6 7 8 10 11 12 13 14 101 102 103 1001 1002 1003 501 "
                     "301 302 303 304 401 201 202 203 204 205 206 207 208 209 210").split()


def test_every_documented_state_is_in_the_table() -> None:
    assert [code for code in DOCUMENTED_STATES if STATES.get(code) is None] == []


def test_unknown_state_is_unknown_and_counted_never_in_transit(serve) -> None:
    _, client = serve(with_state("15"))
    result = provider(client).query("73100012345678", "zto")
    assert result.status is ParcelStatus.UNKNOWN and result.unmapped and result.raw_state == "15"


@pytest.mark.parametrize(("body", "error", "code"), [
    (failure("601", "POLL:KEY已过期"), AuthError, "601"),
    (failure("503", "验证签名失败"), SignatureError, "503"),
    (failure("408", "快递公司参数异常：验证码错误"), PhoneRequired, "408"),
    (failure("500", "查询无结果，请隔段时间再查"), NoResultYet, "500"),
    (failure("502", "服务器繁忙"), TemporaryError, "502"),
    (failure("501", "服务器错误"), TemporaryError, "501"),
    (failure("400", "找不到对应公司"), BadRequest, "400"),
    (failure("777", "新的错误"), BadResponse, "777"),
])
def test_return_codes_raise_typed_errors(serve, body: bytes, error: type, code: str) -> None:
    _, client = serve(body)
    with pytest.raises(error) as caught:
        provider(client).query("SF1402334455667", "sf", "13812345678")
    assert type(caught.value) is error
    assert caught.value.raw_code == code and caught.value.provider == "kuaidi100"
    assert caught.value.raw_message == orjson.loads(body)["message"]


def test_no_result_yet_is_per_parcel_and_retryable(serve) -> None:
    _, client = serve(failure("500", "查询无结果，请隔段时间再查"))
    with pytest.raises(NoResultYet) as caught:
        provider(client).query("YT7510345712345", "yto")
    assert caught.value.parcel and caught.value.retryable


@pytest.mark.parametrize("body", [
    b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
    b'{"message":"ok","nu":"YT75103457',
    b"[]",
    b'{"message":"ok","state":"0","data":[{"context":"x"}]}',  # event without a time
    b'{"message":"ok","state":"0","data":[{"ftime":"yesterday","context":"x"}]}',
])
def test_html_garbled_or_misshapen_bodies_are_bad_responses(serve, body: bytes) -> None:
    _, client = serve(body)
    with pytest.raises(BadResponse) as caught:
        provider(client).query("YT7510345712345", "yto")
    assert caught.value.retryable


def test_http_429_is_rate_limited_with_retry_after(serve) -> None:
    _, client = serve(b"Too Many Requests", status=429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as caught:
        provider(client).query("YT7510345712345", "yto")
    assert caught.value.retry_after == 120.0 and caught.value.retryable
    assert caught.value.raw_code == "429"


def test_http_500_is_temporary(serve) -> None:
    _, client = serve(b"Internal Server Error", status=500)
    with pytest.raises(TemporaryError) as caught:
        provider(client).query("YT7510345712345", "yto")
    assert caught.value.raw_code == "500" and caught.value.retry_after is None


@pytest.mark.parametrize(("status", "error"), [(403, AuthError), (302, BadResponse), (404, BadResponse),
                                                (503, TemporaryError)])
def test_other_http_statuses(serve, status: int, error: type) -> None:
    _, client = serve(b"<html>nope</html>", status=status)
    with pytest.raises(error) as caught:
        provider(client).query("YT7510345712345", "yto")
    assert type(caught.value) is error and caught.value.raw_code == str(status)


def test_timeout_is_temporary_and_chained(serve) -> None:
    _, client = serve(raises=httpx.ReadTimeout("read timed out"))
    with pytest.raises(TemporaryError) as caught:
        provider(client).query("YT7510345712345", "yto")
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


# ---------------------------------------------------------------- subscription


def test_subscribe_request(serve) -> None:
    served, client = serve(orjson.dumps({"result": True, "returnCode": "200", "message": "提交成功"}))
    result = provider(client).subscribe("SF1402334455667", "sf", "13812345678")

    (request,) = served.requests
    assert str(request.url) == "https://poll.kuaidi100.com/poll"
    assert served.form["schema"] == "json" and set(served.form) == {"schema", "param"}
    assert orjson.loads(served.form["param"]) == {
        "company": "shunfeng", "number": "SF1402334455667", "key": KEY,
        "parameters": {"callbackurl": CALLBACK, "salt": SALT, "resultv2": "4", "phone": "13812345678"},
    }
    assert not result.already_subscribed and result.raw_code == "200" and result.message == "提交成功"


def test_subscribe_without_salt_omits_it(serve) -> None:
    served, client = serve(b'{"result":true,"returnCode":"200","message":"ok"}')
    provider(client, salt=None).subscribe("YT7510345712345", "yto")
    assert "salt" not in orjson.loads(served.form["param"])["parameters"]


def test_subscribe_duplicate_counts_as_subscribed(serve) -> None:
    _, client = serve(failure("501", "重复订阅"))
    assert provider(client).subscribe("YT7510345712345", "yto").already_subscribed


@pytest.mark.parametrize(("code", "error"), [
    ("600", AuthError), ("601", AuthError), ("700", BadRequest), ("701", UnknownCarrierCode),
    ("702", UnknownCarrierCode), ("500", TemporaryError), ("999", BadResponse),
])
def test_subscribe_failures(serve, code: str, error: type) -> None:
    _, client = serve(failure(code, "失败"))
    with pytest.raises(error) as caught:
        provider(client).subscribe("YT7510345712345", "yto")
    assert caught.value.raw_code == code


def test_subscribe_needs_a_callback_url(serve) -> None:
    _, client = serve()
    with pytest.raises(ValueError, match="callback_url"):
        provider(client, callback_url=None).subscribe("YT7510345712345", "yto")


# ---------------------------------------------------------------- push


def push_form(name: str, salt: str | None = SALT, upper: bool = False) -> dict[str, str]:
    param = fixture_bytes(name).decode()
    form = {"param": param}
    if salt is not None:
        sign = hashlib.md5((param + salt).encode()).hexdigest()
        form["sign"] = sign.upper() if upper else sign
    return form


def test_push_sign_worked_example() -> None:
    assert push_sign('{"status":"polling"}', SALT) == "dc1ff95030bcb2deeacf54d45f88cb57"


@pytest.mark.parametrize("upper", [False, True])
def test_polling_push_with_valid_sign(serve, upper: bool) -> None:
    _, client = serve()
    push = provider(client).parse_push(push_form("kuaidi100/push_polling.json", upper=upper))
    assert push.monitor == "polling" and not push.stopped
    (result,) = push.results
    assert (result.waybill, result.carrier, result.status) == ("SF1402334455667", "sf",
                                                              ParcelStatus.OUT_FOR_DELIVERY)
    assert [e.raw_code for e in result.events] == ["103", "1001", "5"]
    assert result.events[0].location == "广东,深圳市,南山区"  # areaName when location is empty


def test_push_with_wrong_sign_is_refused(serve) -> None:
    _, client = serve()
    form = push_form("kuaidi100/push_polling.json", salt="other-salt")
    with pytest.raises(SignatureError):
        provider(client).parse_push(form)


def test_push_without_sign_is_refused_when_a_salt_is_set(serve) -> None:
    _, client = serve()
    with pytest.raises(SignatureError, match="missing"):
        provider(client).parse_push(push_form("kuaidi100/push_polling.json", salt=None))


def test_push_is_not_checked_without_a_salt(serve) -> None:
    _, client = serve()
    push = provider(client, salt=None).parse_push(push_form("kuaidi100/push_polling.json", salt=None))
    assert push.results[0].status is ParcelStatus.OUT_FOR_DELIVERY


def test_empty_salt_still_signs(serve) -> None:
    _, client = serve()
    push = provider(client, salt="").parse_push(push_form("kuaidi100/push_polling.json", salt=""))
    assert push.monitor == "polling"


def test_abort_push_with_comnew_corrects_the_carrier(serve) -> None:
    _, client = serve()
    push = provider(client).parse_push(push_form("kuaidi100/push_abort_comnew.json"))
    assert push.monitor == "abort" and push.stopped and push.message == "3天查询无记录"
    assert not push.resubscribe  # Kuaidi100 resubscribed itself under the corrected company
    assert push.carrier_new_raw == "zhongtong"
    (result,) = push.results
    assert (result.status, result.incident) == (ParcelStatus.EXCEPTION, Incident.NO_INFO)
    assert (result.carrier, result.carrier_correction) == ("yto", "zto")
    assert result.events == ()


def test_abort_push_after_sixty_days(serve) -> None:
    _, client = serve()
    push = provider(client).parse_push(push_form("kuaidi100/push_abort_stale.json"))
    (result,) = push.results
    assert (result.status, result.incident) == (ParcelStatus.EXCEPTION, Incident.NOT_UPDATED)
    assert push.carrier_new_raw == "" and result.carrier_correction is None
    assert push.stopped and push.resubscribe


def test_shutdown_push_after_autocheck(serve) -> None:
    _, client = serve()
    push = provider(client).parse_push(push_form("kuaidi100/push_shutdown.json"))
    assert push.stopped and not push.resubscribe and push.carrier_old_raw == "huitongkuaidi"
    (result,) = push.results
    assert (result.status, result.signed, result.carrier, result.carrier_correction) == (
        ParcelStatus.DELIVERED, True, "jt", "jt")
    assert result.events[0].status is ParcelStatus.AVAILABLE_FOR_PICKUP


def test_push_without_param_or_with_garbage(serve) -> None:
    _, client = serve()
    k100 = provider(client, salt=None)
    with pytest.raises(BadResponse):
        k100.parse_push({})
    with pytest.raises(BadResponse):
        k100.parse_push({"param": "<html>"})


def test_push_reply_is_exact(serve) -> None:
    _, client = serve()
    assert provider(client).push_reply() == PUSH_REPLY
    assert PUSH_REPLY.decode() == '{"result":true,"returnCode":"200","message":"成功"}'
