"""When to ask the courier about a parcel next: pure functions of its state, the policy and ``now``.

    status, shipped_at, first_scan_at, last_event_at, expected arrival, pushed?
        ─► candidate times (cadence of the state, stall check, pickup deadline,
           expected arrival, auto-confirm deadline)
        ─► the earliest one ─► never inside the lock window ─► next_poll_at | None (never again)

    a failed query ─► retry_at: capped exponential backoff with jitter, Retry-After honoured
        ─► never inside the lock window

The stall check is what keeps polling cheap *and* watchful: a parcel in transit is asked
about again right after it would cross its stall limit (last scan + limit + a few
minutes), so a stall is seen minutes after it begins, while a parcel that keeps moving
costs a handful of calls on its whole journey.  Kuaidi100 locks a waybill queried twice
within 30 minutes ("否则会造成锁单"): ``_after_lock`` is the one place that enforces it.

A failed delivery announces nothing and stalls after 24 h: what sees it is the poll at the
expected arrival and the daily one after it, so the expected arrival must be early enough
for the parcel's real route: ``route_of`` takes the route from the courier's answer (where
the first scan happened, the destination city), ``expected_transit`` the route class from
tracker.policy's geography and table (同城 1 d … 偏远 7 d, the top of each class's range).
With the shop's origin province instead, a same-city parcel from another warehouse looked
like a 3- or 4-day one, and a delivery that failed on its first day could stall and be
retried before the next look.  The limit of this: a delivery that fails more than a day
before the expected arrival (a remote parcel at 5 of its 5–7 days, any parcel well faster
than its class) stalls before the first look and is seen late, or not at all.

The numbers live in ``Policy`` with documented defaults; the classification issue will
load them from a lead-editable policy file, so nothing here hard-codes a duration.
"""
from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

from imports.address import province_name, split_address
from tracker.policy import route_class
from tracker.policy import short_province

H = timedelta(hours=1)
D = timedelta(days=1)

FINAL = frozenset({"delivered", "returned"})  # never asked about again
UNSCANNED = frozenset({"pending"})  # known to the courier at most, no scan yet

# Stall limits: no new scan for longer than this in that state is a stall (物流停滞).
DEFAULT_STALL_LIMITS: Mapping[str, timedelta] = MappingProxyType({
    "picked_up": 24 * H,  # picked up, never left the outlet
    "in_transit": 72 * H,  # between two hub scans during a promotion backlog (DESIGN: 浙江→海南 72 h)
    "out_for_delivery": 24 * H,
    "available_for_pickup": 72 * H,  # 驿站 / locker: the buyer has not collected
    "failed_attempt": 24 * H,
    "exception": 48 * H,
    "returning": 72 * H,
    "refused": 48 * H,
    "unknown": 48 * H,
})
# Provinces whose parcels take the longest (domain notes: remote route class, 5–7 days).
REMOTE_PROVINCES = frozenset({"新疆", "西藏", "青海", "宁夏", "内蒙古", "甘肃", "海南"})


@dataclass(frozen=True)
class Policy:
    """The tunable numbers of the poll schedule (defaults in brackets, why beside each)."""

    lock: timedelta = 30 * timedelta(minutes=1)  # [30 min] Kuaidi100's per-waybill lock
    stall_limits: Mapping[str, timedelta] = field(default_factory=lambda: DEFAULT_STALL_LIMITS)
    stall_margin: timedelta = timedelta(minutes=5)  # [5 min] ask just after the limit is crossed
    unscanned_every: timedelta = 12 * H  # [12 h] no scan yet: pickups happen in daylight
    pickup_deadline: timedelta = 24 * H  # [24 h] after shipping: the 24-hour pickup rule
    stalled_min_every: timedelta = 12 * H  # [12 h] a stall already seen: half its age, at least …
    stalled_max_every: timedelta = 36 * H  # [36 h] … and at most this: a stalled parcel that moves
    # again may fail delivery at once (24 h limit), and a look every 36 h mostly learns of it in time
    unscanned_max_every: timedelta = 3 * D  # [3 d] never scanned: nothing can fail unseen, stay cheap
    out_for_delivery_every: timedelta = 4 * H  # [4 h] the courier is on the way
    pickup_station_every: timedelta = 24 * H  # [24 h] 驿站 / locker: daily
    failed_attempt_every: timedelta = 24 * H  # [24 h] next day's delivery round
    overdue_every: timedelta = 24 * H  # [24 h] in transit past the expected arrival (stalls: the stall check);
    # at most the failed_attempt limit, so a failed delivery is seen before it is a stall
    # expected transit by route class (tracker.policy's table; the classes are its geography)
    transit_same_city: timedelta = 1 * D  # [1 d] first scan and destination in one city
    transit_same_province: timedelta = 2 * D  # [2 d]
    transit_neighbour: timedelta = 3 * D  # [3 d] adjacent provinces (江浙沪皖 …)
    transit_same_region: timedelta = 3 * D  # [3 d] same 大区
    transit_default: timedelta = 4 * D  # [4 d] across regions, or the route unknown
    transit_remote: timedelta = 7 * D  # [7 d] to or from REMOTE_PROVINCES
    remote_provinces: frozenset[str] = REMOTE_PROVINCES
    auto_confirm_after: timedelta = 10 * D  # [10 d] Taobao's auto-confirm after shipping
    deadline_window: timedelta = 24 * H  # [24 h] before the auto-confirm deadline …
    near_deadline_every: timedelta = 12 * H  # [12 h] … ask this often
    push_silence: timedelta = 4 * D  # [4 d] with push on: ask once after this long without news
    parcel_error_every: timedelta = 24 * H  # [24 h] phone missing, unknown company: data must change
    retry_base: timedelta = timedelta(minutes=1)  # [1 min] first retry after a provider failure
    retry_cap: timedelta = 2 * H  # [2 h] backoff ceiling
    circuit_failures: int = 5  # [5] consecutive provider failures that open the circuit
    circuit_open_for: timedelta = timedelta(minutes=1)  # [1 min] first opening, doubled each time
    circuit_open_cap: timedelta = 30 * timedelta(minutes=1)  # [30 min]
    auth_open_for: timedelta = 10 * timedelta(minutes=1)  # [10 min] bad key / signature
    # (start, end, factor): parcels shipped in a promotion window get longer stall limits,
    # as classification gives them (policy.toml [[promotions]] stall_factor)
    stall_factors: tuple[tuple[datetime, datetime, float], ...] = ()

    def stall_limit(self, status: str, shipped_at: datetime | None = None) -> timedelta:
        limit = self.stall_limits.get(status, self.stall_limits["unknown"])
        if shipped_at is not None:
            for start, end, factor in self.stall_factors:
                if start <= shipped_at < end:
                    return limit * factor
        return limit


DEFAULT_POLICY = Policy()


def route_of(shop_origin: str | None, order_destination: str | None, *, first_scan_place: str | None = None,
             route_from: str | None = None, route_to: str | None = None) -> tuple[str | None, str | None]:
    """(origin, destination) for ``expected_transit`` from what the courier's answer says.

    The parcel leaves from where its first scan (揽收) happened, as classification reads it, else
    from the provider's route (Kuaidi100 ``routeInfo.from``); the shop's origin province only when
    neither says, as it is wrong for a shop shipping from several warehouses.  It goes where the
    provider's route says (``routeInfo.to``, which also names the city), else to the order's
    province.  Places are kept as written: ``expected_transit`` reads province and city from them.
    """
    origin = next((p for p in (first_scan_place, route_from) if short_province(p)), shop_origin)
    return origin, route_to if short_province(route_to) else order_destination


def expected_transit(origin: str | None, destination: str | None, policy: Policy = DEFAULT_POLICY) -> timedelta:
    """Rough transit time from shipping to signature, by route class (tracker.policy's geography:
    same city, same province, neighbour, same 大区, across regions, remote).  ``origin`` and
    ``destination`` are provinces or places written any way (浙江, 浙江省杭州市, 浙江,杭州市,西湖区);
    the city counts only when both name one."""
    (p_from, city_from), (p_to, city_to) = _place(origin), _place(destination)
    if p_from is None or p_to is None:
        return policy.transit_remote if (p_from or p_to) in policy.remote_provinces else policy.transit_default
    kind = route_class(p_from, p_to, policy.remote_provinces)
    if kind == "same_province" and city_from and city_from == city_to:
        return policy.transit_same_city
    return {"same_province": policy.transit_same_province, "neighbour": policy.transit_neighbour,
            "same_region": policy.transit_same_region, "cross_region": policy.transit_default,
            "remote": policy.transit_remote}[kind]


@lru_cache(maxsize=16384)
def _place(text: str | None) -> tuple[str | None, str | None]:
    """(short province, city without 市) of a place; the city None when the text names none."""
    province = short_province(text)
    if province is None:
        return None, None
    if "," in text:  # Kuaidi100's areaName: 浙江,杭州市,西湖区
        parts = text.split(",")
        city = parts[1].strip() if len(parts) > 1 else None
    elif province_name(text) is not None:  # 浙江省杭州市西湖区 (a hub name alone, 杭州转运中心, names no city here)
        city = split_address(text)[1]
    else:
        city = None
    return province, (city.removesuffix("市") or None) if city else None


def next_poll_at(status: str, *, now: datetime, shipped_at: datetime, first_scan_at: datetime | None,
                 last_event_at: datetime | None, last_polled_at: datetime | None,
                 expected_arrival: datetime | None = None, pushed: bool = False,
                 policy: Policy = DEFAULT_POLICY) -> datetime | None:
    """The next time to query this parcel, or None when it is finished (delivered, returned).

    ``expected_arrival``: the provider's ETA or ``shipped_at + expected_transit(...)``.
    ``pushed``: the provider pushes news (subscribed): polling is only a safety net.
    """
    if status in FINAL:
        return None
    if pushed:
        since = max(t for t in (last_event_at, last_polled_at, shipped_at) if t is not None)
        return _after_lock(max(now, since + policy.push_silence), last_polled_at, policy)
    candidates = [*_cadence(status, now, shipped_at, first_scan_at, last_event_at, expected_arrival, policy)]
    deadline = shipped_at + policy.auto_confirm_after
    if deadline - policy.deadline_window <= now < deadline:
        candidates.append(now + policy.near_deadline_every)
    future = [c for c in candidates if c > now]
    return _after_lock(min(future) if future else now, last_polled_at, policy)


def _cadence(status: str, now: datetime, shipped_at: datetime, first_scan_at: datetime | None,
             last_event_at: datetime | None, expected_arrival: datetime | None, policy: Policy) -> list[datetime]:
    if first_scan_at is None or status in UNSCANNED:
        deadline = shipped_at + policy.pickup_deadline + policy.stall_margin
        if now < deadline:
            return [now + policy.unscanned_every, deadline]
        return [now + min(policy.unscanned_max_every, max(policy.stalled_min_every, (now - shipped_at) / 2))]
    latest = last_event_at or first_scan_at
    stall_check = latest + policy.stall_limit(status, shipped_at) + policy.stall_margin
    if stall_check <= now:  # stalled, and seen: watch for it to move on, sparser as it lasts
        return [now + _stalled_every(now - latest, policy)]
    found = [stall_check]
    if status == "out_for_delivery":
        found.append(now + policy.out_for_delivery_every)
    elif status == "available_for_pickup":
        found.append(now + policy.pickup_station_every)
    elif status == "failed_attempt":
        found.append(now + policy.failed_attempt_every)
    elif expected_arrival is not None and expected_arrival > now:
        found.append(expected_arrival)
    else:
        found.append(now + policy.overdue_every)
    return found


def _stalled_every(age: timedelta, policy: Policy) -> timedelta:
    return min(policy.stalled_max_every, max(policy.stalled_min_every, age / 2))


def retry_at(failures: int, *, now: datetime, last_polled_at: datetime | None, retry_after: float | None = None,
             counted: bool = False, policy: Policy = DEFAULT_POLICY, rng: random.Random | None = None) -> datetime:
    """When to try again after ``failures`` failed attempts in a row (1 = the first failure).

    Capped exponential backoff with full jitter over the upper half; a provider's
    ``Retry-After`` (seconds) is a floor.  ``counted``: the provider may have counted the
    attempt as a query (it answered, if garbled), so the lock window starts now.
    """
    ceiling = _doubled(policy.retry_base, failures, policy.retry_cap)
    delay = ceiling * (0.5 + 0.5 * (rng or random).random())
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return _after_lock(now + delay, now if counted else last_polled_at, policy)


def parcel_error_at(*, now: datetime, policy: Policy = DEFAULT_POLICY) -> datetime:
    """After a parcel-level error (phone missing, unknown company): data must change first."""
    return _after_lock(now + policy.parcel_error_every, now, policy)


def circuit_open_for(openings: int, policy: Policy = DEFAULT_POLICY) -> timedelta:
    """How long the circuit stays open after its ``openings``-th opening in a row (1 = first)."""
    return _doubled(policy.circuit_open_for, openings, policy.circuit_open_cap)


def _doubled(base: timedelta, times: int, cap: timedelta) -> timedelta:
    """``base`` doubled for each of ``times`` after the first, at most ``cap``."""
    return min(cap, base * 2 ** min(max(0, times - 1), 32))


def _after_lock(when: datetime, last_polled_at: datetime | None, policy: Policy) -> datetime:
    """The lock rule, in one place: never within ``policy.lock`` of the last counted query."""
    if last_polled_at is None:
        return when
    return max(when, last_polled_at + policy.lock)
