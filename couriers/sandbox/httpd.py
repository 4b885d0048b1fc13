"""Just enough HTTP/1.1 for the sandbox: a keep-alive server protocol and a one-shot form POST.

    bytes ─► _Connection (parse, pipelining-safe) ─► handler(Request)
                 ─► Response            answered at once (the fast path: queries)
                 ─► awaitable Response  later, the connection waits (clock advance, delays)
                 ─► None                connection dropped (the "down" fault)

Hand-written on ``asyncio.Protocol`` because the stdlib servers are too slow for the
thousands of queries per second the poller benchmark needs, and no dependency may be added.
Bodies need a Content-Length (every form client sends one); chunked requests get 411.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlencode, urlsplit

MAX_HEAD = 64 * 1024
REASONS = {s.value: s.phrase for s in HTTPStatus}
JSON = "application/json;charset=UTF-8"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # names lower-case
    body: bytes


@dataclass(frozen=True, slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = field(default=())


Handler = Callable[[Request], "Response | Awaitable[Response | None] | None"]


class _Connection(asyncio.Protocol):
    __slots__ = ("_handler", "_transport", "_buffer", "_waiting", "_on_error")

    def __init__(self, handler: Handler, on_error: Callable[[BaseException], None]) -> None:
        self._handler = handler
        self._on_error = on_error
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._waiting = False  # an async answer is pending: later requests queue in the buffer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._waiting:
            self._serve()

    def _serve(self) -> None:
        while self._transport is not None:
            parsed = self._next_request()
            if parsed is None:
                return
            request, keep_alive = parsed
            try:
                answer = self._handler(request)
            except Exception as err:  # noqa: BLE001 - a handler bug answers 500 and is reported
                self._on_error(err)
                answer = Response(500, b'{"error":"sandbox handler failed"}')
            if answer is not None and not isinstance(answer, Response):
                self._waiting = True
                task = asyncio.ensure_future(answer)
                task.add_done_callback(lambda t, k=keep_alive: self._finish(t, k))
                return
            if not self._write(answer, keep_alive):
                return

    def _finish(self, task: asyncio.Future, keep_alive: bool) -> None:
        self._waiting = False
        if task.cancelled():
            self._drop()
            return
        err = task.exception()
        if err is not None:
            self._on_error(err)
        answer = Response(500, b'{"error":"sandbox handler failed"}') if err else task.result()
        if self._write(answer, keep_alive):
            self._serve()

    def _next_request(self) -> tuple[Request, bool] | None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                self._write(Response(431, b""), keep_alive=False)
            return None
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
        except ValueError:
            self._write(Response(400, b""), keep_alive=False)
            return None
        if "chunked" in headers.get("transfer-encoding", ""):
            self._write(Response(411, b""), keep_alive=False)
            return None
        start = end + 4
        if len(self._buffer) < start + length:
            return None
        body, self._buffer = self._buffer[start:start + length], self._buffer[start + length:]
        path, _, query = target.partition("?")
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        return Request(method, path, query, headers, body), keep_alive

    def _write(self, answer: Response | None, keep_alive: bool) -> bool:
        """Send the answer; False when the connection is done."""
        if answer is None or self._transport is None:
            self._drop()
            return False
        extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers)
        close = "" if keep_alive else "Connection: close\r\n"
        head = (f"HTTP/1.1 {answer.status} {REASONS.get(answer.status, '')}\r\n"
                f"Server: nginx\r\nContent-Type: {answer.content_type}\r\n"
                f"Content-Length: {len(answer.body)}\r\n{extra}{close}\r\n")
        self._transport.write(head.encode("latin-1") + answer.body)
        if not keep_alive:
            self._transport.close()
            self._transport = None
        return keep_alive

    def _drop(self) -> None:
        if self._transport is not None:
            self._transport.abort()
            self._transport = None


async def start_server(handler: Handler, host: str, port: int,
                       on_error: Callable[[BaseException], None]) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _Connection(handler, on_error), host, port,
                                    reuse_address=True, backlog=1024)


async def post_form(url: str, fields: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """POST a form and read the whole answer (one connection per call).  Raises ``OSError``,
    ``TimeoutError`` or ``ValueError`` (not http, unreadable answer)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"not an http URL: {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = urlencode(fields).encode()
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    head = (f"POST {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n")
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        try:
            writer.write(head.encode("latin-1") + body)
            status_line, _, header_block = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(b":") for line in header_block.split(b"\r\n") if line)}
            if b"chunked" in headers.get(b"transfer-encoding", b""):
                return status, await _read_chunked(reader)
            if b"content-length" in headers:
                return status, await reader.readexactly(int(headers[b"content-length"]))
            return status, await reader.read()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError) as err:
            raise ValueError(f"unreadable answer from {url}: {err}") from err
        finally:
            writer.close()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size + 2))
    return b"".join(c[:-2] for c in chunks)
