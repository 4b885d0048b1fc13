"""Kdniao (快递鸟): instant query 1002 (or 在途监控 8001), subscription 8008, push 101.

    every call  POST form RequestData=<JSON>, EBusinessID, RequestType, DataSign, DataType=2
                DataSign = urlencode(base64(md5hex_lower(RequestData + AppKey)))
                (the form encoding is the urlencode: we sign base64(md5hex) and let httpx encode)
    query       {base}/Ebusiness/EbusinessOrderHandle.aspx  {OrderCode, ShipperCode, LogisticCode,
                CustomerName} ─► {Success, Reason, State, StateEx, Location, Traces[] oldest first}
    subscribe   {base}/api/dist  RequestType 8008 ─► {Success, Reason, UpdateTime}
    push 101    form RequestData={EBusinessID, PushTime, Count, Data[]}, DataSign without urlencode
                ─► reply {EBusinessID, UpdateTime, Success, Reason}

Sources: Kdniao's apifox doc site (project 2538027: api-72933643 query, api-72983661 8001,
api-72984786 8008, doc-2282394 push), Kdniao's blog (sign, push without urlencode), and the
PyPI kdniao 0.1.3 source (menduo/kdniao_python) for what a working client sends.  The State /
StateEx table comes from SDK models quoting the doc (no official table found); the failure
``Reason`` texts are not documented as codes: REASON_ERRORS matches their usual wording and
anything else is a ``BadResponse`` that keeps the text.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime

import httpx
import orjson

from couriers import carriers
from couriers.base import (
    AuthError,
    BadRequest,
    BadResponse,
    Incident,
    NoResultYet,
    ParcelStatus,
    PhoneRequired,
    Provider,
    ProviderError,
    PushResult,
    RateLimited,
    SignatureError,
    StateRow,
    StateTable,
    SubscribeResult,
    TemporaryError,
    TrackingEvent,
    TrackingResult,
    UnknownCarrierCode,
    check_signature,
    chronological,
    classified_result,
    load_json,
    lookup_carrier,
    malformed,
    optional_time,
    provider_error,
    query_phone,
)
from couriers.timeparse import china_now_text, china_to_utc

S, I = ParcelStatus, Incident

DEFAULT_BASE_URL = "https://api.kdniao.com"
QUERY_PATH = "/Ebusiness/EbusinessOrderHandle.aspx"
SUBSCRIBE_PATH = "/api/dist"
QUERY_TYPES = frozenset({"1002", "8001"})  # instant query, 在途监控 query
SUBSCRIBE_TYPE = "8008"
PUSH_TYPE = "101"

# `State` (0–4, 5, 6, 10) and `StateEx` / per-trace `Action` (3-digit) in one table.
STATES = StateTable((
    StateRow("0", "暂无轨迹信息", S.PENDING),
    StateRow("10", "待揽件", S.PENDING),
    StateRow("1", "已揽收", S.PICKED_UP),
    StateRow("2", "在途中", S.IN_TRANSIT),
    StateRow("201", "到达派件城市", S.IN_TRANSIT),
    StateRow("204", "到达转运中心", S.IN_TRANSIT),
    StateRow("205", "到达派件网点", S.IN_TRANSIT),
    StateRow("206", "寄件网点发件", S.IN_TRANSIT),
    StateRow("202", "派件中", S.OUT_FOR_DELIVERY),
    StateRow("211", "已放入快递柜或驿站", S.AVAILABLE_FOR_PICKUP),
    StateRow("3", "已签收", S.DELIVERED),
    StateRow("301", "正常签收", S.DELIVERED),
    StateRow("302", "派件异常后最终签收", S.DELIVERED),
    StateRow("304", "代收签收", S.DELIVERED),
    StateRow("311", "快递柜或驿站签收", S.DELIVERED),
    StateRow("4", "问题件", S.EXCEPTION, I.OTHER),
    StateRow("401", "发货无信息", S.EXCEPTION, I.NO_INFO),
    StateRow("402", "超时未签收", S.EXCEPTION, I.NOT_SIGNED),
    StateRow("403", "超时未更新", S.EXCEPTION, I.NOT_UPDATED),
    StateRow("404", "拒收(退件)", S.REFUSED, I.REFUSED),
    StateRow("405", "派件异常", S.FAILED_ATTEMPT, I.OTHER),
    StateRow("406", "退货签收", S.RETURNED),
    StateRow("407", "退货未签收", S.RETURNING),
    StateRow("412", "快递柜或驿站超时未取", S.EXCEPTION, I.PICKUP_OVERDUE),
    StateRow("413", "单号已拦截", S.EXCEPTION, I.CANCELLED),
    StateRow("414", "破损", S.EXCEPTION, I.DAMAGED),
    StateRow("415", "客户取消发货", S.EXCEPTION, I.CANCELLED),
    StateRow("416", "无法联系", S.EXCEPTION, I.UNREACHABLE),
    StateRow("417", "配送延迟", S.EXCEPTION, I.DELAYED),
    StateRow("418", "快件取出", S.EXCEPTION, I.OTHER),
    StateRow("419", "重新派送", S.OUT_FOR_DELIVERY),
    StateRow("420", "收货地址不详细", S.EXCEPTION, I.ADDRESS_PROBLEM),
    StateRow("421", "收件人电话错误", S.EXCEPTION, I.UNREACHABLE),
    StateRow("422", "错分件", S.EXCEPTION, I.MISROUTED),
    StateRow("423", "超区件", S.EXCEPTION, I.OUT_OF_AREA),
    StateRow("5", "转寄", S.IN_TRANSIT),
    StateRow("6", "清关", S.IN_TRANSIT),
    StateRow("601", "待清关", S.IN_TRANSIT),
    StateRow("602", "清关中", S.IN_TRANSIT),
    StateRow("603", "已清关", S.IN_TRANSIT),
    StateRow("604", "清关异常", S.EXCEPTION, I.CUSTOMS),
))

# Failure `Reason` wording → error; first phrase found wins.  [unverified wording]
REASON_ERRORS: tuple[tuple[str, type[ProviderError]], ...] = (
    ("签名", SignatureError),
    ("手机", PhoneRequired),
    ("CustomerName", PhoneRequired),
    ("套餐", AuthError),
    ("余额", AuthError),
    ("权限", AuthError),
    ("授权", AuthError),
    ("频繁", RateLimited),
    ("次数", RateLimited),
    ("暂无轨迹", NoResultYet),
    ("快递公司", UnknownCarrierCode),
    ("繁忙", TemporaryError),
    ("参数", BadRequest),
)


def data_sign(request_data: str, app_key: str) -> str:
    """base64 of the lowercase md5 hex text (not of the raw digest), before any urlencode."""
    digest = hashlib.md5((request_data + app_key).encode()).hexdigest()
    return base64.b64encode(digest.encode()).decode()


class Kdniao(Provider):
    name = "kdniao"

    def __init__(self, *, ebusiness_id: str, app_key: str, request_type: str = "1002",
                 base_url: str = DEFAULT_BASE_URL, client: httpx.Client | None = None) -> None:
        if request_type not in QUERY_TYPES:
            raise ValueError(f"Kdniao query request_type must be one of {sorted(QUERY_TYPES)}")
        super().__init__(base_url=base_url, client=client)
        self.ebusiness_id = ebusiness_id
        self.app_key = app_key
        self.request_type = request_type

    # ---- request building

    def _request(self, path: str, request_type: str, waybill: str, carrier: str,
                 phone: str | None) -> httpx.Request:
        entry = lookup_carrier(carrier, self.name)
        body = {"OrderCode": "", "ShipperCode": entry.kdniao, "LogisticCode": waybill}
        tail = "".join(filter(str.isdigit, query_phone(phone)))[-4:]
        if entry.needs_phone and tail:
            body["CustomerName"] = tail  # SF (and ZTO, SF freight): last 4 digits of the phone
        request_data = orjson.dumps(body).decode()
        form = {"RequestData": request_data, "EBusinessID": self.ebusiness_id,
                "RequestType": request_type, "DataSign": data_sign(request_data, self.app_key),
                "DataType": "2"}
        return self._client.build_request("POST", self.base_url + path, data=form)

    def build_query(self, waybill: str, carrier: str, phone: str | None = None) -> httpx.Request:
        return self._request(QUERY_PATH, self.request_type, waybill, carrier, phone)

    def build_subscribe(self, waybill: str, carrier: str, phone: str | None = None) -> httpx.Request:
        return self._request(SUBSCRIBE_PATH, SUBSCRIBE_TYPE, waybill, carrier, phone)

    # ---- response parsing

    def parse_query(self, body: bytes, waybill: str, carrier: str) -> TrackingResult:
        data = self._successful(body)
        if not data.get("Traces") and str(data.get("State", "0")) == "0":
            raise NoResultYet(data.get("Reason") or "暂无轨迹信息", provider=self.name,
                              raw_code="0", raw_message=data.get("Reason") or "")
        with malformed(self.name):
            return self._result(data, waybill, carrier)

    def parse_subscribe(self, body: bytes, waybill: str, carrier: str) -> SubscribeResult:
        data = self._successful(body)
        return SubscribeResult(waybill=waybill, carrier=carrier, provider=self.name,
                               already_subscribed=False, raw_code="",
                               message=data.get("Reason") or "")

    def parse_push(self, form: Mapping[str, str]) -> PushResult:
        request_data = form.get("RequestData")
        if not request_data:
            raise BadResponse("push without RequestData", provider=self.name)
        # Pushes are signed without the urlencode, so a '+' of the base64 may arrive as a space.
        check_signature(data_sign(request_data, self.app_key),
                        (form.get("DataSign") or "").strip().replace(" ", "+"),
                        provider=self.name, field="DataSign")
        if form.get("RequestType", PUSH_TYPE) != PUSH_TYPE:
            raise BadResponse(f"unexpected push RequestType {form['RequestType']!r}",
                              provider=self.name, raw_code=form["RequestType"])
        data = load_json(request_data, self.name)
        with malformed(self.name):
            results = tuple(self._result(item, "", None) for item in data.get("Data") or ())
        return PushResult(provider=self.name, results=results)

    def push_reply(self, now: datetime | None = None) -> bytes:
        return orjson.dumps({"EBusinessID": self.ebusiness_id, "UpdateTime": china_now_text(now),
                             "Success": True, "Reason": ""})

    def _successful(self, body: bytes) -> dict:
        data = load_json(body, self.name)
        if str(data.get("Success")).lower() == "true":
            return data
        reason = str(data.get("Reason") or "")
        kind = next((k for phrase, k in REASON_ERRORS if phrase in reason), None)
        raise provider_error(kind, provider=self.name, raw_code=str(data.get("ResultCode", "")),
                             raw_message=reason)

    def _result(self, data: dict, waybill: str, carrier: str | None) -> TrackingResult:
        state = str(data.get("State", ""))
        state_ex = str(data.get("StateEx") or "") or None
        shipper = data.get("ShipperCode") or ""
        return classified_result(
            STATES, state_ex or state, asked=carrier, answered=carriers.by_kdniao(shipper),
            waybill=data.get("LogisticCode") or waybill,
            provider=self.name,
            raw_state=state,
            raw_substate=state_ex,
            events=chronological(map(_event, data.get("Traces") or ())),
            signed=state == "3",
            eta=optional_time(data.get("EstimatedDeliveryTime")),
            message=data.get("Reason") or "",
            provider_carrier=shipper,
        )


def _event(row: dict) -> TrackingEvent:
    code = str(row.get("Action") or "")
    text = row.get("AcceptStation") or ""
    remark = row.get("Remark")
    return TrackingEvent(
        time=china_to_utc(row["AcceptTime"]),
        location=row.get("Location") or "",
        text=f"{text} ({remark})" if remark else text,
        raw_code=code,
        status=STATES.event_status(code),
    )
