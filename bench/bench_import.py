"""Import benchmark: a promotion-sized export through ``tracker import`` into each database.

    python bench/bench_import.py [--rows 1000000] [--xlsx-rows 200000] [--pg URL] [--only sqlite|pg|xlsx]

Uses the files ``bench_parse.py`` generates under bench/out/ (a 1,000,000-row 32-column
GBK 订单报表 and a 200,000-row xlsx).  Each step runs in a fresh process so its peak RSS
is its own:
  bare      a bare ``csv.reader`` pass over the CSV (the floor)
  sqlite    the CSV into a fresh SQLite file            target ≤ 30 s, ≤ 400 MB
  again     the same CSV again, all rows unchanged      target ≤ 20 s
  pg        the CSV into a fresh PostgreSQL schema       target ≤ 45 s
  xlsx      the xlsx into a fresh SQLite file            target ≤ 20 s, ≤ 1 GB
Each prints its wall time, peak RSS and CPU seconds of the writing and the parsing process;
the disk is synced before each step, so none pays for the write-back of the one before.
PostgreSQL runs in the database named by --pg (default: a `bench` database on
127.0.0.1, created if missing), never in the test database.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_parse import OUT, bare_csv, make_csv, make_xlsx  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"


def _fresh_pg(url: str):
    from sqlalchemy import text

    from tracker import db

    admin = db.make_engine(url.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.upgrade(engine)
    return engine


def child(task: str, path: str, target: str) -> None:
    from tracker import db
    from tracker.ingest import import_file

    if task == "bare":
        start = time.perf_counter()
        result = {"rows": bare_csv(Path(path))}
    else:
        if task == "pg":
            engine = _fresh_pg(target)
        else:
            if task != "again":
                Path(target).unlink(missing_ok=True)
            engine = db.make_engine(f"sqlite:///{target}")
            db.upgrade(engine)
        start = time.perf_counter()
        summary = import_file(engine, path, max_bytes=10**11, reports_dir=OUT / "reports")
        result = {k: getattr(summary, k) for k in ("rows_read", "created", "updated", "unchanged", "rejected",
                                                   "shipments_added")}
    result["seconds"] = round(time.perf_counter() - start, 2)
    me, parser = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["peak_rss_mb"] = round(me.ru_maxrss / 1024, 1)
    # the parsing process (files over PARSE_IN_CHILD_BYTES): its own peak, beside the writer's
    result["parser_peak_rss_mb"] = round(parser.ru_maxrss / 1024, 1)
    # CPU seconds (user + system, start-up included): steadier than the wall time on a busy VM
    result["cpu_s"] = round(me.ru_utime + me.ru_stime, 1)
    result["parser_cpu_s"] = round(parser.ru_utime + parser.ru_stime, 1)
    print(json.dumps(result))


def run(task: str, path: Path, target: str) -> dict:
    # The step before leaves up to 2 GB of its writes for the kernel to put on disk; without
    # this the next step's time would carry that write-back (a re-import right after the
    # fresh import: 25.8 s, against 16.9 s on a quiet disk the same hour).
    os.sync()
    out = subprocess.run([sys.executable, __file__, "--child", task, str(path), target],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--only", choices=("sqlite", "pg", "xlsx"))
    parser.add_argument("--child", nargs=3, metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / f"ExportOrderList_{args.rows}.csv"
    xlsx_path = OUT / f"ExportOrderList_{args.xlsx_rows}.xlsx"
    if args.only in (None, "sqlite", "pg") and not csv_path.exists():
        make_csv(csv_path, args.rows)
    if args.only in (None, "xlsx") and not xlsx_path.exists():
        make_xlsx(xlsx_path, args.xlsx_rows)
    db_file = str(OUT / "bench.sqlite3")
    steps = {
        None: [("bare", csv_path, ""), ("sqlite", csv_path, db_file), ("again", csv_path, db_file),
               ("pg", csv_path, args.pg), ("xlsx", xlsx_path, str(OUT / "bench-xlsx.sqlite3"))],
        "sqlite": [("bare", csv_path, ""), ("sqlite", csv_path, db_file), ("again", csv_path, db_file)],
        "pg": [("pg", csv_path, args.pg)],
        "xlsx": [("xlsx", xlsx_path, str(OUT / "bench-xlsx.sqlite3"))],
    }[args.only]
    results = {}
    for task, path, target in steps:
        results[task] = run(task, path, target)
        print(f"{task:<7} {path.name}: {json.dumps(results[task], ensure_ascii=False)}", flush=True)
    if "bare" in results and "sqlite" in results:
        print(f"import / bare parse = {results['sqlite']['seconds'] / results['bare']['seconds']:.1f}×")


if __name__ == "__main__":
    main()
