"""Set-based writes for the import path, at the speed of the database driver.

Per-object ORM work costs ~20 µs a row and would miss the import targets, so the
ingest hands whole chunks here: values are converted once per column with the
column type's own bind processor (so ``Money``/``UTCDateTime`` stay the single
definition of how a value is stored), then written with one ``executemany`` on
SQLite, or ``COPY`` on PostgreSQL.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select, tuple_


class BulkTable:
    """Insert, update and look up rows of one table by a natural key."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]):
        self.conn = conn
        self.table = table
        self.columns = tuple(columns)
        dialect = conn.dialect
        self.is_postgres = dialect.name == "postgresql"
        self._processors = [
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self.columns
        ]
        names = ", ".join(self.columns)
        if self.is_postgres:
            self._copy_sql = f"COPY {table.name} ({names}) FROM STDIN"
        else:
            marks = ", ".join("?" for _ in self.columns)
            self._insert_sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
        mark = "%s" if self.is_postgres else "?"
        sets = ", ".join(f"{name} = {mark}" for name in self.columns)
        self._update_sql = f"UPDATE {table.name} SET {sets} WHERE id = {mark}"

    def _bind(self, values: Sequence[Any]) -> tuple:
        return tuple(
            value if proc is None or value is None else proc(value)
            for proc, value in zip(self._processors, values)
        )

    def insert(self, rows: Iterable[Sequence[Any]]) -> None:
        """Insert rows given as tuples in ``columns`` order."""
        bound = [self._bind(r) for r in rows]
        if not bound:
            return
        if self.is_postgres:
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(self._copy_sql) as copy:
                for row in bound:
                    copy.write_row(row)
        else:
            self.conn.exec_driver_sql(self._insert_sql, bound)

    def update(self, rows: Iterable[tuple[int, Sequence[Any]]]) -> None:
        """Update rows given as (id, values in ``columns`` order)."""
        bound = [(*self._bind(values), row_id) for row_id, values in rows]
        if bound:
            self.conn.exec_driver_sql(self._update_sql, bound)


def lookup(conn: Connection, table: Table, key_columns: Sequence[str], keys: Sequence[tuple],
           columns: Sequence[str] = ()) -> dict[tuple, Any]:
    """Map natural keys to the row (id, *columns) found for them; missing keys are absent."""
    if not keys:
        return {}
    key_cols = [table.c[k] for k in key_columns]
    wanted = [table.c.id, *key_cols, *(table.c[c] for c in columns)]
    found: dict[tuple, Any] = {}
    n = len(key_cols)
    for start in range(0, len(keys), 2000):
        part = keys[start:start + 2000]
        if n == 1:
            cond = key_cols[0].in_([k[0] for k in part])
        elif len({k[0] for k in part}) == 1:
            # One shop per chunk is the common case: a plain IN on the second key.
            cond = (key_cols[0] == part[0][0]) & key_cols[1].in_([k[1] for k in part])
        else:
            cond = tuple_(*key_cols).in_(part)
        for row in conn.execute(select(*wanted).where(cond)):
            found[tuple(row[1:1 + n])] = row
    return found
