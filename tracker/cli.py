"""The ``tracker`` command line.

Each command owns its database session/transaction (habit 8); settings are read
once at start, strictly (a misspelt ``TRACKER_*`` variable stops the command).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

import imports
from tracker import config, db
from tracker.ingest import ImportSummary, import_file, sort_by_kind

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
    planned, refused = [], 0
    for path in files:
        try:
            with imports.open_export(path, platform=platform, mapping=mapping,
                                     max_bytes=settings.import_max_bytes) as export:
                planned.append((path, export.info.kind))
        except imports.RejectedFile as err:
            click.echo(f"{path.name}: 拒绝导入 rejected: {err}", err=True)
            refused += 1
        except (imports.UnknownFormat, imports.MappingError) as err:
            raise click.UsageError(str(err)) from err
        except OSError as err:
            click.echo(f"{path.name}: 无法读取 cannot read: {err.strerror}", err=True)
            refused += 1
    engine = db.engine() if planned else None
    for path, _kind in sort_by_kind(planned):
        try:
            summary = _import_one(engine, path, platform, shop, mapping, settings)
        except imports.RejectedFile as err:
            click.echo(f"{path.name}: 拒绝导入 rejected (nothing written): {err}", err=True)
            refused += 1
            continue
        _print_summary(summary)
    if refused:
        sys.exit(EXIT_REJECTED)


def _import_one(engine, path, platform, shop, mapping, settings) -> ImportSummary:
    kwargs = dict(platform=platform, shop=shop, mapping=mapping, max_bytes=settings.import_max_bytes,
                  reports_dir=settings.import_reports_dir)
    if not sys.stderr.isatty():
        return import_file(engine, path, **kwargs)
    with click.progressbar(length=1000, label=f"导入 {path.name}", file=sys.stderr) as bar:
        def progress(fraction: float) -> None:
            bar.update(int(fraction * 1000) - bar.pos)
        return import_file(engine, path, progress=progress, **kwargs)


if __name__ == "__main__":
    main()
