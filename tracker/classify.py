"""Exception classification: pure functions of an order's facts, the policy and ``now``.

    Snapshot (order facts, its parcels with their scans, refunds, agents' damage reports)
        ─► RULES, one function per kind family, each yielding Findings and the times at
           which its answer could change by time alone (a deadline not reached yet)
        ─► Evaluation(findings, recheck_at)        classify() = evaluate().findings

No I/O, no database: ``tracker.cases`` builds snapshots and stores the findings.

Kinds (``KINDS``): the six public codes, plus extra kinds that detail them.  An extra
kind never replaces a core kind: where it ``refines`` one (``lost`` → ``stalled``), its
condition implies the core kind's, and both are reported.  ``failed_delivery``,
``returned``, ``refused`` and ``auto_confirm_soon`` stand beside the six (``refines``
None): they can hold without any of them.

Text is read with care (STYLE "Traps"): courier boilerplate such as "如有破损请当场拒收"
or "请当面验货" is removed before looking for damage; "无法签收" is a failed attempt, not
a signature.  Provider statuses and problem codes (Kuaidi100 209 / Kdniao 414 破损) come
first; text is read only for damage and for states the provider's table did not map.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from couriers import carriers
from tracker.policy import CHINA, ROUTE_NAMES, Disruption, Policy, short_province

H = timedelta(hours=1)


# ---------------------------------------------------------------- the kinds


def N_(text: str) -> str:
    """Marks a name for the web app's English catalog (``pybabel extract``); returns it as is."""
    return text


class Kind(NamedTuple):
    code: str
    name: str  # 中文
    refines: str | None
    severity: int  # base severity, 1 low … 4 critical


KINDS: Mapping[str, Kind] = {k.code: k for k in (
    Kind("not_shipped", N_("未发货"), None, 2),
    Kind("no_tracking", N_("无物流信息"), None, 3),
    Kind("stalled", N_("物流停滞"), None, 2),
    Kind("auto_confirmed_undelivered", N_("未签收已确认收货"), None, 4),
    Kind("damaged", N_("破损"), None, 3),
    Kind("wrong_carrier", N_("发错快递"), None, 2),
    Kind("lost", N_("疑似丢件"), "stalled", 4),
    Kind("pickup_uncollected", N_("驿站/快递柜未取"), "stalled", 2),
    Kind("reship_not_moving", N_("补发件未动"), "no_tracking", 3),  # or stalled, per finding
    Kind("failed_delivery", N_("派送失败"), None, 3),
    Kind("refused", N_("拒收"), None, 3),
    Kind("returned", N_("退回"), None, 3),
    Kind("auto_confirm_soon", N_("即将自动确认收货"), None, 3),
)}
CORE_KINDS = ("not_shipped", "no_tracking", "stalled", "auto_confirmed_undelivered", "damaged", "wrong_carrier")


# ---------------------------------------------------------------- the snapshot


class Scan(NamedTuple):
    time: datetime
    location: str | None
    text: str
    raw_code: str | None
    status: str  # ParcelStatus value


@dataclass(slots=True)
class Parcel:
    waybill: str
    carrier: str | None
    status: str = "pending"  # ParcelStatus value
    kind: str = "original"  # original | reship | return
    incident: str | None = None  # Incident value
    first_scan_at: datetime | None = None
    last_event_at: datetime | None = None
    last_event_text: str | None = None
    last_location: str | None = None
    delivered_at: datetime | None = None
    created_at: datetime | None = None  # when the waybill became known (a reship's shipping time)
    eta: datetime | None = None
    scans: tuple[Scan, ...] = ()  # oldest first
    id: int | None = None


@dataclass(slots=True)
class RefundFacts:
    status: str  # REFUND_STATUSES value
    reason: str | None = None
    description: str | None = None


@dataclass(slots=True)
class Snapshot:
    """What classification knows about one order (active shipments only: none superseded)."""

    platform_order_id: str
    status: str  # ORDER_STATUSES value
    platform: str = "taobao"
    status_raw: str = ""
    paid_at: datetime | None = None
    ship_deadline: datetime | None = None  # 承诺发货时间 when the export states it
    shipped_at: datetime | None = None
    confirmed_at: datetime | None = None
    province: str | None = None
    city: str | None = None
    buyer_message: str | None = None
    seller_memo: str | None = None
    requested_carriers: tuple[str, ...] = ()
    excluded_carriers: tuple[str, ...] = ()
    shop_origin: str | None = None  # the shop's origin_province setting
    parcels: tuple[Parcel, ...] = ()
    refunds: tuple[RefundFacts, ...] = ()
    damage_reports: tuple[str, ...] = ()  # agents' notes of a damage report
    order_id: int | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    severity: int
    facts: Mapping[str, object]  # what happened: stable while nothing new happens
    measures: Mapping[str, object]  # what ``now`` and the policy make of it: ages, limits
    text: str  # readable Chinese evidence
    deadline: datetime | None = None
    waybill: str | None = None
    shipment_id: int | None = None
    force_majeure: bool = False
    refines: str | None = None

    @property
    def evidence(self) -> dict[str, object]:
        return {**self.facts, **self.measures, "force_majeure": self.force_majeure, "text": self.text}

    @property
    def facts_hash(self) -> str:
        """Changes when the facts behind the finding change, not when time passes."""
        blob = json.dumps([self.kind, self.waybill, self.facts], sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class Evaluation:
    findings: list[Finding]
    recheck_at: datetime | None  # the earliest time an answer can change without new facts


# ---------------------------------------------------------------- reading texts

# Boilerplate and negations, removed before any cue is looked for.
BOILERPLATE = re.compile(
    r"如有?(?:外包装|包装|商品|货物)?(?:破损|损坏|问题|异常|短少|少件)[^，。；,;！!]*"
    r"|(?:破损|损坏)[^，。；,;]{0,6}(?:请|可)?(?:当场|当面)?(?:拒收|拒签)"
    r"|请?(?:当面|当场)(?:验货|验收|开箱|检查|查验)[^，。；,;]*"
    r"|(?:验货|检查|验收)(?:无误)?(?:后|再)再?签收"
    r"|(?:外包装|包装|商品|货物)?(?:完好|无破损|未破损|无损坏|没有破损|无异常)"
)
DAMAGE_WORDS = ("破损", "损坏", "压坏", "摔坏", "破裂", "破漏", "漏液", "受潮", "湿损", "浸湿", "变形", "少件", "短少",
                "缺件", "内件缺失", "内物缺失")
DAMAGE_CUES = re.compile("|".join(DAMAGE_WORDS))
DAMAGE_MARKS = "损坏裂漏潮湿形少缺"  # every damage word has one: a cheap prefilter (SQL, then regex)
REFUND_DAMAGE_CUES = re.compile(r"破损|损坏|压坏|摔坏|碎|漏液|变形|少件|漏发|缺件|短少|少发|质量问题.*破")
# Provider problem codes meaning damage: Kuaidi100 209 破损, Kdniao 414 破损.
DAMAGE_CODES = frozenset({"209", "414"})
# What a scan says when the provider's code did not map (status "unknown"): first match wins.
TEXT_STATUS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), s) for p, s in (
    (r"无法签收|未签收|签收失败|不能签收|无人签收|无法派送|派送不成功|派送失败|联系不上|无人接听|地址不详", "failed_attempt"),
    (r"拒收|拒签", "refused"),
    (r"退回|退件|退签|返回寄件", "returning"),
    (r"已签收|签收人|代签收|本人签收|妥投|已取件|取件成功", "delivered"),
    (r"驿站|快递柜|丰巢|自提柜|代收点|待取件|取件码", "available_for_pickup"),
    (r"派送中|派件中|正在派送|正在为您派件|派件员|快递员.*派", "out_for_delivery"),
    (r"到达|发往|离开|转运|中转|运输中|装车|已发出", "in_transit"),
    (r"揽收|揽件|已收件|收取快件", "picked_up"),
))
FAILED_INCIDENTS = frozenset({"unreachable", "address_problem", "out_of_area"})
STALL_INCIDENTS = frozenset({"lost", "not_updated", "held", "pickup_overdue"})
MOVING = frozenset({"picked_up", "in_transit", "out_for_delivery", "available_for_pickup", "failed_attempt",
                    "exception", "unknown"})
BACK = frozenset({"refused", "returning", "returned"})
STATUS_NAMES = {"picked_up": "已揽收", "in_transit": "运输中", "out_for_delivery": "派送中",
                "available_for_pickup": "待取件（驿站/快递柜）", "failed_attempt": "派送失败", "exception": "问题件",
                "unknown": "状态未识别", "pending": "未揽收", "delivered": "已签收", "refused": "拒收",
                "returning": "退回中", "returned": "已退回"}
# Carriers that serve the same wish: 顺丰快运 is 顺丰, EMS is 邮政.
CARRIER_FAMILY = {"sfky": "sf", "ems": "chinapost"}


def _clean(text: str) -> str:
    return BOILERPLATE.sub("", text)


@lru_cache(maxsize=1 << 16)  # courier texts repeat: "已签收…如有破损请当场拒收" on most parcels
def damage_cue(text: str | None) -> str | None:
    """The damage word a scan text really says, boilerplate and negations removed."""
    if not text or DAMAGE_CUES.search(text) is None:
        return None
    hit = DAMAGE_CUES.search(_clean(text))
    return hit.group() if hit else None


@lru_cache(maxsize=1 << 16)
def text_status(text: str | None) -> str:
    """The parcel status a scan text states, for scans whose provider code is unmapped."""
    if text:
        cleaned = _clean(text)
        for pattern, status in TEXT_STATUS:
            if pattern.search(cleaned):
                return status
    return "unknown"


# ---------------------------------------------------------------- helpers


def _hours(delta: timedelta) -> int:
    return int(delta / H)


def _local(t: datetime | None) -> str:
    return (t + CHINA).strftime("%m-%d %H:%M") if t else "—"


def _name(code: str) -> str:
    try:
        return carriers.get(code).name
    except carriers.UnknownCarrier:
        return code


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def status_of(p: Parcel) -> str:
    if p.status == "unknown":
        return text_status(p.last_event_text)
    return p.status


def delivered(p: Parcel) -> bool:
    return p.delivered_at is not None or status_of(p) == "delivered"


def last_scan_at(p: Parcel) -> datetime | None:
    return p.last_event_at or (p.scans[-1].time if p.scans else None) or p.first_scan_at


def first_scan_at(p: Parcel) -> datetime | None:
    return p.first_scan_at or (p.scans[0].time if p.scans else None)


class _Look:
    """One order under evaluation: the shared derived facts and the recheck times."""

    __slots__ = ("s", "policy", "now", "recheck", "dest", "outbound")

    def __init__(self, s: Snapshot, policy: Policy, now: datetime):
        self.s, self.policy, self.now = s, policy, now
        self.recheck: list[datetime] = []
        self.dest = short_province(s.province)
        self.outbound = [p for p in s.parcels if p.kind != "return"]

    def later(self, when: datetime) -> None:
        if when > self.now:
            self.recheck.append(when)

    def shipped(self, p: Parcel) -> datetime | None:
        if p.kind == "reship":
            return p.created_at or self.s.shipped_at
        return self.s.shipped_at or p.created_at

    def origin(self, p: Parcel) -> str:
        first = p.scans[0].location if p.scans else None
        return short_province(first) or short_province(self.s.shop_origin) or self.policy.origin_province

    def route(self, p: Parcel) -> tuple[str, str, timedelta]:
        """(origin, route class, expected transit with the promotion factor)."""
        origin = self.origin(p)
        kind, days = self.policy.route(origin, self.dest)
        if kind == "same_province" and self._same_city(p):
            kind, days = "same_city", self.policy.transit_days["same_city"] * timedelta(days=1)
        promo = self.policy.promotion(self.shipped(p))
        return origin, kind, days * promo.transit_factor if promo else days

    def _same_city(self, p: Parcel) -> bool:
        city = (self.s.city or "").removesuffix("市")
        first = p.scans[0].location if p.scans else None
        return bool(city and first and city in first[:12])

    def notice(self, p: Parcel | None, since: datetime, due: datetime) -> Disruption | None:
        """A disruption on the parcel's way that began before its limit ran out (``due``): one
        that began after the parcel was already late did not make it late."""
        places = (self.dest, self.origin(p) if p else short_province(self.s.shop_origin) or
                  self.policy.origin_province, short_province(p.last_location) if p else None)
        return self.policy.disruption(places, since, min(due, self.now))

    def finding(self, kind: str, facts: dict, measures: dict, text: str, *, p: Parcel | None = None,
                severity: int | None = None, notice: Disruption | None = None, deadline: datetime | None = None,
                refines: str | None = None) -> Finding:
        spec = KINDS[kind]
        if notice is not None:
            text += f"；{notice.reason}（{notice.name}）属不可抗力，时限已延长 {_hours(notice.extra)} 小时"
            measures = {**measures, "disruption": notice.name, "disruption_reason": notice.reason}
        return Finding(kind, min(4, severity or spec.severity), facts, measures, text, deadline=deadline,
                       waybill=p.waybill if p else None, shipment_id=p.id if p else None,
                       force_majeure=notice is not None, refines=refines or spec.refines)


def _escalated(base: int, over: timedelta, limit: timedelta) -> int:
    """One step up when the limit is passed twice over."""
    return base + 1 if over > limit else base


# ---------------------------------------------------------------- the rules


def not_shipped(look: _Look) -> Iterator[Finding]:
    s, policy, now = look.s, look.policy, look.now
    if s.status != "awaiting_shipment" or s.paid_at is None or s.shipped_at is not None or look.outbound:
        return
    promo = policy.promotion(s.paid_at)
    if s.ship_deadline is not None:
        deadline, source, holidays = s.ship_deadline, "承诺发货时间", 0
    else:
        span = promo.ship_deadline if promo else policy.ship_deadline
        deadline, holidays = policy.extended(s.paid_at, span)
        source = f"{promo.name}发货时限" if promo else "发货时限"
    notice = look.notice(None, s.paid_at, deadline)
    if notice is not None:
        deadline += notice.extra
    look.later(deadline)
    if now <= deadline:
        return
    limit, over = deadline - s.paid_at, now - deadline
    text = (f"付款于 {_local(s.paid_at)}，{_hours(now - s.paid_at)} 小时仍未发货；{source} {_hours(limit)} 小时"
            f"（截止 {_local(deadline)}）已超 {_hours(over)} 小时")
    if holidays:
        text += f"（含法定节假日 {holidays} 天）"
    if any(r.status in ("requested", "succeeded") for r in s.refunds):
        text += "；买家已申请退款"
    yield look.finding("not_shipped", {"paid_at": _iso(s.paid_at), "deadline_source": source},
                       {"deadline": _iso(deadline), "limit_hours": _hours(limit), "overdue_hours": _hours(over)},
                       text, severity=_escalated(2 + (over > 24 * H), over, limit), notice=notice,
                       deadline=deadline)


def no_tracking(look: _Look) -> Iterator[Finding]:
    policy, now = look.policy, look.now
    for p in look.outbound:
        if p.scans or p.first_scan_at or p.status not in ("pending", "unknown", "exception") or delivered(p):
            continue
        shipped = look.shipped(p)
        if shipped is None:
            continue
        deadline, holidays = policy.extended(shipped, policy.pickup_deadline)
        notice = look.notice(p, shipped, deadline)
        if notice is not None:
            deadline += notice.extra
        said = p.incident == "no_info"
        look.later(deadline)
        if now <= deadline and not said:
            continue
        waited = now - shipped
        text = (f"运单 {p.waybill} 发货于 {_local(shipped)}，{_hours(waited)} 小时无揽收轨迹；"
                f"揽收时限 {_hours(deadline - shipped)} 小时，有虚假发货风险")
        if said:
            text += "；快递接口报告“发货无信息”"
        facts = {"waybill": p.waybill, "carrier": p.carrier, "shipped_at": _iso(shipped), "provider_no_info": said}
        measures = {"hours_without_scan": _hours(waited), "limit_hours": _hours(deadline - shipped),
                    "holiday_days": holidays}
        yield look.finding("no_tracking", facts, measures, text, p=p, notice=notice,
                           severity=_escalated(3, waited, 3 * (deadline - shipped)))
        if p.kind == "reship":
            yield look.finding("reship_not_moving", facts, measures, f"补发件{text}", p=p, notice=notice,
                               refines="no_tracking")


def stalled(look: _Look) -> Iterator[Finding]:
    """stalled, and what details it: lost, pickup_uncollected, a reship that stopped."""
    policy, now = look.policy, look.now
    for p in look.outbound:
        status = status_of(p)
        last = last_scan_at(p)
        if status not in MOVING or last is None or delivered(p):
            continue
        shipped = look.shipped(p) or last
        origin, route, transit = look.route(p)
        promo = policy.promotion(shipped)
        base = policy.stall_limit(status) * (promo.stall_factor if promo else 1)
        until, holidays = policy.extended(last, base)
        notice = look.notice(p, last, until)
        extra = notice.extra if notice else timedelta(0)
        limit = until - last + extra
        age = now - last
        first = first_scan_at(p) or shipped
        overdue_at = first + transit * policy.overdue_factor + extra
        said = p.incident in STALL_INCIDENTS
        look.later(last + limit)
        look.later(overdue_at)
        if age <= limit and now <= overdue_at and not said:
            continue
        where = p.last_location or (p.scans[-1].location if p.scans else None) or "—"
        route_text = f"{origin}→{look.dest or '?'} {ROUTE_NAMES[route]}"
        text = (f"最后一条轨迹 {_hours(age)} 小时前（{where}）；{route_text}"
                f"{'大促期间' if promo else ''}“{STATUS_NAMES.get(status, status)}”上限 {_hours(limit)} 小时")
        if now > overdue_at:
            text += f"；揽收后已 {_hours(now - first)} 小时，远超该线路正常时效 {_hours(transit)} 小时"
        if said:
            text += f"；快递接口报告问题件（{p.incident}）"
        facts = {"waybill": p.waybill, "carrier": p.carrier, "status": status, "last_scan_at": _iso(last),
                 "last_location": where, "last_text": p.last_event_text, "incident": p.incident,
                 "origin": origin, "destination": look.dest}
        measures = {"hours_since_scan": _hours(age), "limit_hours": _hours(limit), "route": route,
                    "expected_transit_hours": _hours(transit), "hours_since_pickup": _hours(now - first),
                    "promotion": promo.name if promo else None, "holiday_days": holidays}
        yield look.finding("stalled", facts, measures, text, p=p, notice=notice,
                           severity=_escalated(2, age, 2 * limit))
        yield from _stall_details(look, p, status, first, route, facts, measures, text, notice)


def _stall_details(look: _Look, p: Parcel, status: str, first: datetime, route: str, facts: dict,
                   measures: dict, text: str, notice: Disruption | None) -> Iterator[Finding]:
    policy, now = look.policy, look.now
    same_city = route == "same_city"
    service = policy.service_same_city if same_city else policy.service_intercity
    total = policy.total_delay_same_city if same_city else policy.total_delay_intercity
    lost_at = first + service + total + (notice.extra if notice else timedelta(0))
    look.later(lost_at)
    if now > lost_at or p.incident == "lost":
        yield look.finding("lost", facts, {**measures, "lost_limit_hours": _hours(lost_at - first)},
                           f"{text}；已超过国家标准彻底延误时限（服务时限 {_hours(service)} 小时 + "
                           f"{total.days} 天），按丢失处理", p=p, notice=notice)
    if status == "available_for_pickup" or p.incident == "pickup_overdue":
        yield look.finding("pickup_uncollected", facts, measures, f"包裹在驿站/快递柜未取；{text}", p=p,
                           notice=notice)
    if p.kind == "reship" and status == "picked_up":
        yield look.finding("reship_not_moving", facts, measures, f"补发件揽收后未再移动；{text}", p=p,
                           notice=notice, refines="stalled")


def auto_confirmed_undelivered(look: _Look) -> Iterator[Finding]:
    s, policy = look.s, look.policy
    if s.status != "finished" or not look.outbound or any(delivered(p) for p in look.outbound):
        return
    p = look.outbound[-1]
    auto = (s.confirmed_at is not None and s.shipped_at is not None
            and s.confirmed_at - s.shipped_at >= policy.auto_confirm_after(s.platform) - timedelta(days=1))
    text = (f"平台显示“{s.status_raw or '交易成功'}”（确认收货 {_local(s.confirmed_at)}"
            f"{'，发货后满自动确认时限，系统自动确认' if auto else ''}），但运单 {p.waybill} "
            f"“{STATUS_NAMES.get(status_of(p), status_of(p))}”，未签收")
    facts = {"waybill": p.waybill, "carrier": p.carrier, "order_status": s.status_raw,
             "confirmed_at": _iso(s.confirmed_at), "parcel_status": status_of(p), "auto_confirmed": auto}
    yield look.finding("auto_confirmed_undelivered", facts, {}, text, p=p, severity=4 if auto else 3)


def auto_confirm_soon(look: _Look) -> Iterator[Finding]:
    s, policy, now = look.s, look.policy, look.now
    if s.status != "shipped" or s.shipped_at is None or not look.outbound:
        return
    if any(delivered(p) for p in look.outbound):
        return
    deadline = s.shipped_at + policy.auto_confirm_after(s.platform)
    warn_from = deadline - policy.warn_before
    look.later(warn_from)
    look.later(deadline)
    if not warn_from <= now < deadline:
        return
    coming = [(p, _arrival(look, p)) for p in look.outbound if status_of(p) not in BACK]
    if not coming:
        return
    p, arrival = min(coming, key=lambda pa: pa[1])
    if arrival <= deadline - policy.arrival_margin:
        return
    text = (f"平台将于 {_local(deadline)} 自动确认收货（发货后 {policy.auto_confirm_after(s.platform).days} 天），"
            f"运单 {p.waybill} 预计 {_local(arrival)} 才能送达：请在截止前延长收货 {policy.extension.days} 天")
    facts = {"waybill": p.waybill, "shipped_at": _iso(s.shipped_at), "parcel_status": status_of(p)}
    yield look.finding("auto_confirm_soon", facts,
                       {"auto_confirm_at": _iso(deadline), "expected_arrival": _iso(arrival)}, text, p=p,
                       deadline=deadline)


def _arrival(look: _Look, p: Parcel) -> datetime:
    status = status_of(p)
    if status in ("out_for_delivery", "available_for_pickup"):
        return look.now
    start = first_scan_at(p)
    _origin, _route, transit = look.route(p)
    if start is None:  # not even picked up: the whole journey is still ahead
        return look.now + transit
    return max(p.eta or start + transit, look.now + timedelta(hours=12) if status in MOVING else look.now)


def damaged(look: _Look) -> Iterator[Finding]:
    s = look.s
    sources: list[dict] = []
    parcel: Parcel | None = None
    for p in look.outbound:
        found = [{"source": "provider", "waybill": p.waybill, "incident": "damaged"}] if p.incident == "damaged" else []
        for scan in p.scans:
            if scan.raw_code in DAMAGE_CODES:
                found.append({"source": "provider", "waybill": p.waybill, "code": scan.raw_code, "text": scan.text,
                              "time": _iso(scan.time)})
            elif (cue := damage_cue(scan.text)) is not None:
                found.append({"source": "scan", "waybill": p.waybill, "cue": cue, "text": scan.text,
                              "time": _iso(scan.time)})
        if found:
            parcel = parcel or p
            sources += found
    for r in s.refunds:
        if r.status != "closed" and r.reason and REFUND_DAMAGE_CUES.search(r.reason):
            sources.append({"source": "refund", "reason": r.reason, "refund_status": r.status})
    sources += [{"source": "agent", "note": note} for note in s.damage_reports]
    if not sources:
        return
    said = {"provider": "快递接口报告破损", "scan": "轨迹记载", "refund": "退款原因", "agent": "客服登记"}
    parts = [f"{said[x['source']]}：{x.get('text') or x.get('reason') or x.get('note') or '破损（问题件）'}"
             for x in sources]
    yield look.finding("damaged", {"sources": sources}, {}, "；".join(dict.fromkeys(parts)), p=parcel,
                       severity=4 if len({x["source"] for x in sources}) > 1 else 3)


def wrong_carrier(look: _Look) -> Iterator[Finding]:
    s = look.s
    if not (s.requested_carriers or s.excluded_carriers):
        return
    wanted = {CARRIER_FAMILY.get(c, c) for c in s.requested_carriers}
    unwanted = {CARRIER_FAMILY.get(c, c) for c in s.excluded_carriers}
    for p in look.outbound:
        used = CARRIER_FAMILY.get(p.carrier, p.carrier) if p.carrier else None
        if used is None or not (wanted and used not in wanted or used in unwanted):
            continue
        asked = "；".join(f"{who}“{t}”" for who, t in (("买家留言", s.buyer_message), ("卖家备注", s.seller_memo)) if t)
        rule = (f"要求{'/'.join(map(_name, s.requested_carriers))}" if wanted and used not in wanted
                else f"不要{'/'.join(map(_name, s.excluded_carriers))}")
        text = f"{asked or '订单'}：{rule}，运单 {p.waybill} 实际使用{_name(p.carrier)}"
        facts = {"waybill": p.waybill, "carrier": p.carrier, "requested": list(s.requested_carriers),
                 "excluded": list(s.excluded_carriers), "buyer_message": s.buyer_message, "seller_memo": s.seller_memo}
        yield look.finding("wrong_carrier", facts, {}, text, p=p, severity=3 if "sf" in wanted else 2)


def back_to_shop(look: _Look) -> Iterator[Finding]:
    """refused / returned: the parcel is on its way back, or back, while the order is open."""
    for p in look.outbound:
        status = status_of(p)
        if status not in BACK or delivered(p):
            continue
        was_refused = (status == "refused" or p.incident == "refused"
                       or any(sc.status == "refused" for sc in p.scans))
        kind = "refused" if was_refused else "returned"
        text = (f"运单 {p.waybill} {'买家拒收，' if was_refused else ''}“{STATUS_NAMES[status]}”"
                f"（{_local(last_scan_at(p))} {p.last_event_text or ''}）")
        yield look.finding(kind, {"waybill": p.waybill, "status": status, "last_text": p.last_event_text,
                                  "last_scan_at": _iso(last_scan_at(p))}, {}, text, p=p)


def failed_delivery(look: _Look) -> Iterator[Finding]:
    for p in look.outbound:
        status = status_of(p)
        if delivered(p) or status in BACK or not (status == "failed_attempt" or p.incident in FAILED_INCIDENTS):
            continue
        text = f"运单 {p.waybill} 派送失败（{_local(last_scan_at(p))} {p.last_event_text or p.incident}），需联系买家确认地址和时间"
        yield look.finding("failed_delivery", {"waybill": p.waybill, "incident": p.incident,
                                               "last_text": p.last_event_text, "last_scan_at": _iso(last_scan_at(p))},
                           {}, text, p=p)


RULES: tuple[Callable[[_Look], Iterator[Finding]], ...] = (
    not_shipped, no_tracking, stalled, auto_confirmed_undelivered, damaged, wrong_carrier,
    back_to_shop, failed_delivery, auto_confirm_soon,
)
SETTLED = frozenset({"awaiting_payment", "closed"})  # nothing can be in trouble


def may_find(s: Snapshot) -> bool:
    """False only when ``evaluate`` is sure to give no finding and no recheck time, now or
    later, until a fact changes: a full run need not evaluate such a quiet order (nor load it).

    Derived from the rules above; keep it in step when a rule changes.  An order is quiet when
      · it is SETTLED (``evaluate`` stops at once), or
      · it is not awaiting shipment (``not_shipped`` and its deadline), asks for or excludes
        no carrier (``wrong_carrier`` holds even after delivery), has no damage report and
        no refund that is not closed (``damaged``), and every outbound parcel is delivered
        by its own columns (``delivered_at`` set or status "delivered"; a parcel delivered
        only by its text counts as not delivered: the SQL cannot read text) with no
        "damaged" incident and no scan with a damage code or a damage cue (``damaged``).
        Delivered parcels end ``no_tracking``, ``stalled``, ``back_to_shop`` and
        ``failed_delivery``; any delivered parcel ends ``auto_confirmed_undelivered`` and
        ``auto_confirm_soon`` before they note a recheck time; no outbound parcel at all
        leaves every parcel rule nothing to look at.
    ``tracker.cases`` asks the same in SQL (``MAY_FIND_SQL``) plus, for the scan texts, this
    module's ``damage_cue``; ``tests/classify/test_quiet_orders.py`` holds the two together.
    """
    if s.status in SETTLED:
        return False
    if (s.status == "awaiting_shipment" or s.requested_carriers or s.excluded_carriers or s.damage_reports
            or any(r.status != "closed" for r in s.refunds)):
        return True
    for p in s.parcels:
        if p.kind == "return":
            continue
        if (p.delivered_at is None and p.status != "delivered") or p.incident == "damaged":
            return True
        if any(scan.raw_code in DAMAGE_CODES or damage_cue(scan.text) for scan in p.scans):
            return True
    return False


def evaluate(snapshot: Snapshot, policy: Policy, now: datetime) -> Evaluation:
    """Findings for one order (at most one per kind and parcel) and when to look again."""
    if snapshot.status in SETTLED:
        return Evaluation([], None)
    look = _Look(snapshot, policy, now)
    findings: dict[str, Finding] = {}
    for rule in RULES:
        for f in rule(look):
            findings.setdefault(f.kind, f)  # one per kind: the first parcel found carries it
    return Evaluation(list(findings.values()), min(look.recheck, default=None))


def classify(snapshot: Snapshot, policy: Policy, now: datetime) -> list[Finding]:
    return evaluate(snapshot, policy, now).findings
