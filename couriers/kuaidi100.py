"""Kuaidi100 (快递100): real-time query, subscription, push.

    query      POST {base}/poll/query.do  customer, sign=UPPER(md5(param+key+customer)), param
               ─► {state, ischeck, com, nu, data[] newest first, routeInfo} | {result:false, returnCode}
    subscribe  POST {base}/poll  schema=json, param={company, number, key, parameters{…}}
               ─► {result, returnCode, message}   (200 ok, 501 already subscribed)
    push       form param=<JSON>, sign=md5(param+salt)
               ─► {status: polling|shutdown|abort|updateall, message, comOld, comNew, lastResult}

Sources: api.kuaidi100.com documents 5f0ffb5ebc8da837cbd8aefc (query), 5f0ffa8f2977d50a94e1023c
(subscribe), cha-xun-bao-cuo1 (408); repos kuaidi100-api/python-demo code/synquery.py and
code/subscribe.py, kuaidi100-api/java-demo response/QueryTrackResp, QueryTrackData,
SubscribePushParamResp.  The 疑难 sub-states 201–210 come from a third-party enum quoting the
doc (not seen in an official file); see /work/shared/domain/tracking-apis-and-peers.md §1.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
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
from couriers.timeparse import china_to_utc

S, I = ParcelStatus, Incident

DEFAULT_BASE_URL = "https://poll.kuaidi100.com"
QUERY_PATH = "/poll/query.do"
SUBSCRIBE_PATH = "/poll"
RESULTV2 = "4"  # advanced sub-states (statusCode) and route cities

# `state`: main codes (resultv2 < 4) with their advanced sub-states (resultv2 = 4) below each.
STATES = StateTable((
    StateRow("1", "揽收", S.PICKED_UP),
    StateRow("101", "已下单", S.PENDING),
    StateRow("102", "待揽收", S.PENDING),
    StateRow("103", "已揽收", S.PICKED_UP),
    StateRow("0", "在途", S.IN_TRANSIT),
    StateRow("1001", "到达派件城市", S.IN_TRANSIT),
    StateRow("1002", "干线", S.IN_TRANSIT),
    StateRow("1003", "转递", S.IN_TRANSIT),
    StateRow("5", "派件", S.OUT_FOR_DELIVERY),
    StateRow("501", "投柜或驿站", S.AVAILABLE_FOR_PICKUP),
    StateRow("3", "签收", S.DELIVERED),
    StateRow("301", "本人签收", S.DELIVERED),
    StateRow("302", "派件异常后签收", S.DELIVERED),
    StateRow("303", "代签", S.DELIVERED),
    StateRow("304", "投柜或站签收", S.DELIVERED),
    StateRow("4", "退签", S.RETURNED),
    StateRow("401", "已销单", S.EXCEPTION, I.CANCELLED),
    StateRow("14", "拒签", S.REFUSED, I.REFUSED),
    StateRow("6", "退回", S.RETURNING),
    StateRow("7", "转投", S.IN_TRANSIT),
    StateRow("8", "清关", S.IN_TRANSIT),
    StateRow("10", "待清关", S.IN_TRANSIT),
    StateRow("11", "清关中", S.IN_TRANSIT),
    StateRow("12", "已清关", S.IN_TRANSIT),
    StateRow("13", "清关异常", S.EXCEPTION, I.CUSTOMS),
    StateRow("2", "疑难", S.EXCEPTION, I.OTHER),
    StateRow("201", "超时未签收", S.EXCEPTION, I.NOT_SIGNED),
    StateRow("202", "超时未更新", S.EXCEPTION, I.NOT_UPDATED),
    StateRow("203", "拒收", S.REFUSED, I.REFUSED),
    StateRow("204", "派件异常", S.FAILED_ATTEMPT, I.OTHER),
    StateRow("205", "柜或驿站超时未取", S.EXCEPTION, I.PICKUP_OVERDUE),
    StateRow("206", "无法联系", S.EXCEPTION, I.UNREACHABLE),
    StateRow("207", "超区", S.EXCEPTION, I.OUT_OF_AREA),
    StateRow("208", "滞留", S.EXCEPTION, I.HELD),
    StateRow("209", "破损", S.EXCEPTION, I.DAMAGED),
    StateRow("210", "销单", S.EXCEPTION, I.CANCELLED),
))

QUERY_ERRORS: Mapping[str, type[ProviderError]] = {
    "400": BadRequest,  # 找不到对应公司: bad/incomplete params, no quota, wrong customer, not a form
    "408": PhoneRequired,  # 验证码错误: SF/ZTO phone missing or wrong
    "500": NoResultYet,  # 查询无结果，请隔段时间再查
    "501": TemporaryError,  # 服务器错误
    "502": TemporaryError,  # 服务器繁忙
    "503": SignatureError,  # 验证签名失败
    "601": AuthError,  # key 已过期 / 无可用单量
}

SUBSCRIBE_OK: Mapping[str, bool] = {"200": False, "501": True}  # code → already subscribed
SUBSCRIBE_ERRORS: Mapping[str, type[ProviderError]] = {
    "600": AuthError,  # 您不是合法的订阅者
    "601": AuthError,  # key 已过期
    "700": BadRequest,  # 订阅方的订阅数据存在错误（不支持的快递公司、单号为空、callbackurl 不合法…）
    "701": UnknownCarrierCode,  # 拒绝订阅的快递公司
    "702": UnknownCarrierCode,  # POLL:识别不到该单号对应的快递公司
    "500": TemporaryError,  # 服务器错误
}

# abort pushes: Kuaidi100 gave up on the waybill; the message says why.  With comNew it has
# resubscribed itself under the corrected company; without, resubscribe ≥ 30 min later if wanted.
ABORT_INCIDENTS: tuple[tuple[str, Incident], ...] = (
    ("3天查询无记录", I.NO_INFO),
    ("60天无变化", I.NOT_UPDATED),
)
STOPPED = frozenset({"shutdown", "abort"})

PUSH_REPLY = '{"result":true,"returnCode":"200","message":"成功"}'.encode()


def query_sign(param: str, key: str, customer: str) -> str:
    return hashlib.md5((param + key + customer).encode()).hexdigest().upper()


def push_sign(param: str, salt: str) -> str:
    return hashlib.md5((param + salt).encode()).hexdigest()


class Kuaidi100(Provider):
    name = "kuaidi100"

    def __init__(self, *, customer: str, key: str, salt: str | None = None,
                 callback_url: str | None = None, base_url: str = DEFAULT_BASE_URL,
                 client: httpx.Client | None = None) -> None:
        super().__init__(base_url=base_url, client=client)
        self.customer = customer
        self.key = key
        self.salt = salt  # None: pushes come unsigned; "" is a real (empty) salt
        self.callback_url = callback_url

    # ---- request building

    def _company(self, carrier: str, phone: str | None) -> tuple[str, dict[str, str]]:
        """The `com` code, and `phone` for carriers that check it (SF, ZTO: 408 without)."""
        entry = lookup_carrier(carrier, self.name)
        tail = query_phone(phone)
        return entry.kuaidi100, ({"phone": tail} if entry.needs_phone and tail else {})

    def build_query(self, waybill: str, carrier: str, phone: str | None = None) -> httpx.Request:
        com, phone_field = self._company(carrier, phone)
        param = orjson.dumps({"com": com, "num": waybill, **phone_field,
                              "resultv2": RESULTV2}).decode()
        form = {"customer": self.customer, "sign": query_sign(param, self.key, self.customer),
                "param": param}
        return self._client.build_request("POST", self.base_url + QUERY_PATH, data=form)

    def build_subscribe(self, waybill: str, carrier: str, phone: str | None = None) -> httpx.Request:
        if not self.callback_url:
            raise ValueError("Kuaidi100 subscription needs callback_url")
        com, phone_field = self._company(carrier, phone)
        parameters = {"callbackurl": self.callback_url, "resultv2": RESULTV2, **phone_field}
        if self.salt is not None:
            parameters["salt"] = self.salt
        param = orjson.dumps({"company": com, "number": waybill, "key": self.key,
                              "parameters": parameters}).decode()
        return self._client.build_request("POST", self.base_url + SUBSCRIBE_PATH,
                                          data={"schema": "json", "param": param})

    # ---- response parsing

    def parse_query(self, body: bytes, waybill: str, carrier: str) -> TrackingResult:
        data = load_json(body, self.name)
        if "returnCode" in data or data.get("result") is False:
            code = str(data.get("returnCode", ""))
            raise provider_error(QUERY_ERRORS.get(code), provider=self.name, raw_code=code,
                                 raw_message=str(data.get("message", "")))
        with malformed(self.name):
            return self._result(data, waybill, carrier)

    def parse_subscribe(self, body: bytes, waybill: str, carrier: str) -> SubscribeResult:
        data = load_json(body, self.name)
        code = str(data.get("returnCode", ""))
        message = str(data.get("message", ""))
        if code not in SUBSCRIBE_OK:
            raise provider_error(SUBSCRIBE_ERRORS.get(code), provider=self.name, raw_code=code,
                                 raw_message=message)
        return SubscribeResult(waybill=waybill, carrier=carrier, provider=self.name,
                               already_subscribed=SUBSCRIBE_OK[code], raw_code=code, message=message)

    def parse_push(self, form: Mapping[str, str]) -> PushResult:
        param = form.get("param")
        if not param:
            raise BadResponse("push without param", provider=self.name)
        if self.salt is not None:
            check_signature(push_sign(param, self.salt), (form.get("sign") or "").strip().lower(),
                            provider=self.name, field="sign")
        data = load_json(param, self.name)
        with malformed(self.name):
            monitor = data.get("status") or ""
            message = data.get("message") or ""
            com_new = data.get("comNew") or ""
            result = self._result(data.get("lastResult") or {}, "", None)
            corrected = carriers.by_kuaidi100(com_new)
            if corrected is not None:
                result = replace(result, carrier_correction=corrected.code)
            if monitor == "abort":
                result = replace(result, status=S.EXCEPTION, incident=_abort_incident(message))
            return PushResult(provider=self.name, results=(result,), monitor=monitor,
                              message=message, stopped=monitor in STOPPED,
                              resubscribe=monitor == "abort" and corrected is None,
                              carrier_old_raw=data.get("comOld") or "", carrier_new_raw=com_new)

    def push_reply(self, now: datetime | None = None) -> bytes:
        return PUSH_REPLY

    def _result(self, data: dict, waybill: str, carrier: str | None) -> TrackingResult:
        state = str(data.get("state", ""))
        com = data.get("com") or ""
        route = data.get("routeInfo") or {}
        return classified_result(
            STATES, state, asked=carrier, answered=carriers.by_kuaidi100(com),
            waybill=data.get("nu") or waybill,
            provider=self.name,
            raw_state=state,
            raw_substate=data.get("condition") or None,
            events=chronological(map(_event, reversed(data.get("data") or ()))),
            signed=str(data.get("ischeck", "")) == "1",
            eta=optional_time(data.get("arrivalTime")),
            message=data.get("message") or "",
            provider_carrier=com,
            origin=_place(route.get("from")),
            destination=_place(route.get("to")),
        )


def _event(row: dict) -> TrackingEvent:
    code = str(row.get("statusCode") or row.get("status") or "")
    return TrackingEvent(
        time=china_to_utc(row.get("ftime") or row["time"]),
        location=row.get("location") or row.get("areaName") or "",
        text=row.get("context") or "",
        raw_code=code,
        status=STATES.event_status(code),
    )


def _place(position: dict | None) -> str:
    return (position or {}).get("name") or ""


def _abort_incident(message: str) -> Incident:
    return next((incident for phrase, incident in ABORT_INCIDENTS if phrase in message), I.OTHER)
