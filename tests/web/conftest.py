"""Web fixtures: the real app on each database, signed-in clients per role, CSRF tokens
taken from the pages exactly as a browser would."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tracker import config, policy, users
from tracker.web import create_app

PASSWORD = "correct-horse-9"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 China time, nine days after 双十一
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def app(engine):
    settings = config.Settings(instance_dir=config.get().instance_dir, secret_key="test-secret")
    app = create_app(settings, engine=engine, clock=lambda: NOW, policy=policy.load())
    app.config["TESTING"] = True
    return app


@pytest.fixture
def staff(engine) -> dict[str, int]:
    """One user per role, named after it (agent, lead, finance, admin), password PASSWORD."""
    with engine.begin() as conn:
        return {role: users.add(conn, role, role, PASSWORD, display_name=f"{role} 测试") for role in users.ROLES}


def csrf_token(client, path: str = "/login") -> str:
    match = CSRF_META.search(client.get(path).get_data(as_text=True))
    assert match, f"no csrf-token meta on {path}"
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign in through the form; ``client.csrf`` keeps the session's token for later posts
    (Flask-WTF keeps one token per session, and signing in keeps the session)."""
    client.csrf = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": client.csrf})


@pytest.fixture
def client_as(app, staff):
    """client_as("agent") ─► a test client signed in as that role's user."""
    def make(role: str):
        client = app.test_client()
        response = sign_in(client, role)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return make
