"""The import's bulk helpers: write-behind flushing of SQLite's log, work behind the parsing."""
import os
import signal
import threading
import time

import pytest

from tracker import bulk
from tracker.bulk import WorkBehind, WorkHere, WriteBehind
from waiting import settled


def test_write_behind_flushes_each_file_once_it_exists_and_stops_cleanly(tmp_path, monkeypatch):
    log, database = tmp_path / "db.sqlite3-wal", tmp_path / "db.sqlite3"
    flushed = []
    real = os.fdatasync
    monkeypatch.setattr(bulk.os, "fdatasync", lambda fd: (flushed.append(os.fstat(fd).st_ino), real(fd)))
    with WriteBehind(str(log), str(database), every=0.01) as behind:
        time.sleep(0.05)
        assert flushed == []  # nothing to flush before a file is there
        log.write_bytes(b"x" * 4096)
        deadline = time.monotonic() + 5
        while not flushed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert set(flushed) == {log.stat().st_ino}
        database.write_bytes(b"y" * 4096)
        while len(set(flushed)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert set(flushed) == {log.stat().st_ino, database.stat().st_ino}
    assert not behind._thread.is_alive()
    count = len(flushed)
    time.sleep(0.05)
    assert len(flushed) == count  # stopped with the block


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # PostgreSQL: no log file of ours
def test_a_big_sqlite_import_flushes_its_log_and_file_through_the_commit(engine, tmp_path, monkeypatch):
    from sqlalchemy import func, select

    from exportfiles import taobao_order_row, write_taobao_orders_csv
    from tracker import ingest
    from tracker.models import ImportBatch

    started, committed_at_stop = [], []
    monkeypatch.setattr(ingest, "PARSE_IN_CHILD_BYTES", 0)
    monkeypatch.setattr(ingest.WriteBehind, "__enter__",
                        lambda self, real=ingest.WriteBehind.__enter__: (started.append(self.paths), real(self))[1])

    def stop(self, *exc, real=ingest.WriteBehind.__exit__):
        with engine.connect() as conn:  # another connection sees only what is committed
            committed_at_stop.append(conn.execute(select(func.count()).select_from(ImportBatch)).scalar_one())
        real(self, *exc)

    monkeypatch.setattr(ingest.WriteBehind, "__exit__", stop)
    path = write_taobao_orders_csv(tmp_path / "a.csv", [taobao_order_row()])
    ingest.import_file(engine, path, max_bytes=10**9, reports_dir=tmp_path / "r")
    assert started == [(engine.url.database + "-wal", engine.url.database)]
    assert committed_at_stop == [1]  # it ran on through the commit's checkpoint


def test_binder_columns_store_each_value_as_the_column_type_does_remembered_or_not(monkeypatch):
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from sqlalchemy.dialects import postgresql, sqlite

    from tracker.models import Order

    shanghai = timezone(timedelta(hours=8))
    columns = ("paid_amount", "paid_at", "buyer_nick")
    values = [[Decimal("59.00"), Decimal("59.0"), None, Decimal("59.00"), Decimal("0.10")],
              [datetime(2026, 11, 11, 0, 0, 1, tzinfo=shanghai), None,
               datetime(2026, 11, 10, 16, 0, 1, tzinfo=timezone.utc), datetime(2026, 11, 10, 16, 0, 1, 5,
                                                                                 tzinfo=timezone.utc), None],
              ["a", "b", None, "a", "c"]]
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        for memo_size in (0, 50_000):  # 0: forgets after every chunk
            monkeypatch.setattr(bulk, "MEMO_SIZE", memo_size)
            binder = bulk.Binder(dialect, Order.__table__, columns)
            expected = [binder(row) for row in zip(*values)]
            assert list(zip(*binder.stored_columns(values))) == expected
            assert list(zip(*binder.stored_columns(values))) == expected  # a second chunk, from memory
    sqlite_rows = list(zip(*bulk.Binder(sqlite.dialect(), Order.__table__, columns).stored_columns(values)))
    assert [r[0] for r in sqlite_rows] == [5900, 5900, None, 5900, 10]
    assert [r[1] for r in sqlite_rows][2:4] == ["2026-11-10 16:00:01.000000", "2026-11-10 16:00:01.000005"]


def test_binder_cuts_time_columns_parsed_from_cells_to_what_the_column_type_stores():
    """A time column from the parser (``UtcTimes``) skips the formatting: same stored text."""
    from datetime import datetime

    from sqlalchemy.dialects import postgresql, sqlite

    from imports.cells import when_column
    from tracker.models import Order

    cells = ["2026-11-11 00:00:05", "", "2026-11-11 07:59:59", "2026-11-11 08:00:00", "2026-01-01 03:04:05",
             "2024-03-01 07:30:00", "2026-11-11 00:00:05", "2026-11-11T07:00:00", "2026-11-11 10:00"]
    xlsx = [datetime(2026, 11, 11, 7, 0), "", datetime(2026, 11, 11, 9, 30, 0, 250)]
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        binder = bulk.Binder(dialect, Order.__table__, ("paid_at",))
        for column in (cells, xlsx, cells):  # the third time: from the table of hours met
            parsed = when_column(column)
            assert binder.stored_columns([parsed]) == [[binder((v,))[0] for v in parsed]]
    stored = bulk.Binder(sqlite.dialect(), Order.__table__, ("paid_at",)).stored_columns([when_column(cells)])[0]
    assert stored[:6] == ["2026-11-10 16:00:05.000000", None, "2026-11-10 23:59:59.000000",
                          "2026-11-11 00:00:00.000000", "2025-12-31 19:04:05.000000", "2024-02-29 23:30:00.000000"]


def test_write_behind_stops_quietly_when_the_disk_refuses(tmp_path, monkeypatch):
    log = tmp_path / "db.sqlite3-wal"
    log.write_bytes(b"x")
    calls = []

    def refuse(fd):
        calls.append(fd)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(bulk.os, "fdatasync", refuse)
    with WriteBehind(str(log), every=0.01) as behind:
        deadline = time.monotonic() + 5
        while behind._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not behind._thread.is_alive() and len(calls) == 1


def test_fixed_values_go_into_every_row_inserted_and_updated(engine):
    """Values every row shares (SQLite: written into the statement) land as the type stores them."""
    from datetime import datetime, timezone
    from decimal import Decimal

    from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table

    from tracker.dbtypes import Money, UTCDateTime

    table = Table("bulk_fixed", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(20)),
                  Column("note", String(20)), Column("done", Boolean), Column("fee", Money()),
                  Column("at", UTCDateTime()), Column("missing", String(5)))
    table.create(engine)
    at = datetime(2026, 11, 11, 1, 2, 3, 4, tzinfo=timezone.utc)
    try:
        with engine.begin() as conn:
            rows = bulk.BulkTable(conn, table, ("name",), fixed={"note": "it's '; --", "done": True,
                                                                 "fee": Decimal("12.5"), "at": at, "missing": None})
            ids = rows.insert([("a",), ("b",)])
            rows.update([(ids[1], ("c",))])
        with engine.connect() as conn:
            got = conn.execute(table.select().order_by(table.c.id)).all()
    finally:
        table.drop(engine)  # the PostgreSQL test database outlives the test
    assert [tuple(r)[1:] for r in got] == [("a", "it's '; --", True, Decimal("12.50"), at, None),
                                            ("c", "it's '; --", True, Decimal("12.50"), at, None)]


def test_rows_written_as_columns_land_whole_and_sqlite_binds_no_column_of_only_nones(engine, monkeypatch):
    """``write_columns`` stores what ``write`` stores; on SQLite a column with no value in any
    row is NULL in the statement, not bound row by row — not a column of "" or 0, nor one
    with a single value among its Nones; and NULL, not the column's default."""
    from itertools import repeat

    from sqlalchemy import Column, Integer, MetaData, String, Table

    table = Table("bulk_columns", MetaData(), Column("id", Integer, primary_key=True), Column("a", String(5)),
                  Column("b", String(5)), Column("c", Integer), Column("d", String(5)), Column("e", String(5)),
                  Column("f", String(5), server_default="x"), Column("batch", Integer))
    table.create(engine)
    statements: list[tuple[str, int]] = []  # SQLite: each insert and the width of the rows it binds
    real = bulk.BulkTable._insert_rows

    def insert_rows(self, sql, rows):
        rows = list(rows)
        statements.append((sql, len(rows[0])))
        real(self, sql, rows)

    monkeypatch.setattr(bulk.BulkTable, "_insert_rows", insert_rows)
    try:
        with engine.begin() as conn:
            rows = bulk.BulkTable(conn, table, ("a", "b", "c", "d", "e", "f"), fixed={"batch": 7})
            ids = rows.reserve_ids(3)
            rows.write_columns([ids, ["x", "y", "z"], [None, None, None], [0, 0, 0], ["", "", ""],
                                [None, "v", None], repeat("k")])
            more = rows.reserve_ids(2)
            rows.write_columns([more, [None, None], ["p", "q"], [None, None], [None, None], [None, None],
                                [None, None]])
        with engine.connect() as conn:
            got = [tuple(r) for r in conn.execute(table.select().order_by(table.c.id))]
    finally:
        table.drop(engine)
    assert [r[1:] for r in got] == [("x", None, 0, "", None, "k", 7), ("y", None, 0, "", "v", "k", 7),
                                    ("z", None, 0, "", None, "k", 7), (None, "p", None, None, None, None, 7),
                                    (None, "q", None, None, None, None, 7)]
    if engine.dialect.name == "sqlite":
        assert statements == [
            ("INSERT INTO bulk_columns (id, a, b, c, d, e, f, batch) VALUES (?, ?, NULL, ?, ?, ?, ?, 7)", 6),
            ("INSERT INTO bulk_columns (id, a, b, c, d, e, f, batch) VALUES (?, NULL, ?, NULL, NULL, NULL, NULL, 7)", 2)]


def test_lookup_and_stored_as_probe_by_natural_key_in_chunks_and_per_first_key(engine):
    """``lookup`` reads rows back by (first, second) key; ``stored_as`` answers, per position,
    whether the stored row holds exactly the given value — across query chunks and keys."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint

    table = Table("bulk_probe", MetaData(), Column("id", Integer, primary_key=True), Column("shop", Integer),
                  Column("code", String(20)), Column("digest", String(16)), UniqueConstraint("shop", "code"))
    table.create(engine)
    try:
        with engine.begin() as conn:
            rows = bulk.BulkTable(conn, table, ("shop", "code", "digest"))
            ids = rows.insert([(shop, f"c{i}", f"d{i}") for shop in (1, 2) for i in range(1200)])
            asked = [(0, 1, "c5", "d5"), (1, 1, "c5", "other"), (2, 1, "missing", "d1"), (3, 2, "c5", "d5"),
                     (4, 3, "c5", "d5"), (5, 1, "c6", None)]
            asked += [(6 + i, 2, f"c{i}", f"d{i}" if i % 3 else "changed") for i in range(1200)]
            same = rows.stored_as(("shop", "code"), "digest", asked)
            found = rows.lookup(("shop", "code"), [(1, "c1199"), (2, "c0"), (1, "nope")], ("digest",))
            assert rows.stored_as(("shop", "code"), "digest", []) == set()
    finally:
        table.drop(engine)  # the PostgreSQL test database outlives the test
    assert same == {0, 3} | {6 + i for i in range(1200) if i % 3}
    assert found == {(1, "c1199"): (ids[1199], "d1199"), (2, "c0"): (ids[1200], "d0")}


def test_work_behind_runs_each_call_in_order_on_its_own_thread_up_to_its_depth_behind():
    done, threads, release = [], set(), threading.Event()

    def step(i):
        release.wait(5)
        threads.add(threading.get_ident())
        done.append(i)

    with WorkBehind(depth=2) as work:
        work.run(step, 0)  # taken up at once, then waits for the release
        work.run(step, 1)
        work.run(step, 2)
        handing = threading.Thread(target=work.run, args=(step, 3))
        handing.start()
        handing.join(0.3)
        assert handing.is_alive() and done == []  # a third call waiting: the caller waits for room
        release.set()
        handing.join(5)
        work.run(step, 4)
    assert done == [0, 1, 2, 3, 4]  # all done by the end of the block
    assert threads and threading.get_ident() not in threads


class Refused(Exception):
    pass


def test_work_behind_stops_at_the_first_error_and_raises_it_in_the_caller():
    done = []

    def step(i):
        if i == 1:
            raise Refused(i)
        done.append(i)

    work = WorkBehind(depth=1)
    work.run(step, 0)
    work.run(step, 1)
    with pytest.raises(Refused):
        for i in range(2, 100):  # the error surfaces at a later run, or else at finish
            work.run(step, i)
        work.finish()
    with pytest.raises(Refused):
        work.finish()  # and stays raised
    assert done == [0]


def _held_steps():
    """A step that records its number once released, and the events that start and release it."""
    done, started, release = [], threading.Event(), threading.Event()

    def step(i):
        started.set()
        release.wait(5)
        done.append(i)

    return step, done, started, release


def test_work_behind_leaving_on_an_error_of_the_caller_drops_what_is_still_queued():
    step, done, started, release = _held_steps()
    with pytest.raises(UnicodeDecodeError):  # an error that cannot be made without arguments
        with WorkBehind(depth=3) as work:
            for i in range(3):
                work.run(step, i)
            assert started.wait(5)
            threading.Timer(0.1, release.set).start()
            b"\xff".decode()
    assert done == [0]  # the call under way ends; none starts after it
    time.sleep(0.2)
    assert done == [0]


def test_work_behind_interrupted_while_finishing_lets_no_call_run_on_after_the_block():
    step, done, started, release = _held_steps()
    main = threading.main_thread().ident
    with pytest.raises(KeyboardInterrupt):
        with WorkBehind(depth=2) as work:
            work.run(step, 0)
            work.run(step, 1)
            assert started.wait(5)
            threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT)).start()  # Ctrl-C in the wait
            threading.Timer(0.4, release.set).start()
    assert done == [0]  # the block waited for the call under way
    time.sleep(0.3)
    assert done == [0]  # and none ran on after it


def test_the_work_s_own_error_is_raised_over_one_of_the_caller_that_followed_it():
    def refuse():
        raise Refused("the database said no")

    with pytest.raises(Refused):
        with WorkBehind() as work:
            work.run(refuse)
            assert settled(lambda: work._error is not None)
            raise ValueError("a row further on")  # before the caller's next run
    with pytest.raises(KeyboardInterrupt):  # a Ctrl-C is the user's: it stays what is raised
        with WorkBehind() as work:
            work.run(refuse)
            assert settled(lambda: work._error is not None)
            raise KeyboardInterrupt


def test_work_here_makes_each_call_at_once():
    done = []
    with WorkHere() as work:
        work.run(done.append, 1)
        assert done == [1]
        work.finish()
