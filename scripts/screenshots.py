"""README screenshots: run ``tracker demo``, sign in as the lead in headless Chromium, and
capture the queue, an order page and the dashboard into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py [--port 5055]

Needs Debian's chromium and a CJK font (``apt-get install chromium fonts-wqy-microhei``);
without the font Chromium draws Chinese as boxes.
"""
from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5055)
    port = parser.parse_args().port
    demo = subprocess.Popen([str(Path(sys.executable).with_name("tracker")), "demo", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    password, lines = None, []
    try:
        for line in demo.stdout:
            lines.append(line)
            found = re.match(r"\s+lead\s+.*\s(\S+)$", line)
            password = found.group(1) if found else password
            if password and ("启动网页" in line or "web app" in line):
                break
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(url + "/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert password, "".join(lines)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(base_url=url, viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page.goto("/login")
            page.fill("input[name=username]", "lead")
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url("**/queue/")
            page.keyboard.press("j")
            page.screenshot(path=OUT / "queue.png")
            page.goto("/queue/?kind=stalled")
            page.locator("a.order-link").first.click()
            page.wait_for_load_state()
            page.screenshot(path=OUT / "order.png", full_page=True)
            page.goto("/dashboard/")
            page.wait_for_selector("svg.chart", timeout=60_000)
            page.screenshot(path=OUT / "dashboard.png", full_page=True)
            browser.close()
        print(f"screenshots in {OUT}")
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(30)


if __name__ == "__main__":
    main()
