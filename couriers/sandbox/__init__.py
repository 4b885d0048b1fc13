"""The sandbox courier network: a local Kuaidi100 look-alike playing simulated parcel journeys.

    journeys.py  pure: (seed, waybill, facts) → timed scans; places.py, texts.py its data
    wire.py      pure: Kuaidi100 bodies, push params, signatures
    httpd.py     minimal asyncio HTTP/1.1 server and push client
    server.py    the service: query, subscribe, pushes, faults, clock, stats
    client.py    sync helper for the /sandbox/ control endpoints

``run`` serves in the foreground (the ``tracker sandbox-courier`` command); ``SandboxServer``
runs the same service on a background thread for tests, the demo and benchmarks.
"""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime

from couriers.sandbox.client import SandboxClient
from couriers.sandbox.server import Sandbox, serve

__all__ = ["DEFAULT_CUSTOMER", "DEFAULT_KEY", "SandboxClient", "SandboxServer", "run"]

DEFAULT_CUSTOMER = "SANDBOX0CUSTOMER0000000000000000"
DEFAULT_KEY = "sandboxkey"
START_TIMEOUT = 10.0


def run(host: str = "127.0.0.1", port: int = 8100, *, seed: int | str = 0, customer: str = DEFAULT_CUSTOMER,
        key: str = DEFAULT_KEY, clock_start: datetime | None = None, mode: str | None = None,
        ready: threading.Event | None = None) -> None:
    """Serve until interrupted.  Clock: ``mode`` "manual" (moves only when told) or "real"
    (wall clock + offset); by default manual from ``clock_start`` if given, else real from now."""
    sandbox = Sandbox(seed=seed, customer=customer, key=key, clock_start=clock_start, mode=mode)
    asyncio.run(serve(sandbox, host, port, started=lambda _port: ready.set() if ready else None))


class SandboxServer:
    """The sandbox on a background thread::

        with SandboxServer(seed=7, clock_start=datetime(2024, 11, 11, tzinfo=UTC)) as server:
            provider = Kuaidi100(customer=server.customer, key=server.key, base_url=server.url)
            server.control.advance(timedelta(days=1))
    """

    def __init__(self, *, seed: int | str = 0, customer: str = DEFAULT_CUSTOMER, key: str = DEFAULT_KEY,
                 clock_start: datetime | None = None, mode: str | None = None, host: str = "127.0.0.1",
                 port: int = 0, push_timeout: float | None = None) -> None:
        self.customer, self.key, self.host = customer, key, host
        self._settings = {"seed": seed, "customer": customer, "key": key, "clock_start": clock_start,
                          "mode": mode, **({"push_timeout": push_timeout} if push_timeout else {})}
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._control: SandboxClient | None = None
        self.sandbox: Sandbox | None = None  # for white-box tests; only touch it from the server loop

    @property
    def url(self) -> str:
        if self._thread is None:
            raise RuntimeError("SandboxServer is not started")
        return f"http://{self.host}:{self._port}"

    @property
    def control(self) -> SandboxClient:
        """A control client bound to this server (closed by ``stop``)."""
        if self._control is None:
            self._control = SandboxClient(self.url)
        return self._control

    def start(self) -> SandboxServer:
        started = threading.Event()
        failure: list[BaseException] = []

        def listening(port: int) -> None:
            self._port = port
            started.set()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.sandbox = Sandbox(**self._settings)
            await serve(self.sandbox, self.host, self._port, started=listening, stop=self._stop)

        def thread() -> None:
            try:
                asyncio.run(main())
            except BaseException as err:  # noqa: BLE001 - re-raised in start()
                failure.append(err)
                started.set()

        self._thread = threading.Thread(target=thread, name="sandbox-courier", daemon=True)
        self._thread.start()
        if not started.wait(START_TIMEOUT) or failure:
            self._thread = None
            raise RuntimeError("sandbox courier did not start") from (failure[0] if failure else None)
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_TIMEOUT)
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
