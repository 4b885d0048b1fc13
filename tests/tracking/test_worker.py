"""The worker's declarative job table, and the reclassify job doing its work."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from exportfiles import taobao_order_row, write_taobao_orders_csv
from tracker import policy, worker
from tracker.config import Settings
from tracker.ingest import import_file
from tracker.models import ExceptionCase
from tracker.polling import Poller
from tracking_helpers import Courier


def context(engine, poller) -> worker.Context:
    return worker.Context(engine=engine, poller=poller, owner="test", policy=policy.load())


def job_ids(settings: Settings, engine) -> list[str]:
    with Poller(Courier().provider()) as poller:
        return [job.id for job in worker.build_scheduler(settings, context(engine, poller)).get_jobs()]


def test_subscription_job_only_with_push(tmp_path) -> None:
    assert job_ids(Settings(instance_dir=tmp_path), None) == ["poll-due", "reclassify"]
    assert job_ids(Settings(instance_dir=tmp_path, push_enabled=True), None) == [
        "poll-due", "subscribe-new", "reclassify"]


def test_job_ids_are_unique_and_stable() -> None:
    assert [job.id for job in worker.JOBS] == ["poll-due", "subscribe-new", "reclassify"]


def test_reclassify_opens_cases_for_changed_orders(engine, tmp_path: Path) -> None:
    late = taobao_order_row(订单编号="3900000000000000888", 订单状态="买家已付款，等待卖家发货", 物流单号="", 物流公司="",
                            发货时间="", 订单付款时间="2026-10-01 10:00:00", 订单创建时间="2026-10-01 09:59:00")
    import_file(engine, write_taobao_orders_csv(tmp_path / "ExportOrderList.csv", [late]), max_bytes=10**9,
                reports_dir=tmp_path / "reports")
    with Poller(Courier().provider()) as poller:
        worker.reclassify(context(engine, poller))
    with engine.connect() as conn:
        kinds = conn.execute(select(ExceptionCase.kind, ExceptionCase.status)).all()
    assert ("not_shipped", "open") in [tuple(k) for k in kinds]
