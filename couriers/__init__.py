"""Courier-tracking protocol adapters: waybills in, normalized tracking results out.

Pure protocol code (no database, no Flask); see ``couriers.base`` for the model.
``PROVIDERS`` is the explicit registry; a new provider is one module plus one line here.
"""
from __future__ import annotations

from typing import Any

from couriers.base import Provider
from couriers.kdniao import Kdniao
from couriers.kuaidi100 import Kuaidi100

PROVIDERS: dict[str, type[Provider]] = {
    "kuaidi100": Kuaidi100,
    "kdniao": Kdniao,
}


class UnknownProvider(KeyError):
    def __str__(self) -> str:
        return f"unknown courier provider {self.args[0]!r}; known: {', '.join(sorted(PROVIDERS))}"


def make_provider(name: str, **settings: Any) -> Provider:
    """The provider registered under ``name``, built with its settings (keyword arguments)."""
    try:
        cls = PROVIDERS[name]
    except KeyError:
        raise UnknownProvider(name) from None
    return cls(**settings)
