"""Staff accounts: roles, hashed passwords, API tokens, and the ``tracker users`` commands."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tracker import config, db, users
from tracker.cli import main
from tracker.models import AuditLog, User


def test_add_hashes_the_password_and_audits(engine):
    with engine.begin() as conn:
        uid = users.add(conn, "xiaomei", "agent", "s3cret-pass", display_name="小美")
    with engine.connect() as conn:
        row = conn.execute(select(User).where(User.id == uid)).one()
        audit = conn.execute(select(AuditLog.action, AuditLog.entity_id)).all()
        assert row.role == "agent" and row.display_name == "小美"
        assert "s3cret-pass" not in row.password_hash
        assert users.authenticate(conn, "xiaomei", "s3cret-pass").id == uid
        assert users.authenticate(conn, "xiaomei", "wrong-pass") is None
        assert users.authenticate(conn, "nobody", "s3cret-pass") is None
    assert audit == [("user.add", str(uid))]


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("", "agent", "long-enough", "用户名不能为空"),
    ("a", "boss", "long-enough", "unknown role"),
    ("a", "agent", "short", "at least 8"),
])
def test_add_refuses_bad_input(engine, name, role, password, message):
    with engine.begin() as conn, pytest.raises(users.UserError, match=message):
        users.add(conn, name, role, password)


def test_duplicate_user_is_refused(engine):
    with engine.begin() as conn:
        users.add(conn, "a", "agent", "long-enough")
    with engine.begin() as conn, pytest.raises(users.UserError, match="exists"):
        users.add(conn, "a", "lead", "long-enough")


def test_api_token_is_shown_once_and_stored_hashed(engine):
    with engine.begin() as conn:
        uid = users.add(conn, "bot", "agent", "long-enough")
        first = users.issue_token(conn, "bot")
        second = users.issue_token(conn, "bot")
    with engine.connect() as conn:
        stored = conn.execute(select(User.api_token_hash).where(User.id == uid)).scalar_one()
        assert second not in stored and stored == users.token_digest(second)
        assert users.by_token(conn, second).id == uid
        assert users.by_token(conn, first) is None  # replaced


def test_cli_users_add_reads_the_password_from_stdin(tmp_path):
    settings = config.Settings(instance_dir=tmp_path / "instance")
    config.override(settings)
    runner = CliRunner()
    result = runner.invoke(main, ["users", "add", "lead1", "--role", "lead", "--display-name", "王主管"],
                           input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert "lead1" in result.output
    again = runner.invoke(main, ["users", "add", "lead1", "--role", "lead"], input="a-long-password\n")
    assert again.exit_code == 2 and "exists" in again.output
    short = runner.invoke(main, ["users", "add", "x", "--role", "agent"], input="short\n")
    assert short.exit_code == 2 and "at least 8" in short.output
    token = runner.invoke(main, ["users", "token", "lead1"])
    assert token.exit_code == 0 and token.output.startswith("trk_")
    engine = db.make_engine(settings.effective_database_url)
    with engine.connect() as conn:
        assert users.authenticate(conn, "lead1", "a-long-password").display_name == "王主管"
        assert users.by_token(conn, token.output.strip()).username == "lead1"
    engine.dispose()
