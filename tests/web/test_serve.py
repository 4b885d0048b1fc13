"""``tracker serve`` runs gunicorn workers on the embedded default and stops cleanly."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_with_gunicorn_workers_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_INSTANCE_DIR"] = str(tmp_path / "instance")
    tracker = Path(sys.executable).with_name("tracker")
    server = subprocess.Popen([str(tracker), "serve", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.2)
        assert response.status_code == 200 and "登录" in response.text
        assert (tmp_path / "instance" / "tracker.sqlite3").exists()  # migrated itself before forking
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
    assert "Booting worker" in output and "Traceback" not in output
