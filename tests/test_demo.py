"""``tracker demo``: real export files, imported, tracked through the sandbox courier over HTTP,
classified, accounts that sign in; and a served demo that answers, then stops on Ctrl-C."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner
from sqlalchemy import func, select

import imports
from tracker import config, db, policy, users
from tracker.classify import CORE_KINDS
from tracker.cli import main
from tracker.models import (
    ExceptionCase,
    ImportBatch,
    Order,
    Refund,
    Shipment,
    TrackingEvent,
)

ORDERS = 120
ACCOUNT = re.compile(r"^\s+(agent2?|lead|finance|admin)\s+\S+ (?:agent|lead|finance|admin)\s+(\S+)$", re.MULTILINE)
FORMATS = {"taobao_orders", "taobao_items", "taobao_refunds", "pdd_orders", "douyin_orders"}


def _demo(*args: str) -> str:
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--orders", str(ORDERS), *args])
    assert result.exit_code == 0, result.output
    return result.output


def _exports(folder: Path) -> dict[Path, imports.ExportInfo]:
    """Every file the demo wrote, re-read as an import would: format, rows, no row errors."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".csv", ".xlsx"):
            with imports.open_export(path) as export:
                records = list(export.records())
            assert records and not [r for r in records if isinstance(r, imports.RowError)], path
            found[path] = export.info
    return found


def test_demo_builds_imports_tracks_and_classifies(tmp_path) -> None:
    instance = config.get().instance_dir
    output = _demo()

    exports = _exports(instance / "demo")
    assert {info.format for info in exports.values()} == FORMATS
    assert all(info.encoding.lower() in ("gbk", "gb18030") for info in exports.values()
               if info.format.startswith("taobao") and info.engine == "csv")
    engine = db.make_engine(f"sqlite:///{instance / 'demo.sqlite3'}")
    with engine.connect() as conn:
        count = lambda what, *where: conn.execute(select(func.count()).select_from(what).where(*where)).scalar()
        assert count(Order) == ORDERS and count(ImportBatch) == len(exports)
        assert count(Refund, Refund.reason.is_not(None)) > 0
        assert count(Shipment) > 0 and count(Shipment, Shipment.poll_count == 0, Shipment.carrier.is_not(None)) == 0
        assert count(TrackingEvent) > count(Shipment)
        for kind in CORE_KINDS:
            assert count(ExceptionCase, ExceptionCase.kind == kind,
                         ExceptionCase.status.in_(("open", "in_progress"))) >= 1, kind
        accounts = dict(ACCOUNT.findall(output))
        assert set(accounts) == {"agent", "agent2", "lead", "finance", "admin"}
        for username, password in accounts.items():
            assert users.authenticate(conn, username, password) is not None, username
    assert policy.load(instance / "demo" / "policy.toml").disruptions[0].reason == "台风"
    assert not (instance / "tracker.sqlite3").exists()  # the configured database is left alone

    engine.dispose()

    _demo("--seed", "7")  # a second run starts from a fresh demo database
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Order)).scalar() == ORDERS
        assert users.authenticate(conn, "agent", accounts["agent"]) is None
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_served_demo_answers_then_stops_on_ctrl_c(tmp_path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_INSTANCE_DIR"] = str(tmp_path / "instance")
    demo = subprocess.Popen([sys.executable, "-m", "tracker.cli", "demo", "--orders", "60", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert demo.poll() is None, demo.communicate()[0]
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the demo did not answer within 60 s"
                time.sleep(0.3)
        assert page.status_code == 200
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=10)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, output
    assert "Traceback" not in output and "已停止 · stopped" in output
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # the port is free again
