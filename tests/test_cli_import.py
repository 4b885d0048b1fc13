"""`tracker import` as a user runs it: summary, exit codes, and a kill mid-import."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select, text

from exportfiles import taobao_item_row, taobao_order_row, write_taobao_items_csv, write_taobao_orders_csv
from tracker import db
from tracker.cli import main
from tracker.models import ImportBatch, Order, OrderItem

ROOT = Path(__file__).resolve().parent.parent


def test_import_prints_a_summary_and_reimport_is_unchanged(tmp_path):
    rows = [taobao_order_row(订单编号=str(3900000000000000000 + i)) for i in range(4)]
    rows.append(taobao_order_row(订单编号=""))
    orders = write_taobao_orders_csv(tmp_path / "ExportOrderList202611120930.csv", rows)
    items = write_taobao_items_csv(tmp_path / "ExportOrderDetailList202611120930.csv",
                                   [taobao_item_row(订单编号="3900000000000000001")])
    runner = CliRunner()
    # Items named first: they still go in after their orders.
    first = runner.invoke(main, ["import", str(items), str(orders)])
    assert first.exit_code == 0, first.output
    assert "新增 created 4" in first.output and "拒绝 rejected 1" in first.output
    assert "第 6 行" in first.output  # the bad row, as a spreadsheet numbers it
    assert first.output.index("ExportOrderList") < first.output.index("ExportOrderDetailList")
    second = runner.invoke(main, ["import", str(orders)])
    assert second.exit_code == 0 and "未变 unchanged 4" in second.output
    with db.engine().connect() as conn:
        assert conn.execute(select(func.count()).select_from(Order)).scalar_one() == 4
        assert conn.execute(select(func.count()).select_from(OrderItem)).scalar_one() == 1


def test_rejected_files_exit_2_with_one_line_and_write_nothing(tmp_path):
    empty = tmp_path / "ExportOrderList.csv"
    empty.write_bytes(b"")
    junk = tmp_path / "photo.xlsx"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    good = write_taobao_orders_csv(tmp_path / "good.csv", [taobao_order_row()])
    result = CliRunner().invoke(main, ["import", str(empty), str(junk), str(good)])
    assert result.exit_code == 2
    rejected = [line for line in result.output.splitlines() if "rejected" in line and "拒绝导入" in line]
    assert len(rejected) == 2
    with db.engine().connect() as conn:  # the good file still went in, the bad ones wrote nothing
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == 1


def test_unknown_platform_is_a_clear_refusal(tmp_path):
    good = write_taobao_orders_csv(tmp_path / "good.csv", [taobao_order_row()])
    result = CliRunner().invoke(main, ["import", "--platform", "kuaishou", str(good)])
    assert result.exit_code == 2 and "kuaishou" in result.output


def test_misspelt_setting_stops_the_command(monkeypatch):
    from tracker import config

    config.override(None)
    monkeypatch.setenv("TRACKER_DATABSE_URL", "sqlite:///x.db")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 2 and "TRACKER_DATABSE_URL" in result.output


def _written(url: str, db_file: Path | None) -> int:
    """How far the import's open transaction has got: WAL bytes, or the transaction's age in ms."""
    if db_file is not None:
        wal = Path(str(db_file) + "-wal")
        return wal.stat().st_size if wal.exists() else 0
    with db.make_engine(url).connect() as conn:
        return int(conn.execute(text(
            "SELECT coalesce(max(extract(epoch FROM now() - xact_start) * 1000), 0) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database() AND xact_start IS NOT NULL"
        )).scalar_one())


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except FileNotFoundError:
        return "zombie"


def test_killed_mid_import_leaves_the_database_as_before(engine, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    db_file = Path(engine.url.database) if engine.dialect.name == "sqlite" else None
    rows = (taobao_order_row(订单编号=str(3900000000000200000 + i)) for i in range(60000))
    path = write_taobao_orders_csv(tmp_path / "ExportOrderList.csv", rows)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=url, TRACKER_INSTANCE_DIR=str(tmp_path / "instance"))
    proc = subprocess.Popen([sys.executable, "-m", "tracker.cli", "import", str(path)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not (helpers := _children(proc.pid)):  # a file this size is parsed in a second process
        assert proc.poll() is None, "the import finished early: " + proc.stdout.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    start = _written(url, db_file)
    while _written(url, db_file) < start + (300_000 if db_file else 200):  # into the writing
        assert proc.poll() is None, "the import finished before it could be killed: " + proc.stdout.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid) for pid in helpers):
        assert time.monotonic() < deadline, "the parsing process outlived the killed import"
        time.sleep(0.1)
    engine.dispose()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Order)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == 0
        if db_file is not None:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
