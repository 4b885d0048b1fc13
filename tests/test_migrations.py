"""The Alembic migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

from datetime import datetime, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tracker import db
from tracker.models import Base


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert db.is_current(engine)


DUE = "SELECT id FROM orders WHERE next_check_at <= :now"


def test_the_next_check_index_holds_only_orders_with_a_check_due(engine):
    """New orders (next_check_at empty) cost the index nothing, and the due-orders lookup of
    incremental classification still finds its way through it."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            definition = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_orders_next_check_at'").scalar_one()
            plan = " ".join(row[-1] for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + DUE.replace(":now", "?"), ("2026-11-11 00:00:00.000000",)))
        else:
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orders_next_check_at'").scalar_one()
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the empty table would be scanned
            plan = " ".join(row[0] for row in conn.execute(
                text("EXPLAIN " + DUE), {"now": datetime(2026, 11, 11, tzinfo=timezone.utc)}))
    assert "WHERE" in definition and "next_check_at IS NOT NULL" in definition
    assert "ix_orders_next_check_at" in plan
