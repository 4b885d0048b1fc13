"""Sign-in, sign-out, roles.

    GET/POST /login   username + password (CSRF-protected form) ─► session (Flask-Login)
    POST /logout
    role_required(*roles): not signed in ─► redirect to /login; wrong role ─► 403

Rate limiting lives in the database, so every gunicorn worker sees the same count: failed
sign-ins are audit-log rows (``auth.login_failed``), and more than LIMIT_PER_USER for one
name or LIMIT_PER_ADDRESS from one address within WINDOW refuse further tries with 429
until the window has passed.  Every sign-in and sign-out is audited.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from sqlalchemy import func, select

from tracker import audit, users
from tracker.models import AuditLog, User
from tracker.web import database, state

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
WINDOW = timedelta(minutes=15)
LIMIT_PER_USER = 5
LIMIT_PER_ADDRESS = 20
# Who may do what; admin is in every group.
AGENTS = ("agent", "lead", "admin")  # triage the queue
LEADS = ("lead", "admin")  # reassign others' cases, import files
READERS = ("agent", "lead", "finance", "admin")  # read orders and cases
DASHBOARD = ("lead", "finance", "admin")
SEES_PHONES = ("lead", "admin")  # call the buyer when a case is escalated


class Staff(UserMixin):
    """The signed-in user, as Flask-Login wants it (a thin view of the users row)."""

    def __init__(self, row) -> None:
        self.id = row.id
        self.username = row.username
        self.display_name = row.display_name or row.username
        self.role = row.role

    def get_id(self) -> str:
        return str(self.id)

    def can(self, roles: tuple[str, ...]) -> bool:
        return self.role in roles


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    from tracker.web.api import token_user

    login_manager.request_loader(token_user)


@login_manager.user_loader
def _load(user_id: str) -> Staff | None:
    with database().connect() as conn:
        row = conn.execute(select(User.__table__).where(User.__table__.c.id == int(user_id))).first()
    return Staff(row) if row is not None and row.active else None


def role_required(*roles: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return guarded
    return decorate


def record(conn, action: str, entity: str, entity_id: object = None, **detail) -> None:
    """Audit a change made by the signed-in user, in the request's transaction."""
    audit.record(conn, actor=current_user.username, user_id=current_user.id, action=action, entity=entity,
                 entity_id=entity_id, detail=detail, at=state().clock())


def _failures(conn, *, username: str, address: str) -> tuple[int, int]:
    log = AuditLog.__table__.c
    since = state().clock() - WINDOW
    failed = select(func.count()).where(log.action == "auth.login_failed", log.at > since)
    return (conn.execute(failed.where(log.entity_id == username)).scalar_one(),
            conn.execute(failed.where(log.actor == f"ip:{address}")).scalar_one())


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never bounce a signed-in user to another host."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("queue.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "GET":
        return render_template("login.html")
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    address = request.remote_addr or "?"
    with database().begin() as conn:
        by_user, by_address = _failures(conn, username=username, address=address)
        if by_user >= LIMIT_PER_USER or by_address >= LIMIT_PER_ADDRESS:
            flash(_("尝试次数过多，请 15 分钟后再试。"), "error")
            return render_template("login.html", username=username), 429
        row = users.authenticate(conn, username, password)
        if row is None:
            audit.record(conn, actor=f"ip:{address}", action="auth.login_failed", entity="user",
                         entity_id=username, at=state().clock())
            flash(_("用户名或密码不正确。"), "error")
            return render_template("login.html", username=username), 401
        audit.record(conn, actor=row.username, user_id=row.id, action="auth.login", entity="user",
                     entity_id=row.id, detail={"ip": address}, at=state().clock())
    login_user(Staff(row))
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
@login_required
def logout():
    with database().begin() as conn:
        record(conn, "auth.logout", "user", current_user.id)
    logout_user()
    return redirect(url_for("auth.login"))
