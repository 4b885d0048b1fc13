"""The worker's declarative job table: stable ids, the subscription job only with push on."""
from __future__ import annotations

from tracker import worker
from tracker.config import Settings
from tracker.polling import Poller
from tracking_helpers import Courier


def job_ids(settings: Settings, engine) -> list[str]:
    with Poller(Courier().provider()) as poller:
        ctx = worker.Context(engine=engine, poller=poller, owner="test")
        return [job.id for job in worker.build_scheduler(settings, ctx).get_jobs()]


def test_poll_job_always_subscription_only_with_push(tmp_path) -> None:
    assert job_ids(Settings(instance_dir=tmp_path), None) == ["poll-due"]
    assert job_ids(Settings(instance_dir=tmp_path, push_enabled=True), None) == ["poll-due", "subscribe-new"]


def test_job_ids_are_unique_and_stable() -> None:
    assert [job.id for job in worker.JOBS] == ["poll-due", "subscribe-new"]
