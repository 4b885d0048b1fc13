"""The web app: an application factory with one blueprint per area (Flask tutorial style).

    create_app(settings, engine) ─► Flask app
        extensions["tracker"]: settings, the engine, the push adapters (built once)
        blueprints: hooks (provider push callbacks)

Each request owns its transaction (``with database().begin()``); no scheduler runs here:
periodic jobs live in the one ``tracker worker`` process (habit 9).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app
from sqlalchemy import Engine

from couriers.base import Provider
from tracker import config, db
from tracker.config import PROJECT_ROOT, Settings
from tracker.polling import provider_for


@dataclass(frozen=True)
class WebState:
    settings: Settings
    engine: Engine
    push: dict[str, tuple[str, Provider]]  # hook → (provider name, the adapter verifying its pushes)
    clock: Callable[[], datetime]  # the wall clock; a simulated one in the API-cost benchmark


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Flask:
    settings = settings or config.get()
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                instance_path=str(settings.instance_dir), instance_relative_config=True)
    app.config.from_mapping(SECRET_KEY=settings.secret_key or None, JSON_AS_ASCII=False)
    app.extensions["tracker"] = WebState(
        settings=settings,
        engine=engine or db.make_engine(settings.effective_database_url),
        push=_push_adapters(settings),
        clock=clock,
    )

    from tracker.web import hooks

    app.register_blueprint(hooks.bp)
    return app


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
