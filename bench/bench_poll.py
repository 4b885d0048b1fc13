"""Poll throughput: 20,000 waybills polled end to end (request, parse, store) into SQLite.

    python bench/bench_poll.py [--waybills 20000] [--concurrency 4 8] [--batch-size 500]

The sandbox courier runs in its own process (one core, as in production the courier is
elsewhere); the poller and SQLite share the other.  Measured, in order, against the same
server and the same waybills (the sandbox's journey cache is warmed first):
  (a) bare httpx: one sync ``httpx.Client`` posting pre-signed forms in a loop, body read;
  (b) the same bare loop on a thread pool (the transport the poller uses);
  (c) ``Poller.poll_due``: lease, the real Kuaidi100 adapter, parse, events + state stored.
Target: (c) ≥ 1,000 waybills/s; the ratio (c)/(a) is printed.
"""
from __future__ import annotations

import argparse
import random
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from sqlalchemy import Engine, func, insert, select  # noqa: E402

from couriers import carriers  # noqa: E402
from couriers.kuaidi100 import Kuaidi100, query_sign  # noqa: E402
from couriers.sandbox import DEFAULT_CUSTOMER, DEFAULT_KEY, SandboxClient  # noqa: E402
from tracker import db  # noqa: E402
from tracker.models import Order, Shipment, Shop, TrackingEvent  # noqa: E402
from tracker.polling import Poller  # noqa: E402
from tracker.transport import StdlibTransport, pooled_client  # noqa: E402

CLOCK_START = datetime(2024, 11, 15, tzinfo=UTC)
CARRIERS = ("yto", "zto", "sto", "yunda", "jt")
PROVINCES = ("浙江", "广东", "江苏", "上海", "北京", "四川", "湖北", "山东", "河南", "福建", "新疆", "海南")
PHONE = "13800138000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(clock_start: datetime, seed: int = 0) -> tuple[subprocess.Popen, str, SandboxClient]:
    """The sandbox in its own process, on a manual clock; waits until it answers."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "couriers.sandbox", "--port", str(port), "--seed", str(seed),
                                "--clock-start", clock_start.isoformat()], cwd=ROOT,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    control = SandboxClient(url)
    for _ in range(100):
        try:
            control.stats()
            return process, url, control
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("sandbox did not start")


def fleet(n: int, *, shipped: callable, rng: random.Random) -> list[dict]:
    """n parcels: waybill, carrier, shipping time, route (scenario left to the sandbox's seed)."""
    parcels = []
    for i in range(n):
        carrier = CARRIERS[i % len(CARRIERS)]
        parcels.append({"num": f"BX{carrier.upper()}{7_500_000_000_000 + i}", "carrier": carrier,
                        "shipped_at": shipped(i), "from_province": rng.choice(PROVINCES[:6]),
                        "to_province": rng.choice(PROVINCES)})
    return parcels


def register(control: SandboxClient, parcels: list[dict], **extra) -> None:
    for start in range(0, len(parcels), 5000):
        control.register({"num": p["num"], "com": carriers.get(p["carrier"]).kuaidi100, "phone": PHONE,
                          "shipped_at": p["shipped_at"], "from_province": p["from_province"],
                          "to_province": p["to_province"], **extra} for p in parcels[start:start + 5000])


def make_database(directory: Path, parcels: list[dict], *, due: callable) -> Engine:
    """A migrated SQLite file with one shop, and an order + shipment per parcel (as an import leaves them)."""
    engine = db.make_engine(f"sqlite:///{directory / 'bench.sqlite3'}")
    db.upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        shop_id = conn.execute(insert(Shop).values(name="bench", origin_province="浙江", created_at=now)
                               ).inserted_primary_key[0]
        conn.execute(insert(Order), [
            {"id": i + 1, "shop_id": shop_id, "platform": "taobao", "platform_order_id": f"O{p['num']}",
             "status": "shipped", "status_raw": "卖家已发货", "receiver_phone": PHONE, "province": p["to_province"],
             "shipped_at": p["shipped_at"], "source_hash": "bench", "facts_changed_at": now, "created_at": now}
            for i, p in enumerate(parcels)])
        conn.execute(insert(Shipment), [
            {"order_id": i + 1, "kind": "original", "source": "import", "waybill": p["num"], "carrier": p["carrier"],
             "status": "pending", "done": False, "next_poll_at": due(p), "poll_count": 0, "error_count": 0,
             "created_at": now, "updated_at": now}
            for i, p in enumerate(parcels)])
    return engine


def _forms(parcels: list[dict]) -> list[str]:
    forms = []
    for p in parcels:
        param = orjson.dumps({"com": carriers.get(p["carrier"]).kuaidi100, "num": p["num"], "phone": PHONE,
                              "resultv2": "4"}).decode()
        forms.append(urlencode({"customer": DEFAULT_CUSTOMER, "sign": query_sign(param, DEFAULT_KEY,
                                                                                  DEFAULT_CUSTOMER), "param": param}))
    return forms


def bare_loop(url: str, forms: list[str], threads: int = 1, transport: httpx.BaseTransport | None = None) -> float:
    """Seconds for a bare httpx loop over the forms (one shared pooled client)."""
    headers = {"content-type": "application/x-www-form-urlencoded"}
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    with httpx.Client(limits=limits, transport=transport) as client:
        def post(form: str) -> None:
            client.post(url + "/poll/query.do", content=form, headers=headers).read()

        began = time.perf_counter()
        if threads == 1:
            for form in forms:
                post(form)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(post, forms))
        return time.perf_counter() - began


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waybills", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    parcels = fleet(args.waybills, shipped=lambda i: CLOCK_START - timedelta(hours=30 + i % 24), rng=rng)
    process, url, control = start_sandbox(CLOCK_START)
    try:
        register(control, parcels, scenario="delivered")
        forms = _forms(parcels)
        bare_loop(url, forms[:2000])  # warm up the client; the journeys are cached by the next pass
        bare_loop(url, forms, threads=4)
        bare = len(forms) / bare_loop(url, forms)
        print(f"bare httpx.Client, sequential           {bare:>8.0f} req/s")
        for threads in args.concurrency:
            rate = len(forms) / bare_loop(url, forms, threads)
            print(f"bare httpx.Client, {threads:>2} threads             {rate:>8.0f} req/s")
        bare_std = len(forms) / bare_loop(url, forms, transport=StdlibTransport())
        print(f"bare httpx.Client over StdlibTransport  {bare_std:>8.0f} req/s")
        for concurrency in args.concurrency:
            with tempfile.TemporaryDirectory() as tmp:
                engine = make_database(Path(tmp), parcels, due=lambda p: CLOCK_START)
                provider = Kuaidi100(customer=DEFAULT_CUSTOMER, key=DEFAULT_KEY, base_url=url,
                                     client=pooled_client())
                with Poller(provider, name="sandbox", concurrency=concurrency) as poller:
                    began = time.perf_counter()
                    report = poller.poll_due(engine, owner="bench", batch_size=args.batch_size,
                                             now=lambda: CLOCK_START)
                    seconds = time.perf_counter() - began
                with engine.connect() as conn:
                    stored = conn.execute(select(func.count()).select_from(TrackingEvent)).scalar_one()
                engine.dispose()
            rate = report.polled / seconds
            print(f"Poller end to end, {concurrency:>2} threads, batch {args.batch_size}: {report.polled} waybills "
                  f"in {seconds:.1f}s = {rate:>6.0f} waybills/s ({rate / bare:.2f}× bare httpx, "
                  f"{rate / bare_std:.2f}× bare httpx on the same transport); "
                  f"{stored} events stored, errors {dict(report.errors) or 'none'}")
    finally:
        control.close()
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
