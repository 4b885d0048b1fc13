"""``tracker worker``: the one scheduler process, with a declarative table of periodic jobs.

    JOBS (stable ids) ─► APScheduler BlockingScheduler (one process; never inside web workers)
        poll-due        every minute: lease and poll every due shipment
        subscribe-new   every minute, when TRACKER_PUSH_ENABLED: subscribe new shipments to pushes
        reclassify      every minute: classify the orders whose facts changed (polls, pushes,
                        imports) or whose deadline has come; open, refresh and clear cases

Each job run owns its transactions (through the poller); a job that raises is logged by
APScheduler and runs again at its next time.  Several workers may run on several machines
against PostgreSQL: leases keep them off each other's waybills.  Ctrl-C stops cleanly.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine

from tracker.cases import classify_orders
from tracker.config import Settings
from tracker.policy import Policy
from tracker.polling import Poller

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    engine: Engine
    poller: Poller
    owner: str
    policy: Policy


def poll_due(ctx: Context) -> None:
    report = ctx.poller.poll_due(ctx.engine, owner=ctx.owner)
    if report.leased:
        log.info("poll: %d polled, %d events added, %d delivered, errors %s", report.polled,
                 report.events_added, report.delivered, dict(report.errors) or "none")


def subscribe_new(ctx: Context) -> None:
    report = ctx.poller.subscribe_once(ctx.engine, owner=ctx.owner)
    if report.leased:
        log.info("subscribe: %d subscribed, errors %s", report.subscribed, dict(report.errors) or "none")


def reclassify(ctx: Context) -> None:
    report = classify_orders(ctx.engine, ctx.policy, datetime.now(UTC))
    if report.orders_seen:
        log.info("classify: %d orders seen, %d opened, %d cleared", report.orders_seen,
                 sum(report.opened.values()), sum(report.cleared.values()))


@dataclass(frozen=True)
class Job:
    id: str  # stable: APScheduler and the logs know the job by it
    func: Callable[[Context], None]
    seconds: int
    enabled: Callable[[Settings], bool] = lambda _settings: True


JOBS: tuple[Job, ...] = (
    Job("poll-due", poll_due, seconds=60),
    Job("subscribe-new", subscribe_new, seconds=60, enabled=lambda settings: settings.push_enabled),
    Job("reclassify", reclassify, seconds=60),
)


def owner_id() -> str:
    """Who holds a lease: host and process, so a stuck lease can be traced."""
    return f"{socket.gethostname()}:{os.getpid()}"


def build_scheduler(settings: Settings, ctx: Context) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    for job in JOBS:
        if job.enabled(settings):
            scheduler.add_job(job.func, "interval", seconds=job.seconds, id=job.id, name=job.id, args=(ctx,),
                              max_instances=1, coalesce=True, replace_existing=True,
                              next_run_time=datetime.now(UTC))
    return scheduler


def run(settings: Settings, ctx: Context) -> None:
    """Run the jobs until Ctrl-C (or SIGTERM through the shell)."""
    scheduler = build_scheduler(settings, ctx)
    log.info("worker %s: jobs %s", ctx.owner, ", ".join(job.id for job in scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("worker %s stopping", ctx.owner)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
