"""The normalized tracking model every provider adapter produces, and the frame they share.

    waybill, carrier, phone ─► Provider.build_query ─► httpx.Request
                               Provider._send  (the one I/O method: HTTP status → typed error)
             response bytes ─► Provider.parse_query ─► TrackingResult
    push form (callback)    ─► Provider.parse_push  ─► PushResult ─► Provider.push_reply()

Two-level vocabulary, as karrio does it: ``status`` says where the parcel is, ``incident``
what went wrong.  Provider codes go through a ``StateTable``; a code missing from the
table gives ``unknown`` with ``unmapped=True`` so the caller counts and shows it, never a
silent "in transit".  The raw codes stay on the result beside the normalized ones.

Adapters are pure apart from ``_send``: no database, no retries.  The poller owns the
retry policy; errors say whether a retry can help (``retryable``), when (``retry_after``)
and whether only this waybill is affected (``parcel``) or the whole provider.
"""
from __future__ import annotations

import hmac
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from operator import attrgetter
from typing import ClassVar

import httpx
import orjson

from couriers import carriers
from couriers.timeparse import china_to_utc


class ParcelStatus(StrEnum):
    PENDING = "pending"  # known to the courier, not yet picked up
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"  # locker / 驿站
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"
    RETURNING = "returning"
    RETURNED = "returned"
    REFUSED = "refused"
    EXCEPTION = "exception"  # the provider flags a problem; see the incident
    UNKNOWN = "unknown"  # the provider's code is not in our table


class Incident(StrEnum):
    DAMAGED = "damaged"
    LOST = "lost"
    REFUSED = "refused"
    ADDRESS_PROBLEM = "address_problem"
    HELD = "held"  # 滞留
    WEATHER = "weather"
    CUSTOMS = "customs"
    NO_INFO = "no_info"  # 发货无信息
    NOT_UPDATED = "not_updated"  # 超时未更新
    NOT_SIGNED = "not_signed"  # 超时未签收
    PICKUP_OVERDUE = "pickup_overdue"  # 驿站超时未取
    UNREACHABLE = "unreachable"  # 无法联系
    OUT_OF_AREA = "out_of_area"  # 超区
    CANCELLED = "cancelled"  # 销单 / 拦截
    DELAYED = "delayed"
    MISROUTED = "misrouted"  # 错分
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    time: datetime  # aware, UTC
    location: str
    text: str
    raw_code: str  # the provider's per-event state code or name, "" when it sends none
    status: ParcelStatus


@dataclass(frozen=True, slots=True)
class TrackingResult:
    waybill: str
    carrier: str | None  # our carrier code; None only for a push naming a company we do not know
    provider: str
    status: ParcelStatus
    incident: Incident | None = None
    raw_state: str = ""
    raw_substate: str | None = None
    events: tuple[TrackingEvent, ...] = ()  # oldest first
    signed: bool = False
    carrier_correction: str | None = None  # our code of the carrier the provider says is right
    eta: datetime | None = None
    unmapped: bool = False  # raw state not in our table: status is UNKNOWN, count it
    message: str = ""
    provider_carrier: str = ""  # the provider's company code as it answered
    origin: str = ""
    destination: str = ""


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    waybill: str
    carrier: str | None
    provider: str
    already_subscribed: bool
    raw_code: str
    message: str


@dataclass(frozen=True, slots=True)
class PushResult:
    provider: str
    results: tuple[TrackingResult, ...]
    monitor: str = ""  # Kuaidi100 param.status: polling | shutdown | abort | updateall
    message: str = ""
    stopped: bool = False  # this subscription sends nothing more (signed, or given up)
    resubscribe: bool = False  # given up, and the provider will not resume by itself
    carrier_old_raw: str = ""  # Kuaidi100 comOld / comNew, raw (comNew may be a company we lack)
    carrier_new_raw: str = ""


# ---------------------------------------------------------------- errors


class ProviderError(Exception):
    """A provider call failed.  Carries the provider's raw code and message."""

    retryable: ClassVar[bool] = False  # may succeed later without any change on our side
    parcel: ClassVar[bool] = False  # concerns this waybill only: go on with the batch

    def __init__(self, message: str, *, provider: str, raw_code: str = "", raw_message: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.raw_code = raw_code
        self.raw_message = raw_message
        self.retry_after = retry_after  # seconds, when the provider said so

    def __str__(self) -> str:
        code = f" [{self.raw_code}]" if self.raw_code else ""
        return f"{self.provider}{code}: {self.args[0]}"


class AuthError(ProviderError):
    """Bad or expired key, wrong customer id, no quota left."""


class SignatureError(ProviderError):
    """The provider rejected our signature, or a push's signature does not verify."""


class BadRequest(ProviderError):
    """The provider rejected the data we sent (parameters, callback URL)."""


class PhoneRequired(BadRequest):
    """The carrier checks the receiver's phone (SF, ZTO) and it is missing or wrong."""

    parcel = True


class UnknownCarrierCode(ProviderError):
    """No provider code for our carrier, or the provider does not know / refuses the company."""

    parcel = True


class NotFound(ProviderError):
    parcel = True


class NoResultYet(NotFound):
    """No trace yet (查询无结果); normal for a few hours after shipping."""

    retryable = True


class RateLimited(ProviderError):
    retryable = True


class TemporaryError(ProviderError):
    """5xx, busy, timeout, connection failure."""

    retryable = True


class BadResponse(ProviderError):
    """HTML, garbled or unexpectedly shaped body, or a return code we do not know."""

    retryable = True


def provider_error(kind: type[ProviderError] | None, *, provider: str, raw_code: str,
                   raw_message: str) -> ProviderError:
    """The error a provider's failure code maps to; an unknown code is a ``BadResponse``."""
    if kind is None:
        return BadResponse(f"unknown failure {raw_code!r}: {raw_message}", provider=provider,
                           raw_code=raw_code, raw_message=raw_message)
    return kind(raw_message or kind.__name__, provider=provider, raw_code=raw_code,
                raw_message=raw_message)


# ---------------------------------------------------------------- code tables


@dataclass(frozen=True, slots=True)
class StateRow:
    code: str
    name: str  # the provider's Chinese name; some events carry it instead of the code
    status: ParcelStatus
    incident: Incident | None = None


class StateTable:
    """A provider's state codes, looked up by code or by Chinese name."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Iterable[StateRow]) -> None:
        rows = tuple(rows)
        self._rows = {r.name: r for r in rows} | {r.code: r for r in rows}

    def get(self, key: str) -> StateRow | None:
        return self._rows.get(key)

    def classify(self, code: str) -> tuple[ParcelStatus, Incident | None, bool]:
        """(status, incident, unmapped)."""
        row = self._rows.get(code)
        if row is None:
            return ParcelStatus.UNKNOWN, None, True
        return row.status, row.incident, False

    def event_status(self, code: str) -> ParcelStatus:
        row = self._rows.get(code)
        return ParcelStatus.UNKNOWN if row is None else row.status


def classified_result(table: StateTable, code: str, *, asked: str | None,
                      answered: carriers.Carrier | None, **fields: object) -> TrackingResult:
    """A ``TrackingResult`` whose status, incident and unmapped flag come from ``table[code]``,
    and whose carrier is the one we asked for, corrected by the company the provider answered."""
    status, incident, unmapped = table.classify(code)
    if answered is None or asked == answered.code:
        carrier, correction = asked, None
    elif asked is None:
        carrier, correction = answered.code, None
    else:
        carrier, correction = asked, answered.code
    return TrackingResult(status=status, incident=incident, unmapped=unmapped, carrier=carrier,
                          carrier_correction=correction, **fields)


# ---------------------------------------------------------------- parsing helpers


def load_json(body: bytes | str, provider: str) -> dict:
    """A JSON object, or ``BadResponse`` for HTML, garbage or a non-object."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise BadResponse(f"not JSON: {_snippet(body)!r}", provider=provider,
                          raw_message=_snippet(body)) from err
    if not isinstance(data, dict):
        raise BadResponse(f"not a JSON object: {_snippet(body)!r}", provider=provider,
                          raw_message=_snippet(body))
    return data


def _snippet(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text[:120]


@contextmanager
def malformed(provider: str) -> Iterator[None]:
    """Turn a response of the wrong shape (missing keys, bad times) into ``BadResponse``."""
    try:
        yield
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise BadResponse(f"unexpected response shape: {err}", provider=provider) from err


def check_signature(expected: str, received: str | None, *, provider: str, field: str) -> None:
    """Constant-time comparison of a push signature; missing or wrong → ``SignatureError``."""
    if not received or not hmac.compare_digest(expected.encode(), received.encode()):
        raise SignatureError(f"push {field} {'wrong' if received else 'missing'}", provider=provider,
                             raw_message=received or "")


def optional_time(text: str | None) -> datetime | None:
    """A predicted time (ETA): absent or unreadable means no prediction, not a bad response."""
    if not text:
        return None
    try:
        return china_to_utc(text)
    except ValueError:
        return None


def chronological(events: Iterable[TrackingEvent]) -> tuple[TrackingEvent, ...]:
    """Oldest first.  Stable, so same-second events keep the provider's order."""
    return tuple(sorted(events, key=attrgetter("time")))


def lookup_carrier(carrier: str, provider: str) -> carriers.Carrier:
    try:
        return carriers.get(carrier)
    except carriers.UnknownCarrier as err:
        raise UnknownCarrierCode(str(err), provider=provider, raw_code=carrier) from err


_VIRTUAL_PHONE = re.compile(r"^\s*1\d{10}\s*[-转]\s*(\d{4})\s*$")


def query_phone(phone: str | None) -> str:
    """The receiver phone as couriers check it: a virtual number '1xxxxxxxxxx-1234' → '1234'."""
    if not phone:
        return ""
    virtual = _VIRTUAL_PHONE.match(phone)
    return virtual.group(1) if virtual else phone.strip()


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# ---------------------------------------------------------------- the provider frame

HTTP_ERRORS: Mapping[int, type[ProviderError]] = {
    401: AuthError,
    403: AuthError,
    429: RateLimited,
}
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class Provider(ABC):
    """One courier-tracking API.  Subclasses build requests and parse answers (pure);
    ``query``/``subscribe`` glue them to the single I/O method ``_send``."""

    name: ClassVar[str]

    def __init__(self, *, base_url: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=DEFAULT_TIMEOUT)

    @abstractmethod
    def build_query(self, waybill: str, carrier: str, phone: str | None = None) -> httpx.Request: ...

    @abstractmethod
    def parse_query(self, body: bytes, waybill: str, carrier: str) -> TrackingResult: ...

    @abstractmethod
    def build_subscribe(self, waybill: str, carrier: str, phone: str | None = None) -> httpx.Request: ...

    @abstractmethod
    def parse_subscribe(self, body: bytes, waybill: str, carrier: str) -> SubscribeResult: ...

    @abstractmethod
    def parse_push(self, form: Mapping[str, str]) -> PushResult:
        """The decoded form of a push callback → results; raises ``SignatureError``."""

    @abstractmethod
    def push_reply(self, now: datetime | None = None) -> bytes:
        """The body that acknowledges a push (JSON)."""

    def query(self, waybill: str, carrier: str, phone: str | None = None) -> TrackingResult:
        return self.parse_query(self._send(self.build_query(waybill, carrier, phone)), waybill, carrier)

    def subscribe(self, waybill: str, carrier: str, phone: str | None = None) -> SubscribeResult:
        return self.parse_subscribe(self._send(self.build_subscribe(waybill, carrier, phone)),
                                    waybill, carrier)

    def _send(self, request: httpx.Request) -> bytes:
        try:
            response = self._client.send(request)
        except httpx.TransportError as err:  # timeouts, refused connections, resets
            raise TemporaryError(f"{type(err).__name__}: {err}", provider=self.name) from err
        status = response.status_code
        if status < 300:
            return response.content
        kind = HTTP_ERRORS.get(status) or (TemporaryError if status >= 500 else BadResponse)
        raise kind(f"HTTP {status}", provider=self.name, raw_code=str(status),
                   raw_message=_snippet(response.content),
                   retry_after=retry_after_seconds(response.headers.get("Retry-After")))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
