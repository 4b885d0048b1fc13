"""Web benchmark: the queue and order pages under 20 signed-in agents, against gunicorn on loopback.

    python bench/bench_web.py [--only sqlite|pg] [--duration 60] [--warmup 15] [--users 20]
                              [--think MS] [--workers 5] [--threads 1] [--skip VIEW] [--serial N]
                              [--compare] [--rebuild] [--pg URL]

Target (issue 5): with 1,000,000 orders and 100,000 open cases, queue page p95 ≤ 200 ms and
order page p95 ≤ 150 ms at 20 concurrent users, on SQLite and on PostgreSQL.

    web_dataset.ensure ─► bench/out/web.sqlite3 | PostgreSQL "bench_web" (loaded once, then a
        copy of the snapshot upgraded to the migrations' head: see web_dataset)
    gunicorn 'tracker.web:create_app()' on 127.0.0.1 (started here, stopped at the end, also on
        Ctrl-C; its log in bench/out/gunicorn.log; on PostgreSQL a 30 s statement_timeout, so a
        runaway query fails its request instead of holding a worker for minutes)
    one /login per virtual user (CSRF token from <meta name="csrf-token">) ─► session cookies
    --serial: each page type alone, one request at a time (service times, the floor)
    wrk -t USERS -c USERS -s bench/wrk_paths.lua: each user loops over a shuffled mix of queue
        views (default, pages 2–5, by kind / carrier / province, search by order id, waybill or
        phone tail, sorted by deadline) and order pages of orders with cases, with no pause
        (--think 0: always one request in flight per user, the strict reading of "20
        concurrent users") or a mean pause; a warm-up run first, then the measured run; latency
        per page type from wrk_paths.lua's clock
    a table per database: requests, p50/p95/p99/max, req/s, errors, target, ✓/✗; the CPU of
        the server (gunicorn, and PostgreSQL's backends), of wrk, and of other processes — on a
        shared machine the latter inflate every latency, and the table says so

wrk, not a Python client: on a 2-core box the load tool competes with gunicorn for the CPU;
wrk costs ~0.2 ms of CPU per request where an asyncio + httpx client costs ~1.5 ms.
``--compare`` runs a short round per gunicorn setting (sync workers vs threads).
"""
from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import urlencode

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import web_dataset

from tracker import db

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_web"
SQLITE_DEFAULT = web_dataset.OUT / "web.sqlite3"
TARGETS_MS = {"queue": 200, "order": 150}
USER_AGENT = "bench-web/1"
# page type: (share of the views, what a request of that type asks for)
MIX = {
    "queue default": 20,  # /queue/
    "queue page 2-5": 10,
    "queue by kind": 10,
    "queue by carrier": 6,
    "queue by province": 6,
    "queue q=order id": 5,
    "queue q=waybill": 5,
    "queue q=phone tail": 4,
    "queue sort=deadline": 6,
    "order page": 28,
}
STATEMENT_TIMEOUT_S = 30  # PostgreSQL: a runaway query fails its request instead of running on for minutes
CONFIGS = ((5, 1), (3, 4), (2, 8))  # --compare: (workers, threads) on 2 cores; threads > 1 = gthread


@dataclass
class Row:
    page: str
    latencies_us: list[int]
    errors: int
    seconds: float

    def pct(self, p: float) -> float:
        data = self.latencies_us
        if not data:
            return float("nan")
        return data[max(0, math.ceil(p / 100 * len(data)) - 1)] / 1000  # nearest rank

    @property
    def target(self) -> int:
        return TARGETS_MS["order" if self.page.startswith("order") else "queue"]


# ---------------------------------------------------------------- the server


class Server:
    """gunicorn with the app factory, its settings from the environment."""

    def __init__(self, url: str, port: int, workers: int, threads: int):
        self.url, self.port, self.workers, self.threads = url, port, workers, threads
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.log = web_dataset.OUT / "gunicorn.log"

    def __enter__(self) -> Self:
        instance = web_dataset.OUT / "instance"
        instance.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env.update(TRACKER_DATABASE_URL=self.url, TRACKER_INSTANCE_DIR=str(instance),
                   TRACKER_SECRET_KEY=secrets.token_hex(32), TRACKER_LOG_LEVEL="WARNING",
                   PGOPTIONS=f"-c statement_timeout={STATEMENT_TIMEOUT_S}s")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        cmd = [str(gunicorn), "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
               "--threads", str(self.threads), "--backlog", "256", "--log-level", "warning",
               "--timeout", "60", "tracker.web:create_app()"]
        with open(self.log, "w") as log:  # workers' tracebacks land here, not in the table
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.base + "/login", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise SystemExit("gunicorn did not answer within 60 s")

    def __exit__(self, *_exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # quick shutdown: the load is over
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.url.startswith("postgresql"):  # a killed worker's query runs on until it ends
            engine = db.make_engine(self.url)
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            engine.dispose()

    def cpu_seconds(self) -> dict[int, float]:
        """CPU so far of each process serving: gunicorn and its workers (not reaped until the
        end), and on PostgreSQL the backends connected to the bench database."""
        assert self.proc is not None
        pids = [self.proc.pid, *map(int, Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split())]
        if self.url.startswith("postgresql"):
            engine = db.make_engine(self.url)
            with engine.connect() as conn:
                pids += [r[0] for r in conn.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))]
            engine.dispose()
        return {pid: _proc_cpu(pid) for pid in pids}

    @property
    def setting(self) -> str:
        kind = "gthread" if self.threads > 1 else "sync"
        return f"{self.workers} {kind} workers × {self.threads} thread{'s' if self.threads > 1 else ''}"


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> int:
    """Busy jiffies of the whole machine so far (all cores): other processes share them."""
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(cpu) - cpu[3] - cpu[4]  # less idle and iowait


# ---------------------------------------------------------------- sessions and paths


def sign_in(base: str, usernames: list[str]) -> list[str]:
    """One Cookie header per virtual user, each from a real /login (CSRF token from the page)."""
    cookies = []
    for name in usernames:
        with httpx.Client(base_url=base, headers={"User-Agent": USER_AGENT}, timeout=30) as client:
            page = client.get("/login")
            token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
            if token is None:
                raise SystemExit("no <meta name=\"csrf-token\"> on /login")
            done = client.post("/login", data={"username": name, "password": web_dataset.PASSWORD,
                                               "csrf_token": token.group(1)})
            if done.status_code != 302:
                raise SystemExit(f"sign-in of {name} failed: HTTP {done.status_code}")
            cookies.append("; ".join(f"{c.name}={c.value}" for c in client.cookies.jar))
    return cookies


def path_mix(url: str, size: int = 20_000, seed: int = 5, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """A shuffled list of (page type, path) in MIX proportions, from real ids of the dataset."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        open_cases = ("SELECT {cols} FROM exception_cases c {join} "
                      "WHERE c.status IN ('open', 'in_progress') AND c.id % 47 = 0")
        orders = [r[0] for r in conn.execute(text(open_cases.format(cols="c.order_id", join="")))]
        order_ids = [r[0] for r in conn.execute(text(open_cases.format(
            cols="o.platform_order_id", join="JOIN orders o ON o.id = c.order_id")))]
        tails = [r[0] for r in conn.execute(text(open_cases.format(
            cols="o.phone_tail", join="JOIN orders o ON o.id = c.order_id")))]
        waybills = [r[0] for r in conn.execute(text(open_cases.format(
            cols="s.waybill", join="JOIN shipments s ON s.id = c.shipment_id")))]
    engine.dispose()
    kinds = list(web_dataset.CASE_KINDS)
    carriers = [c[0] for c in web_dataset.CARRIERS] + ["jd"]
    provinces = [p[0] for p in web_dataset.PLACES]
    rng = random.Random(seed)
    make = {
        "queue default": lambda: "/queue/",
        "queue page 2-5": lambda: "/queue/?" + urlencode({"page": rng.randint(2, 5)}),
        "queue by kind": lambda: "/queue/?" + urlencode({"kind": rng.choice(kinds)}),
        "queue by carrier": lambda: "/queue/?" + urlencode({"carrier": rng.choice(carriers)}),
        "queue by province": lambda: "/queue/?" + urlencode({"province": rng.choice(provinces)}),
        "queue q=order id": lambda: "/queue/?" + urlencode({"q": rng.choice(order_ids)}),
        "queue q=waybill": lambda: "/queue/?" + urlencode({"q": rng.choice(waybills)}),
        "queue q=phone tail": lambda: "/queue/?" + urlencode({"q": rng.choice(tails)}),
        "queue sort=deadline": lambda: "/queue/?" + urlencode({"sort": "deadline"}),
        "order page": lambda: f"/orders/{rng.choice(orders)}",
    }
    views = [v for v in MIX if v not in skip]
    kinds_of_view = rng.choices(views, [MIX[v] for v in views], k=size)
    return [(kind, make[kind]()) for kind in kinds_of_view]


# ---------------------------------------------------------------- the load


def serial(base: str, cookie: str, mix: list[tuple[str, str]], n: int) -> str:
    """Each page type alone, one request at a time: its service time on an otherwise idle
    server, the floor under the latencies of the load (and less sensitive to other processes)."""
    lines = [f"one user, one request at a time ({n} of each): ms", f"{'page':<20} {'min':>7} {'p50':>7} {'max':>7}"]
    with httpx.Client(base_url=base, headers={"Cookie": cookie, "User-Agent": USER_AGENT}, timeout=120) as client:
        for kind in dict.fromkeys(k for k, _p in mix):
            took = []
            for path in [p for k, p in mix if k == kind][:n]:
                started = time.perf_counter()
                status = client.get(path).status_code
                took.append((time.perf_counter() - started) * 1000 if status == 200 else math.inf)
            took.sort()
            lines.append(f"{kind:<20} {took[0]:>7.1f} {took[len(took) // 2]:>7.1f} {took[-1]:>7.1f}")
    return "\n".join(lines)



def run_wrk(base: str, users: int, seconds: int, cookies_file: Path, paths_file: Path, out: Path,
            think_ms: int) -> dict:
    env = dict(os.environ, WRK_COOKIES=str(cookies_file), WRK_PATHS=str(paths_file), WRK_OUT=str(out),
               WRK_THINK_MS=str(think_ms))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["wrk", "-t", str(users), "-c", str(users), "-d", f"{seconds}s", "--timeout", "10s",
                    "-s", str(ROOT / "bench" / "wrk_paths.lua"), base], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    samples: dict[str, list[int]] = {}
    errors: dict[str, int] = {}
    summary = {}
    for line in out.read_text().splitlines():
        if line.startswith("#summary"):
            dur, reqs, conn, read, write, status, timeout, _bytes = map(int, line.split("\t")[1:])
            summary = {"seconds": dur / 1e6, "requests": reqs, "socket_errors": conn + read + write + timeout}
            continue
        kind, status, us = line.split("\t")
        samples.setdefault(kind, []).append(int(us))
        errors[kind] = errors.get(kind, 0) + (status != "200")
    summary["wrk_cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    summary["samples"], summary["errors"] = samples, errors
    return summary


def measure(server: Server, args, cookies_file: Path, paths_file: Path, seconds: int, tag: str) -> dict:
    out = web_dataset.OUT / f"wrk-{tag}.tsv"
    if args.warmup:
        run_wrk(server.base, args.users, args.warmup, cookies_file, paths_file, out, args.think)
    cpu0, busy0, load0 = server.cpu_seconds(), _machine_busy(), os.getloadavg()[0]
    result = run_wrk(server.base, args.users, seconds, cookies_file, paths_file, out, args.think)
    cpu1, busy1 = server.cpu_seconds(), _machine_busy()
    wall = result["seconds"]
    result["server_cpu"] = sum(t - cpu0.get(pid, 0.0) for pid, t in cpu1.items()) / wall
    result["machine_cpu"] = (busy1 - busy0) / os.sysconf("SC_CLK_TCK") / wall
    result["wrk_cpu"] /= wall
    result["others_cpu"] = max(0.0, result["machine_cpu"] - result["server_cpu"] - result["wrk_cpu"])
    result["load_before"] = load0
    return result


def rows_of(result: dict) -> list[Row]:
    seconds = result["seconds"]
    rows = [Row(kind, sorted(result["samples"][kind]), result["errors"].get(kind, 0), seconds)
            for kind in MIX if kind in result["samples"]]
    queue = [r for r in rows if r.page.startswith("queue")]
    rows.append(Row("queue (all views)", sorted(x for r in queue for x in r.latencies_us),
                    sum(r.errors for r in queue), seconds))
    return rows


def table(title: str, result: dict, *, pg: bool) -> str:
    header = (f"{'page':<20} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} "
              f"{'req/s':>6} {'errors':>6} {'target':>7}  ok")
    lines = [title, header]
    for row in rows_of(result):
        n = len(row.latencies_us)
        p95 = row.pct(95)
        ok = "✓" if n and not row.errors and p95 <= row.target else "✗"
        lines.append(f"{row.page:<20} {n:>8} {row.pct(50):>7.1f} {p95:>7.1f} {row.pct(99):>7.1f} "
                     f"{row.latencies_us[-1] / 1000 if n else float('nan'):>7.1f} {n / row.seconds:>6.1f} "
                     f"{row.errors:>6} {'≤' + str(row.target):>7}  {ok}")
    lines.append(f"total {result['requests']:,} requests in {result['seconds']:.0f} s "
                 f"({result['requests'] / result['seconds']:.0f} req/s), socket errors/timeouts "
                 f"{result['socket_errors']}; server CPU per request "
                 f"{result['server_cpu'] * result['seconds'] / max(1, result['requests']) * 1000:.1f} ms")
    lines.append(f"CPU in cores: server {result['server_cpu']:.2f} (gunicorn{' + PostgreSQL backends' if pg else ''}), "
                 f"wrk {result['wrk_cpu']:.2f}, other processes {result['others_cpu']:.2f}, machine "
                 f"{result['machine_cpu']:.2f} of {os.cpu_count()}; load average before {result['load_before']:.1f}")
    if result["others_cpu"] > 0.25:
        lines.append(f"!! other processes took {result['others_cpu']:.2f} cores during the run: the latencies "
                     "include waiting for them; rerun on a quiet machine for the figures to keep")
    return "\n".join(lines)


def verdict(result: dict) -> str:
    worst = {}
    for row in rows_of(result):
        if row.page in ("queue (all views)", "order page"):
            worst[row.page] = row.pct(95)
    return (f"queue p95 {worst['queue (all views)']:.0f} ms, order p95 {worst['order page']:.0f} ms, "
            f"{result['requests'] / result['seconds']:.0f} req/s; CPU: server {result['server_cpu']:.2f}, "
            f"others {result['others_cpu']:.2f}")


# ---------------------------------------------------------------- main


def bench_database(name: str, url: str, args) -> None:
    started = time.perf_counter()
    data = web_dataset.ensure(url, rebuild=args.rebuild, orders=args.orders, open_cases=args.open_cases, log=lambda m: print(f"  [{name}] {m}", flush=True))
    how = f"built in {data.build_seconds:.0f} s" if data.build_seconds is not None else "reused"
    print(f"\n== {name}: dataset {how} (generated {data.built_at}); "
          + ", ".join(f"{t} {n:,}" for t, n in data.counts.items()), flush=True)
    if name == "sqlite":
        print(f"   file size {Path(url.split('///', 1)[1]).stat().st_size / 2**20:,.0f} MiB")
    staff = [f"bench_agent{i:02d}" for i in range(1, web_dataset.AGENTS + 1)]
    staff += [f"bench_lead{i:02d}" for i in range(1, web_dataset.LEADS + 1)]
    usernames = [staff[i % len(staff)] for i in range(args.users)]
    paths_file = web_dataset.OUT / f"paths-{name}.tsv"
    mix = path_mix(url, skip=tuple(args.skip))
    paths_file.write_text("".join(f"{k}\t{p}\n" for k, p in mix))
    cookies_file = web_dataset.OUT / f"cookies-{name}.txt"
    configs = CONFIGS if args.compare else ((args.workers, args.threads),)
    for workers, threads in configs:
        with Server(url, args.port, workers, threads) as server:
            cookies = sign_in(server.base, usernames)
            cookies_file.write_text("\n".join(cookies) + "\n")
            if args.serial and not args.compare:
                print("\n" + serial(server.base, cookies[0], mix, args.serial), flush=True)
            seconds = args.compare_duration if args.compare else args.duration
            result = measure(server, args, cookies_file, paths_file, seconds, name)
        think = f", {args.think} ms think time" if args.think else ", no think time"
        think += f", without {', '.join(args.skip)}" if args.skip else ""
        title = f"{name}: {server.setting}, {args.users} users{think}, {seconds} s after a {args.warmup} s warm-up"
        print("\n" + (f"{title}: {verdict(result)}" if args.compare else table(title, result, pg=name == "pg")), flush=True)
    if args.compare:
        print("\n(--compare: rerun without it, with the best --workers/--threads, for the full table)")
    print(f"   [{name}] {time.perf_counter() - started:.0f} s in all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("sqlite", "pg"))
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL URL (database created if missing)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of measured load per database")
    parser.add_argument("--warmup", type=int, default=15, help="seconds of load before measuring")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--think", type=int, default=0, metavar="MS",
                        help="mean pause of a user between requests (0: every user always has one in flight)")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (2 × cores + 1)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (> 1: gthread)")
    parser.add_argument("--skip", action="append", default=[], choices=list(MIX), metavar="VIEW",
                        help="leave a page type out of the mix (repeatable), e.g. while it is being fixed")
    parser.add_argument("--serial", type=int, default=10, metavar="N",
                        help="first N requests of each page type one at a time (0: skip)")
    parser.add_argument("--compare", action="store_true", help="short rounds over worker/thread settings")
    parser.add_argument("--compare-duration", type=int, default=20)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--rebuild", action="store_true", help="generate the datasets anew")
    parser.add_argument("--orders", type=int, default=web_dataset.ORDERS, help="dataset size (smoke runs)")
    parser.add_argument("--open-cases", type=int, default=web_dataset.OPEN_CASES)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    web_dataset.OUT.mkdir(parents=True, exist_ok=True)
    sqlite_file = SQLITE_DEFAULT if args.orders == web_dataset.ORDERS else SQLITE_DEFAULT.with_suffix(f".{args.orders}.sqlite3")
    targets = {"sqlite": f"sqlite:///{sqlite_file}", "pg": args.pg}
    for name, url in targets.items():
        if args.only in (None, name):
            bench_database(name, url, args)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the Server context has stopped gunicorn already
        sys.exit(130)
