"""Sign-in, roles, CSRF, rate limiting, audit: the gates every page relies on."""
from __future__ import annotations

from sqlalchemy import select

from tests.web.conftest import PASSWORD, csrf_token, sign_in
from tracker.models import AuditLog


def test_signed_out_pages_redirect_to_sign_in(app):
    client = app.test_client()
    for path in ("/queue/", "/orders/1", "/imports/", "/dashboard/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


def test_sign_in_and_out_are_audited(app, staff, engine):
    client = app.test_client()
    assert sign_in(client, "agent").headers["Location"] == "/queue/"
    assert client.get("/queue/").status_code == 200
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.post("/logout", data={"csrf_token": client.csrf}).status_code == 302
    assert client.get("/queue/").status_code == 302
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-2:] == ["auth.login", "auth.logout"]


def test_wrong_password_is_refused_and_counted(app, staff, engine):
    client = app.test_client()
    response = sign_in(client, "agent", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/queue/").status_code == 302
    with engine.connect() as conn:
        failed = conn.execute(select(AuditLog).where(AuditLog.action == "auth.login_failed")).all()
    assert [(r.entity_id, r.actor) for r in failed] == [("agent", "ip:127.0.0.1")]


def test_sign_in_is_rate_limited_per_user(app, staff):
    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, "lead", "nope-nope").status_code == 401
    # the right password no longer helps within the window
    assert sign_in(client, "lead", PASSWORD).status_code == 429
    assert client.get("/queue/").status_code == 302
    # other users are not locked out by it
    assert sign_in(app.test_client(), "agent").status_code == 302


def test_post_without_csrf_token_is_refused(app, staff):
    client = app.test_client()
    response = client.post("/login", data={"username": "agent", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/queue/").status_code == 302


def test_next_never_leaves_the_site(app, staff):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/x", data={"username": "agent", "password": PASSWORD,
                                                                 "csrf_token": token})
    assert response.headers["Location"] == "/queue/"


def test_session_cookie_is_http_only_and_lax(app, staff):
    client = app.test_client()
    cookie = sign_in(client, "agent").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = app.test_client()
    token = csrf_token(https)
    cookie = https.post("/login", base_url="https://localhost",
                        data={"username": "agent", "password": PASSWORD, "csrf_token": token}).headers["Set-Cookie"]
    assert "Secure" in cookie


def test_wrong_role_is_forbidden(client_as):
    assert client_as("agent").get("/dashboard/").status_code == 403
    assert client_as("finance").get("/imports/").status_code == 403
    assert client_as("lead").get("/dashboard/").status_code == 200
