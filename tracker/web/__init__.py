"""The web app: an application factory with one blueprint per area (Flask tutorial style).

    create_app(settings, engine) ─► Flask app
        extensions["tracker"]: settings, the engine, the push adapters (built once)
        Flask-Login (sessions; roles checked by ``auth.role_required``), Flask-WTF CSRF on
        every state-changing request, Flask-Babel (Chinese first, English available)
        blueprints: auth, queue, orders, imports, dashboard, api (/api/v1, token auth),
                    hooks (provider push callbacks: signed, so CSRF-exempt)

Each request owns its transaction (``with database().begin()``); no scheduler runs here:
periodic jobs live in the one ``tracker worker`` process (habit 9).  The web tier keeps no
state of its own (the secret key lives in the instance folder), so gunicorn may run several
workers.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine

from couriers.base import Provider
from tracker import config, db
from tracker.config import PROJECT_ROOT, Settings
from tracker.policy import Policy
from tracker.polling import provider_for

LANGUAGES = ("zh", "en")
csrf = CSRFProtect()


@dataclass(frozen=True)
class WebState:
    settings: Settings
    engine: Engine
    push: dict[str, tuple[str, Provider]]  # hook → (provider name, the adapter verifying its pushes)
    clock: Callable[[], datetime]  # the wall clock; a simulated one in the API-cost benchmark and the demo
    policy: Policy
    counts: dict = field(default_factory=dict)  # the queue's counts per kind (tracker.queue.counts_cached)


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookies are HttpOnly and SameSite=Lax always, and Secure whenever the request
    came over HTTPS (directly or through a proxy that says so), so an intranet install on
    plain http still signs in while an HTTPS one never leaks the cookie."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC), policy: Policy | None = None) -> Flask:
    from tracker import policy as policies

    settings = settings or config.get()
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                instance_path=str(settings.instance_dir), instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key or _instance_secret(settings),
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=12 * 3600,  # one working day
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "tracker" / "translations"),
        MAX_CONTENT_LENGTH=settings.import_max_bytes,
    )
    app.session_interface = _SessionInterface()
    app.extensions["tracker"] = WebState(
        settings=settings,
        engine=engine or db.make_engine(settings.effective_database_url),
        push=_push_adapters(settings),
        clock=clock,
        policy=policy or policies.load(),
    )
    csrf.init_app(app)
    Babel(app, locale_selector=_locale)

    from tracker.web import api, auth, dashboard, hooks, imports, orders, queue, views

    auth.init_app(app)
    views.init_app(app)
    for blueprint in (auth.bp, queue.bp, orders.bp, imports.bp, dashboard.bp, api.bp, hooks.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(hooks.bp)  # pushes are verified by the provider's signature instead
    csrf.exempt(api.bp)  # read-only, token auth, no cookies
    return app


def _locale() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
    return session.get("lang") or "zh"


def _instance_secret(settings: Settings) -> str:
    """A random key kept in the instance folder: stable across restarts and shared by every
    gunicorn worker, never committed."""
    path = settings.instance_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x") as out:
                out.write(secrets.token_hex(32))
            path.chmod(0o600)
        except FileExistsError:  # another worker wrote it first
            pass
    return path.read_text().strip()


def _push_adapters(settings: Settings) -> dict[str, tuple[str, Provider]]:
    """The hooks we can verify: without a salt / app key a push cannot be authenticated."""
    adapters = {}
    if settings.kuaidi100_salt:
        name = "sandbox" if settings.provider == "sandbox" else "kuaidi100"  # both speak Kuaidi100
        adapters["kuaidi100"] = (name, provider_for(settings, name))
    if settings.kdniao_app_key:
        adapters["kdniao"] = ("kdniao", provider_for(settings, "kdniao"))
    return adapters


def state() -> WebState:
    return current_app.extensions["tracker"]


def database() -> Engine:
    return state().engine
