"""Simulated parcel journeys: a waybill's timed scans, deterministic from (seed, waybill).

    facts (carrier, shipped_at, provinces, city, scenario — each optional)
        ─► route: origin outlet ─► origin hub ─► [gateway hub] ─► destination hub ─► outlet
        ─► transit time by route class × promotion backlog
        ─► the scenario's ending (signed, locker, refused and returned, stalled …)
        ─► Journey(scans oldest first, each with Kuaidi100 state code and area)

Pure: no clock, no I/O.  ``snapshot(journey, now)`` is what a query sees at ``now``.
Facts not given are drawn from the seed, so an unregistered waybill still gets a
plausible, repeatable journey; the scenario mix (``SCENARIOS``) is a rough picture of
the week after a big promotion, with the exceptions over-represented enough to test.
"""
from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from couriers import carriers
from couriers.sandbox import places, texts
from couriers.sandbox.places import City, Place, Province
from couriers.timeparse import CHINA

# Kuaidi100 state codes: the name Kuaidi100 puts in a row's `status`, and the main state.
STATES: Mapping[str, tuple[str, str]] = {
    "1": ("揽收", "1"), "103": ("已揽收", "1"),
    "0": ("在途", "0"), "1001": ("到达派件城市", "0"), "1002": ("干线", "0"),
    "5": ("派件", "5"), "501": ("投柜或驿站", "5"),
    "3": ("签收", "3"), "301": ("本人签收", "3"), "302": ("派件异常后签收", "3"),
    "303": ("代签", "3"), "304": ("投柜或站签收", "3"),
    "4": ("退签", "4"), "14": ("拒签", "14"), "6": ("退回", "6"),
    "2": ("疑难", "2"), "204": ("派件异常", "2"), "205": ("柜或驿站超时未取", "2"), "206": ("无法联系", "2"),
    "207": ("超区", "2"), "208": ("滞留", "2"), "209": ("破损", "2"),
}
SIGNED_MAIN_STATES = frozenset({"3", "4"})  # ischeck=1: signed by the buyer, or back with the sender

# The state code each journey step carries (return-leg transit scans carry "6").
STEP_CODES: Mapping[str, str] = {
    "pickup": "103", "leave_outlet": "0", "hub_arrive": "1002", "hub_leave": "1002",
    "outlet_arrive": "1001", "deliver": "5", "locker": "501", "signed_self": "301",
    "signed_proxy": "303", "signed_locker": "304", "signed_retry": "302", "failed": "204",
    "unreachable": "206", "out_of_area": "207", "held": "208", "damaged": "209",
    "pickup_overdue": "205", "refused": "14", "return_start": "6", "returned": "4",
}

# Scenario → share among waybills nobody registered a scenario for.
SCENARIOS: tuple[tuple[str, float], ...] = (
    ("delivered", 0.60),
    ("delivered_to_locker", 0.14),
    ("failed_delivery", 0.05),  # 204 派件异常 / 206 无法联系, then redelivered (302)
    ("stalled", 0.05),  # no scan for 3–9 days at a hub (sometimes a 208 滞留), then resumes
    ("never_scanned", 0.03),  # no scan ever: query 500, subscription abort "3天查询无记录"
    ("locker_uncollected", 0.03),  # 501 → 205 超时未取 → returned to sender (6 → 4)
    ("damaged", 0.03),  # 209 破损, then delivered after the problem (302)
    ("refused_returned", 0.03),  # 14 拒签 → 6 退回 → 4 退签
    ("lost", 0.02),  # scans stop at a hub forever
    ("out_of_area", 0.02),  # 207 超区 → returned to sender
)
SCENARIO_NAMES = tuple(name for name, _ in SCENARIOS)

# Days from pickup to signature (domain notes §5, rule of thumb).
TRANSIT_DAYS: Mapping[str, tuple[float, float]] = {
    "same_city": (0.6, 1.0),
    "same_province": (1.0, 2.0),
    "neighbour": (2.0, 3.0),
    "cross_region": (3.0, 4.0),
    "remote": (5.0, 7.0),
}
# Promotion backlogs, by China date of pickup: (month, first day, last day, slow-down).
PEAKS: tuple[tuple[int, int, int, float], ...] = (
    (11, 11, 13, 1.6), (11, 14, 17, 1.3), (12, 12, 13, 1.2), (6, 18, 20, 1.2),
)
STALL_DAYS = (3.0, 9.0)
WORKDAY_HOURS = (8, 20)  # China time: pickups and deliveries happen in daylight
EPOCH = datetime(2024, 11, 12, tzinfo=UTC)  # default reference for unregistered waybills
UNREGISTERED_SHIPPED_WITHIN = timedelta(days=4)  # …shipped this long before the reference


class UnknownScenario(KeyError):
    def __str__(self) -> str:
        return f"unknown scenario {self.args[0]!r}; known: {', '.join(SCENARIO_NAMES)}"


@dataclass(frozen=True, slots=True)
class Scan:
    time: datetime  # aware, UTC
    context: str
    code: str  # Kuaidi100 state code (advanced where one exists)
    place: Place
    local_time: str = field(init=False)  # 'YYYY-MM-DD HH:MM:SS' China time, as answers write it

    def __post_init__(self) -> None:
        object.__setattr__(self, "local_time", self.time.astimezone(CHINA).isoformat(" ", "seconds")[:19])

    @property
    def status_name(self) -> str:
        return STATES[self.code][0]

    @property
    def main_state(self) -> str:
        return STATES[self.code][1]


@dataclass(frozen=True, slots=True)
class Journey:
    waybill: str
    carrier: str  # our carrier code (couriers.carriers)
    scenario: str
    shipped_at: datetime
    origin: Place
    destination: Place
    scans: tuple[Scan, ...]  # oldest first


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a query sees at one moment: the visible scans and the state they add up to."""

    scans: tuple[Scan, ...]  # oldest first, at least one

    @property
    def latest(self) -> Scan:
        return self.scans[-1]

    @property
    def state(self) -> str:
        return self.latest.code

    @property
    def main_state(self) -> str:
        return self.latest.main_state

    @property
    def signed(self) -> bool:
        return self.latest.main_state in SIGNED_MAIN_STATES


_TIME = attrgetter("time")


def visible_scans(journey: Journey, now: datetime) -> tuple[Scan, ...]:
    """The scans that have happened by ``now`` (oldest first)."""
    return journey.scans[:bisect_right(journey.scans, now, key=_TIME)]


def snapshot(journey: Journey, now: datetime) -> Snapshot | None:
    """The journey as a query at ``now`` sees it; None before the first scan (查询无结果)."""
    scans = visible_scans(journey, now)
    return Snapshot(scans) if scans else None


def backlog_factor(moment: datetime) -> float:
    day = moment.astimezone(CHINA)
    return next((f for month, first, last, f in PEAKS if day.month == month and first <= day.day <= last),
                1.0)


def journey(seed: int | str, waybill: str, *, carrier: str = "zto", shipped_at: datetime | None = None,
            origin: str | None = None, destination: str | None = None, city: str | None = None,
            scenario: str | None = None, epoch: datetime = EPOCH) -> Journey:
    """The journey of one waybill.  Facts left out are drawn from (seed, waybill);
    an unregistered parcel ships within ``UNREGISTERED_SHIPPED_WITHIN`` before ``epoch``.

    ``carrier`` is our code (zto, sf …); provinces are names (浙江 / 浙江省); ``city`` is
    the destination city.  Raises ``UnknownScenario``, ``places.UnknownProvince`` or
    ``carriers.UnknownCarrier`` for facts it cannot use.
    """
    brand = carriers.get(carrier).name
    if scenario is not None and scenario not in SCENARIO_NAMES:
        raise UnknownScenario(scenario)
    if shipped_at is not None and shipped_at.tzinfo is None:
        raise ValueError("shipped_at must be timezone-aware")
    facts = random.Random(f"{seed}/{waybill}/facts")
    if scenario is None:
        scenario = _weighted(facts, SCENARIOS)
    if shipped_at is None:
        shipped_at = epoch - UNREGISTERED_SHIPPED_WITHIN * facts.random()
    from_prov = places.province(origin or _weighted(facts, places.ORIGIN_WEIGHTS))
    to_prov = places.province(destination or _weighted(facts, places.DESTINATION_WEIGHTS))
    from_city = facts.choice(from_prov.cities)
    to_city = places.city_in(to_prov, city) if city else facts.choice(to_prov.cities)
    to_place = to_prov.place(to_city) if to_city else to_prov.bare_place(city or "")
    route = _Route(from_prov, from_city, to_prov, to_city, to_place, texts.style_of(carrier))
    trip = _Trip(random.Random(f"{seed}/{waybill}/trip"), route.style, brand, shipped_at)
    if scenario != "never_scanned":
        _ENDINGS[scenario](trip, route, _transit_hours(trip, route))
    return Journey(waybill, carrier, scenario, shipped_at, route.origin, to_place, tuple(trip.scans))


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    names, weights = zip(*table)
    return rng.choices(names, weights)[0]


# ---------------------------------------------------------------- building a trip


class _Route:
    """The nodes a parcel passes, as (place, name) pairs, from the sender's outlet on."""

    def __init__(self, from_prov: Province, from_city: City, to_prov: Province, to_city: City | None,
                 to_place: Place, style: str) -> None:
        self.style = style
        self.origin = from_prov.place(from_city)
        dest_hub_city = to_city or to_prov.cities[0]
        hubs = [(from_prov.hub_place(from_city), from_city.hub)]
        gateway = places.GATEWAYS.get(to_prov.short)
        if gateway and gateway[0] != from_prov.short:
            gate_prov = places.province(gateway[0])
            gate_city = next(c for c in gate_prov.cities if c.hub == gateway[1])
            hubs.append((gate_prov.hub_place(gate_city), gate_city.hub))
        if dest_hub_city.hub != from_city.hub:
            hubs.append((to_prov.hub_place(dest_hub_city), dest_hub_city.hub))
        self.hubs = [(place, texts.hub_name(style, hub)) for place, hub in hubs]
        self.sender_outlet = (self.origin, texts.outlet_name(style, self.origin, delivering=False))
        self.receiver_outlet = (to_place, texts.outlet_name(style, to_place, delivering=True))
        same_city = to_city is not None and to_city.name == from_city.name
        self.route_class = places.route_class(from_prov.short, to_prov.short, same_city)

    def forward(self) -> list[tuple[Place, str]]:
        return [self.sender_outlet, *self.hubs, self.receiver_outlet]

    def back(self) -> list[tuple[Place, str]]:
        return [self.receiver_outlet, *reversed(self.hubs), self.sender_outlet]


class _Trip:
    """Writes one journey's scans in time order; owns the clock cursor and the draws."""

    def __init__(self, rng: random.Random, style: str, brand: str, shipped_at: datetime) -> None:
        self.rng, self.style, self.brand = rng, style, brand
        self.t = shipped_at
        self.scans: list[Scan] = []
        self.sender = (self.person(), self.phone())
        self.courier = (self.person(), self.phone())  # the delivering courier

    def person(self) -> str:
        return self.rng.choice(texts.SURNAMES) + self.rng.choice(texts.GIVEN_NAMES)

    def phone(self) -> str:
        return "1" + self.rng.choice("3578") + "".join(self.rng.choices("0123456789", k=9))

    def wait(self, lo_hours: float, hi_hours: float) -> None:
        self.t += timedelta(hours=self.rng.uniform(lo_hours, hi_hours))

    def daytime(self) -> None:
        """Move the cursor into working hours (China time) if it fell at night."""
        local = self.t.astimezone(CHINA)
        start, end = WORKDAY_HOURS
        if start <= local.hour < end:
            return
        morning = local.replace(hour=start, minute=0, second=0, microsecond=0)
        if local.hour >= end:
            morning += timedelta(days=1)
        self.t = morning.astimezone(UTC) + timedelta(minutes=self.rng.uniform(5, 150))

    def scan(self, step: str, place: Place, *, code: str | None = None, **fields: str) -> None:
        text = texts.template(self.style, step).format(city=place.city, brand=self.brand, **fields)
        self.t = self.t.replace(microsecond=0)
        self.scans.append(Scan(self.t, text, code or STEP_CODES[step], place))

    def delivery_fields(self) -> dict[str, str]:
        courier, phone = self.courier
        notice = self.rng.choice(texts.NOTICES) if self.rng.random() < 0.35 else ""
        return {"courier": courier, "phone": phone, "notice": notice}

    def locker(self) -> str:
        return self.rng.choice(texts.LOCKERS).format(community=self.rng.choice(texts.COMMUNITIES))


def _transit_hours(trip: _Trip, route: _Route) -> float:
    lo, hi = TRANSIT_DAYS[route.route_class]
    return 24 * trip.rng.uniform(lo, hi) * backlog_factor(trip.t)


# Share of the line-haul time each kind of gap takes (the trunk legs take the rest).
_GAP_OUTLET, _GAP_DWELL, _GAP_LAST_MILE = 0.06, 0.04, 0.08


def _haul(trip: _Trip, path: list[tuple[Place, str]], hours: float, *, code: str | None = None,
          stop_at: int | None = None, stall_at: int | None = None) -> bool:
    """Scans from leaving the first outlet to arriving at the last one, ``hours`` in all.

    ``stop_at``: the hub index after whose arrival scans stop for good (lost parcel);
    ``stall_at``: the hub index where the parcel sits for days first.  Returns whether the
    parcel arrived.
    """
    (first, first_name), hubs, (last, last_name) = path[0], path[1:-1], path[-1]
    trunk_share = max(0.2, 1.0 - _GAP_OUTLET - _GAP_LAST_MILE - len(hubs) * _GAP_DWELL)
    trunk_legs = len(hubs) - 1

    def gap(share: float) -> None:
        trip.wait(0.7 * share * hours, 1.3 * share * hours)

    trip.scan("leave_outlet", first, code=code, outlet=first_name, next=hubs[0][1])
    gap(_GAP_OUTLET)
    for i, (place, hub) in enumerate(hubs):
        trip.scan("hub_arrive", place, code=code, hub=hub)
        if i == stop_at:
            return False
        if i == stall_at:
            _stall(trip, place, hub)
        gap(_GAP_DWELL)
        following = hubs[i + 1][1] if i + 1 < len(hubs) else last_name
        trip.scan("hub_leave", place, code=code, hub=hub, next=following)
        if i < trunk_legs:
            gap(trunk_share / trunk_legs)
        else:  # same hub at both ends: the trunk time is spent in the city
            gap(_GAP_LAST_MILE + (trunk_share if trunk_legs == 0 else 0.0))
    trip.scan("outlet_arrive", last, code=code, outlet=last_name)
    return True


def _stall(trip: _Trip, place: Place, hub: str) -> None:
    resume = trip.t + timedelta(days=trip.rng.uniform(*STALL_DAYS))
    if trip.rng.random() < 0.5:
        trip.wait(24, 48)
        trip.scan("held", place, hub=hub)
    trip.t = resume


def _pickup(trip: _Trip, route: _Route) -> None:
    trip.wait(0.5, 8)
    trip.daytime()
    place, outlet = route.sender_outlet
    sender, phone = trip.sender
    trip.scan("pickup", place, outlet=outlet, courier=sender, phone=phone)
    trip.wait(1, 6)


def _to_receiver(trip: _Trip, route: _Route, hours: float, **haul: int) -> bool:
    """Pickup and line haul to the receiver's outlet; the last-mile part of ``hours`` is kept
    for the ending.  False when the parcel never arrives."""
    _pickup(trip, route)
    return _haul(trip, route.forward(), max(6.0, hours - 8), **haul)


def _out_for_delivery(trip: _Trip, route: _Route) -> dict[str, str]:
    trip.wait(0.5, 2)
    trip.daytime()
    place, outlet = route.receiver_outlet
    fields = {**trip.delivery_fields(), "outlet": outlet}
    trip.scan("deliver", place, **fields)
    trip.wait(0.3, 3)
    return fields


def _return_to_sender(trip: _Trip, route: _Route, reason: str) -> None:
    place = route.receiver_outlet[0]
    trip.scan("return_start", place, reason=reason, next=route.sender_outlet[1])
    trip.wait(2, 12)
    _haul(trip, route.back(), _transit_hours(trip, route), code="6")
    trip.wait(1, 6)
    trip.daytime()
    trip.scan("returned", route.origin)


def _delivered(trip: _Trip, route: _Route, hours: float) -> None:
    _to_receiver(trip, route, hours)
    fields = _out_for_delivery(trip, route)
    if trip.rng.random() < 0.65:
        trip.scan("signed_self", route.receiver_outlet[0], **fields)
    else:
        trip.scan("signed_proxy", route.receiver_outlet[0], proxy=trip.rng.choice(texts.PROXIES), **fields)


def _to_locker(trip: _Trip, route: _Route) -> dict[str, str]:
    fields = _out_for_delivery(trip, route)
    locker = trip.locker()
    code = f"{trip.rng.randint(1, 9)}-{trip.rng.randint(1, 6)}-{trip.rng.randint(1000, 9999)}"
    trip.scan("locker", route.receiver_outlet[0], locker=locker, pickup_code=code, **fields)
    return {"locker": locker, **fields}


def _delivered_to_locker(trip: _Trip, route: _Route, hours: float) -> None:
    _to_receiver(trip, route, hours)
    fields = _to_locker(trip, route)
    trip.wait(1, 72)
    trip.scan("signed_locker", route.receiver_outlet[0], **fields)


def _locker_uncollected(trip: _Trip, route: _Route, hours: float) -> None:
    _to_receiver(trip, route, hours)
    fields = _to_locker(trip, route)
    trip.wait(72, 80)
    trip.scan("pickup_overdue", route.receiver_outlet[0], **fields)
    trip.wait(48, 96)
    _return_to_sender(trip, route, "超时未取")


def _failed_delivery(trip: _Trip, route: _Route, hours: float) -> None:
    _to_receiver(trip, route, hours)
    fields = _out_for_delivery(trip, route)
    place = route.receiver_outlet[0]
    if trip.rng.random() < 0.6:
        trip.scan("failed", place, reason=trip.rng.choice(texts.FAIL_REASONS), **fields)
    else:
        trip.scan("unreachable", place, **fields)
    trip.wait(14, 30)
    _out_for_delivery(trip, route)
    trip.scan("signed_retry", place, **fields)


def _stalled(trip: _Trip, route: _Route, hours: float) -> None:
    _to_receiver(trip, route, hours, stall_at=trip.rng.randrange(len(route.hubs)))
    fields = _out_for_delivery(trip, route)
    trip.scan("signed_self", route.receiver_outlet[0], **fields)


def _lost(trip: _Trip, route: _Route, hours: float) -> None:
    _to_receiver(trip, route, hours, stop_at=trip.rng.randrange(len(route.hubs)))


def _damaged(trip: _Trip, route: _Route, hours: float) -> None:
    _to_receiver(trip, route, hours)
    trip.wait(0.5, 4)
    trip.scan("damaged", route.receiver_outlet[0])
    trip.wait(18, 30)
    fields = _out_for_delivery(trip, route)
    trip.scan("signed_retry", route.receiver_outlet[0], **fields)


def _refused_returned(trip: _Trip, route: _Route, hours: float) -> None:
    _to_receiver(trip, route, hours)
    _out_for_delivery(trip, route)
    reason = trip.rng.choice(texts.REFUSE_REASONS)
    trip.scan("refused", route.receiver_outlet[0], reason=reason)
    trip.wait(10, 24)
    _return_to_sender(trip, route, "收件人拒收")


def _out_of_area(trip: _Trip, route: _Route, hours: float) -> None:
    _to_receiver(trip, route, hours)
    trip.wait(1, 6)
    trip.daytime()
    place, outlet = route.receiver_outlet
    trip.scan("out_of_area", place, outlet=outlet)
    trip.wait(20, 48)
    _return_to_sender(trip, route, "超区")


_ENDINGS = {
    "delivered": _delivered,
    "delivered_to_locker": _delivered_to_locker,
    "locker_uncollected": _locker_uncollected,
    "failed_delivery": _failed_delivery,
    "stalled": _stalled,
    "lost": _lost,
    "damaged": _damaged,
    "refused_returned": _refused_returned,
    "out_of_area": _out_of_area,
}
