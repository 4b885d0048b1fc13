"""Kuaidi100's wire formats, as the sandbox speaks them (pure: journeys in, bytes out).

    query body / push lastResult  {message:"ok", nu, ischeck, condition, com, status:"200", state,
                                   data:[newest first], routeInfo, isLoop}
    query failure                 {result:false, returnCode, message}
    subscribe reply               {result, returnCode, message}
    push form                     param=<JSON {status, billstatus, message, autoCheck, comOld, comNew,
                                               lastResult}>, sign=UPPER(md5(param+salt))

``resultv2`` decides the detail, as on the real service: none → time/context/location only
and the main state; ≥ 1 → area fields, status names and routeInfo; ≥ 4 → the advanced
state (top-level ``state`` and each row's ``statusCode``).  Signatures are computed here
independently of the client adapter, so a bug in one cannot hide in the other.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping

import orjson

from couriers.sandbox.journeys import STATES, Journey, Scan, Snapshot
from couriers.sandbox.places import Place

QUERY_FAILURES: Mapping[str, str] = {
    "400": "找不到对应公司",
    "408": "验证码错误",
    "500": "查询无结果，请隔段时间再查",
    "501": "服务器错误",
    "502": "服务器繁忙",
    "503": "验证签名失败",
    "601": "key已过期",
}
SUBSCRIBE_REPLIES: Mapping[str, str] = {
    "200": "提交成功",
    "500": "服务器错误",
    "501": "重复订阅",
    "600": "您不是合法的订阅者（即授权Key出错）",
    "601": "POLL:KEY已过期",
    "700": "订阅方的订阅数据存在错误（如不支持的快递公司、单号为空、单号超长等）或错误的回调地址",
    "701": "拒绝订阅的快递公司",
    "702": "POLL:识别不到该单号对应的快递公司",
}
ABORT_NO_RECORD = "3天查询无记录"
ABORT_NO_CHANGE = "60天无变化"
BILLSTATUS: Mapping[str, str] = {"polling": "got", "shutdown": "check"}  # deprecated field, still sent

_FAILURE_BODIES = {code: orjson.dumps({"result": False, "returnCode": code, "message": message})
                   for code, message in QUERY_FAILURES.items()}
_SUBSCRIBE_BODIES = {code: orjson.dumps({"result": code == "200", "returnCode": code, "message": message})
                     for code, message in SUBSCRIBE_REPLIES.items()}


def query_sign(param: str, key: str, customer: str) -> str:
    return hashlib.md5((param + key + customer).encode()).hexdigest().upper()


def push_sign(param: str, salt: str) -> str:
    return hashlib.md5((param + salt).encode()).hexdigest().upper()


def query_failure(code: str) -> bytes:
    return _FAILURE_BODIES[code]


def subscribe_reply(code: str) -> bytes:
    return _SUBSCRIBE_BODIES[code]


def detail_level(resultv2: object) -> int:
    """``resultv2`` as a number; anything unreadable means the plain format (0)."""
    try:
        return int(str(resultv2 or 0))
    except ValueError:
        return 0


def empty_trace(num: str, com: str) -> dict:
    """The ``lastResult`` of an abort push for a waybill that never had a scan."""
    return {"message": "ok", "state": "0", "status": "200", "condition": "", "ischeck": "0",
            "com": com, "nu": num, "data": []}


def trace(journey: Journey, snap: Snapshot, com: str, resultv2: int) -> dict:
    """The query body, also a push's ``lastResult``."""
    advanced = resultv2 >= 4
    body = {
        "message": "ok",
        "nu": journey.waybill,
        "ischeck": "1" if snap.signed else "0",
        "condition": "F00" if snap.signed else "00",
        "com": com,
        "status": "200",
        "state": snap.state if advanced else snap.main_state,
        "data": [_row(scan, resultv2) for scan in reversed(snap.scans)],
    }
    if resultv2 >= 1:
        body["routeInfo"] = {"from": _position(journey.origin), "cur": _position(snap.latest.place),
                             "to": _position(journey.destination)}
        body["isLoop"] = False
    return body


def _row(scan: Scan, resultv2: int) -> dict:
    place = scan.place
    row = {"time": scan.local_time, "context": scan.context, "ftime": scan.local_time,
           "location": place.location}
    if resultv2 >= 1:
        code = scan.code if resultv2 >= 4 else scan.main_state
        row |= {"areaCode": place.code, "areaName": place.area_name, "status": STATES[code][0],
                "areaCenter": place.center, "areaPinYin": place.pinyin}
        if resultv2 >= 4:
            row["statusCode"] = code
    return row


def _position(place: Place) -> dict:
    return {"number": place.code, "name": place.area_name}


def push_param(status: str, lastresult: dict, *, message: str = "", com_old: str = "",
               com_new: str = "") -> str:
    """The JSON text of a push's ``param`` (signed as sent, so built once, as text)."""
    return orjson.dumps({
        "status": status,
        "billstatus": BILLSTATUS.get(status, ""),
        "message": message,
        "autoCheck": "1" if com_new else "0",
        "comOld": com_old,
        "comNew": com_new,
        "lastResult": lastresult,
    }).decode()
