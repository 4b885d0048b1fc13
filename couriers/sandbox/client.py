"""A small sync client for the sandbox's /sandbox/ control endpoints (tests, demo, benchmarks).

The Kuaidi100 endpoints are not wrapped here on purpose: drive those through the real
adapter (``couriers.kuaidi100.Kuaidi100(base_url=sandbox.url)``), which is the point.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

CONTROL_TIMEOUT = httpx.Timeout(120.0, connect=5.0)  # a clock advance waits for its pushes


class SandboxClient:
    def __init__(self, url: str, *, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=CONTROL_TIMEOUT)

    def register(self, parcels: Iterable[Mapping[str, Any]]) -> int:
        """Register parcels ({num, com, phone, shipped_at, from_province, to_province, to_city,
        scenario}); datetimes may be passed as aware ``datetime``.  Returns how many."""
        items = [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in p.items()} for p in parcels]
        return self._call("POST", "/sandbox/parcels", items)["registered"]

    def now(self) -> datetime:
        return datetime.fromisoformat(self._call("GET", "/sandbox/clock")["now"])

    def set_clock(self, when: datetime | None = None, *, mode: str | None = None) -> dict:
        """Set the time and/or the mode ("manual" | "real"); pushes due by then are delivered."""
        body: dict[str, Any] = {} if when is None else {"now": when.isoformat()}
        if mode is not None:
            body["mode"] = mode
        return self._call("POST", "/sandbox/clock", body)

    def advance(self, by: timedelta | float, *, step: timedelta | float | None = None) -> dict:
        """Move the clock forward (seconds or timedelta), pushing at every ``step`` on the way."""
        body: dict[str, Any] = {"advance_seconds": _seconds(by)}
        if step is not None:
            body["step_seconds"] = _seconds(step)
        return self._call("POST", "/sandbox/clock", body)

    def faults(self, **settings: Any) -> dict:
        """Replace the injected faults (no arguments: none); see ``server.Faults``."""
        return self._call("POST", "/sandbox/faults", settings)

    def stats(self) -> dict:
        return self._call("GET", "/sandbox/stats")

    def journey(self, num: str, com: str | None = None) -> dict:
        """The whole journey, future scans included: {scenario, shipped_at, trace}."""
        params = {"num": num, **({"com": com} if com else {})}
        return self._call("GET", "/sandbox/journey", params=params)

    def flush(self) -> dict:
        return self._call("POST", "/sandbox/flush")

    def reset(self) -> None:
        self._call("POST", "/sandbox/reset")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: object = None, params: dict | None = None) -> Any:
        response = self._client.request(method, self.url + path, json=body, params=params)
        response.raise_for_status()
        return response.json()


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
