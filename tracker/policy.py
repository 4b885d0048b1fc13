"""The exception policy: every number classification and the reply scripts depend on.

    tracker/policy.toml (or TRACKER_POLICY_FILE) ─► tomllib ─► SPEC: each key checked,
        defaults for keys left out ─► Policy (frozen)  ─► classify · playbook · schedule

Many of these numbers are unverified platform practice (domain notes §2–5), so they are
values a lead can edit, each with a documented default, never constants in the rules.
Loading is strict: an unknown key or a bad value is a ``PolicyError`` naming the key,
e.g. ``policy.toml: stall_hours.in_transit must be a positive number, got -3``.

Pure apart from ``load`` reading the file: geography (the route classes between the 31
mainland provinces), promotion windows, disruption notices and statutory holidays
(``chinese_calendar``) are lookups on the loaded values.
"""
from __future__ import annotations

import re
import tomllib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import chinese_calendar

from imports.address import province_name

DEFAULT_FILE = Path(__file__).resolve().parent / "policy.toml"
H = timedelta(hours=1)
D = timedelta(days=1)
CHINA = timedelta(hours=8)  # Asia/Shanghai has no daylight saving: dates are UTC + 8 h


class PolicyError(ValueError):
    pass


# ---------------------------------------------------------------- geography

# 大区 of the 31 mainland provinces (short names).
REGIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "华东": ("上海", "江苏", "浙江", "安徽", "福建", "江西", "山东"),
    "华南": ("广东", "广西", "海南"),
    "华中": ("河南", "湖北", "湖南"),
    "华北": ("北京", "天津", "河北", "山西", "内蒙古"),
    "东北": ("辽宁", "吉林", "黑龙江"),
    "西南": ("重庆", "四川", "贵州", "云南", "西藏"),
    "西北": ("陕西", "甘肃", "青海", "宁夏", "新疆"),
})
# Land borders (and 琼州海峡 for 海南–广东), each pair once.
BORDERS = (
    "北京-天津 北京-河北 天津-河北 河北-山西 河北-内蒙古 河北-辽宁 河北-山东 河北-河南 山西-内蒙古 山西-陕西 "
    "山西-河南 内蒙古-黑龙江 内蒙古-吉林 内蒙古-辽宁 内蒙古-陕西 内蒙古-宁夏 内蒙古-甘肃 辽宁-吉林 吉林-黑龙江 "
    "上海-江苏 上海-浙江 江苏-浙江 江苏-安徽 江苏-山东 浙江-安徽 浙江-江西 浙江-福建 安徽-江西 安徽-湖北 "
    "安徽-河南 安徽-山东 福建-江西 福建-广东 江西-湖北 江西-湖南 江西-广东 山东-河南 河南-陕西 河南-湖北 "
    "湖北-湖南 湖北-重庆 湖北-陕西 湖南-广东 湖南-广西 湖南-贵州 湖南-重庆 广东-广西 广东-海南 广西-贵州 "
    "广西-云南 重庆-四川 重庆-贵州 重庆-陕西 四川-贵州 四川-云南 四川-西藏 四川-青海 四川-甘肃 四川-陕西 "
    "贵州-云南 云南-西藏 西藏-新疆 西藏-青海 陕西-宁夏 陕西-甘肃 甘肃-宁夏 甘肃-新疆 甘肃-青海 青海-新疆"
)
NEIGHBOURS: frozenset[frozenset[str]] = frozenset(frozenset(pair.split("-")) for pair in BORDERS.split())
_REGION_OF = {p: region for region, provinces in REGIONS.items() for p in provinces}
# Hub and big shipping cities whose scans name the city without the province (杭州转运中心).
HUB_CITIES: Mapping[str, str] = MappingProxyType({
    city: province for province, cities in {
        "浙江": "杭州 宁波 温州 金华 义乌 嘉兴 绍兴 台州 湖州 丽水 衢州 舟山",
        "广东": "广州 深圳 东莞 佛山 汕头 珠海 惠州 中山 揭阳 江门 湛江",
        "江苏": "南京 苏州 无锡 常州 南通 徐州 扬州 昆山 盐城 连云港 宿迁",
        "安徽": "合肥 芜湖 蚌埠 阜阳", "福建": "福州 厦门 泉州 莆田 漳州 晋江",
        "江西": "南昌 赣州 九江", "山东": "济南 青岛 临沂 潍坊 烟台 济宁 淄博",
        "河南": "郑州 洛阳 南阳 商丘", "湖北": "武汉 宜昌 襄阳 荆州", "湖南": "长沙 株洲 衡阳 岳阳",
        "广西": "南宁 桂林 柳州 玉林", "海南": "海口 三亚", "四川": "成都 绵阳 南充",
        "贵州": "贵阳 遵义", "云南": "昆明 大理 曲靖", "西藏": "拉萨", "陕西": "西安 宝鸡",
        "甘肃": "兰州 天水", "青海": "西宁", "宁夏": "银川", "新疆": "乌鲁木齐 喀什 伊犁 库尔勒",
        "内蒙古": "呼和浩特 包头 赤峰 鄂尔多斯", "河北": "石家庄 保定 廊坊 唐山 邯郸 沧州",
        "山西": "太原 大同", "辽宁": "沈阳 大连 鞍山", "吉林": "长春 吉林", "黑龙江": "哈尔滨 大庆",
    }.items() for city in cities.split()
})
_HUB = re.compile("|".join(sorted(HUB_CITIES, key=len, reverse=True)))
_SHORT = {province_name(p): p for p in _REGION_OF}  # 浙江省 → 浙江


@lru_cache(maxsize=65536)
def short_province(text: str | None) -> str | None:
    """The short name (浙江) of a province written any way, or of a place starting with one
    (浙江省杭州市…, 上海转运中心) or naming a hub city (杭州转运中心); None when unknown."""
    if not text:
        return None
    full = province_name(text)
    if full is not None:
        return _SHORT.get(full)
    hub = _HUB.search(text, 0, 12)
    return HUB_CITIES[hub.group()] if hub else None


ROUTE_CLASSES = ("same_city", "same_province", "neighbour", "same_region", "cross_region", "remote")
ROUTE_NAMES = MappingProxyType({"same_city": "同城", "same_province": "省内", "neighbour": "相邻省",
                                "same_region": "同区", "cross_region": "跨区", "remote": "偏远"})


# ---------------------------------------------------------------- the policy


@dataclass(frozen=True, slots=True)
class Promotion:
    name: str
    start: datetime  # first instant (UTC) of the start date in China
    end: datetime  # first instant after the end date
    ship_deadline: timedelta
    transit_factor: float
    stall_factor: float


@dataclass(frozen=True, slots=True)
class Disruption:
    name: str
    reason: str
    provinces: frozenset[str]  # short names; "*" for the whole country
    start: datetime
    end: datetime
    extra: timedelta

    def covers(self, provinces: tuple[str | None, ...], since: datetime, until: datetime) -> bool:
        return (since < self.end and until >= self.start
                and ("*" in self.provinces or any(p in self.provinces for p in provinces)))


@dataclass(frozen=True)
class Policy:
    """The loaded policy.  ``source`` names the file for messages and evidence."""

    source: str
    ship_deadline: timedelta
    pickup_deadline: timedelta
    origin_province: str
    promotions: tuple[Promotion, ...]
    stall_limits: Mapping[str, timedelta]
    transit_days: Mapping[str, float]
    remote_provinces: frozenset[str]
    overdue_factor: float
    service_same_city: timedelta
    service_intercity: timedelta
    total_delay_same_city: timedelta
    total_delay_intercity: timedelta
    auto_confirm_days: Mapping[str, float]
    extension: timedelta
    warn_before: timedelta
    arrival_margin: timedelta
    extend_for_holidays: bool
    extra_holidays: frozenset[date]
    disruptions: tuple[Disruption, ...]
    max_contacts: int
    max_refused: int
    forbidden_phrases: tuple[str, ...]
    _routes: dict = field(default_factory=dict, repr=False, compare=False)

    # -- lookups the rules use ------------------------------------------------
    def stall_limit(self, status: str) -> timedelta:
        return self.stall_limits.get(status) or self.stall_limits["unknown"]

    def promotion(self, when: datetime | None) -> Promotion | None:
        if when is not None:
            for promo in self.promotions:
                if promo.start <= when < promo.end:
                    return promo
        return None

    def route(self, origin: str | None, destination: str | None) -> tuple[str, timedelta]:
        """(route class, expected days from first scan to delivery) between two short names."""
        key = (origin, destination)
        hit = self._routes.get(key)
        if hit is None:
            kind = route_class(origin, destination, self.remote_provinces)
            hit = self._routes[key] = (kind, self.transit_days[kind] * D)
        return hit

    def auto_confirm_after(self, platform: str) -> timedelta:
        return self.auto_confirm_days.get(platform, self.auto_confirm_days["default"]) * D

    def disruption(self, provinces: tuple[str | None, ...], since: datetime,
                   until: datetime) -> Disruption | None:
        for notice in self.disruptions:
            if notice.covers(provinces, since, until):
                return notice
        return None

    def holiday_days(self, since: datetime, until: datetime) -> int:
        """Statutory holiday days (China dates) from ``since`` to ``until`` inclusive."""
        if not self.extend_for_holidays or until < since:
            return 0
        first, last = (since + CHINA).date(), (until + CHINA).date()
        days = _holiday_table(self.extra_holidays)
        return bisect_right(days, last) - bisect_left(days, first)

    def extended(self, start: datetime, span: timedelta) -> tuple[datetime, int]:
        """``start + span`` pushed back by the holiday days inside it (and inside the push)."""
        end, days = start + span, 0
        for _ in range(8):  # a push can reach further holidays; a week of pushes is plenty
            found = self.holiday_days(start, end)
            if found == days:
                break
            end, days = start + span + found * D, found
        return end, days

    def schedule_overrides(self) -> dict[str, Any]:
        """The values ``tracker.schedule.Policy`` takes, by its field names, so the poll schedule
        and classification share one source: ``schedule.Policy(**policy.schedule_overrides())``."""
        return {
            "stall_limits": self.stall_limits,
            "pickup_deadline": self.pickup_deadline,
            "auto_confirm_after": self.auto_confirm_after("default"),
            "transit_same_city": self.transit_days["same_city"] * D,
            "transit_same_province": self.transit_days["same_province"] * D,
            "transit_neighbour": self.transit_days["neighbour"] * D,
            "transit_same_region": self.transit_days["same_region"] * D,
            "transit_default": self.transit_days["cross_region"] * D,
            "transit_remote": self.transit_days["remote"] * D,
            "remote_provinces": self.remote_provinces,
            "stall_factors": tuple((p.start, p.end, p.stall_factor) for p in self.promotions),
        }


def route_class(origin: str | None, destination: str | None, remote: frozenset[str]) -> str:
    if origin is None or destination is None:
        return "cross_region"
    if origin == destination:
        return "same_province"
    if origin in remote or destination in remote:
        return "remote"
    if frozenset((origin, destination)) in NEIGHBOURS:
        return "neighbour"
    if _REGION_OF.get(origin) == _REGION_OF.get(destination):
        return "same_region"
    return "cross_region"


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    """Statutory holiday dates of a year; empty for a year chinese_calendar does not know yet."""
    found = set()
    day = date(year, 1, 1)
    while day.year == year:
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:  # the package's table ends; upgrade it every November
            return frozenset()
        if on_holiday and name:
            found.add(day)
        day += D
    return frozenset(found)


def holidays_known(year: int) -> bool:
    try:
        chinese_calendar.get_holiday_detail(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=8)
def _holiday_table(extra: frozenset[date]) -> tuple[date, ...]:
    this = datetime.now(UTC).year  # the table spans the years cases can still concern
    return tuple(sorted(set().union(*(_holidays_of(y) for y in range(this - 2, this + 2)), extra)))


# ---------------------------------------------------------------- loading


class _Reader:
    """Reads and checks keys of one TOML table; every message names the full key."""

    def __init__(self, source: str, table: Mapping[str, Any], prefix: str):
        self.source, self.table, self.prefix, self.used = source, table, prefix, set()

    def fail(self, key: str, what: str, value: Any) -> PolicyError:
        return PolicyError(f"{self.source}: {self.prefix}{key} must be {what}, got {value!r}")

    def get(self, key: str, default: Any, check: Callable[[Any], bool], what: str) -> Any:
        self.used.add(key)
        value = self.table.get(key, default)
        if isinstance(value, bool) and not isinstance(default, bool) or not check(value):
            raise self.fail(key, what, value)
        return value

    def positive(self, key: str, default: float) -> float:
        return self.get(key, default, lambda v: isinstance(v, (int, float)) and v > 0, "a positive number")

    def count(self, key: str, default: int) -> int:
        return self.get(key, default, lambda v: isinstance(v, int) and v > 0, "a positive whole number")

    def factor(self, key: str, default: float) -> float:
        return self.get(key, default, lambda v: isinstance(v, (int, float)) and v >= 1, "a number ≥ 1")

    def flag(self, key: str, default: bool) -> bool:
        return self.get(key, default, lambda v: isinstance(v, bool), "true or false")

    def text(self, key: str, default: str | None = None) -> str:
        return self.get(key, default, lambda v: isinstance(v, str) and v.strip() != "", "a non-empty text")

    def texts(self, key: str, default: list[str]) -> list[str]:
        return self.get(key, default, lambda v: isinstance(v, list) and all(isinstance(x, str) and x for x in v),
                        "a list of texts")

    def province(self, key: str, default: str | None = None) -> str:
        value = self.text(key, default)
        short = short_province(value) if province_name(value) else None
        if short is None:
            raise self.fail(key, "a mainland province name", value)
        return short

    def provinces(self, key: str, default: list[str]) -> frozenset[str]:
        values = self.texts(key, default)
        shorts = {"*" if v == "*" else (short_province(v) if province_name(v) else None) for v in values}
        if None in shorts:
            raise self.fail(key, "a list of mainland province names (or \"*\")", values)
        return frozenset(shorts)

    def day(self, key: str, default: str | None = None) -> date:
        value = self.get(key, default, lambda v: isinstance(v, (str, date)), "a date \"YYYY-MM-DD\"")
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.fail(key, "a date \"YYYY-MM-DD\"", value) from None

    def days(self, key: str) -> frozenset[date]:
        values = self.texts(key, [])
        try:
            return frozenset(date.fromisoformat(v) for v in values)
        except ValueError:
            raise self.fail(key, "a list of dates \"YYYY-MM-DD\"", values) from None

    def window(self) -> tuple[datetime, datetime]:
        start, end = self.day("start"), self.day("end")
        if end < start:
            raise self.fail("end", f"on or after start {start}", str(end))
        return _china_midnight(start), _china_midnight(end) + D

    def table_of(self, key: str) -> _Reader:
        self.used.add(key)
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "a table", value)
        return _Reader(self.source, value, f"{self.prefix}{key}.")

    def list_of_tables(self, key: str, default: list) -> list[_Reader]:
        self.used.add(key)
        value = self.table.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "a list of tables ([[" + key + "]])", value)
        return [_Reader(self.source, v, f"{self.prefix}{key}[{i}].") for i, v in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise PolicyError(f"{self.source}: unknown key(s) {', '.join(self.prefix + k for k in unknown)}; "
                              f"known: {', '.join(self.prefix + k for k in sorted(self.used))}")


def _china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC) - CHINA


# Defaults: the same values policy.toml documents (a test keeps them equal).
STALL_HOURS = {"picked_up": 24, "in_transit": 48, "out_for_delivery": 24, "available_for_pickup": 72,
               "failed_attempt": 24, "exception": 48, "returning": 72, "refused": 48, "unknown": 48}
TRANSIT_DAYS = {"same_city": 1, "same_province": 2, "neighbour": 3, "same_region": 3, "cross_region": 4,
                "remote": 7}
REMOTE = ["新疆", "西藏", "青海", "宁夏", "内蒙古", "海南"]
AUTO_CONFIRM_DAYS = {"taobao": 10, "tmall": 10, "pdd": 10, "douyin": 10, "jd": 10, "default": 10}
PROMOTIONS = [
    {"name": "双十一", "start": "2026-10-20", "end": "2026-11-11", "deadline_hours": 168,
     "transit_factor": 1.5, "stall_factor": 1.5},
    {"name": "618", "start": "2026-05-20", "end": "2026-06-18", "deadline_hours": 120,
     "transit_factor": 1.3, "stall_factor": 1.3},
]
FORBIDDEN = [
    "不知道", "不清楚", "不归我们管", "跟我们没关系", "与我们无关", "你自己去问", "自己去查", "自己查",
    "找快递去", "去找快递", "没办法", "不可能", "我也没办法", "这是快递的问题", "不是我们的问题",
    "你看不懂吗", "你听不懂吗", "系统问题", "规定就是这样", "爱买不买", "你急什么", "等着吧",
    "反正", "随便你", "我们不负责",
]


def parse(data: Mapping[str, Any], source: str = "policy.toml") -> Policy:
    """A ``Policy`` from the parsed TOML; ``PolicyError`` naming the first bad key."""
    top = _Reader(source, data, "")
    shipping = top.table_of("shipping")
    stall = top.table_of("stall_hours")
    transit = top.table_of("transit")
    standard = top.table_of("national_standard")
    confirm = top.table_of("auto_confirm")
    holidays = top.table_of("holidays")
    replies = top.table_of("replies")
    confirm_days = confirm.table_of("days")
    policy = Policy(
        source=source,
        ship_deadline=shipping.positive("deadline_hours", 48) * H,
        pickup_deadline=shipping.positive("pickup_hours", 24) * H,
        origin_province=shipping.province("origin_province", "浙江"),
        promotions=tuple(_promotion(r) for r in top.list_of_tables("promotions", PROMOTIONS)),
        stall_limits=MappingProxyType({k: stall.positive(k, v) * H for k, v in STALL_HOURS.items()}),
        transit_days=MappingProxyType({k: transit.positive(k, v) for k, v in TRANSIT_DAYS.items()}),
        remote_provinces=transit.provinces("remote_provinces", REMOTE),
        overdue_factor=transit.factor("overdue_factor", 2.0),
        service_same_city=standard.positive("service_hours_same_city", 24) * H,
        service_intercity=standard.positive("service_hours_intercity", 72) * H,
        total_delay_same_city=standard.positive("total_delay_days_same_city", 3) * D,
        total_delay_intercity=standard.positive("total_delay_days_intercity", 7) * D,
        auto_confirm_days=MappingProxyType(
            {**{k: confirm_days.positive(k, v) for k, v in AUTO_CONFIRM_DAYS.items()},
             **{k: confirm_days.positive(k, 10) for k in confirm_days.table if k not in AUTO_CONFIRM_DAYS}}),
        extension=confirm.positive("extension_days", 3) * D,
        warn_before=confirm.positive("warn_days", 3) * D,
        arrival_margin=confirm.positive("arrival_margin_hours", 24) * H,
        extend_for_holidays=holidays.flag("extend_deadlines", True),
        extra_holidays=holidays.days("extra"),
        disruptions=tuple(_disruption(r) for r in top.list_of_tables("disruptions", [])),
        max_contacts=replies.count("max_contacts", 3),
        max_refused=replies.count("max_refused", 2),
        forbidden_phrases=tuple(replies.texts("forbidden_phrases", FORBIDDEN)),
    )
    for reader in (shipping, stall, transit, standard, confirm, holidays, replies, top):
        reader.done()
    return policy


def _promotion(r: _Reader) -> Promotion:
    start, end = r.window()
    promo = Promotion(r.text("name"), start, end, r.positive("deadline_hours", 48) * H,
                      r.factor("transit_factor", 1.0), r.factor("stall_factor", 1.0))
    r.done()
    return promo


def _disruption(r: _Reader) -> Disruption:
    start, end = r.window()
    notice = Disruption(r.text("name"), r.text("reason"), r.provinces("provinces", None), start, end,
                        r.positive("extra_hours", 48) * H)
    r.done()
    return notice


def load(path: str | Path | None = None) -> Policy:
    """The policy from ``path``, else ``TRACKER_POLICY_FILE``, else the shipped policy.toml."""
    if path is None:
        from tracker import config  # settings are read once, there

        path = config.get().policy_file or DEFAULT_FILE
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise PolicyError(f"{path}: cannot read the policy file: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"{path.name}: not valid TOML: {err}") from err
    return parse(data, path.name)


DEFAULT = parse({}, "defaults")
