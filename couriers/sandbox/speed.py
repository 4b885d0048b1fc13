"""``python -m couriers.sandbox.speed``: how many signed queries per second the sandbox answers.

The server runs in its own process (one core, as in the benchmarks); the clients are
``http.client`` over keep-alive, sequential and from a thread pool, plus the real
Kuaidi100 adapter (httpx) sequentially, which is what bounds the poller end to end.
"""
from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import orjson

from couriers.kuaidi100 import Kuaidi100
from couriers.sandbox import DEFAULT_CUSTOMER, DEFAULT_KEY, SandboxClient, wire

CLOCK_START = datetime(2024, 11, 15, tzinfo=UTC)
SHIPPED_AT = CLOCK_START - timedelta(days=2)  # mid-journey: a dozen scans, the usual answer size
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bodies(waybills: list[str]) -> list[bytes]:
    bodies = []
    for num in waybills:
        param = orjson.dumps({"com": "yuantong", "num": num, "resultv2": "4"}).decode()
        sign = wire.query_sign(param, DEFAULT_KEY, DEFAULT_CUSTOMER)
        bodies.append(urlencode({"customer": DEFAULT_CUSTOMER, "sign": sign, "param": param}).encode())
    return bodies


def _sequential(port: int, bodies: list[bytes]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for body in bodies:
        conn.request("POST", "/poll/query.do", body, FORM_HEADERS)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
    conn.close()
    return len(bodies)


def _server_cpu(pid: int) -> float:
    """Seconds of CPU the server process used (Linux /proc): its capacity on one core,
    whatever else shares the machine."""
    ticks = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[11:13]
    return sum(map(int, ticks)) / os.sysconf("SC_CLK_TCK")


def _timed(label: str, count: int, action, server_pid: int) -> None:
    cpu, began = _server_cpu(server_pid), time.perf_counter()
    action()
    elapsed, cpu = time.perf_counter() - began, _server_cpu(server_pid) - cpu
    print(f"{label:<40} {count:>6} req {count / elapsed:>7.0f} req/s  "
          f"server {cpu / count * 1e6:>5.0f} µs CPU/req (≈ {count / max(cpu, 1e-9):>6.0f}/s on one core)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m couriers.sandbox.speed", description=__doc__)
    parser.add_argument("--waybills", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "couriers.sandbox", "--port", str(port),
                               "--clock-start", CLOCK_START.isoformat()])
    try:
        control = SandboxClient(f"http://127.0.0.1:{port}")
        for _ in range(100):
            try:
                control.stats()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        waybills = [f"YT{7500000000000 + i}" for i in range(args.waybills)]
        _timed("register (one request)", len(waybills), lambda: control.register(
            {"num": n, "com": "yuantong", "scenario": "delivered", "shipped_at": SHIPPED_AT} for n in waybills),
            server.pid)
        bodies = _bodies(waybills)
        _timed("http.client sequential, cold journeys", len(bodies), lambda: _sequential(port, bodies), server.pid)
        _timed("http.client sequential, cached journeys", len(bodies), lambda: _sequential(port, bodies), server.pid)
        shards = [bodies[i::args.threads] for i in range(args.threads)]
        with ThreadPoolExecutor(args.threads) as pool:
            _timed(f"http.client, {args.threads} threads", len(bodies),
                   lambda: list(pool.map(lambda shard: _sequential(port, shard), shards)), server.pid)
        provider = Kuaidi100(customer=DEFAULT_CUSTOMER, key=DEFAULT_KEY, base_url=f"http://127.0.0.1:{port}")
        sample = waybills[:5000]
        _timed("Kuaidi100 adapter (httpx), sequential", len(sample),
               lambda: [provider.query(n, "yto") for n in sample], server.pid)
        stats = control.stats()
        print(f"server: {stats['queries']} queries, answers {stats['answers']}, "
              f"lock violations {stats['lock_violations']}, handler errors {stats['handler_errors']}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
