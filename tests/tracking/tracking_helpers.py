"""Helpers for the tracking tests: shipments in the database, and a scripted Kuaidi100 served
through ``httpx.MockTransport`` with the real-shaped fixtures of the adapter tests."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from couriers.kuaidi100 import Kuaidi100
from tracker.models import Order, ProviderHealth, Shipment, Shop, TrackingEvent

FIXTURES = Path(__file__).resolve().parent.parent / "couriers" / "fixtures" / "kuaidi100"
T0 = datetime(2024, 11, 13, 6, 0, tzinfo=UTC)  # after the fixtures' scans (2024-11-12/13 China time)
SALT = "pushsalt"
MINUTE = timedelta(minutes=1)

Answer = httpx.Response | Callable[[dict], httpx.Response]  # called with the request's param


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def failure(code: str, message: str = "") -> httpx.Response:
    return httpx.Response(200, json={"result": False, "returnCode": code, "message": message or code})


def trace(name: str) -> Callable[[dict], httpx.Response]:
    """A fixture answer, for the waybill and company asked about."""
    def answer(param: dict) -> httpx.Response:
        data = orjson.loads(fixture(name)) | {"nu": param["num"], "com": param["com"]}
        return httpx.Response(200, content=orjson.dumps(data))
    return answer


class Courier:
    """A scripted Kuaidi100 query endpoint: per waybill, a queue of answers (the last one repeats);
    records every request's waybill, thread-safely."""

    def __init__(self, default: Answer | None = None) -> None:
        self.script: dict[str, list[Answer]] = {}
        self.default = default or trace("query_in_transit.json")
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def answer(self, num: str, *answers: Answer) -> Courier:
        self.script[num] = list(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        param = orjson.loads(form["param"])
        num = param["num"]
        with self._lock:
            self.calls.append(num)
            queue = self.script.get(num)
            answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else self.default
        return answer(param) if callable(answer) else answer

    @property
    def counts(self) -> Counter:
        return Counter(self.calls)

    def provider(self, **options) -> Kuaidi100:
        client = httpx.Client(transport=httpx.MockTransport(self))
        return Kuaidi100(customer="CUSTOMER", key="KEY", salt=SALT, client=client, **options)


def add_shipments(engine: Engine, waybills: list[str], *, carrier: str = "yto", phone: str | None = "13800001111",
                  shipped_at: datetime = T0 - timedelta(days=1), due: datetime = T0) -> list[int]:
    with Session(engine) as session, session.begin():
        shop = session.scalar(select(Shop).where(Shop.name == "店")) or Shop(name="店", origin_province="浙江")
        session.add(shop)
        shipments = []
        for i, waybill in enumerate(waybills):
            order = Order(shop=shop, platform="taobao", platform_order_id=f"O{waybill}", status="shipped",
                          status_raw="卖家已发货", receiver_phone=phone, province="海南", shipped_at=shipped_at,
                          source_hash="x")
            shipment = Shipment(order=order, waybill=waybill, carrier=carrier, next_poll_at=due)
            session.add_all([order, shipment])
            shipments.append(shipment)
        session.flush()
        return [s.id for s in shipments]


def shipment(engine: Engine, waybill: str) -> Shipment:
    with Session(engine) as session:
        return session.scalars(select(Shipment).where(Shipment.waybill == waybill)).one()


def events(engine: Engine, waybill: str) -> list[TrackingEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(TrackingEvent).join(Shipment).where(Shipment.waybill == waybill)
                                    .order_by(TrackingEvent.time)))


def health(engine: Engine, provider: str = "kuaidi100") -> ProviderHealth | None:
    with Session(engine) as session:
        return session.get(ProviderHealth, provider)
