"""Kdniao protocol: DataSign, the forms we send, State/StateEx mapping, push 101."""
from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from urllib.parse import quote_plus

import httpx
import orjson
import pytest

from courier_helpers import fixture_bytes, fixture_json
from couriers.base import (
    AuthError,
    BadResponse,
    Incident,
    NoResultYet,
    ParcelStatus,
    PhoneRequired,
    SignatureError,
    TemporaryError,
)
from couriers.kdniao import STATES, Kdniao, data_sign

EBUSINESS_ID, APP_KEY = "1237100", "56da2cf8-c8a2-44b2-b6fa-476cd7d1ba17"
SF_REQUEST_DATA = '{"OrderCode":"","ShipperCode":"SF","LogisticCode":"SF1234567890123","CustomerName":"1234"}'
# base64 of the md5 hex text, computed with `md5sum | base64` from coreutils.
SF_DATA_SIGN = "MTlhZWNjYTVmM2I5NWYzOWM0NTQ3YTE0ODQyZmQ3ZDQ="


def provider(client: httpx.Client, **settings) -> Kdniao:
    return Kdniao(**({"ebusiness_id": EBUSINESS_ID, "app_key": APP_KEY, "client": client} | settings))


def with_state(state: str, state_ex: str | None) -> bytes:
    data = fixture_json("kdniao/query_damaged.json") | {"State": state, "StateEx": state_ex}
    return orjson.dumps(data)


# ---------------------------------------------------------------- DataSign and the request


def test_data_sign_worked_example() -> None:
    assert data_sign(SF_REQUEST_DATA, APP_KEY) == SF_DATA_SIGN
    # not base64 of the raw 16-byte digest: that is a common mistake
    raw = base64.b64encode(hashlib.md5((SF_REQUEST_DATA + APP_KEY).encode()).digest()).decode()
    assert SF_DATA_SIGN != raw


def test_query_request_for_sf(serve) -> None:
    served, client = serve(fixture_bytes("kdniao/query_delivered.json"))
    provider(client).query("SF1234567890123", "sf", "138-0000-1234")

    (request,) = served.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.kdniao.com/Ebusiness/EbusinessOrderHandle.aspx"
    assert served.form == {"RequestData": SF_REQUEST_DATA, "EBusinessID": EBUSINESS_ID,
                           "RequestType": "1002", "DataSign": SF_DATA_SIGN, "DataType": "2"}
    # DataSign = urlencode(base64(...)): the form encoding does the urlencode, once.
    assert f"DataSign={quote_plus(SF_DATA_SIGN)}&" in request.content.decode()


def test_query_without_phone_check_sends_no_customer_name(serve) -> None:
    served, client = serve(fixture_bytes("kdniao/query_delivered.json"))
    provider(client).query("YT7510345712345", "yto", "13812345678")
    request_data = served.form["RequestData"]
    assert orjson.loads(request_data) == {"OrderCode": "", "ShipperCode": "YTO",
                                          "LogisticCode": "YT7510345712345"}
    assert served.form["DataSign"] == data_sign(request_data, APP_KEY)


def test_zto_sends_last_four_digits(serve) -> None:
    served, client = serve(fixture_bytes("kdniao/query_damaged.json"))
    provider(client).query("73100099887766", "zto", "13812345678")
    assert orjson.loads(served.form["RequestData"])["CustomerName"] == "5678"


def test_in_transit_monitoring_query_and_base_url(serve) -> None:
    served, client = serve(fixture_bytes("kdniao/query_delivered.json"))
    provider(client, request_type="8001", base_url="http://127.0.0.1:9000").query("SF1234567890123", "sf")
    assert str(served.requests[0].url) == "http://127.0.0.1:9000/Ebusiness/EbusinessOrderHandle.aspx"
    assert served.form["RequestType"] == "8001"


def test_only_query_request_types_are_accepted(serve) -> None:
    _, client = serve()
    with pytest.raises(ValueError, match="1002"):
        provider(client, request_type="8008")


def test_subscribe_goes_to_api_dist(serve) -> None:
    served, client = serve(b'{"EBusinessID":"1237100","UpdateTime":"2024-11-12 10:00:00","Success":true,"Reason":""}')
    result = provider(client).subscribe("SF1234567890123", "sf", "13800001234")
    assert str(served.requests[0].url) == "https://api.kdniao.com/api/dist"
    assert served.form["RequestType"] == "8008"
    assert served.form["DataSign"] == SF_DATA_SIGN
    assert result.provider == "kdniao" and not result.already_subscribed


# ---------------------------------------------------------------- answers


def test_delivered(serve) -> None:
    _, client = serve(fixture_bytes("kdniao/query_delivered.json"))
    result = provider(client).query("SF1402334455667", "sf", "13800001234")
    assert (result.status, result.incident, result.signed) == (ParcelStatus.DELIVERED, None, True)
    assert (result.raw_state, result.raw_substate, result.carrier) == ("3", "301", "sf")
    assert [e.status for e in result.events] == [
        ParcelStatus.PICKED_UP, ParcelStatus.IN_TRANSIT, ParcelStatus.IN_TRANSIT,
        ParcelStatus.OUT_FOR_DELIVERY, ParcelStatus.DELIVERED]
    assert result.events[0].time == datetime(2024, 11, 13, 10, 20, tzinfo=UTC)
    assert result.events[-1].text.endswith("(本人签收)")


@pytest.mark.parametrize(("state", "state_ex", "status", "incident"), [
    ("4", "414", ParcelStatus.EXCEPTION, Incident.DAMAGED),
    ("4", "412", ParcelStatus.EXCEPTION, Incident.PICKUP_OVERDUE),
    ("4", "401", ParcelStatus.EXCEPTION, Incident.NO_INFO),
    ("4", "402", ParcelStatus.EXCEPTION, Incident.NOT_SIGNED),
    ("4", "403", ParcelStatus.EXCEPTION, Incident.NOT_UPDATED),
    ("4", "404", ParcelStatus.REFUSED, Incident.REFUSED),
    ("4", "406", ParcelStatus.RETURNED, None),
    ("4", "407", ParcelStatus.RETURNING, None),
    ("4", "413", ParcelStatus.EXCEPTION, Incident.CANCELLED),
    ("4", "416", ParcelStatus.EXCEPTION, Incident.UNREACHABLE),
    ("4", "417", ParcelStatus.EXCEPTION, Incident.DELAYED),
    ("4", "420", ParcelStatus.EXCEPTION, Incident.ADDRESS_PROBLEM),
    ("4", "422", ParcelStatus.EXCEPTION, Incident.MISROUTED),
    ("4", "423", ParcelStatus.EXCEPTION, Incident.OUT_OF_AREA),
    ("2", "211", ParcelStatus.AVAILABLE_FOR_PICKUP, None),
    ("2", "202", ParcelStatus.OUT_FOR_DELIVERY, None),
    ("6", "604", ParcelStatus.EXCEPTION, Incident.CUSTOMS),
    ("2", None, ParcelStatus.IN_TRANSIT, None),
    ("10", None, ParcelStatus.PENDING, None),
    ("4", None, ParcelStatus.EXCEPTION, Incident.OTHER),
])
def test_state_ex_maps_by_table(serve, state: str, state_ex: str | None, status: ParcelStatus,
                                incident: Incident | None) -> None:
    _, client = serve(with_state(state, state_ex))
    result = provider(client).query("73100099887766", "zto", "13812345678")
    assert (result.status, result.incident, result.unmapped) == (status, incident, False)
    assert (result.raw_state, result.raw_substate) == (state, state_ex)


DOCUMENTED = ("0 1 2 201 204 205 206 202 211 3 301 302 304 311 4 401 402 403 404 405 406 407 "
              "412 413 414 415 416 417 418 419 420 421 422 423 5 6 601 602 603 604 10").split()


def test_every_documented_code_is_in_the_table() -> None:
    assert [code for code in DOCUMENTED if STATES.get(code) is None] == []


def test_unknown_state_ex_is_unknown_even_if_state_is_known(serve) -> None:
    _, client = serve(with_state("2", "299"))
    result = provider(client).query("73100099887766", "zto", "13812345678")
    assert result.status is ParcelStatus.UNKNOWN and result.unmapped and result.raw_substate == "299"


def test_numeric_codes_are_read_as_text(serve) -> None:
    _, client = serve(orjson.dumps(fixture_json("kdniao/query_damaged.json") | {"State": 4, "StateEx": 414}))
    result = provider(client).query("73100099887766", "zto", "13812345678")
    assert (result.status, result.incident) == (ParcelStatus.EXCEPTION, Incident.DAMAGED)


def test_no_trace_yet(serve) -> None:
    _, client = serve(fixture_bytes("kdniao/query_no_trace.json"))
    with pytest.raises(NoResultYet) as caught:
        provider(client).query("YT7510345799999", "yto")
    assert caught.value.parcel and caught.value.raw_message == "暂无轨迹信息"


@pytest.mark.parametrize(("reason", "error"), [
    ("顺丰速运需要提供寄件人或收件人手机号后四位", PhoneRequired),
    ("数据签名验证失败", SignatureError),
    ("没有可用套餐，请购买套餐", AuthError),
    ("系统繁忙，请稍后再试", TemporaryError),
    ("一个没见过的原因", BadResponse),
])
def test_failures_by_reason(serve, reason: str, error: type) -> None:
    _, client = serve(orjson.dumps(fixture_json("kdniao/query_failed.json") | {"Reason": reason}))
    with pytest.raises(error) as caught:
        provider(client).query("SF1402334455667", "sf")
    assert type(caught.value) is error and caught.value.raw_message == reason


def test_html_body_is_a_bad_response(serve) -> None:
    _, client = serve(b"<!DOCTYPE html><html><body>Service Unavailable</body></html>")
    with pytest.raises(BadResponse):
        provider(client).query("SF1402334455667", "sf")


# ---------------------------------------------------------------- push 101


def push_form(sign: str | None = "computed") -> dict[str, str]:
    request_data = fixture_bytes("kdniao/push_101.json").decode()
    form = {"RequestData": request_data, "RequestType": "101", "DataType": "2"}
    if sign == "computed":
        digest = hashlib.md5((request_data + APP_KEY).encode()).hexdigest()
        form["DataSign"] = base64.b64encode(digest.encode()).decode()
    elif sign is not None:
        form["DataSign"] = sign
    return form


def test_push_with_valid_sign(serve) -> None:
    _, client = serve()
    push = provider(client).parse_push(push_form())
    locker, delivering = push.results
    assert (locker.waybill, locker.carrier) == ("73100099887766", "zto")
    assert (locker.status, locker.incident) == (ParcelStatus.EXCEPTION, Incident.PICKUP_OVERDUE)
    assert locker.eta == datetime(2024, 11, 15, 16, tzinfo=UTC)
    assert locker.events[1].status is ParcelStatus.AVAILABLE_FOR_PICKUP
    assert (delivering.carrier, delivering.status) == ("yto", ParcelStatus.OUT_FOR_DELIVERY)


def test_push_sign_with_plus_decoded_as_space_still_verifies(serve) -> None:
    form = push_form()
    form["DataSign"] = form["DataSign"].replace("+", " ")
    _, client = serve()
    assert len(provider(client).parse_push(form).results) == 2


@pytest.mark.parametrize("sign", [None, "", "bm90IHRoZSByaWdodCBzaWdu", "签名"])
def test_push_with_missing_or_wrong_sign_is_refused(serve, sign: str | None) -> None:
    _, client = serve()
    with pytest.raises(SignatureError):
        provider(client).parse_push(push_form(sign))


def test_push_of_another_type_is_refused(serve) -> None:
    form = push_form() | {"RequestType": "107"}
    _, client = serve()
    with pytest.raises(BadResponse, match="107"):
        provider(client).parse_push(form)


def test_push_reply(serve) -> None:
    _, client = serve()
    reply = orjson.loads(provider(client).push_reply(datetime(2024, 11, 15, 4, 0, 3, tzinfo=UTC)))
    assert reply == {"EBusinessID": EBUSINESS_ID, "UpdateTime": "2024-11-15 12:00:03",
                     "Success": True, "Reason": ""}
