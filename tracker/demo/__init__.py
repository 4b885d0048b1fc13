"""``tracker demo``: the week after 双十一 at four shops, on its own SQLite file, in under a minute.

    instance/demo.sqlite3, fresh each run (the configured database is never touched), and
    instance/demo/policy.toml: the shipped policy plus the typhoon's disruption notice
      ─► dataset.build ─► dataset.write: the platforms' export files in instance/demo/
      ─► ingest.import_file, one file at a time: what `tracker import` runs
      ─► the sandbox courier on a thread, its clock at NOW, every parcel's journey registered
      ─► the poller asks it about every waybill through the real Kuaidi100 adapter, over HTTP
      ─► classify_orders at NOW ─► exception cases; a lead has handed some out this morning
      ─► one account per role, passwords printed once
      ─► the web app (werkzeug, threaded), its clock running on from NOW with the sandbox's,
         and a refresher thread polling what falls due (a reship, say) and reclassifying;
         Ctrl-C or SIGTERM stops all of it
"""
from __future__ import annotations

import contextlib
import logging
import random
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from unicodedata import east_asian_width

import click
from sqlalchemy import Engine, func, select
from werkzeug.serving import BaseWSGIServer, make_server

from couriers.sandbox import SandboxServer
from couriers.timeparse import CHINA
from tracker import config, db, policy, schedule, triage, users
from tracker.cases import classify_orders
from tracker.classify import CORE_KINDS, KINDS
from tracker.demo import dataset
from tracker.demo.dataset import NOW
from tracker.ingest import ImportSummary, import_file
from tracker.models import ExceptionCase, Shipment
from tracker.polling import Poller, PollReport, provider_for

log = logging.getLogger(__name__)

OWNER = "demo"
CONCURRENCY = 8
BATCH = 500
REFRESH_SECONDS = 60
STEPS = 7
# username, role, display name: one account per role, two agents to share the queue.
ACCOUNTS = (("agent", "agent", "王小美"), ("agent2", "agent", "李晓明"), ("lead", "lead", "张敏"),
            ("finance", "finance", "陈静"), ("admin", "admin", "管理员"))


@dataclass(frozen=True)
class Options:
    orders: int = 4000
    seed: int = 2026
    host: str = "127.0.0.1"
    port: int = 5000
    sandbox_port: int = 0  # 0: any free port
    serve: bool = True


class _Steps:
    """Numbered progress lines, each with its time."""

    def __init__(self) -> None:
        self.n = 0
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.n += 1
        click.echo(f"[{self.n}/{STEPS}] {title} …")
        began = time.perf_counter()
        yield
        click.echo(f"      ✓ {time.perf_counter() - began:.1f}s")


def run(options: Options, *, show_import: Callable[[ImportSummary], None]) -> None:
    """Build the demo, then serve it until interrupted (``options.serve``)."""
    if options.serve:
        _check_port(options.host, options.port)
    steps = _Steps()
    base = config.get()
    folder = base.instance_dir / "demo"
    settings = replace(base, database_url=f"sqlite:///{base.instance_dir / 'demo.sqlite3'}", provider="sandbox",
                       provider_qps=0.0, push_enabled=False, policy_file=str(folder / "policy.toml"))
    click.echo(f"售后物流异常跟踪 · 演示 demo — 模拟时间 simulated now {NOW.astimezone(CHINA):%Y-%m-%d %H:%M} "
               f"(北京时间 China time) · {settings.effective_database_url}")
    with steps.step("生成数据 · generating the dataset"):
        engine, rules = _fresh(settings, folder)
        data = dataset.build(options.orders, options.seed)
        files = dataset.write(data, folder)
        click.echo(f"      {len(data.orders)} 订单 orders · {len(dataset.SHOPS)} 店铺 shops · "
                   f"{len(data.parcels)} 运单 waybills · {data.refunds} 退款 refunds · "
                   f"台风 typhoon notice {dataset.TYPHOON['name']} → {folder}")
    with steps.step("导入 · importing the export files (as `tracker import`)"):
        for i, export in enumerate(files):
            if i == 0 or files[i - 1].shop is not export.shop:
                click.echo(f"      {export.shop.name} · {export.path.parent.relative_to(base.instance_dir)}/")
            show_import(import_file(engine, export.path, shop=export.shop.name,
                                    max_bytes=settings.import_max_bytes, reports_dir=folder / "import-reports",
                                    now=NOW))
    with SandboxServer(seed=options.seed, clock_start=NOW, mode="manual", port=options.sandbox_port) as sandbox:
        with steps.step("启动模拟快递 · starting the sandbox courier (Kuaidi100 protocol)"):
            settings = replace(settings, sandbox_url=sandbox.url)
            config.override(settings)
            registered = sandbox.control.register(data.parcels)
            click.echo(f"      {sandbox.url} · {registered} 运单 parcels registered · seed {options.seed}")
        with Poller(provider_for(settings), name="sandbox", concurrency=CONCURRENCY,
                    policy=schedule.Policy(**rules.schedule_overrides())) as poller:
            with steps.step("查询物流 · polling every waybill through the Kuaidi100 adapter"):
                _poll(engine, poller)
            with steps.step("判定异常 · classifying"):
                report = classify_orders(engine, rules, NOW, only_changed=False)
                _show_kinds(report.found)
            with steps.step("创建账号 · demo accounts"):
                accounts = _accounts(engine)
                _morning(engine, accounts, options.seed)
            click.echo(f"演示数据已就绪 · demo ready in {time.perf_counter() - steps.started:.1f}s")
            if options.serve:
                with steps.step("启动网页 · web app"):
                    server, clock = _server(options, settings, engine, rules, sandbox)
                _serve(server, engine, poller, rules, clock)
    engine.dispose()
    if options.serve:
        click.echo("已停止 · stopped")


def _check_port(host: str, port: int) -> None:
    """Fail before the minute of building, not after it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise click.UsageError(f"{host}:{port}: {err.strerror}; choose another with --port") from err


def _fresh(settings: config.Settings, folder: Path) -> tuple[Engine, policy.Policy]:
    """A new demo database and folder; the demo's policy file (typhoon notice included)."""
    path = Path(settings.effective_database_url.removeprefix("sqlite:///"))
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    notice = dataset.TYPHOON
    Path(settings.policy_file).write_text(
        policy.DEFAULT_FILE.read_text(encoding="utf-8")
        + "\n# 演示 demo: the typhoon of the demo week.\n[[disruptions]]\n"
        + "".join(f"{key} = {_toml(value)}\n" for key, value in notice.items()), encoding="utf-8")
    engine = db.make_engine(settings.effective_database_url)
    db.upgrade(engine)
    return engine, policy.load(settings.policy_file)


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _poll(engine: Engine, poller: Poller) -> PollReport:
    """``poll --once`` at NOW, batch by batch, with a progress bar on a terminal."""
    with engine.connect() as conn:
        due = conn.execute(select(func.count()).select_from(Shipment).where(Shipment.next_poll_at <= NOW)).scalar()
    total = PollReport()
    bar = (click.progressbar(length=due, label="      查询 polling", file=sys.stderr) if sys.stderr.isatty()
           else contextlib.nullcontext())
    with bar as progress:
        while True:
            report = poller.poll_once(engine, now=NOW, owner=OWNER, batch_size=BATCH)
            total.add(report)
            if progress is not None:
                progress.update(report.leased)
            if report.leased < BATCH or report.skipped:
                break
    errors = ", ".join(f"{kind} {n}" for kind, n in total.errors.most_common()) or "无 none"
    click.echo(f"      查询 polled {total.polled} · 新轨迹 events {total.events_added} · 签收 delivered "
               f"{total.delivered} · 无结果 no trace yet {total.no_trace} · 请求 calls {total.calls} · 错误 errors {errors}")
    return total


def _pad(text: str, width: int) -> str:
    """Left-justify for a terminal, where a Chinese character takes two columns."""
    return text + " " * max(0, width - sum(2 if east_asian_width(ch) in "WF" else 1 for ch in text))


def _show_kinds(found: Counter) -> None:
    for kind in (*CORE_KINDS, *(k for k in KINDS if k not in CORE_KINDS)):
        if found[kind]:
            click.echo(f"      {_pad(KINDS[kind].name, 18)}{kind:<28}{found[kind]:>6}")
    click.echo(f"      {_pad('合计 total', 46)}{found.total():>6}")


def _accounts(engine: Engine) -> dict[str, int]:
    """One account per role with a fresh random password, shown once."""
    ids = {}
    click.echo(f"      {_pad('账号 user', 12)}{_pad('角色 role', 18)}密码 password")
    with engine.begin() as conn:
        for username, role, name in ACCOUNTS:
            password = secrets.token_urlsafe(9)
            ids[username] = users.add(conn, username, role, password, display_name=name, actor="demo")
            click.echo(f"      {username:<12}{_pad(users.ROLE_NAMES[role] + ' ' + role, 18)}{password}")
    return ids


def _morning(engine: Engine, accounts: dict[str, int], seed: int) -> None:
    """The lead has handed out the worst cases this morning; the agents started on some."""
    rng = random.Random(f"demo-morning/{seed}")
    lead = triage.Actor(accounts["lead"], "lead")
    cases = ExceptionCase.__table__.c
    with engine.begin() as conn:
        urgent = conn.execute(select(cases.id).where(cases.status == "open", cases.severity >= 3)
                              .order_by(cases.id)).scalars().all()
        handed = [case for case in urgent if rng.random() < 0.4]
        for i, agent in enumerate(("agent", "agent2")):
            mine = handed[i::2]
            if mine:
                triage.assign(conn, mine, accounts[agent], by=lead, now=NOW - timedelta(minutes=50))
                started = [case for case in mine if rng.random() < 0.3]
                if started:
                    triage.set_status(conn, started, "in_progress", by=triage.Actor(accounts[agent], agent),
                                      now=NOW - timedelta(minutes=20))
    click.echo(f"      主管已分派 lead assigned {len(handed)} 个紧急异常 urgent cases to agent, agent2")


class _Clock:
    """The demo's time: NOW when serving starts, then moving with the wall clock."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return NOW + timedelta(seconds=time.monotonic() - self._started)


def _server(options: Options, settings: config.Settings, engine: Engine, rules: policy.Policy,
            sandbox: SandboxServer) -> tuple[BaseWSGIServer, _Clock]:
    from tracker.web import create_app

    clock = _Clock()
    sandbox.control.set_clock(NOW, mode="real")  # the courier's time runs on with ours
    server = make_server(options.host, options.port, create_app(settings, engine=engine, clock=clock, policy=rules),
                         threaded=True)
    click.echo(f"      http://{options.host}:{server.server_port}/  — Ctrl-C 停止 stops the web app and the courier")
    return server, clock


def _serve(server: BaseWSGIServer, engine: Engine, poller: Poller, rules: policy.Policy, clock: _Clock) -> None:
    """Serve until Ctrl-C or SIGTERM; the refresher thread stops with it."""
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(REFRESH_SECONDS):
            try:
                report = poller.poll_due(engine, owner=OWNER, now=clock)
                if report.polled:
                    classify_orders(engine, rules, clock(), only_changed=False)
            except Exception:  # a failed round is logged; the next one tries again
                log.exception("demo refresh failed")

    def terminate(_signum, _frame) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, terminate) for sig in (signal.SIGINT, signal.SIGTERM)}
    refresher = threading.Thread(target=refresh, name="demo-refresh", daemon=True)
    refresher.start()
    try:
        server.serve_forever()  # returns on KeyboardInterrupt (werkzeug catches it) and closes the socket
    finally:
        click.echo("\n正在停止 · stopping …")
        stop.set()
        refresher.join(REFRESH_SECONDS)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
