"""The floor under a SQLite import: what SQLite itself costs for the rows an import writes.

    python bench/bench_sqlite_floor.py [--rows 1000000]

Runs one real ``tracker import`` of the benchmark CSV (``bench_parse.py`` makes it) into a
fresh SQLite file, recording every statement the writing process sends, with its rows;
then replays exactly those statements through bare ``sqlite3`` into another fresh file
with the same schema and pragmas, alone on the machine, in one transaction.  The replay's
time is what the import would take with a parser and a writer that cost nothing: the
measure of how far parsing, binding and the pipe can still be cut, and of whether a target
is within reach on the machine as it runs that day.  Not replayed: the lookups the writer
makes through the driver's own cursor (reads).  The recording (~500 MB for 1M rows) is
deleted at the end; the import's own time is slowed by recording, so compare the replay
with ``bench_import.py``'s figures, not with the time printed here.
"""
from __future__ import annotations

import argparse
import pickle
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event  # noqa: E402

from bench_parse import OUT, make_csv  # noqa: E402
from tracker import db  # noqa: E402
from tracker.bulk import BulkTable  # noqa: E402
from tracker.ingest import import_file  # noqa: E402


def fresh_engine(path: Path):
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    return engine


def record_import(csv_path: Path, recording: Path) -> float:
    """Import ``csv_path`` into a fresh file, pickling each statement the writer executes."""
    engine = fresh_engine(OUT / "floor-import.sqlite3")
    insert_rows = BulkTable._insert_rows
    with recording.open("wb") as out:
        @event.listens_for(engine, "before_cursor_execute")
        def record(_conn, _cursor, statement, parameters, _context, executemany):
            pickle.dump((statement, parameters, executemany), out, protocol=pickle.HIGHEST_PROTOCOL)

        def record_insert(table: BulkTable, sql: str, rows) -> None:  # bulk rows go through the driver's cursor
            rows = list(rows)
            if rows:
                pickle.dump((sql, rows, True), out, protocol=pickle.HIGHEST_PROTOCOL)
            insert_rows(table, sql, rows)

        BulkTable._insert_rows = record_insert
        try:
            started = time.perf_counter()
            import_file(engine, csv_path, max_bytes=10**11, reports_dir=OUT / "reports")
            seconds = time.perf_counter() - started
        finally:
            BulkTable._insert_rows = insert_rows
    engine.dispose()
    return seconds


def replay(recording: Path) -> dict[str, float]:
    """The recorded statements through bare sqlite3, in one transaction, timed by kind."""
    target = OUT / "floor-replay.sqlite3"
    fresh_engine(target).dispose()  # the schema, as a fresh import finds it
    statements = []
    with recording.open("rb") as f:
        while True:
            try:
                statements.append(pickle.load(f))
            except EOFError:
                break
    con = sqlite3.connect(target, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
        con.execute(f"PRAGMA {pragma}")
    times = {"executemany": 0.0, "single statements": 0.0}
    started = time.perf_counter()
    con.execute("BEGIN")
    for statement, parameters, many in statements:
        t = time.perf_counter()
        if many:
            con.executemany(statement, parameters)
            times["executemany"] += time.perf_counter() - t
        else:
            con.execute(statement, parameters)
            times["single statements"] += time.perf_counter() - t
    t = time.perf_counter()
    con.execute("COMMIT")
    times["commit"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - started
    con.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / f"ExportOrderList_{args.rows}.csv"
    if not csv_path.exists():
        make_csv(csv_path, args.rows)
    recording = OUT / "floor-statements.pickle"
    try:
        imported = record_import(csv_path, recording)
        floor = replay(recording)
    finally:
        recording.unlink(missing_ok=True)
    print(f"import (recording its statements): {imported:.1f} s")
    print("bare sqlite3 replay of the same statements: " + ", ".join(f"{k} {v:.1f} s" for k, v in floor.items()))


if __name__ == "__main__":
    main()
