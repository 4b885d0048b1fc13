"""Fixtures: one sandbox courier per module on an ephemeral port, reset before each test,
and a callback server that records Kuaidi100 pushes."""
from __future__ import annotations

from collections.abc import Iterator
import httpx
import pytest

from couriers.sandbox import SandboxClient, SandboxServer
from sandbox_helpers import CLOCK_START, CallbackServer


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(seed=11, clock_start=CLOCK_START, push_timeout=2.0) as running:
        yield running


@pytest.fixture
def control(server: SandboxServer) -> SandboxClient:
    server.control.reset()
    return server.control


@pytest.fixture
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        yield client


@pytest.fixture
def callback() -> Iterator[CallbackServer]:
    with CallbackServer() as receiving:
        yield receiving
