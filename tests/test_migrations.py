"""The Alembic migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

from datetime import datetime, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import bindparam, text

from tracker import db
from tracker.cases import CHANGED_SQL
from tracker.dbtypes import UTCDateTime
from tracker.models import Base


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert db.is_current(engine)


def test_the_next_check_index_holds_only_orders_with_a_check_due(engine):
    """New orders (next_check_at empty) cost the index nothing, and the lookup incremental
    classification runs (``cases.CHANGED_SQL``) still finds due orders through it."""
    when = datetime(2026, 11, 11, tzinfo=timezone.utc)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            definition = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_orders_next_check_at'").scalar_one()
            explain = "EXPLAIN QUERY PLAN "
        else:
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orders_next_check_at'").scalar_one()
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the empty table would be scanned
            explain = "EXPLAIN "
        plan = " ".join(str(row[-1]) for row in conn.execute(
            text(explain + CHANGED_SQL).bindparams(bindparam("since", type_=UTCDateTime()),
                                                   bindparam("now", type_=UTCDateTime())),
            {"since": when, "now": when, "report": "x"}))
    assert "WHERE" in definition and "next_check_at IS NOT NULL" in definition
    assert "ix_orders_next_check_at" in plan


def test_processes_starting_together_on_a_new_sqlite_file_upgrade_it_once(tmp_path):
    """Two first imports started together: the second waits for the first's upgrade instead of
    failing on the tables it made."""
    import os
    import subprocess
    import sys

    from tracker import db

    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    code = "from tracker import db; db.engine()"
    starters = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)
                for _ in range(4)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in starters]
    assert results == [(0, "")] * 4
    assert db.is_current(db.make_engine(url))
