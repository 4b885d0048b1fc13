"""Test helpers for the courier adapters: real-shaped answers served through ``httpx.MockTransport``.

A uniquely named module (not conftest) so test files can import it by name."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import httpx
import orjson

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict:
    return orjson.loads(fixture_bytes(name))


def form_of(request: httpx.Request) -> dict[str, str]:
    """The form fields as the provider's server decodes them."""
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}


class Served:
    """A MockTransport handler answering every request with one canned response."""

    def __init__(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None,
                 raises: Exception | None = None) -> None:
        self.body, self.status, self.headers, self.raises = body, status, headers or {}, raises
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.raises is not None:
            raise self.raises
        return httpx.Response(self.status, content=self.body, headers=self.headers)

    @property
    def form(self) -> dict[str, str]:
        (request,) = self.requests
        return form_of(request)
