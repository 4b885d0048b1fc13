"""The sandbox courier network: a Kuaidi100 look-alike over HTTP, playing simulated journeys.

    POST /poll/query.do  customer, sign, param ─► checks (400 408 503 601) ─► journey at the
                         sandbox clock ─► trace (newest first) | 500 查询无结果
    POST /poll           schema=json, param{company, number, key, parameters} ─► 200 / 501 / 6xx / 7xx
    clock set/advance, /sandbox/flush, real-mode tick
                         ─► push round: each subscription with news ─► form POST to its
                            callbackurl (param + sign), bounded concurrency, retried every 30
                            simulated minutes up to 3 times
    /sandbox/...         control: parcels, clock, faults, stats, journey, reset

Choices where Kuaidi100's documents are silent (say so when you rely on them):
- Unknown ``customer`` answers 400 (the 400 doc lists "wrong customer"); a ``sign`` that is
  not the upper-case hex digest answers 503.
- A waybill registered under another company answers 500, as the real service finds nothing.
- Querying a waybill again within 30 simulated minutes (the documented lock) is answered
  normally and counted in ``lock_violations``: the benchmark should see its own misbehaviour
  without the sandbox changing the data it measures.
- A subscription for SF/ZTO without the right phone is accepted; it never sees a scan and
  ends with the "3天查询无记录" abort.  A subscription naming the wrong company ends with an
  abort carrying ``comNew`` and polls on under the right company, as Kuaidi100 does.
- Faults apply to the two Kuaidi100 endpoints only, never to ``/sandbox/``.
"""
from __future__ import annotations

import asyncio
import logging
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import parse_qsl

import orjson

from couriers import carriers
from couriers.sandbox import httpd, journeys, places, wire
from couriers.sandbox.httpd import Request, Response
from couriers.sandbox.journeys import Journey, snapshot

log = logging.getLogger(__name__)

LOCK_WINDOW = timedelta(minutes=30)  # "每单查询间隔不少于半小时，否则会造成锁单"
NO_RECORD_AFTER = timedelta(days=3)
NO_CHANGE_AFTER = timedelta(days=60)
PUSH_RETRY_EVERY = timedelta(minutes=30)
PUSH_RETRIES = 3
PUSH_TIMEOUT = 20.0  # seconds Kuaidi100 waits for a callback's reply
PUSH_CONCURRENCY = 64
TICK_SECONDS = 1.0  # real-mode push rounds
MAX_STEPS = 10_000
JOURNEY_CACHE = 50_000
WAYBILL_LENGTH = range(6, 33)
FORM = "application/x-www-form-urlencoded"
HTML = "text/html"
MODES = ("manual", "real")

NGINX_PAGE = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
              b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
              b"</body>\r\n</html>\r\n")
NGINX_500 = NGINX_PAGE.replace(b"502 Bad Gateway", b"500 Internal Server Error")


class ControlError(ValueError):
    """A control request the sandbox cannot follow; answered 400 with the reason."""


# ---------------------------------------------------------------- state


class Clock:
    """Simulated time: ``manual`` moves only when told, ``real`` is wall clock + offset."""

    def __init__(self, start: datetime, mode: str) -> None:
        self.mode = _mode(mode)
        self._manual = start
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return self._manual if self.mode == "manual" else datetime.now(UTC) + self._offset

    def set(self, when: datetime) -> None:
        self._manual = when
        self._offset = when - datetime.now(UTC)

    def switch(self, mode: str) -> None:
        current = self.now()
        self.mode = _mode(mode)
        self.set(current)


def _mode(mode: str) -> str:
    if mode not in MODES:
        raise ControlError(f"unknown clock mode {mode!r}; known: {', '.join(MODES)}")
    return mode


@dataclass
class Faults:
    """Injected misbehaviour of the Kuaidi100 endpoints; rates are per request, drawn from
    ``seed`` so a run can be repeated."""

    http_500_rate: float = 0.0
    http_429_rate: float = 0.0
    retry_after: int = 1  # seconds, in the 429's Retry-After
    busy_502_rate: float = 0.0  # returnCode 502 服务器繁忙 (subscribe: 500)
    garbled_rate: float = 0.0  # the real answer cut in half
    html_rate: float = 0.0  # an nginx error page…
    html_status: int = 200  # …with this HTTP status (200: a body the client must reject itself)
    delay_ms: float = 0.0
    expired_key: bool = False  # every answer 601
    down: bool = False  # connections dropped without an answer
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._draws = tuple((kind, getattr(self, f"{kind}_rate"))
                            for kind in ("http_500", "http_429", "busy_502", "garbled", "html"))
        self._any = any(rate for _, rate in self._draws)

    @classmethod
    def parse(cls, data: Mapping) -> Faults:
        """Strictly: an unknown name or a value of the wrong type is a ``ControlError``."""
        defaults = {f.name: f.default for f in fields(cls)}
        unknown = set(data) - set(defaults)
        if unknown:
            raise ControlError(f"unknown fault {sorted(unknown)}; known: {', '.join(defaults)}")
        for name, value in data.items():
            kind = type(defaults[name])
            if not isinstance(value, kind | int) or isinstance(value, bool) != (kind is bool):
                raise ControlError(f"fault {name}: expected {kind.__name__}, got {value!r}")
        return cls(**data)

    def draw(self) -> str | None:
        if not self._any:
            return None
        roll = self._rng.random()
        for kind, rate in self._draws:
            if roll < rate:
                return kind
            roll -= rate
        return None

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Parcel:
    """Registration facts for one waybill; what is missing the journey draws from the seed."""

    num: str
    carrier: str  # our code
    phone: str = ""
    facts: Mapping[str, object] = field(default_factory=dict)  # keyword arguments of journey()


@dataclass(slots=True)
class Subscription:
    com: str
    num: str
    callback: str
    salt: str | None  # None: pushes go unsigned
    resultv2: int
    phone: str
    since: datetime
    seen: int = 0  # scans already pushed
    done: bool = False
    failures: int = 0
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Push:
    status: str
    param: str
    seen: int
    final: bool
    com_new: str = ""


@dataclass
class Stats:
    queries: int = 0
    lock_violations: int = 0
    subscriptions: int = 0
    pushes_sent: int = 0
    pushes_failed: int = 0
    handler_errors: int = 0
    answers: Counter = field(default_factory=Counter)  # returnCode ("200" for a trace)
    pushes_by_status: Counter = field(default_factory=Counter)
    faults_injected: Counter = field(default_factory=Counter)
    per_waybill: Counter = field(default_factory=Counter)
    last_query: dict[str, datetime] = field(default_factory=dict)

    def as_dict(self) -> dict:
        histogram = Counter(self.per_waybill.values())
        return {
            "queries": self.queries,
            "waybills_queried": len(self.per_waybill),
            "queries_per_waybill": {str(k): histogram[k] for k in sorted(histogram)},
            "lock_violations": self.lock_violations,
            "answers": dict(self.answers),
            "subscriptions": self.subscriptions,
            "pushes_sent": self.pushes_sent,
            "pushes_failed": self.pushes_failed,
            "pushes_by_status": dict(self.pushes_by_status),
            "faults_injected": dict(self.faults_injected),
            "handler_errors": self.handler_errors,
        }


# ---------------------------------------------------------------- the service


class Sandbox:
    """All sandbox state and the request handlers; ``handle`` is the HTTP entry point."""

    def __init__(self, *, seed: int | str, customer: str, key: str, clock_start: datetime | None = None,
                 mode: str | None = None, push_timeout: float = PUSH_TIMEOUT) -> None:
        self.seed, self.customer, self.key = seed, customer, key
        self.push_timeout = push_timeout
        self._start = (clock_start or datetime.now(UTC)).astimezone(UTC)
        self._start_mode = mode or ("real" if clock_start is None else "manual")
        self._routes: Mapping[tuple[str, str], Callable[[Request], object]] = {
            ("POST", "/poll/query.do"): self._api(self._query, busy=lambda: _failure("502")),
            ("POST", "/poll"): self._api(self._subscribe, busy=lambda: _subscribed("500")),
            ("POST", "/sandbox/parcels"): self._control(self._register),
            ("GET", "/sandbox/clock"): self._control(self._clock_state),
            ("POST", "/sandbox/clock"): self._control(self._move_clock),
            ("GET", "/sandbox/faults"): self._control(lambda _: self.faults.as_dict()),
            ("POST", "/sandbox/faults"): self._control(self._set_faults),
            ("GET", "/sandbox/stats"): self._control(lambda _: self.stats.as_dict()),
            ("GET", "/sandbox/journey"): self._control(self._show_journey),
            ("POST", "/sandbox/flush"): self._control(lambda _: self.push_round()),
            ("POST", "/sandbox/reset"): self._control(lambda _: self.reset()),
        }
        self._push_slots = asyncio.Semaphore(PUSH_CONCURRENCY)
        self._round_lock = asyncio.Lock()
        self.reset()

    def reset(self) -> dict:
        self.clock = Clock(self._start, self._start_mode)
        self.faults = Faults()
        self.stats = Stats()
        self.parcels: dict[str, Parcel] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self._journeys = lru_cache(maxsize=JOURNEY_CACHE)(self._build_journey)
        return {"reset": True}

    # ---- HTTP entry

    def handle(self, request: Request) -> Response | Awaitable[Response | None] | None:
        route = self._routes.get((request.method, request.path))
        if route is not None:
            return route(request)
        known = {path for _, path in self._routes}
        status = 405 if request.path in known else 404
        return Response(status, orjson.dumps({"error": f"{request.method} {request.path}"}))

    def handler_failed(self, err: BaseException) -> None:
        self.stats.handler_errors += 1
        log.error("sandbox handler failed", exc_info=err)

    def _api(self, endpoint: Callable[[Request], Response],
             busy: Callable[[], Response]) -> Callable[[Request], object]:
        """A Kuaidi100 endpoint behind the fault injector."""

        def faulted(request: Request) -> Response | None:
            kind = self.faults.draw()
            if kind is not None:
                self.stats.faults_injected[kind] += 1
            if kind == "http_500":
                return Response(500, NGINX_500, HTML)
            if kind == "http_429":
                return Response(429, b'{"message":"Too Many Requests"}',
                                headers=(("Retry-After", str(self.faults.retry_after)),))
            if kind == "busy_502":
                return busy()
            if kind == "html":
                return Response(self.faults.html_status, NGINX_PAGE, HTML)
            answer = endpoint(request)
            if kind == "garbled":
                return Response(answer.status, answer.body[:len(answer.body) // 2], answer.content_type)
            return answer

        async def delayed(request: Request) -> Response | None:
            await asyncio.sleep(self.faults.delay_ms / 1000)
            return None if self.faults.down else faulted(request)

        def handle(request: Request) -> Response | Awaitable[Response | None] | None:
            if self.faults.down:
                self.stats.faults_injected["down"] += 1
                return None
            return delayed(request) if self.faults.delay_ms else faulted(request)

        return handle

    def _control(self, action: Callable[[Request], object]) -> Callable[[Request], object]:
        """A /sandbox/ endpoint: JSON out, ``ControlError`` → 400; may be async."""

        def handle(request: Request) -> Response | Awaitable[Response]:
            try:
                result = action(request)
            except ControlError as err:
                return _json(400, {"error": str(err)})
            if asyncio.iscoroutine(result):
                return _finish_control(result)
            return _json(200, result)

        return handle

    # ---- Kuaidi100: real-time query

    def _query(self, request: Request) -> Response:
        form = _form(request)
        if form is None or not {"customer", "sign", "param"} <= form.keys() or form["customer"] != self.customer:
            return self._failure("400")
        if self.faults.expired_key:
            return self._failure("601")
        if form["sign"] != wire.query_sign(form["param"], self.key, self.customer):
            return self._failure("503")
        param = _json_object(form["param"])
        carrier = carriers.by_kuaidi100(str(param.get("com", ""))) if param else None
        num = str(param.get("num", "")) if param else ""
        if carrier is None or len(num) not in WAYBILL_LENGTH:
            return self._failure("400")
        now = self.clock.now()
        self._count_query(num, now)
        if not self._phone_ok(num, carrier, param.get("phone")):
            return self._failure("408")
        journey = self._journey(num, carrier)
        snap = snapshot(journey, now) if journey else None
        if snap is None:
            return self._failure("500")
        self.stats.answers["200"] += 1
        body = wire.trace(journey, snap, carrier.kuaidi100, wire.detail_level(param.get("resultv2")))
        return Response(200, orjson.dumps(body))

    def _failure(self, code: str) -> Response:
        self.stats.answers[code] += 1
        return _failure(code)

    def _count_query(self, num: str, now: datetime) -> None:
        stats = self.stats
        stats.queries += 1
        stats.per_waybill[num] += 1
        last = stats.last_query.get(num)
        if last is not None and abs(now - last) < LOCK_WINDOW:
            stats.lock_violations += 1
        stats.last_query[num] = now

    def _phone_ok(self, num: str, carrier: carriers.Carrier, phone: object) -> bool:
        """SF/ZTO check the receiver's phone: present, and its last 4 digits match if registered."""
        if not carrier.needs_phone:
            return True
        given = str(phone or "").strip()
        parcel = self.parcels.get(num)
        if not given:
            return False
        return parcel is None or not parcel.phone or _phone_tail(given) == _phone_tail(parcel.phone)

    def _journey(self, num: str, carrier: carriers.Carrier) -> Journey | None:
        """The waybill's journey; None when it was registered under another company."""
        parcel = self.parcels.get(num)
        if parcel is not None and parcel.carrier != carrier.code:
            return None
        return self._journeys(num, carrier.code)

    def _build_journey(self, num: str, carrier: str) -> Journey:
        parcel = self.parcels.get(num)
        facts = parcel.facts if parcel is not None else {}
        return journeys.journey(self.seed, num, carrier=carrier, epoch=self._start, **facts)

    # ---- Kuaidi100: subscription and pushes

    def _subscribe(self, request: Request) -> Response:
        form = _form(request)
        param = _json_object(form.get("param", "")) if form and form.get("schema") == "json" else None
        if param is None:
            return _subscribed("700")
        if param.get("key") != self.key:
            return _subscribed("600")
        if self.faults.expired_key:
            return _subscribed("601")
        carrier = carriers.by_kuaidi100(str(param.get("company", "")))
        num = str(param.get("number", ""))
        parameters = param.get("parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        callback = str(parameters.get("callbackurl", ""))
        if carrier is None or len(num) not in WAYBILL_LENGTH or not re.match(r"https?://[^/?#]+", callback):
            return _subscribed("700")
        current = self.subscriptions.get(num)
        if current is not None and not current.done and current.com == carrier.kuaidi100:
            return _subscribed("501")
        salt = parameters.get("salt")
        self.subscriptions[num] = Subscription(
            com=carrier.kuaidi100, num=num, callback=callback, salt=None if salt is None else str(salt),
            resultv2=wire.detail_level(parameters.get("resultv2")), phone=str(parameters.get("phone") or ""),
            since=self.clock.now())
        self.stats.subscriptions += 1
        return _subscribed("200")

    async def push_round(self) -> dict:
        """Push every subscription that has news at the sandbox clock; wait for the answers."""
        async with self._round_lock:
            now = self.clock.now()
            due = [(sub, push) for sub in self.subscriptions.values() if (push := self._due(sub, now))]
            outcomes = await asyncio.gather(*(self._deliver(sub, push, now) for sub, push in due))
        sent = sum(outcomes)
        return {"pushes_sent": sent, "pushes_failed": len(outcomes) - sent}

    def _due(self, sub: Subscription, now: datetime) -> _Push | None:
        if sub.done or (sub.retry_at is not None and now < sub.retry_at):
            return None
        carrier = carriers.by_kuaidi100(sub.com)
        journey = self._journey(sub.num, carrier) if self._phone_ok(sub.num, carrier, sub.phone) else None
        snap = snapshot(journey, now) if journey else None
        if snap is None:
            if now - sub.since < NO_RECORD_AFTER:
                return None
            parcel = self.parcels.get(sub.num)
            wrong_company = parcel is not None and parcel.carrier != carrier.code
            com_new = carriers.get(parcel.carrier).kuaidi100 if wrong_company else ""
            empty = wire.empty_trace(sub.num, sub.com)
            param = wire.push_param("abort", empty, message=wire.ABORT_NO_RECORD,
                                    com_old=sub.com if com_new else "", com_new=com_new)
            return _Push("abort", param, 0, final=not com_new, com_new=com_new)
        lastresult = wire.trace(journey, snap, sub.com, sub.resultv2)
        if len(snap.scans) > sub.seen:
            status = "shutdown" if snap.signed else "polling"
            return _Push(status, wire.push_param(status, lastresult), len(snap.scans), final=snap.signed)
        if now - snap.latest.time >= NO_CHANGE_AFTER:
            param = wire.push_param("abort", lastresult, message=wire.ABORT_NO_CHANGE)
            return _Push("abort", param, sub.seen, final=True)
        return None

    async def _deliver(self, sub: Subscription, push: _Push, now: datetime) -> bool:
        form = {"param": push.param}
        if sub.salt is not None:
            form["sign"] = wire.push_sign(push.param, sub.salt)
        async with self._push_slots:
            try:
                status, body = await httpd.post_form(sub.callback, form, self.push_timeout)
                delivered = status == 200 and _acknowledged(body)
            except (OSError, TimeoutError, ValueError):
                delivered = False
        if not delivered:
            self.stats.pushes_failed += 1
            sub.failures += 1
            if sub.failures <= PUSH_RETRIES:
                sub.retry_at = now + PUSH_RETRY_EVERY
                return False
        else:
            self.stats.pushes_sent += 1
            self.stats.pushes_by_status[push.status] += 1
        sub.failures, sub.retry_at, sub.seen = 0, None, push.seen  # delivered, or given up on
        sub.done = push.final
        if push.com_new:
            sub.com, sub.since, sub.seen = push.com_new, now, 0
        return delivered

    async def tick_forever(self, seconds: float = TICK_SECONDS) -> None:
        """Real-mode pushes: the clock moves by itself, so look for news every ``seconds``."""
        while True:
            await asyncio.sleep(seconds)
            if self.clock.mode == "real" and self.subscriptions:
                await self.push_round()

    # ---- /sandbox/ control

    def _register(self, request: Request) -> dict:
        data = _control_json(request)
        items = data.get("parcels") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ControlError("expected a list of parcels (or {\"parcels\": [...]})")
        parsed = [_parcel(item, i) for i, item in enumerate(items)]
        self.parcels.update((p.num, p) for p in parsed)
        self._journeys.cache_clear()
        return {"registered": len(parsed), "parcels": len(self.parcels)}

    def _clock_state(self, _request: Request | None = None) -> dict:
        return {"now": self.clock.now().isoformat(), "mode": self.clock.mode}

    async def _move_clock(self, request: Request) -> dict:
        data = _control_json(request)
        if not isinstance(data, dict):
            raise ControlError("expected a JSON object")
        if "mode" in data:
            self.clock.switch(str(data["mode"]))
        targets = _clock_targets(self.clock.now(), data)
        totals = Counter()
        for when in targets:
            self.clock.set(when)
            totals.update(await self.push_round())
        if not targets:
            totals.update(await self.push_round())
        return {**self._clock_state(), "pushes_sent": totals["pushes_sent"],
                "pushes_failed": totals["pushes_failed"]}

    def _set_faults(self, request: Request) -> dict:
        data = _control_json(request)
        if not isinstance(data, dict):
            raise ControlError("expected a JSON object")
        self.faults = Faults.parse(data)
        return self.faults.as_dict()

    def _show_journey(self, request: Request) -> dict:
        """The whole journey, future scans included: the truth to score a tracker against."""
        query = dict(parse_qsl(request.query))
        num = query.get("num", "")
        parcel = self.parcels.get(num)
        carrier = carriers.by_kuaidi100(query.get("com", "")) or (
            carriers.get(parcel.carrier) if parcel else None)
        if carrier is None or not num:
            raise ControlError("need num and com (or a registered num)")
        journey = self._journey(num, carrier)
        if journey is None:
            raise ControlError(f"{num} is registered under {parcel.carrier}, not {carrier.code}")
        snap = snapshot(journey, journey.scans[-1].time) if journey.scans else None
        trace = (wire.trace(journey, snap, carrier.kuaidi100, 4) if snap
                 else wire.empty_trace(num, carrier.kuaidi100))
        return {"scenario": journey.scenario, "shipped_at": journey.shipped_at.isoformat(), "trace": trace}


# ---------------------------------------------------------------- helpers


async def _finish_control(pending: Awaitable[dict]) -> Response:
    try:
        return _json(200, await pending)
    except ControlError as err:
        return _json(400, {"error": str(err)})


def _json(status: int, data: object) -> Response:
    return Response(status, orjson.dumps(data))


def _failure(code: str) -> Response:
    return Response(200, wire.query_failure(code))


def _subscribed(code: str) -> Response:
    return Response(200, wire.subscribe_reply(code))


def _form(request: Request) -> dict[str, str] | None:
    """The form's fields (a repeated field: its last value); None when the body is not a form (→ 400 on Kuaidi100)."""
    if not request.headers.get("content-type", "").startswith(FORM):
        return None
    try:
        text = request.body.decode()
    except UnicodeDecodeError:
        return None
    return dict(parse_qsl(text, keep_blank_values=True))


def _json_object(text: str) -> dict | None:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _control_json(request: Request) -> object:
    try:
        return orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError as err:
        raise ControlError(f"body is not JSON: {err}") from err


def _acknowledged(body: bytes) -> bool:
    """The callback's reply says it took the push: {"result": true, "returnCode": "200"}."""
    reply = _json_object(body.decode("utf-8", "replace"))
    return reply is not None and (reply.get("result") is True or str(reply.get("returnCode")) == "200")


def _phone_tail(phone: str) -> str:
    """What couriers compare: the extension of a virtual number (…-1234), else the last 4 digits."""
    return re.split(r"[-转]", phone)[-1].strip()[-4:]


def _timestamp(text: object, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError as err:
        raise ControlError(f"{what}: not an ISO time: {text!r}") from err
    if moment.tzinfo is None:
        raise ControlError(f"{what}: needs a UTC offset (e.g. 2024-11-11T02:00:00Z): {text!r}")
    return moment.astimezone(UTC)


def _clock_targets(now: datetime, data: Mapping) -> list[datetime]:
    """The times to stop at: the target, or every ``step_seconds`` on the way to it."""
    if "now" in data:
        target = _timestamp(data["now"], "now")
    elif "advance_seconds" in data:
        target = now + timedelta(seconds=float(data["advance_seconds"]))
    else:
        return []
    step = timedelta(seconds=float(data.get("step_seconds") or 0))
    if step <= timedelta() or target <= now:
        return [target]
    if (target - now) / step > MAX_STEPS:
        raise ControlError(f"more than {MAX_STEPS} steps: raise step_seconds")
    stops = [now + step * i for i in range(1, int((target - now) / step) + 1)]
    return stops if stops and stops[-1] == target else [*stops, target]


_PARCEL_FACTS = {"shipped_at": "shipped_at", "from_province": "origin", "to_province": "destination",
                 "to_city": "city", "scenario": "scenario"}


def _parcel(item: object, index: int) -> Parcel:
    """One registration, checked now so a typo fails the request instead of a later query."""
    if not isinstance(item, dict):
        raise ControlError(f"parcel {index}: expected an object")
    unknown = set(item) - {"num", "com", "phone", *_PARCEL_FACTS}
    if unknown:
        raise ControlError(f"parcel {index}: unknown fields {sorted(unknown)}")
    num = str(item.get("num", ""))
    carrier = carriers.by_kuaidi100(str(item.get("com", "")))
    if carrier is None or len(num) not in WAYBILL_LENGTH:
        raise ControlError(f"parcel {index}: need num (6–32 chars) and a Kuaidi100 com: {item!r}")
    facts: dict[str, object] = {arg: item[key] for key, arg in _PARCEL_FACTS.items() if item.get(key)}
    try:
        if "shipped_at" in facts:
            facts["shipped_at"] = _timestamp(facts["shipped_at"], f"parcel {index} shipped_at")
        for arg in ("origin", "destination"):
            if arg in facts:
                facts[arg] = places.province(str(facts[arg])).short
        if "scenario" in facts and facts["scenario"] not in journeys.SCENARIO_NAMES:
            raise journeys.UnknownScenario(facts["scenario"])
    except KeyError as err:
        raise ControlError(f"parcel {index}: {err}") from err
    return Parcel(num, carrier.code, str(item.get("phone") or ""), facts)


async def serve(sandbox: Sandbox, host: str, port: int, *, started: Callable[[int], None] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set (forever without one); ``started(port)`` once listening."""
    server = await httpd.start_server(sandbox.handle, host, port, on_error=sandbox.handler_failed)
    ticker = asyncio.create_task(sandbox.tick_forever())
    try:
        if started is not None:
            started(server.sockets[0].getsockname()[1])
        await (stop or asyncio.Event()).wait()
    finally:
        ticker.cancel()
        server.close()
