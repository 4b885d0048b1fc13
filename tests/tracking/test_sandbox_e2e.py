"""End to end over real HTTP: a Taobao export imported, the sandbox courier (Kuaidi100 protocol)
queried through the real adapter by ``tracker poll --once``, the sandbox clock moved on, and
the parcels polled again until delivered; then pushes from the sandbox to the hook."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from werkzeug.serving import make_server

from couriers.sandbox import SandboxServer
from couriers.timeparse import CHINA
from exportfiles import taobao_order_row, write_taobao_orders_csv
from tracker import config
from tracker.cli import main
from tracker.models import TrackingEvent
from tracker.polling import Poller, provider_for
from tracker.web import create_app
from tracking_helpers import SALT, shipment

WAYBILLS = {"73100000000101": "zhongtong", "YT7500000000102": "yuantong", "YT7500000000103": "yuantong"}
CARRIER_NAMES = {"zhongtong": "中通快递", "yuantong": "圆通速递"}
PHONE = "13800138000"


@pytest.fixture
def sandbox():
    with SandboxServer(seed=3, push_timeout=5.0) as server:  # real clock: moves with ours, plus advances
        yield server


def _settings(engine, tmp_path, sandbox: SandboxServer, **more) -> config.Settings:
    settings = config.Settings(instance_dir=tmp_path / "instance", provider="sandbox", sandbox_url=sandbox.url,
                               provider_qps=0.0, kuaidi100_salt=SALT,
                               database_url=engine.url.render_as_string(hide_password=False), **more)
    config.override(settings)
    return settings


def _import(tmp_path, shipped_at: datetime) -> None:
    rows = [taobao_order_row(物流单号=num, 物流公司=CARRIER_NAMES[com], 联系手机=PHONE,
                             发货时间=f"{shipped_at.astimezone(CHINA):%Y-%m-%d %H:%M:%S}")
            for num, com in WAYBILLS.items()]
    path = write_taobao_orders_csv(tmp_path / "ExportOrderList202611120930.csv", rows)
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 0, result.output


def _register(sandbox: SandboxServer, shipped_at: datetime) -> None:
    sandbox.control.register({"num": num, "com": com, "phone": PHONE, "shipped_at": shipped_at,
                              "from_province": "广东", "to_province": "浙江", "scenario": "delivered"}
                             for num, com in WAYBILLS.items())


def test_import_poll_advance_poll_until_delivered(engine, tmp_path, sandbox) -> None:
    settings = _settings(engine, tmp_path, sandbox)
    shipped_at = datetime.now(UTC) - timedelta(days=1)
    _import(tmp_path, shipped_at)
    _register(sandbox, shipped_at)

    first = CliRunner().invoke(main, ["poll", "--once"])
    assert first.exit_code == 0, first.output
    assert "查询 polled 3" in first.output and "错误 errors: 无 none" in first.output
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(TrackingEvent)).scalar_one()
    assert stored >= 3 and shipment(engine, "73100000000101").status in ("picked_up", "in_transit")

    sandbox.control.advance(timedelta(days=12))
    later = datetime.now(UTC) + timedelta(days=12)
    with Poller(provider_for(settings), name="sandbox") as poller:
        for step in range(12 * 24):  # the worker's minute job, seen every hour of the simulated days
            poller.poll_due(engine, owner="e2e", now=lambda: later + timedelta(hours=step))
    for num in WAYBILLS:
        parcel = shipment(engine, num)
        assert parcel.done and parcel.status == "delivered", (num, parcel.status, parcel.last_error)
    stats = sandbox.control.stats()
    assert stats["lock_violations"] == 0 and stats["queries"] <= 3 * 8


def test_push_from_the_sandbox_reaches_the_hook(engine, tmp_path, sandbox) -> None:
    app_server = None
    try:
        settings = _settings(engine, tmp_path, sandbox, push_enabled=True)
        app_server = make_server("127.0.0.1", 0, create_app(settings, engine=engine), threaded=True)
        threading.Thread(target=app_server.serve_forever, daemon=True).start()
        settings = _settings(engine, tmp_path, sandbox, push_enabled=True,
                             callback_base_url=f"http://127.0.0.1:{app_server.server_port}")
        shipped_at = datetime.now(UTC) - timedelta(hours=2)
        _import(tmp_path, shipped_at)
        _register(sandbox, shipped_at)
        with Poller(provider_for(settings), name="sandbox") as poller:
            report = poller.subscribe_once(engine, owner="e2e")
        assert report.subscribed == 3 and report.errors == {}
        sandbox.control.advance(timedelta(days=12), step=timedelta(hours=6))
        for num in WAYBILLS:
            parcel = shipment(engine, num)
            assert parcel.done and parcel.status == "delivered" and parcel.poll_count == 0
        assert sandbox.control.stats()["queries"] == 0
    finally:
        if app_server is not None:
            app_server.shutdown()


@pytest.mark.parametrize("fault", [{"down": True}, {"http_500_rate": 1.0}, {"html_rate": 1.0}, {"garbled_rate": 1.0}],
                         ids=["down", "http-500", "html", "garbled"])
def test_sandbox_faults_are_recorded_and_polling_recovers(engine, tmp_path, sandbox, fault) -> None:
    settings = _settings(engine, tmp_path, sandbox)
    shipped_at = datetime.now(UTC) - timedelta(days=1)
    _import(tmp_path, shipped_at)
    _register(sandbox, shipped_at)
    sandbox.control.faults(**fault)
    now = datetime.now(UTC)
    with Poller(provider_for(settings), name="sandbox", sleep=lambda _s: None) as poller:
        report = poller.poll_due(engine, owner="e2e", now=lambda: now)
        assert report.errors and report.polled == 0
        assert shipment(engine, "YT7500000000102").last_error
        sandbox.control.faults()
        healed = poller.poll_due(engine, owner="e2e", now=lambda: now + timedelta(hours=3))
    assert healed.polled == 3 and healed.errors == {}
    assert all(shipment(engine, num).error_count == 0 for num in WAYBILLS)
