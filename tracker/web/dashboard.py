"""The leads' and finance's dashboard: a period of China dates and a shop in the query
string, the metrics of ``tracker.dashboard`` as server-side SVG charts, each with its
numbers in a table (the chart's accessible fallback).

    GET /dashboard/?from=YYYY-MM-DD&to=YYYY-MM-DD&shop=ID[&refresh=1]
        default: the last 30 days, all shops

At a million orders the metrics take seconds to compute (every order shipped in the
period is aggregated), so a slow computation is kept and served for a while:

    request ─► a kept result for this period and shop, younger than CACHE_FOR, that was
               slow to compute (≥ CACHE_AFTER)? ─► the page at once, saying how old it is
             ─► else compute in a thread, wait up to WAIT for it ─► done: the page
                                                               ─► not yet: the kept result
                                                                  (or "computing"), and the
                                                                  page reloads until it is done
Quick computations (a shop's usual data) are neither kept nor served from the keep: always
current.  Results are kept in the instance folder (shared by every gunicorn worker, like its
secret key), one pickle per period and shop; one computation per key runs at a time, across
workers too (a lock file beside the result).
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from couriers import carriers
from tracker import dashboard
from tracker.models import Shop
from tracker.web import WebState, auth, charts, database, state
from tracker.web.views import CHINA_TZ, kind_name

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
log = logging.getLogger(__name__)
DEFAULT_DAYS = 30
# app.config keys, with their defaults
CACHE_FOR = ("DASHBOARD_CACHE_FOR", timedelta(minutes=10))
CACHE_AFTER = ("DASHBOARD_CACHE_AFTER_SECONDS", 1.0)
WAIT = ("DASHBOARD_WAIT_SECONDS", 2.0)
KEEP_FILES = timedelta(days=1)


@dataclass(frozen=True)
class Metrics:
    cases: dashboard.Cases
    shipping: dashboard.Shipping
    contact: dashboard.ContactRate
    contact_agents: list[dashboard.ContactRate]
    refunds: dashboard.Refunds
    computed_at: datetime  # wall clock, UTC
    seconds: float


def compute(web: WebState, period: dashboard.Period) -> Metrics:
    started = time.perf_counter()
    now, origin = web.clock(), web.policy.origin_province
    with web.engine.connect() as conn:
        cases = dashboard.cases(conn, period, origin)
        shipping = dashboard.shipping(conn, period, now, web.policy.pickup_deadline, origin)
        contact, agents = dashboard.first_contact(conn, period)
        refunds = dashboard.refund_timeliness(conn, period, now)
    return Metrics(cases, shipping, contact, agents, refunds, datetime.now(UTC), time.perf_counter() - started)


class _Refresh(threading.Thread):
    """One computation of one period's metrics, kept in ``path`` when done.

    One at a time per key: in this process by the registry, across gunicorn workers by a
    lock file next to the result (one older than STALE_LOCK is from a process that died)."""

    running: ClassVar[dict[str, _Refresh]] = {}
    lock = threading.Lock()
    STALE_LOCK = timedelta(minutes=5)

    def __init__(self, web: WebState, period: dashboard.Period, path: Path, keep_after: float):
        super().__init__(name=f"dashboard-{path.stem[:8]}", daemon=True)
        self.web, self.period, self.path, self.keep_after = web, period, path, keep_after
        self.result: Metrics | None = None
        self.error: BaseException | None = None

    @classmethod
    def start_once(cls, web: WebState, period: dashboard.Period, path: Path, keep_after: float) -> _Refresh | None:
        """The computation of this key in this process, started if need be; None while
        another process computes it."""
        with cls.lock:
            refresh = cls.running.get(path.stem)
            if refresh is None:
                if not cls._take(path.with_suffix(".lock")):
                    return None
                refresh = cls.running[path.stem] = cls(web, period, path, keep_after)
                refresh.start()
            return refresh

    @classmethod
    def _take(cls, lock: Path) -> bool:
        try:
            if time.time() - lock.stat().st_mtime > cls.STALE_LOCK.total_seconds():
                lock.unlink(missing_ok=True)
        except FileNotFoundError:
            pass
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _keep(self) -> None:
        tmp = self.path.with_name(f".{self.path.stem}.{threading.get_ident()}.tmp")
        tmp.write_bytes(pickle.dumps(self.result))
        os.replace(tmp, self.path)
        cutoff = time.time() - KEEP_FILES.total_seconds()
        for old in self.path.parent.glob("*.pickle"):  # periods nobody looked at for a day
            with suppress(FileNotFoundError):  # another worker pruned it first
                if old.stat().st_mtime < cutoff:
                    old.unlink()

    def run(self) -> None:
        try:
            self.result = compute(self.web, self.period)
            if self.result.seconds >= self.keep_after:
                self._keep()
        except Exception as err:  # handed to the request waiting for it, or logged when none is
            log.exception("dashboard metrics for %s failed", self.period)
            self.error = err
        finally:
            with self.lock:
                self.path.with_suffix(".lock").unlink(missing_ok=True)
                self.running.pop(self.path.stem, None)


def _kept(path: Path) -> Metrics | None:
    """The kept result; one this code can no longer read (an upgrade changed it) is none."""
    try:
        return pickle.loads(path.read_bytes())  # written by this app into its private instance folder
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return None


def metrics(web: WebState, period: dashboard.Period, *, refresh: bool = False) -> tuple[Metrics | None, bool]:
    """(the metrics to show, whether newer ones are being computed); see the module docstring."""
    config = current_app.config
    folder = web.settings.instance_dir / "dashboard-cache"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (hashlib.sha256(repr((period, web.policy.source)).encode()).hexdigest()[:32] + ".pickle")
    kept = _kept(path)
    if (kept is not None and not refresh and kept.seconds >= config.get(*CACHE_AFTER)
            and datetime.now(UTC) - kept.computed_at < config.get(*CACHE_FOR)):
        return kept, False
    computing = _Refresh.start_once(web, period, path, config.get(*CACHE_AFTER))
    if computing is None:
        return kept, True
    computing.join(config.get(*WAIT))
    if computing.is_alive():
        return kept, True
    if computing.error is not None:
        raise computing.error
    return computing.result, False


def carrier_name(code: str | None) -> str:
    if code is None:
        return _("无运单")
    try:
        return carriers.get(code).name
    except carriers.UnknownCarrier:
        return code


def route_name(origin: str | None, destination: str | None) -> str:
    return f"{origin or '?'} → {destination or '?'}"


def _period(args, today: date) -> tuple[dashboard.Period, str | None]:
    """The asked period, or the default one and why the asked one was not used."""
    default = dashboard.Period(today - timedelta(days=DEFAULT_DAYS - 1), today)
    shop = args.get("shop", type=int)
    try:
        first = date.fromisoformat(args["from"]) if args.get("from") else default.first
        last = date.fromisoformat(args["to"]) if args.get("to") else default.last
        return dashboard.Period(first, last, shop), None
    except ValueError:
        return dashboard.Period(default.first, default.last, shop), _(
            "日期无效（起止日期须为 YYYY-MM-DD，开始不晚于结束，跨度不超过 %(n)s 天），已显示最近 %(d)s 天。",
            n=dashboard.MAX_DAYS, d=DEFAULT_DAYS)


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _hours(value: float) -> str:
    return _("%(h)s 小时", h=f"{value:.1f}")


def _charts(m: Metrics, pickup_hours: str) -> dict:
    daily, performance = m.cases.daily, m.shipping.carriers
    return {
        "daily": charts.stacked_bars(
            [d.strftime("%m-%d") for d in daily.days],
            [charts.Series(kind_name(kind), values) for kind, values in daily.counts.items()],
            title=_("每日新增异常（按类型）")),
        "carriers": charts.hbars([(carrier_name(c.carrier), c.total) for c in m.cases.carriers],
                                 title=_("异常数（按快递公司）")),
        "routes": charts.hbars([(route_name(r.origin, r.destination), r.total) for r in m.cases.routes],
                               title=_("异常数（按线路）")),
        "pickup": charts.hbars([(carrier_name(p.carrier), p.pickup_rate) for p in performance if p.decided],
                               title=_("%(h)s小时揽收率", h=pickup_hours), max_value=1, fmt=_percent),
        "transit": charts.hbars([(carrier_name(p.carrier), p.median_hours) for p in performance if p.delivered],
                                title=_("运输时长中位数（按快递公司）"), fmt=_hours),
        "transit_routes": charts.hbars([(route_name(r.origin, r.destination), r.median_hours)
                                        for r in m.shipping.routes], title=_("运输时长中位数（按线路）"), fmt=_hours),
        "contact": charts.hbars([(a.agent or _("未分配"), a.rate) for a in m.contact_agents if a.contacted],
                                title=_("一次解决率（按客服）"), max_value=1, fmt=_percent),
    }


@bp.get("/")
@auth.role_required(*auth.DASHBOARD)
def index():
    web = state()
    today = web.clock().astimezone(CHINA_TZ).date()
    period, problem = _period(request.args, today)
    pickup_hours = f"{web.policy.pickup_deadline / timedelta(hours=1):g}"
    with database().connect() as conn:
        shops = conn.execute(select(Shop.id, Shop.name).order_by(Shop.name)).all()
    m, refreshing = metrics(web, period, refresh=request.args.get("refresh") == "1")
    presets = [(n, url_for("dashboard.index", shop=period.shop_id, **{
        "from": (today - timedelta(days=n - 1)).isoformat(), "to": today.isoformat()})) for n in (7, 30, 90)]
    here = {"from": period.first.isoformat(), "to": period.last.isoformat(), "shop": period.shop_id}
    extra = {}
    if m is not None:
        performance = m.shipping.carriers
        decided, picked = sum(p.decided for p in performance), sum(p.on_time for p in performance)
        extra = {"svg": _charts(m, pickup_hours), "decided": decided, "picked": picked,
                 "pickup_rate": picked / decided if decided else None}
    return render_template(
        "dashboard.html", period=period, problem=problem, shops=shops, m=m, refreshing=refreshing,
        presets=presets, poll_url=url_for("dashboard.index", **here),
        refresh_url=url_for("dashboard.index", refresh=1, **here), carrier_name=carrier_name,
        route_name=route_name, pickup_hours=pickup_hours,
        refund_hours=f"{dashboard.REFUND_WITHIN / timedelta(hours=1):g}", **extra)
