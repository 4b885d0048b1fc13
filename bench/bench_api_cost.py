"""API cost of a post-promotion fortnight on the sandbox's simulated clock.

    python bench/bench_api_cost.py [--parcels 20000] [--push-parcels 5000] [--step-minutes 10]

Parcels ship over the first two days after 双十一 (scenarios drawn by the sandbox: delivered,
locker, stalled, never scanned, refused, lost …).  The clock moves in steps of 10 simulated
minutes for 14 days; at each step the poller runs ``poll_due`` (and, with push, the
subscription job first, the sandbox pushing to the hook served on localhost).  Reported:
  - courier API calls per parcel (queries + subscriptions), from /sandbox/stats
    (targets: ≤ 8 polling only, ≤ 2 with push; a fixed hourly poll until final is computed
    from the same journeys for comparison);
  - how long after a parcel crosses its stall threshold (policy stall limit of the state
    of its last scan; 24 h pickup deadline before the first scan) the poller queries it
    (target ≤ 2 h), from the journeys' truth (/sandbox/journey) and the recorded queries;
  - 30-minute lock violations counted by the sandbox (target 0).
"""
from __future__ import annotations

import argparse
import logging
import math
import random
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median, quantiles
from urllib.parse import parse_qs

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_poll import ROOT, fleet, make_database, register, start_sandbox  # noqa: E402

sys.path.insert(0, str(ROOT))
from werkzeug.serving import make_server  # noqa: E402

from couriers.base import DEFAULT_TIMEOUT  # noqa: E402
from couriers.kuaidi100 import STATES, Kuaidi100  # noqa: E402
from couriers.sandbox import DEFAULT_CUSTOMER, DEFAULT_KEY, SandboxClient  # noqa: E402
from couriers.timeparse import china_to_utc  # noqa: E402
from tracker.config import Settings  # noqa: E402
from tracker.polling import Poller  # noqa: E402
from tracker.schedule import DEFAULT_POLICY, FINAL  # noqa: E402
from tracker.transport import StdlibTransport  # noqa: E402
from tracker.web import create_app  # noqa: E402

START = datetime(2024, 11, 11, 16, 0, tzinfo=UTC)  # 2024-11-12 00:00 China time
DAYS = 14
SALT = "bench-salt"


class Recorder:
    """Every query the poller sends: waybill → simulated times (the sandbox clock of the step)."""

    def __init__(self) -> None:
        self.now = START
        self.queries: dict[str, list[datetime]] = defaultdict(list)
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> None:
        if request.url.path.endswith("/query.do"):
            num = orjson.loads(parse_qs(request.content.decode())["param"][0])["num"]
            with self._lock:
                self.queries[num].append(self.now)


def run(parcels: list[dict], *, push: bool, step: timedelta) -> dict:
    process, url, control = start_sandbox(START)
    recorder = Recorder()
    server = None
    try:
        register(control, parcels)
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_database(Path(tmp), parcels, due=lambda p: p["shipped_at"])
            callback = None
            if push:
                settings = Settings(instance_dir=Path(tmp), provider="sandbox", kuaidi100_salt=SALT)
                server = make_server("127.0.0.1", 0, create_app(settings, engine=engine, clock=lambda: recorder.now),
                                     threaded=True)
                threading.Thread(target=server.serve_forever, daemon=True).start()
                callback = f"http://127.0.0.1:{server.server_port}/hooks/kuaidi100"
            client = httpx.Client(transport=StdlibTransport(), timeout=DEFAULT_TIMEOUT,
                                  event_hooks={"request": [recorder]})
            provider = Kuaidi100(customer=DEFAULT_CUSTOMER, key=DEFAULT_KEY, salt=SALT, callback_url=callback,
                                 base_url=url, client=client)
            began = time.perf_counter()
            with Poller(provider, name="sandbox", concurrency=4) as poller:
                now = START
                while now <= START + timedelta(days=DAYS):
                    recorder.now = now
                    control.set_clock(now)  # pushes what is due by now
                    if push:
                        poller.subscribe_once(engine, owner="bench", now=now, batch_size=5000)
                    poller.poll_due(engine, owner="bench", now=lambda: now, batch_size=2000)
                    now += step
            seconds = time.perf_counter() - began
            stats = control.stats()
            truth = journeys(control, parcels)
            engine.dispose()
    finally:
        if server is not None:
            server.shutdown()
        control.close()
        process.terminate()
        process.wait()
    return {"stats": stats, "queries": recorder.queries, "truth": truth, "seconds": seconds, "step": step}


def journeys(control: SandboxClient, parcels: list[dict]) -> dict[str, list[tuple[datetime, str]]]:
    """waybill → its scans (UTC time, our status), oldest first, future scans included."""
    out = {}
    for p in parcels:
        trace = control.journey(p["num"])["trace"]
        out[p["num"]] = [(china_to_utc(row["ftime"]), STATES.event_status(str(row.get("statusCode") or "")).value)
                         for row in reversed(trace.get("data") or [])]
    return out


def stall_delays(parcels: list[dict], truth: dict, queries: dict, end: datetime,
                 fleeting: timedelta) -> tuple[list[float], int, int]:
    """Hours from each stall's crossing to the first query after it; how many went unseen; and
    how many were fleeting: over within ``fleeting`` of the threshold (the schedule's margin plus
    one simulated step), which no query could see and classification would never flag."""
    delays, unseen, brief = [], 0, 0
    for p in parcels:
        scans = truth[p["num"]]
        asked = sorted(queries.get(p["num"], ()))
        marks = [(p["shipped_at"], "pending", DEFAULT_POLICY.pickup_deadline)]
        marks += [(t, status, DEFAULT_POLICY.stall_limit(status)) for t, status in scans if status not in FINAL]
        times = [t for t, _ in scans]
        for at, _status, limit in marks:
            later = [t for t in times if t > at]
            resumed = later[0] if later else end
            crossing = at + limit
            if crossing >= min(resumed, end):
                continue
            i = bisect_left(asked, crossing)
            if i < len(asked) and asked[i] <= resumed:
                delays.append((asked[i] - crossing).total_seconds() / 3600)
            elif resumed - crossing <= fleeting:
                brief += 1
            else:
                unseen += 1
    return delays, unseen, brief


def hourly_calls(parcels: list[dict], truth: dict, end: datetime) -> float:
    """A fixed hourly poll from shipping until the final scan (or the fortnight's end)."""
    total = 0
    for p in parcels:
        final = next((t for t, status in truth[p["num"]] if status in FINAL), end)
        total += math.ceil((min(final, end) - p["shipped_at"]) / timedelta(hours=1)) + 1
    return total / len(parcels)


def report(title: str, parcels: list[dict], result: dict, *, push: bool) -> None:
    stats, n = result["stats"], len(parcels)
    end = START + timedelta(days=DAYS)
    calls = stats["queries"] + stats["subscriptions"]
    delays, unseen, brief = stall_delays(parcels, result["truth"], result["queries"], end,
                                         DEFAULT_POLICY.stall_margin + result["step"])
    print(f"\n== {title}: {n} parcels, {DAYS} simulated days in {result['seconds']:.0f}s")
    print(f"API calls per parcel: {calls / n:.2f} (queries {stats['queries'] / n:.2f}, "
          f"subscriptions {stats['subscriptions'] / n:.2f}); fixed hourly poll: "
          f"{hourly_calls(parcels, result['truth'], end):.0f}")
    print(f"answers {stats['answers']}; pushes sent {stats['pushes_sent']}, failed {stats['pushes_failed']}")
    print(f"30-minute lock violations: {stats['lock_violations']}")
    if push:
        print("stalls: pushes carry every scan as it happens, so a stall shows the moment its threshold passes "
              "(classification reads last_event_at); safety-net queries only cover lost pushes")
    elif delays:
        p95 = quantiles(delays, n=20)[-1] if len(delays) > 1 else delays[0]
        print(f"stalls crossed: {len(delays) + unseen + brief}; seen by a query after crossing: median "
              f"{median(delays):.2f} h, p95 {p95:.2f} h, max {max(delays):.2f} h; "
              f"not queried before the parcel moved on / the fortnight ended: {unseen}; "
              f"over within {DEFAULT_POLICY.stall_margin + result['step']} of the threshold (unobservable): {brief}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parcels", type=int, default=20_000)
    parser.add_argument("--push-parcels", type=int, default=5_000)
    parser.add_argument("--step-minutes", type=float, default=10)
    parser.add_argument("--only", choices=("poll", "push"))
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per push otherwise
    step = timedelta(minutes=args.step_minutes)
    rng = random.Random(11)
    shipped = lambda i: START + timedelta(minutes=rng.uniform(0, 48 * 60))  # noqa: E731
    if args.only != "push":
        parcels = fleet(args.parcels, shipped=shipped, rng=rng)
        report("polling only", parcels, run(parcels, push=False, step=step), push=False)
    if args.only != "poll":
        parcels = fleet(args.push_parcels, shipped=shipped, rng=rng)
        report("push + safety-net polling", parcels, run(parcels, push=True, step=step), push=True)


if __name__ == "__main__":
    main()
