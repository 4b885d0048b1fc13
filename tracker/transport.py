"""An httpx transport on the standard library's ``http.client``: keep-alive, one connection per thread.

httpx stays the client API (requests built and signed by the adapters, ``MockTransport`` as
the test seam); only the wire under it changes.  Measured on this box against the sandbox
(bench/bench_poll.py): httpx's own pool (httpcore) manages ~1,000 requests/s from one core
whatever the thread count, ``http.client`` ~4,000, and httpx's client layer alone ~8,000,
so this transport lifts the poller past its 1,000 waybills/s target without a new dependency.

Made for the poller's traffic: small POSTs of idempotent queries to one host.  A kept-alive
connection the server closed meanwhile is retried once on a fresh one; errors map to
httpx's exception family, which the adapters turn into ``TemporaryError``.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import threading

import httpx

from couriers.base import DEFAULT_TIMEOUT

_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class StdlibTransport(httpx.BaseTransport):
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context or ssl.create_default_context()
        self._local = threading.local()
        self._open: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.scheme, url.host, url.port)
        timeout = request.extensions.get("timeout", {})
        connections = self._connections()
        reused = key in connections
        try:
            status, headers, body = self._exchange(self._connection(connections, key, timeout), request)
        except (OSError, http.client.HTTPException) as err:
            self._drop(connections, key)
            if not (reused and isinstance(err, _STALE)):
                raise _httpx_error(err, request) from err
            try:  # the server closed an idle kept-alive connection: once more, on a fresh one
                status, headers, body = self._exchange(self._connection(connections, key, timeout), request)
            except (OSError, http.client.HTTPException) as again:
                self._drop(connections, key)
                raise _httpx_error(again, request) from again
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        with self._lock:
            for connection in self._open:
                connection.close()
            self._open.clear()

    def _connections(self) -> dict:
        try:
            return self._local.connections
        except AttributeError:
            self._local.connections = {}
            return self._local.connections

    def _connection(self, connections: dict, key: tuple, timeout: dict) -> http.client.HTTPConnection:
        connection = connections.get(key)
        if connection is None:
            scheme, host, port = key
            seconds = timeout.get("read") or timeout.get("connect")
            if scheme == "https":
                connection = http.client.HTTPSConnection(host, port, timeout=seconds, context=self._ssl)
            else:
                connection = http.client.HTTPConnection(host, port, timeout=seconds)
            connections[key] = connection
            with self._lock:
                self._open.append(connection)
        return connection

    def _drop(self, connections: dict, key: tuple) -> None:
        connection = connections.pop(key, None)
        if connection is not None:
            connection.close()
            with self._lock:
                self._open.remove(connection)

    @staticmethod
    def _exchange(connection: http.client.HTTPConnection, request: httpx.Request) -> tuple[int, list, bytes]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "accept-encoding")}
        headers["accept-encoding"] = "identity"  # the body is handed to httpx as is
        connection.request(request.method, request.url.raw_path.decode("ascii"), body=request.read(),
                           headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()


def _httpx_error(err: BaseException, request: httpx.Request) -> httpx.TransportError:
    if isinstance(err, (TimeoutError, socket.timeout)):
        return httpx.ReadTimeout(str(err) or "timed out", request=request)
    if isinstance(err, ConnectionRefusedError | socket.gaierror):
        return httpx.ConnectError(str(err), request=request)
    return httpx.RemoteProtocolError(f"{type(err).__name__}: {err}", request=request)


def pooled_client() -> httpx.Client:
    """The one HTTP client of a provider: httpx over ``StdlibTransport``, the adapters' timeouts."""
    return httpx.Client(transport=StdlibTransport(), timeout=DEFAULT_TIMEOUT)
