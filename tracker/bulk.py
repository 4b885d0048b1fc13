"""Set-based writes for the import path, at the speed of the database driver.

Per-object ORM work costs ~20 µs a row and would miss the import targets, so the
ingest hands whole chunks here.  Values are converted with the column type's own
bind processor (``Money``/``UTCDateTime`` stay the single definition of how a value
is stored), only for the columns that have one; rows are written with one
``executemany`` on SQLite or ``COPY`` on PostgreSQL, with ids reserved up front so
no second query is needed to learn them; lookups by natural key are plain SQL.
"""
from __future__ import annotations

import gc
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from decimal import Decimal
from functools import partial
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Table

from imports.cells import UtcTimes
from tracker.dbtypes import UTC, Money, UTCDateTime


def _postgres_text(column_type, dialect):
    """Money and times as the text COPY and query parameters accept for any type.

    The value is first made what the column type stores (``process_bind_param``: the
    one definition), then written as text: strings cross from the parsing process
    10× cheaper than ``Decimal``/``datetime`` objects, and compare equal to what
    ``Binder.stored`` makes of values read back.
    """
    to_db = column_type.process_bind_param if isinstance(column_type, (Money, UTCDateTime)) else None
    if isinstance(column_type, UTCDateTime):
        def utc_text(value):
            if value.tzinfo is not UTC:  # parsers already hand over UTC: the hot path skips this
                value = to_db(value, dialect)
            return value.isoformat(" ", "microseconds")
        return utc_text
    if isinstance(column_type, Money):
        exponent = -column_type.scale

        def decimal_text(value):
            if type(value) is not Decimal or value.as_tuple().exponent != exponent:
                value = to_db(value, dialect)
            return str(value)
        return decimal_text
    return None


MEMO_SIZE = 50_000  # stored values a Binder remembers per column (see ``Binder.stored_columns``)


class Binder:
    """Converts a row's values to what the driver stores, with each column type's own processor.

    Usable without a connection (only the dialect), so a parsing process can bind rows
    before they reach the one that writes them.
    """

    def __init__(self, dialect, table: Table, columns: Sequence[str]):
        self.columns = tuple(columns)
        self._reads_back_raw = dialect.name == "sqlite"  # stored form is what SQLite returns
        processor = _postgres_text if dialect.name == "postgresql" else (
            lambda column_type, d: column_type.dialect_impl(d).bind_processor(d))
        self._typed = [
            (i, proc)
            for i, name in enumerate(self.columns)
            if (proc := processor(table.c[name].type, dialect)) is not None
        ]
        self._memos: dict[int, dict] = {i: {None: None} for i, _proc in self._typed}
        # time columns: what follows the UTC wall time text in the stored form (see ``UtcTimes``)
        suffix = {"sqlite": "", "postgresql": "+00:00"}.get(dialect.name)
        self._time_suffix = {} if suffix is None else {
            i: suffix for i, name in enumerate(self.columns) if isinstance(table.c[name].type, UTCDateTime)}

    def stored(self, values: Sequence[Any]) -> tuple:
        """Values read back with plain SQL, in the form ``__call__`` produces."""
        return tuple(values) if self._reads_back_raw else self(values)

    def stored_columns(self, columns: list[list]) -> list[list]:
        """Columns of stored values from columns of values, a column at a time.

        A time column the parser made (``UtcTimes``) is cut from its cells.  Each other
        typed column remembers what it stored lately: prices repeat, so most values are a
        dictionary lookup instead of a Decimal converted again.
        """
        columns = list(columns)
        for i, proc in self._typed:
            if type(columns[i]) is UtcTimes and i in self._time_suffix:  # cut from the cells
                columns[i] = columns[i].texts(self._time_suffix[i])
                continue
            memo = self._memos[i]
            if len(memo) > MEMO_SIZE:
                memo.clear()
                memo[None] = None

            def store(value, memo=memo, proc=proc):
                memo[value] = stored = proc(value)
                return stored

            columns[i] = [memo[value] if value in memo else store(value) for value in columns[i]]
        return columns

    def __call__(self, values: Sequence[Any]) -> tuple:
        if not self._typed:
            return tuple(values)
        out = list(values)
        for i, proc in self._typed:
            value = out[i]
            if value is not None:
                out[i] = proc(value)
        return tuple(out)


class BulkTable:
    """Insert, update and look up rows of one table by a natural key.

    ``fixed`` columns take the same value in every row written (the import's timestamp,
    its batch id): bound once, not once per row.
    """

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str], fixed: Mapping[str, Any] | None = None):
        self.conn = conn
        self.table = table
        self.columns = tuple(columns)
        dialect = conn.dialect
        self.is_postgres = dialect.name == "postgresql"
        self.mark = "%s" if self.is_postgres else "?"
        self.bind = Binder(dialect, table, self.columns)
        self._sequence: str | None = None  # PostgreSQL: the id sequence's name, once asked
        fixed = dict(fixed or {})
        fixed_values = Binder(dialect, table, tuple(fixed))(tuple(fixed.values()))
        names = ", ".join((*self.columns, *fixed))
        if self.is_postgres:  # COPY takes every column from each row
            self._fixed = fixed_values
            self._copy_sql = f"COPY {table.name} (id, {names}) FROM STDIN"
            sets = [f"{name} = %s" for name in (*self.columns, *fixed)]
        else:  # SQLite: shared values are part of the statements, so no row has to carry them
            self._fixed = ()
            literals = [_sqlite_literal(v) for v in fixed_values]
            self._fixed_sql = (tuple(fixed), tuple(literals))
            self._inserts: dict[tuple[int, ...], str] = {}
            self._insert_sql = self._insert_without(())
            sets = [f"{name} = ?" for name in self.columns] + [f"{n} = {v}" for n, v in zip(fixed, literals)]
        self._update_sql = f"UPDATE {table.name} SET {', '.join(sets)} WHERE id = {self.mark}"

    def reserve_ids(self, n: int) -> range | list[int]:
        """Ids for ``n`` new rows.  SQLite: the writer holds the lock, so max(id)+1 onwards."""
        if n == 0:
            return []
        name = self.table.name
        if self.is_postgres:  # one array, not a row per id (a million rows cost 2 s to fetch)
            if self._sequence is None:  # named once: looked up per id, the name cost 14 s per 1M ids
                sequence = self.conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{name}', 'id')").scalar_one()
                self._sequence = sequence.replace("'", "''")
            return self.conn.exec_driver_sql(
                f"SELECT array_agg(nextval('{self._sequence}'::regclass)) FROM generate_series(1, {int(n)})"
            ).scalar_one()
        start = self.conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {name}").scalar_one() + 1
        return range(start, start + n)

    def insert(self, rows: Sequence[Sequence[Any]], *, bound: bool = False) -> list[int] | range:
        """Insert rows given as tuples in ``columns`` order; returns their new ids, in order.

        ``bound``: the values are already in stored form (see ``Binder``).
        """
        ids = self.reserve_ids(len(rows))
        bind = _as_is if bound else self.bind
        self.write([(row_id, *bind(r)) for row_id, r in zip(ids, rows)])
        return ids

    def write(self, rows: Iterable[tuple]) -> None:
        """Insert rows given whole, in stored form: (id from ``reserve_ids``, *``columns``).

        Any iterable, consumed as it is written: SQLite's ``executemany`` over a chunk's
        rows built as a list first took a sixth longer (each tuple made, kept and fetched
        back once the cache has dropped it), so it gets the driver's cursor and the rows
        as they are made (SQLAlchemy's own ``executemany`` wants a list).
        """
        if isinstance(rows, Sequence) and not rows:
            return
        if self.is_postgres:
            fixed = self._fixed
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(self._copy_sql) as copy:
                for row in rows:
                    copy.write_row(row + fixed)
        else:
            self._insert_rows(self._insert_sql, rows)

    def _insert_rows(self, sql: str, rows: Iterable[tuple]) -> None:
        """SQLite: ``sql`` over ``rows`` through the driver's own cursor."""
        with closing(self.conn.connection.dbapi_connection.cursor()) as cursor:
            cursor.executemany(sql, rows)

    def write_columns(self, columns: Sequence[Iterable]) -> None:
        """``write`` of rows given column by column: ids, then ``columns``.

        SQLite: a column that holds no value in any row (a field the export lacks, say) is
        NULL in the statement itself, not bound as a NULL row by row (the driver takes each
        None through its adapter registry).
        """
        if self.is_postgres:
            self.write(zip(*columns))
            return
        absent = tuple(i for i, c in enumerate(columns) if type(c) is list and _no_value(c))
        sql = self._inserts.get(absent) or self._insert_without(absent)
        self._insert_rows(sql, zip(*[c for i, c in enumerate(columns) if i not in absent]))

    def _insert_without(self, absent: tuple[int, ...]) -> str:
        """SQLite: the insert with NULL for the columns at ``absent`` (0 is the id) instead of a mark."""
        fixed, literals = self._fixed_sql
        names = ", ".join(("id", *self.columns, *fixed))
        marks = ", ".join(["NULL" if i in absent else "?" for i in range(len(self.columns) + 1)] + list(literals))
        sql = self._inserts[absent] = f"INSERT INTO {self.table.name} ({names}) VALUES ({marks})"
        return sql

    def update(self, rows: Iterable[tuple[int, Sequence[Any]]], *, bound: bool = False) -> None:
        """Update rows given as (id, values in ``columns`` order)."""
        bind = _as_is if bound else self.bind
        fixed = self._fixed
        params = [(*bind(values), *fixed, row_id) for row_id, values in rows]
        if params:
            self.conn.exec_driver_sql(self._update_sql, params)

    def lookup(self, key_columns: Sequence[str], keys: Sequence[tuple], columns: Sequence[str] = ()) -> dict[tuple, tuple]:
        """Map natural keys to (id, *columns) of the rows found; missing keys are absent.

        Plain SQL, no per-chunk compiling.  On PostgreSQL each key is probed through a
        LATERAL subquery (LIMIT 1 keeps the planner from flattening it into a hash
        join), which can only be an index lookup: an import's transaction
        grows the table far past the planner's statistics, and a plain ``IN`` list was
        planned as a scan of every row of the shop (240 s for 200k rows).
        """
        found: dict[tuple, tuple] = {}
        first, second = key_columns
        wanted = ", ".join(("id", first, second, *columns))
        name = self.table.name
        for cursor, a, part in self._probes(first, keys, 1000):
            if self.is_postgres:
                array = self._array_type(second)
                sql = (f"SELECT t.{wanted.replace(', ', ', t.')} FROM unnest(%s::{array}[]) AS k(v) CROSS JOIN LATERAL "
                       f"(SELECT * FROM {name} WHERE {first} = %s AND {second} = k.v LIMIT 1) AS t")
                params = (part, a)
            else:
                marks = ", ".join("?" for _ in part)
                sql = f"SELECT {wanted} FROM {name} WHERE {first} = ? AND {second} IN ({marks})"
                params = (a, *part)
            cursor.execute(sql, params)
            for row in cursor.fetchall():
                found[(row[1], row[2])] = (row[0], *row[3:])
        return found

    def stored_as(self, key_columns: Sequence[str], column: str, rows: Iterable[tuple[int, Any, Any, Any]]) -> set[int]:
        """Of the (position, first key, second key, value) rows, the positions whose stored row
        holds ``value`` in ``column``.

        The comparison runs in the database and only positions come back: for a re-import,
        which asks this of every row, a third less than reading each stored value out.
        300 rows a query: 901 parameters, under the 999 that SQLite builds before 3.32 allow.
        """
        first, second = key_columns
        name = self.table.name
        same: set[int] = set()
        for cursor, a, part in self._probes(first, ((a, (i, b, v)) for i, a, b, v in rows), 300):
            if self.is_postgres:
                sql = (f"SELECT k.i FROM unnest(%s::int[], %s::{self._array_type(second)}[], "
                       f"%s::{self._array_type(column)}[]) AS k(i, b, v) CROSS JOIN LATERAL "
                       f"(SELECT 1 FROM {name} WHERE {first} = %s AND {second} = k.b AND {column} = k.v LIMIT 1) AS t")
                params = (*map(list, zip(*part)), a)
            else:
                values = ", ".join("(?, ?, ?)" for _ in part)
                sql = (f"WITH k(i, b, v) AS (VALUES {values}) SELECT k.i FROM k JOIN {name} AS t "
                       f"ON t.{first} = ? AND t.{second} = k.b AND t.{column} = k.v")
                params = (*chain.from_iterable(part), a)
            cursor.execute(sql, params)
            same.update(i for (i,) in cursor.fetchall())
        return same

    def _array_type(self, column: str) -> str:
        return self.table.c[column].type.compile(self.conn.dialect)

    def _probes(self, first: str, rows: Iterable[tuple[Any, Any]], size: int) -> Iterator[tuple[Any, Any, list]]:
        """(cursor, first key, up to ``size`` of what goes with it) per query of a probe by natural key.

        Rows are grouped by their first key (a shop, an order: a handful per batch).  The
        driver's cursor, since SQLAlchemy's rows would cost twice the query.
        """
        by_first: dict[Any, list] = {}
        for a, rest in rows:
            by_first.setdefault(a, []).append(rest)
        if not by_first:
            return
        with closing(self.conn.connection.dbapi_connection.cursor()) as cursor:
            for a, group in by_first.items():
                for start in range(0, len(group), size):
                    yield cursor, a, group[start:start + size]


class DeferredIndexes:
    """SQLite: a table's secondary indexes dropped for a bulk load and built again at its end.

    Keeping an index in step row by row costs more than the rows themselves when its
    keys land all over it (6 s of the 16 s SQLite spends on 1M orders); building it over
    the finished table sorts once, but reads the whole table for each index (0.6-1.3 s
    per index for 1M orders), after the last row: time nothing else overlaps.  So only
    the indexes over a column the load writes row by row are deferred; one whose key
    every new row shares (the import's timestamp, a column left empty) only grows at one
    end and stays.  Both happen inside the load's transaction: other connections keep the
    committed schema, and a killed load rolls the drop back with the rows.  Unique
    constraints stay: lookups by natural key use them meanwhile.
    """

    def __init__(self, conn: Connection, varying: Mapping[str, Iterable[str]]):
        self.conn = conn
        self.varying = {table: set(columns) for table, columns in varying.items()}
        self._dropped: list[tuple[str, str]] = []

    def drop(self) -> None:
        marks = ", ".join("?" for _ in self.varying)
        indexes = self.conn.exec_driver_sql(
            f"SELECT name, sql, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({marks}) ORDER BY name", tuple(self.varying)).all()
        for name, sql, table in indexes:
            columns = {row[2] for row in self.conn.exec_driver_sql(f'PRAGMA index_info("{name}")')}
            if columns & self.varying[table]:
                self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
                self._dropped.append((name, sql))

    def restore(self) -> None:
        for _name, sql in self._dropped:
            self.conn.exec_driver_sql(sql)
        self._dropped = []


@contextmanager
def parents_known(conn: Connection):
    """SQLite: one import's transaction without the per-row foreign key probe.

    Every parent id an import writes it has just inserted or read in the same
    transaction, and SQLite's single writer lock (taken by the batch row, the first
    write) keeps any other connection from deleting it meanwhile: the probe can only
    confirm what the code already knows, yet costs a seek into orders per shipment
    (10-12 s of the 36 s SQLite spends on a 1M-order load).  The pragma only takes
    effect outside a transaction, so it is set before the import's transaction and set
    back after it; a connection that cannot be set back is discarded, never pooled
    with the checks off.  PostgreSQL: see ``OwnParents``.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()  # ends SQLAlchemy's autobegun transaction; SQLite has none open
    try:
        yield
    finally:
        try:
            conn.rollback()  # a failed import's transaction is over before the pragma
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
        except BaseException:
            conn.invalidate()
            raise


class OwnParents:
    """PostgreSQL: rows whose parents this transaction inserted itself or holds locked,
    written without the foreign-key triggers.

    No other transaction can see an uncommitted row, let alone delete it, nor delete or
    re-key a row locked FOR KEY SHARE (the lock the check itself would take), so the check
    can only confirm it, yet it costs a trigger call and an index probe per row (12-17 s of
    the ~75 s a 1M-order load takes).  Turning triggers off (``session_replication_role``) needs
    a superuser or, on PostgreSQL 15+, ``GRANT SET ON PARAMETER``; without that right the
    rows keep their checks.  ``SET LOCAL``: the end of the transaction, however it ends,
    turns them back on.  The schema has no triggers of its own; one added later would be
    skipped for these rows too, which is why the scope is a single write.
    """

    def __init__(self, conn: Connection):
        self.conn = conn
        self.allowed = conn.dialect.name == "postgresql" and _may_set_replication_role(conn)

    @contextmanager
    def writing(self):
        if not self.allowed:
            yield
            return
        self.conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield  # a failed write aborts the transaction: no statement may follow, nor is one needed
        self.conn.exec_driver_sql("SET LOCAL session_replication_role = origin")


def _may_set_replication_role(conn: Connection) -> bool:
    if conn.exec_driver_sql("SELECT current_setting('is_superuser')").scalar() == "on":
        return True
    return conn.dialect.server_version_info >= (15,) and bool(conn.exec_driver_sql(
        "SELECT has_parameter_privilege('session_replication_role', 'SET')").scalar())


class WriteBehind:
    """Flushes files to disk in the background while a long transaction grows them.

    A 1M-order import leaves about 1 GB in SQLite's write-ahead log, and the checkpoint
    at its commit first waits for all of it to reach the disk, then copies it into the
    database file and waits for that.  Flushing the log as it grows, and the database
    file while the checkpoint writes it, overlaps those waits with the work (the commit:
    3.2-3.7 s → 2.5-2.8 s with the log flushed; 3.6-4.1 → 2.9-3.0 s with the database
    file too).  Only the timing of the writes changes, not what is written or when it
    is durable.
    """

    def __init__(self, *paths: str, every: float = 0.25):
        self.paths = paths
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="write-behind", daemon=True)

    def _run(self) -> None:
        fds: dict[str, int] = {}
        try:
            while not self._stop.wait(self.every):
                for path in self.paths:
                    if path not in fds:
                        try:
                            fds[path] = os.open(path, os.O_RDONLY)
                        except FileNotFoundError:
                            continue  # not created yet
                    try:
                        os.fdatasync(fds[path])
                    except OSError:
                        return  # the disk refuses: SQLite will say so at the commit, with the rollback
        finally:
            for fd in fds.values():
                os.close(fd)

    def __enter__(self) -> WriteBehind:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class WorkBehind:
    """A connection's work done in order on a thread of its own, up to ``depth`` calls behind
    the thread that hands it over, which meanwhile prepares what comes next.

    PostgreSQL: ``COPY`` hands the rows to the server, then waits while it stores them and
    keeps the indexes (most of a chunk's time), and waiting releases the interpreter's lock;
    so the chunk after is unpickled and prepared in that time instead of after it.  The
    connection is used by one thread at a time: the caller must not touch it between the
    first ``run`` and ``finish``.  The first error ends the work (later calls are dropped,
    the transaction is aborted anyway) and is raised in the caller, by ``run`` or ``finish``.
    """

    def __init__(self, depth: int = 2):
        self._calls: queue.Queue = queue.Queue(depth)
        self._error: BaseException | None = None
        self._dropping = False  # the caller has left on an error of its own
        self._ending = False  # the end of the calls is queued
        # Not ``Thread.join``: on Python 3.11 a Ctrl-C during a join marks the thread ended
        # while it still runs (bpo-45274's handling), and the wait would end early.
        self._ended = threading.Event()
        threading.Thread(target=self._work, daemon=True).start()

    def _work(self) -> None:
        try:
            while (call := self._calls.get()) is not None:
                if self._error is None and not self._dropping:
                    try:
                        call()
                    except BaseException as err:  # noqa: BLE001 - raised in the calling thread
                        self._error = err
        finally:
            self._ended.set()

    def run(self, fn: Callable[..., Any], *args: Any) -> None:
        self._raise()
        self._calls.put(partial(fn, *args))

    def finish(self) -> None:
        """Wait for the calls handed over; raise the first one's error."""
        self._stop()
        self._raise()

    def _stop(self) -> None:
        if not self._ending:
            self._calls.put(None)
            self._ending = True
        self._ended.wait()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> WorkBehind:
        return self

    def __exit__(self, exc_type, exc, _tb) -> None:
        if exc_type is None:
            try:
                self.finish()
            except BaseException:  # a Ctrl-C while waiting: no call may run on after the block
                self._dropping = True
                self._stop()
                raise
            return
        earlier = self._error  # the work's own error, if it came first: the one to report
        self._dropping = True  # drop what is still queued, then wait for the call under way
        self._stop()
        if earlier is not None and isinstance(exc, Exception):
            raise earlier


class WorkHere:
    """``WorkBehind``'s interface, each call made at once (SQLite: its writes hold the
    interpreter's lock, so a second thread would only wait for it; small imports)."""

    def run(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args)

    def finish(self) -> None:
        pass

    def __enter__(self) -> WorkHere:
        return self

    def __exit__(self, *_exc) -> None:
        pass


def _no_value(column: list) -> bool:
    """Only Nones (the first test fails fast on nearly every other column)."""
    return bool(column) and column[0] is None and not any(column) and column.count(None) == len(column)


def _as_is(values: Sequence[Any]) -> Sequence[Any]:
    return values


def _sqlite_literal(value: Any) -> str:
    """A stored value as SQLite statement text (ints, floats, text and NULL: what binders make)."""
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return repr(int(value) if isinstance(value, bool) else value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQLite literal for {type(value).__name__}")


@contextmanager
def few_collections():
    """Imports and classification runs allocate millions of short-lived, acyclic objects
    (rows, snapshots): the cyclic garbage collector would spend a quarter of the parse time
    walking them again and again for nothing."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(500_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()
