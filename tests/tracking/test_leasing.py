"""Several pollers share the work by leasing (FOR UPDATE SKIP LOCKED on PostgreSQL): no waybill
is queried by two of them, and every due shipment is polled exactly once."""
from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from tracker.polling import Poller
from tracking_helpers import T0, Courier, add_shipments, trace

WAYBILLS = [f"YT{i:04d}" for i in range(400)]


def test_concurrent_pollers_never_query_the_same_waybill(engine) -> None:
    add_shipments(engine, WAYBILLS)
    slow_trace = trace("query_in_transit.json")

    def slow(param: dict) -> httpx.Response:
        time.sleep(0.001)  # keep the pollers overlapping
        return slow_trace(param)

    couriers = [Courier(slow) for _ in range(3)]
    start = threading.Barrier(len(couriers))

    def work(courier: Courier, owner: str) -> None:
        with Poller(courier.provider(), concurrency=4) as poller:
            start.wait()
            poller.poll_due(engine, owner=owner, batch_size=25, now=lambda: T0)

    threads = [threading.Thread(target=work, args=(c, f"worker-{i}")) for i, c in enumerate(couriers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Counter()
    for courier in couriers:
        total.update(courier.counts)
    assert set(total) == set(WAYBILLS) and set(total.values()) == {1}
    assert all(courier.calls for courier in couriers)  # the work was shared
