"""The ``tracker`` command line.

Each command owns its database session/transaction (habit 8); settings are read
once at start, strictly (a misspelt ``TRACKER_*`` variable stops the command).
"""
from __future__ import annotations

import logging
import os
import sys
from datetime import UTC
from pathlib import Path

import click
from sqlalchemy import func, select

import imports
from tracker import config, db, worker
from tracker.ingest import ConcurrentImport, ImportSummary, import_file, sort_by_kind
from tracker.models import Shipment
from tracker.polling import Poller, provider_for

EXIT_REJECTED = 2


@click.group()
def main() -> None:
    """售后物流异常跟踪 · Post-promotion logistics exception tracker."""
    try:
        config.get()
    except config.ConfigError as err:
        raise click.UsageError(str(err)) from err


@main.group("db")
def db_group() -> None:
    """数据库 · Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """升级数据库结构 · Apply migrations up to the latest."""
    engine = db.make_engine(config.get().effective_database_url)
    db.upgrade(engine)
    click.echo(f"数据库已是最新 · database at the latest schema ({engine.url.render_as_string()})")


def _print_summary(s: ImportSummary) -> None:
    click.echo(
        f"{Path(s.file).name}: {s.format} · 读取 read {s.rows_read} · 新增 created {s.created} · "
        f"更新 updated {s.updated} · 未变 unchanged {s.unchanged} · 拒绝 rejected {s.rejected} · "
        f"新运单 shipments {s.shipments_added} · {s.seconds:.1f}s"
    )
    for err in s.errors_preview[:5]:
        click.echo(f"  第 {err.row} 行 row {err.row}: {err.reason}" + (f" [{err.column}={err.value!r}]" if err.column else ""))
    if s.rejected > 5:
        click.echo(f"  … {s.rejected - 5} more")
    if s.error_report:
        click.echo(f"  错误报告 error report: {s.error_report}")


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--platform", help="taobao | pdd | douyin | jd | a format name; default: detected from the header")
@click.option("--shop", help="店铺名称 · shop name (default: the file's 店铺名称 column, else one per platform)")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML column-mapping file for other sheets")
def import_command(files: tuple[Path, ...], platform: str | None, shop: str | None, mapping: Path | None) -> None:
    """导入订单/宝贝/退款报表 · Import order, item and refund exports (idempotent)."""
    settings = config.get()
    refused = 0
    try:
        planned = _in_kind_order(files, platform, mapping, settings) if len(files) > 1 else [(files[0], "")]
    except (imports.UnknownFormat, imports.MappingError) as err:
        raise click.UsageError(str(err)) from err
    engine = db.engine()
    for path, kind in planned:
        if kind is None:
            refused += 1
            continue
        try:
            summary = _import_one(engine, path, platform, shop, mapping, settings)
        except (imports.RejectedFile, ConcurrentImport) as err:
            click.echo(f"{path.name}: 拒绝导入 rejected (nothing written): {err}", err=True)
            refused += 1
            continue
        except (imports.UnknownFormat, imports.MappingError) as err:
            raise click.UsageError(str(err)) from err
        except OSError as err:
            click.echo(f"{path.name}: 无法读取 cannot read: {err.strerror}", err=True)
            refused += 1
            continue
        _print_summary(summary)
    if refused:
        sys.exit(EXIT_REJECTED)


def _in_kind_order(files, platform, mapping, settings) -> list[tuple[Path, str | None]]:
    """Orders before their items and refunds, whatever order the user named the files in.

    A file refused here is reported and marked with kind None.
    """
    kinds = []
    for path in files:
        try:
            with imports.open_export(path, platform=platform, mapping=mapping,
                                     max_bytes=settings.import_max_bytes) as export:
                kinds.append((path, export.info.kind))
        except imports.RejectedFile as err:
            click.echo(f"{path.name}: 拒绝导入 rejected: {err}", err=True)
            kinds.append((path, None))
        except OSError as err:
            click.echo(f"{path.name}: 无法读取 cannot read: {err.strerror}", err=True)
            kinds.append((path, None))
    return sort_by_kind(kinds)


def _import_one(engine, path, platform, shop, mapping, settings) -> ImportSummary:
    kwargs = dict(platform=platform, shop=shop, mapping=mapping, max_bytes=settings.import_max_bytes,
                  reports_dir=settings.import_reports_dir)
    if not sys.stderr.isatty():
        return import_file(engine, path, **kwargs)
    with click.progressbar(length=1000, label=f"导入 {path.name}", file=sys.stderr) as bar:
        def progress(fraction: float) -> None:
            bar.update(int(fraction * 1000) - bar.pos)
        return import_file(engine, path, progress=progress, **kwargs)



# ---------------------------------------------------------------- courier tracking


def _poller(settings: config.Settings, concurrency: int) -> Poller:
    """The configured provider's poller, scheduling by the lead-editable policy file."""
    from tracker import schedule

    return Poller(provider_for(settings), name=settings.provider, qps=settings.provider_qps,
                  concurrency=concurrency, policy=schedule.Policy(**_policy().schedule_overrides()))


@main.command("poll")
@click.option("--once", is_flag=True, help="poll everything due now, then exit")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
def poll_command(once: bool, batch_size: int, concurrency: int) -> None:
    """查询到期运单 · Query the courier for every due shipment (continuous polling: `tracker worker`)."""
    if not once:
        raise click.UsageError("use `tracker poll --once`; `tracker worker` polls continuously")
    settings = config.get()
    engine = db.engine()
    with _poller(settings, concurrency) as poller:
        report = poller.poll_due(engine, owner=worker.owner_id(), batch_size=batch_size)
    errors = ", ".join(f"{kind} {n}" for kind, n in report.errors.most_common()) or "无 none"
    click.echo(f"查询 polled {report.polled} · 新轨迹 events added {report.events_added} · "
               f"签收 delivered {report.delivered} · 无结果 no trace yet {report.no_trace} · "
               f"未知状态 unmapped {report.unmapped} · 请求 calls {report.calls}")
    click.echo(f"错误 errors: {errors}")
    if report.circuit_open_until is not None:
        click.echo(f"熔断 circuit open until {report.circuit_open_until:%Y-%m-%d %H:%M:%S} UTC "
                   f"({settings.provider}): nothing more is sent until then", err=True)
    with engine.connect() as conn:
        next_due = conn.execute(select(func.min(Shipment.next_poll_at)).where(Shipment.done.is_(False))).scalar()
    click.echo(f"下次 next due: {next_due:%Y-%m-%d %H:%M:%S} UTC" if next_due else "下次 next due: none")


@main.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
def worker_command(concurrency: int) -> None:
    """定时任务进程 · Run the scheduler process (poll, reclassify; subscribe when push is on)."""
    settings = config.get()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with _poller(settings, concurrency) as poller:
        worker.run(settings, worker.Context(engine=db.engine(), poller=poller, owner=worker.owner_id(),
                                            policy=_policy()))


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn worker processes (default: 2 × CPUs + 1)")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="threads per worker")
@click.option("--dev", is_flag=True, help="Flask's single-process development server instead of gunicorn")
def serve_command(host: str, port: int, workers: int | None, threads: int, dev: bool) -> None:
    """网页与推送回调 · Serve the web app and the push hooks (gunicorn; --dev: Flask's server)."""
    from tracker.web import create_app

    settings = config.get()
    logging.basicConfig(level=settings.log_level)
    engine = db.engine()  # the embedded default migrates itself here, once, before any worker starts
    if dev:
        create_app(settings, engine=engine).run(host=host, port=port)
        return
    from tracker.web.server import Gunicorn

    engine.dispose()  # each worker opens its own connections after the fork
    Gunicorn(lambda: create_app(settings), bind=f"{host}:{port}", threads=threads,
             workers=workers or 2 * (os.cpu_count() or 1) + 1).run()


@main.command("demo")
@click.option("--orders", type=click.IntRange(50, 200_000), default=4000, show_default=True,
              help="how many orders the demo shops have")
@click.option("--seed", type=int, default=2026, show_default=True, help="the same seed, the same dataset")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--sandbox-port", type=int, default=0, help="the sandbox courier's port (default: a free one)")
@click.option("--no-serve", is_flag=True, help="build the demo database and exit (tests, CI)")
def demo_command(orders: int, seed: int, host: str, port: int, sandbox_port: int, no_serve: bool) -> None:
    """一键演示 · The week after 双十一 on its own SQLite file (instance/demo.sqlite3), then the web app."""
    from tracker import demo

    try:
        demo.run(demo.Options(orders=orders, seed=seed, host=host, port=port, sandbox_port=sandbox_port,
                              serve=not no_serve), show_import=_print_summary)
    except KeyboardInterrupt:
        click.echo("\n已中断 · interrupted", err=True)
        sys.exit(130)


@main.command("sandbox-courier")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--seed", default="0", show_default=True)
@click.option("--clock-start", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]), default=None,
              help="simulated start (UTC if no offset); the clock then moves only when told")
def sandbox_courier_command(host: str, port: int, seed: str, clock_start) -> None:
    """模拟快递网络 · Run the sandbox courier network (Kuaidi100 protocol) on localhost."""
    from couriers import sandbox

    logging.basicConfig(level=logging.INFO)
    start = clock_start.replace(tzinfo=clock_start.tzinfo or UTC) if clock_start else None
    click.echo(f"sandbox courier on http://{host}:{port} (seed {seed}); Ctrl-C stops")
    try:
        sandbox.run(host, port, seed=seed, clock_start=start)
    except KeyboardInterrupt:
        pass


# ---------------------------------------------------------------- users


@main.group("users")
def users_group() -> None:
    """账号 · Staff accounts."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["agent", "lead", "finance", "admin"]), required=True)
@click.option("--display-name", help="name shown in the app (default: the user name)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (one line)")
def users_add_command(username: str, role: str, display_name: str | None, password_stdin: bool) -> None:
    """新增账号 · Add a user; the password is asked for (or read from stdin)."""
    from tracker import users

    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码 password", hide_input=True, confirmation_prompt=True)
    try:
        with db.engine().begin() as conn:
            users.add(conn, username, role, password, display_name=display_name)
    except users.UserError as err:
        raise click.UsageError(str(err)) from err
    click.echo(f"已添加 added {username} ({role})")


@users_group.command("token")
@click.argument("username")
def users_token_command(username: str) -> None:
    """签发 API 令牌 · Issue a new API token for /api/v1 (replaces the old one; shown once)."""
    from tracker import users

    try:
        with db.engine().begin() as conn:
            token = users.issue_token(conn, username)
    except users.UserError as err:
        raise click.UsageError(str(err)) from err
    click.echo(token)


# ---------------------------------------------------------------- exceptions


def _policy():
    from tracker import policy

    try:
        return policy.load()
    except policy.PolicyError as err:
        raise click.UsageError(str(err)) from err


@main.command("classify")
@click.option("--full", is_flag=True, help="every order, not only those changed since the last run")
@click.option("--now", "at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M"]), default=None,
              help="classify as of this time (China time without an offset); default: now")
def classify_command(full: bool, at) -> None:
    """判定物流异常 · Classify orders and open, refresh or clear their exception cases."""
    from datetime import datetime, timedelta, timezone

    from tracker.cases import classify_orders

    policy = _policy()
    now = datetime.now(UTC) if at is None else (
        at if at.tzinfo else at.replace(tzinfo=timezone(timedelta(hours=8)))).astimezone(UTC)
    report = classify_orders(db.engine(), policy, now, only_changed=not full)
    click.echo(f"{'全量 full' if report.full else '增量 incremental'} · 订单 orders {report.orders_seen} · "
               f"策略 policy {policy.source}")
    kinds = sorted(set(report.found) | set(report.opened) | set(report.refreshed) | set(report.cleared)
                   | set(report.reopened))
    click.echo(f"{'kind':<28}{'found':>8}{'opened':>8}{'refreshed':>10}{'reopened':>10}{'cleared':>9}")
    for kind in kinds:
        click.echo(f"{kind:<28}{report.found[kind]:>8}{report.opened[kind]:>8}{report.refreshed[kind]:>10}"
                   f"{report.reopened[kind]:>10}{report.cleared[kind]:>9}")
    click.echo(f"{'total':<28}{report.found.total():>8}{report.opened.total():>8}{report.refreshed.total():>10}"
               f"{report.reopened.total():>10}{report.cleared.total():>9}")
    click.echo(f"读取 load {report.load_seconds:.2f}s · 规则 rules {report.rules_seconds:.2f}s · "
               f"写入 write {report.write_seconds:.2f}s")


@main.command("exceptions")
@click.option("--kind", help="only this kind, e.g. stalled")
@click.option("--status", type=click.Choice(["open", "in_progress", "resolved", "dismissed", "cleared"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
def exceptions_command(kind: str | None, status: str | None, fmt: str, output: Path | None) -> None:
    """导出异常单 · Export exception cases, one row per case (times in China time, +08:00)."""
    from tracker.classify import KINDS
    from tracker.exceptions_export import TEXT_WRITERS, case_rows, write_xlsx

    if kind and kind not in KINDS:
        raise click.UsageError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    if fmt == "xlsx" and output is None:
        raise click.UsageError("--format xlsx needs -o FILE")
    policy = _policy()
    with db.engine().connect() as conn:
        rows = case_rows(conn, policy, kind=kind, status=status)
    if fmt == "xlsx":
        write_xlsx(rows, output)
    elif output is None:
        TEXT_WRITERS[fmt](rows, sys.stdout)
    else:
        with open(output, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as out:
            TEXT_WRITERS[fmt](rows, out)
    if output is not None:
        click.echo(f"{len(rows)} 条 cases → {output}", err=True)


if __name__ == "__main__":
    main()
