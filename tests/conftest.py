"""Fixtures: every database test runs on SQLite and on the real PostgreSQL.

PostgreSQL is not optional: when it is unreachable the PostgreSQL half of the suite
fails (it does not skip), so CI cannot go green without it.  The schema is built
once per run with the real Alembic migrations; each test starts from empty tables.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from tracker import config, db
from tracker.models import Base

PG_URL = os.environ.get("PG_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """No test sees the developer's TRACKER_* variables or instance folder."""
    for key in list(os.environ):
        if key.startswith("TRACKER_"):
            monkeypatch.delenv(key)
    config.override(config.Settings(instance_dir=tmp_path / "instance"))
    yield
    config.override(None)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_engine():
    engine = db.make_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as err:  # noqa: BLE001 - turned into a test failure with the reason
        pytest.fail(f"PostgreSQL is required for the test suite and is unreachable at {PG_URL}: {err}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


def _truncate_pg(engine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "tracker.sqlite3"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        eng = db.make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("_pg_engine")
        _truncate_pg(eng)
        yield eng


@pytest.fixture
def pg_engine(_pg_engine):
    """The migrated PostgreSQL test database, emptied: for what only PostgreSQL does."""
    _truncate_pg(_pg_engine)
    return _pg_engine
