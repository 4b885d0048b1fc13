"""Browser tests: Playwright driving Debian's Chromium headless against the real app,
served by werkzeug on a free loopback port, on SQLite and on PostgreSQL.

Playwright never downloads a browser here: it launches the system executable
(``scripts/run-tests`` installs the ``chromium`` package when it is missing).  A missing
Chromium is a failure, not a skip.
"""
from __future__ import annotations

import shutil
import threading

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's hosts, which a
# shop's intranet (and this machine) refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is required for the browser tests (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live_url(app):
    """The app served on 127.0.0.1:<free port> for the test's duration."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def page(browser, live_url):
    context = browser.new_context(base_url=live_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1440, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
