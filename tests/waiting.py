"""Waiting in tests for what another thread does, without a fixed sleep."""
from __future__ import annotations

import time
from collections.abc import Callable


def settled(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Whether ``check()`` holds within ``seconds`` (polled every 10 ms)."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()
