"""gunicorn, embedded: ``tracker serve`` runs the app in N worker processes without a
separate command line or config file (gunicorn's documented custom-application API).

Workers are forked after the settings are read and the database migrated, and build their
own app (and database connections) after the fork.  No scheduler runs in them (habit 9).
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from gunicorn.app.base import BaseApplication


class Gunicorn(BaseApplication):
    def __init__(self, factory: Callable[[], Flask], **options: object) -> None:
        self.factory = factory
        self.options = {"worker_class": "gthread", "accesslog": "-", "timeout": 60, **options}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()
