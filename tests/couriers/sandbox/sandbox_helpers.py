"""Helpers for the sandbox tests: signed Kuaidi100 requests built by hand (md5 computed
here, not by the code under test) and a callback server recording pushes.

A uniquely named module (not conftest) so test files can import it by name."""
from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx
import orjson

from couriers.sandbox import DEFAULT_CUSTOMER, DEFAULT_KEY

CLOCK_START = datetime(2024, 11, 12, tzinfo=UTC)  # the sandbox clock at each test's start
CALLBACK_OK = '{"result":true,"returnCode":"200","message":"成功"}'.encode()


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest().upper()


def query(http: httpx.Client, *, sign: str | None = None, customer: str = DEFAULT_CUSTOMER,
          key: str = DEFAULT_KEY, **param: str) -> httpx.Response:
    """POST /poll/query.do as a real client does: param JSON, sign = UPPER(md5(param+key+customer))."""
    text = orjson.dumps(param).decode()
    form = {"customer": customer, "sign": sign or md5_upper(text + key + customer), "param": text}
    return http.post("/poll/query.do", data=form)


def subscribe(http: httpx.Client, num: str, company: str, callbackurl: str, *, key: str = DEFAULT_KEY,
              **parameters: str) -> dict:
    param = {"company": company, "number": num, "key": key,
             "parameters": {"callbackurl": callbackurl, "resultv2": "4", **parameters}}
    return http.post("/poll", data={"schema": "json", "param": orjson.dumps(param).decode()}).json()


class CallbackServer:
    """Records each push's form; answers ``reply`` (set ``status`` ≠ 200 to fail them)."""

    def __init__(self) -> None:
        self.pushes: list[dict[str, str]] = []
        self.status = 200
        self.reply = CALLBACK_OK
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.pushes.append(dict(parse_qsl(body.decode(), keep_blank_values=True)))
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(outer.reply)))
                self.end_headers()
                self.wfile.write(outer.reply)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/kuaidi100/push?shop=7"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def params(self) -> list[dict]:
        return [orjson.loads(p["param"]) for p in self.pushes]

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
