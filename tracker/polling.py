"""The poller: lease due shipments, ask the provider concurrently, store what it says.

    lease   one short transaction: UPDATE shipments SET lease_owner, lease_until
            WHERE id IN (SELECT … due … LIMIT n FOR UPDATE SKIP LOCKED)   (PostgreSQL;
            SQLite runs the same single statement under its one-writer lock)
    query   one pooled httpx.Client per provider, sync, on a thread pool of ``concurrency``
            ─► rate limit (QPS) ─► circuit breaker ─► provider.query
            ─► retries on timeouts / 5xx / 429 / busy codes (capped backoff + jitter, Retry-After)
    store   one transaction per batch: events once, shipment state and next poll time
            (tracker.schedule), errors per shipment, ProviderHealth; leases released

Transport: httpx's sync client on a thread pool, over ``tracker.transport.StdlibTransport``.
httpx.AsyncClient manages ~300–400 req/s at 100 tasks here (encode/httpx#3215) and the
sync client's own pool ~1,000 req/s from the one core the sandbox and the database leave
it, whatever the thread count; http.client under httpx more than doubles that with no new
dependency (bench/bench_poll.py measures all of it against a bare httpx loop).

Errors are data for one parcel, exceptions for infrastructure (habit 5): 查询无结果 is a
normal answer (no scan yet), a missing phone or an unknown company is recorded on that
shipment only; provider failures are recorded on the shipment *and* the provider, count
towards the breaker, and a bad key or signature opens it at once, loudly.  While the
circuit is open nothing is sent and the shipments keep their place in the queue.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine, and_, or_, select, update

from couriers import make_provider
from couriers.base import (
    AuthError,
    BadResponse,
    NoResultYet,
    Provider,
    ProviderError,
    RateLimited,
    SignatureError,
    SubscribeResult,
    TemporaryError,
    TrackingResult,
)
from couriers.sandbox import DEFAULT_CUSTOMER, DEFAULT_KEY
from tracker import schedule
from tracker.config import Settings
from tracker.events import (
    HEALTH,
    SHIPMENTS,
    Tracked,
    apply_results,
    count_provider,
    load_tracked,
    polled_fields_of,
    update_shipments,
)
from tracker.transport import pooled_client

log = logging.getLogger(__name__)

# ---- retry policy, in one place (openai-python's _constants style)
MAX_ATTEMPTS = 3  # per waybill and poll: the first try and two retries
RETRY_BASE = 0.5  # seconds before the first retry, doubled each time …
RETRY_CAP = 8.0  # … up to this; a longer Retry-After reschedules the waybill instead
RETRY_IN_CALL = (TemporaryError, RateLimited)  # timeouts, 5xx, 429, busy codes
OPEN_AT_ONCE = (AuthError, SignatureError)  # a bad key does not get better by retrying
LEASE_FOR = timedelta(minutes=30)  # = the lock window: a crashed poller's waybills wait it out
BATCH_SIZE = 500
CONCURRENCY = 8
HOOK_PATHS = {"kuaidi100": "/hooks/kuaidi100", "sandbox": "/hooks/kuaidi100", "kdniao": "/hooks/kdniao"}

T = TypeVar("T")


def provider_for(settings: Settings, name: str | None = None, **overrides) -> Provider:
    """The configured provider adapter (``sandbox`` = the Kuaidi100 adapter on the sandbox)."""
    name = name or settings.provider
    if "client" not in overrides:
        overrides["client"] = pooled_client()  # one pooled client per provider, for the process
    callback = settings.callback_base_url.rstrip("/") + HOOK_PATHS[name] if settings.callback_base_url else None
    if name == "kdniao":
        options = {"ebusiness_id": settings.kdniao_ebusiness_id, "app_key": settings.kdniao_app_key,
                   "base_url": settings.kdniao_base_url}
        return make_provider("kdniao", **options | overrides)
    options = {"customer": settings.kuaidi100_customer, "key": settings.kuaidi100_key,
               "salt": settings.kuaidi100_salt or None, "callback_url": callback,
               "base_url": settings.kuaidi100_base_url}
    if name == "sandbox":
        options |= {"customer": DEFAULT_CUSTOMER, "key": DEFAULT_KEY, "base_url": settings.sandbox_url}
    return make_provider("kuaidi100", **options | overrides)


@dataclass
class PollReport:
    leased: int = 0
    polled: int = 0  # waybills the provider answered (a trace, or 查询无结果)
    calls: int = 0  # requests sent, retries included
    retries: int = 0
    events_added: int = 0
    delivered: int = 0
    done: int = 0
    no_trace: int = 0
    unmapped: int = 0
    skipped: int = 0  # not sent: the circuit was open
    subscribed: int = 0
    errors: Counter = field(default_factory=Counter)  # error class → shipments
    circuit_open_until: datetime | None = None

    def add(self, other: PollReport) -> None:
        for name in ("leased", "polled", "calls", "retries", "events_added", "delivered", "done", "no_trace",
                     "unmapped", "skipped", "subscribed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)
        self.circuit_open_until = other.circuit_open_until


class RateLimiter:
    """Token bucket shared by the threads of one process: at most ``qps`` requests a second."""

    def __init__(self, qps: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / qps if qps else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


class CircuitBreaker:
    """Per provider, shared by the threads of one poll; persisted in ProviderHealth between polls.

    Closed: calls go out.  ``policy.circuit_failures`` provider failures in a row (or one bad
    key / signature) open it until ``open_until``; after that one probe call decides.
    """

    def __init__(self, health: dict, policy: schedule.Policy) -> None:
        self.policy = policy
        self.failures: int = health.get("error_count") or 0
        self.open_until: datetime | None = health.get("circuit_open_until")
        self.error_since: datetime | None = health.get("error_since")
        self.last_error: str | None = health.get("last_error")
        self.last_error_at: datetime | None = health.get("last_error_at")
        self.last_ok_at: datetime | None = health.get("last_ok_at")
        self._lock = threading.Lock()

    def is_open(self, now: datetime) -> bool:
        return self.open_until is not None and now < self.open_until

    def half_open(self, now: datetime) -> bool:
        return self.open_until is not None and now >= self.open_until

    def succeeded(self, now: datetime) -> None:
        with self._lock:
            self.failures, self.open_until, self.error_since, self.last_ok_at = 0, None, None, now

    def failed(self, err: ProviderError, now: datetime) -> None:
        with self._lock:
            self.failures += 1
            self.last_error, self.last_error_at = str(err), now
            self.error_since = self.error_since or now
            if isinstance(err, OPEN_AT_ONCE):
                log.error("provider %s refuses our credentials, polling stops until %s: %s", err.provider,
                          now + self.policy.auth_open_for, err)
                self.open_until = now + self.policy.auth_open_for
            elif self.failures >= self.policy.circuit_failures or self.open_until is not None:
                self.open_until = now + schedule.circuit_open_for(
                    max(1, self.failures - self.policy.circuit_failures + 1), self.policy)
                log.warning("provider %s: %d failures in a row, circuit open until %s: %s", err.provider,
                            self.failures, self.open_until, err)

    def health_values(self) -> dict:
        return {"error_count": self.failures, "circuit_open_until": self.open_until,
                "error_since": self.error_since, "last_error": self.last_error,
                "last_error_at": self.last_error_at, "last_ok_at": self.last_ok_at}


@dataclass(slots=True)
class Outcome:
    """What happened to one leased shipment."""

    tracked: Tracked
    answer: TrackingResult | SubscribeResult | None = None
    error: ProviderError | None = None
    skipped: bool = False
    calls: int = 0


def _routed(tracked: Tracked, answer: TrackingResult) -> Tracked:
    """The parcel with the route its courier reports (where the first scan happened, the
    destination city), so the schedule expects the transit of the real route, not the shop's."""
    origin, destination = schedule.route_of(
        tracked.origin, tracked.destination, first_scan_place=answer.events[0].location if answer.events else None,
        route_from=answer.origin, route_to=answer.destination)
    if (origin, destination) == (tracked.origin, tracked.destination):
        return tracked
    return replace(tracked, origin=origin, destination=destination)


class Poller:
    """Polls one provider: its rate limiter, retry policy and thread pool live across batches."""

    def __init__(self, provider: Provider, *, name: str | None = None, qps: float | None = None,
                 concurrency: int = CONCURRENCY, policy: schedule.Policy = schedule.DEFAULT_POLICY,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        self.provider = provider
        self.name = name or provider.name
        self.policy = policy
        self.limiter = RateLimiter(qps, sleep=sleep)
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"poll-{self.name}")
        self._sleep = sleep
        self._rng = rng or random.Random()

    def close(self) -> None:
        self._pool.shutdown()

    def __enter__(self) -> Poller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- polling

    def poll_once(self, engine: Engine, *, now: datetime | None = None, owner: str,
                  batch_size: int = BATCH_SIZE) -> PollReport:
        """Lease up to ``batch_size`` due shipments, query them, store the answers."""
        now = now or datetime.now(UTC)
        report = PollReport()
        breaker = self._breaker(engine)
        report.circuit_open_until = breaker.open_until
        if breaker.is_open(now):
            return report
        due = and_(SHIPMENTS.c.next_poll_at <= now, SHIPMENTS.c.carrier.is_not(None))
        shipments = self._lease(engine, due, owner=owner, now=now, limit=batch_size)
        report.leased = len(shipments)
        outcomes = self._run(shipments, breaker, now, self._query)
        with engine.begin() as conn:
            self._store(conn, outcomes, breaker, report, now=now, owner=owner)
        report.circuit_open_until = breaker.open_until
        return report

    def poll_due(self, engine: Engine, *, owner: str, batch_size: int = BATCH_SIZE,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> PollReport:
        """Batches until nothing is due (or the circuit opens): ``tracker poll --once``."""
        total = PollReport()
        while True:
            report = self.poll_once(engine, now=now(), owner=owner, batch_size=batch_size)
            total.add(report)
            if report.leased < batch_size or report.skipped:
                return total

    def _query(self, tracked: Tracked) -> TrackingResult:
        return self.provider.query(tracked.waybill, tracked.carrier, tracked.phone)

    def _store(self, conn, outcomes: Sequence[Outcome], breaker: CircuitBreaker, report: PollReport, *,
               now: datetime, owner: str) -> None:
        answered = [(_routed(o.tracked, o.answer), o.answer) for o in outcomes if o.answer is not None]
        applied = apply_results(conn, answered, now=now, policy=self.policy, polled_by=owner)
        report.events_added, report.delivered, report.done = applied.events_added, applied.delivered, applied.done
        report.unmapped = applied.unmapped
        rows = []
        for o in outcomes:
            report.calls += o.calls
            report.retries += max(0, o.calls - 1)
            if o.answer is not None:
                continue
            if o.skipped:
                report.skipped += 1
                rows.append(self._released(o.tracked, now, next_poll_at=max(breaker.open_until or now, now)))
            elif isinstance(o.error, NoResultYet):
                report.no_trace += 1
                rows.append(self._no_trace_row(o.tracked, now))
            else:
                report.errors[type(o.error).__name__] += 1
                rows.append(self._failure_row(o.tracked, o.error, now))
        report.polled = len(answered) + report.no_trace
        update_shipments(conn, rows, owner=owner)
        count_provider(conn, self.name, calls=report.calls, unmapped=report.unmapped,
                       values=breaker.health_values())

    @staticmethod
    def _released(tracked: Tracked, now: datetime, **values) -> dict:
        return {"id": tracked.id, "lease_owner": None, "lease_until": None, "updated_at": now, **values}

    def _no_trace_row(self, tracked: Tracked, now: datetime) -> dict:
        """查询无结果: the provider has no scan yet.  A normal answer, not an error."""
        next_at = schedule.next_poll_at(
            tracked.status, now=now, shipped_at=tracked.shipped, first_scan_at=tracked.first_scan_at,
            last_event_at=tracked.last_event_at, last_polled_at=now,
            expected_arrival=tracked.expected_arrival(self.policy), pushed=tracked.subscribed_at is not None,
            policy=self.policy)
        return {"id": tracked.id, "next_poll_at": next_at, "updated_at": now, **polled_fields_of(tracked, now)}

    def _failure_row(self, tracked: Tracked, err: ProviderError, now: datetime) -> dict:
        errors = {"last_error": str(err), "error_count": tracked.error_count + 1,
                  "error_since": tracked.error_since or now}
        if err.parcel:  # the provider answered about this waybill: its data must change first
            return self._released(tracked, now, **errors, last_polled_at=now, poll_count=tracked.poll_count + 1,
                                  next_poll_at=schedule.parcel_error_at(now=now, policy=self.policy))
        next_at = schedule.retry_at(tracked.error_count + 1, now=now, last_polled_at=tracked.last_polled_at,
                                    retry_after=err.retry_after, counted=isinstance(err, BadResponse),
                                    policy=self.policy, rng=self._rng)
        return self._released(tracked, now, **errors, next_poll_at=next_at)

    # ---- subscription (push)

    def subscribe_once(self, engine: Engine, *, now: datetime | None = None, owner: str,
                       batch_size: int = BATCH_SIZE) -> PollReport:
        """Subscribe shipments not subscribed yet (or due again after an abort push) to pushes;
        from then on polling is only a sparse safety net."""
        now = now or datetime.now(UTC)
        report = PollReport()
        breaker = self._breaker(engine)
        if breaker.is_open(now):
            report.circuit_open_until = breaker.open_until
            return report
        s = SHIPMENTS.c
        due = and_(s.subscribed_at.is_(None), s.carrier.is_not(None),
                   or_(s.resubscribe_at.is_(None), s.resubscribe_at <= now))
        shipments = self._lease(engine, due, owner=owner, now=now, limit=batch_size)
        report.leased = len(shipments)
        outcomes = self._run(shipments, breaker, now, self._subscribe)
        rows = []
        for o in outcomes:
            report.calls += o.calls
            t = o.tracked
            if o.skipped:
                report.skipped += 1
                rows.append(self._released(t, now))
            elif o.error is None:
                report.subscribed += 1
                rows.append(self._released(t, now, subscribed_at=now, resubscribe_at=None, next_poll_at=(
                    schedule.next_poll_at(t.status, now=now, shipped_at=t.shipped, first_scan_at=t.first_scan_at,
                                          last_event_at=t.last_event_at, last_polled_at=t.last_polled_at,
                                          pushed=True, policy=self.policy))))
            else:
                report.errors[type(o.error).__name__] += 1
                again = (schedule.parcel_error_at(now=now, policy=self.policy) if o.error.parcel else
                         schedule.retry_at(t.error_count + 1, now=now, last_polled_at=None,
                                           retry_after=o.error.retry_after, policy=self.policy, rng=self._rng))
                rows.append(self._released(t, now, last_error=str(o.error), error_count=t.error_count + 1,
                                           error_since=t.error_since or now, resubscribe_at=again))
        with engine.begin() as conn:
            update_shipments(conn, rows, owner=owner)
            count_provider(conn, self.name, calls=report.calls, values=breaker.health_values())
        report.circuit_open_until = breaker.open_until
        return report

    def _subscribe(self, tracked: Tracked) -> SubscribeResult:
        return self.provider.subscribe(tracked.waybill, tracked.carrier, tracked.phone)

    # ---- the shared machinery

    def _breaker(self, engine: Engine) -> CircuitBreaker:
        with engine.connect() as conn:
            row = conn.execute(select(HEALTH).where(HEALTH.c.provider == self.name)).mappings().first()
        return CircuitBreaker(dict(row or {}), self.policy)

    def _lease(self, engine: Engine, due, *, owner: str, now: datetime, limit: int) -> list[Tracked]:
        """Take up to ``limit`` shipments matching ``due`` for this owner, in one short transaction."""
        s = SHIPMENTS.c
        free = and_(s.done.is_(False), s.superseded_at.is_(None),
                    or_(s.lease_until.is_(None), s.lease_until < now), due)
        pick = (select(s.id).where(free).order_by(s.next_poll_at, s.id).limit(limit)
                .with_for_update(skip_locked=True))
        with engine.begin() as conn:
            ids = conn.execute(update(SHIPMENTS).where(s.id.in_(pick.scalar_subquery()))
                               .values(lease_owner=owner, lease_until=now + LEASE_FOR)
                               .returning(s.id)).scalars().all()
            return load_tracked(conn, s.id.in_(ids)) if ids else []

    def _run(self, shipments: list[Tracked], breaker: CircuitBreaker, now: datetime,
             call: Callable[[Tracked], T]) -> list[Outcome]:
        """Call the provider once per parcel; when the circuit is half-open, one probe first.

        Shipments of several orders can share a parcel (Douyin sub-orders packed together):
        each gets the one answer, since a waybill asked about again within 30 minutes is
        locked by Kuaidi100 (锁单)."""
        if not shipments:
            return []
        first: dict[tuple, Tracked] = {}
        for tracked in shipments:
            first.setdefault((tracked.carrier, tracked.waybill), tracked)
        parcels = list(first.values())
        attempt = lambda tracked: self._attempt(tracked, breaker, now, call)  # noqa: E731
        if breaker.half_open(now):  # a failed probe reopens the circuit: the others are skipped
            outcomes = [attempt(parcels[0]), *self._pool.map(attempt, parcels[1:])]
        else:
            outcomes = list(self._pool.map(attempt, parcels))
        by_parcel = {(o.tracked.carrier, o.tracked.waybill): o for o in outcomes}
        return [o if (o := by_parcel[t.carrier, t.waybill]).tracked is t else replace(o, tracked=t, calls=0)
                for t in shipments]

    def _attempt(self, tracked: Tracked, breaker: CircuitBreaker, now: datetime,
                 call: Callable[[Tracked], T]) -> Outcome:
        """One shipment: rate limit, breaker, retries with capped backoff + jitter."""
        outcome = Outcome(tracked)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if breaker.is_open(now):
                outcome.skipped = outcome.error is None
                return outcome
            self.limiter.wait()
            outcome.calls += 1
            try:
                answer = call(tracked)
            except ProviderError as err:
                outcome.error = err
                if err.parcel:
                    breaker.succeeded(now)  # the provider works; this waybill has a problem
                    return outcome
                breaker.failed(err, now)
                delay = min(RETRY_CAP, RETRY_BASE * 2 ** (attempt - 1)) * (0.5 + 0.5 * self._rng.random())
                if err.retry_after is not None:
                    delay = max(delay, err.retry_after)
                if not isinstance(err, RETRY_IN_CALL) or attempt == MAX_ATTEMPTS or delay > RETRY_CAP:
                    return outcome
                self._sleep(delay)
                continue
            breaker.succeeded(now)
            outcome.error, outcome.answer = None, answer
            return outcome
        return outcome
