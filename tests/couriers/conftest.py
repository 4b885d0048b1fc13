"""Fixtures for the courier adapter tests."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from courier_helpers import Served


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[Served, httpx.Client]]]:
    clients: list[httpx.Client] = []

    def make(body: bytes = b"{}", status: int = 200, headers: dict[str, str] | None = None,
             raises: Exception | None = None) -> tuple[Served, httpx.Client]:
        served = Served(body, status, headers, raises)
        client = httpx.Client(transport=httpx.MockTransport(served))
        clients.append(client)
        return served, client

    yield make
    for client in clients:
        client.close()
