"""What the studio's browser tests share: a real ``etl-cli studio`` process on a project of the test's own, and
Debian's Chromium driven by Playwright (``/usr/bin/chromium``; no browser is ever downloaded).

Without Chromium or Playwright the tests skip, except under CI (CI=true), where they fail:
``scripts/test-tools.sh`` installs Chromium, the dev extra installs Playwright.

With ETL_STUDIO_SCREENSHOTS=1 the tests save a picture of each view to docs/studio-*.png (docs/studio.md shows
them); otherwise they write nothing outside their temporary folders.
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
#: the line ``etl-cli studio`` prints: the page's address with its access token
URL = re.compile(r"http://127\.0\.0\.1:\d+/\S*token=[A-Za-z0-9_\-]+")
#: how long a page may take to answer an edit (a check loads and validates the pipeline: no JVM)
EDIT_MS = 30_000


def need_browser() -> Any:
    """Playwright's sync API module; skips the test (fails it under CI) without it or without Chromium."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is not installed (scripts/test-tools.sh installs it: apt-get install chromium)"
    try:
        from playwright import sync_api
    except ImportError:
        problem = problem or "playwright is not installed (pip install -e '.[dev]')"
        sync_api = None
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return sync_api


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def studio(root: Path, timeout: float = 90) -> Iterator[str]:
    """Run ``etl-cli studio ROOT --port N`` and yield the address it prints (token included); stop it after."""
    command = [sys.executable, "-m", "etl_cli", "studio", str(root), "--port", str(free_port())]
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    seen: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + timeout
        url = None
        while url is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"etl-cli studio printed no address within {timeout}s:\n{''.join(seen)}")
            if line is None:
                pytest.fail(f"etl-cli studio exited ({process.wait()}) before serving:\n{''.join(seen)}")
            seen.append(line)
            found = URL.search(line)
            url = found.group(0) if found else None
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium that cannot resolve any host: the page must need nothing beyond loopback."""
    sync_api = need_browser()
    args = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to sandbox itself as root
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """One studio page, with what it asked the network for and what went wrong in its script."""

    def __init__(self, browser: Any, url: str) -> None:
        self.origin = url.split("/?", 1)[0]
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.set_default_timeout(EDIT_MS)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)
        self.page.goto(url)

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx answer; a refused save (409) or edit (400) is an answer the page shows
        refusal = re.match(r"Failed to load resource: .* status of (400|409) ", message.text)
        if message.type == "error" and not refusal:
            self.errors.append(message.text)

    def elsewhere(self) -> list[str]:
        """Requests to anything but the studio (a CDN, a font service): there must be none."""
        return [url for url in self.requests if not url.startswith(self.origin + "/")]

    def screenshot(self, name: str) -> None:
        """docs/studio-NAME.png, when ETL_STUDIO_SCREENSHOTS=1."""
        if os.environ.get("ETL_STUDIO_SCREENSHOTS") == "1":
            self.page.screenshot(path=str(REPO / "docs" / f"studio-{name}.png"), full_page=True)

    def problems(self, stage: str | None = None) -> list[str]:
        """The problems list's messages (of one stage)."""
        selector = "#problems li.problem" + (f'[data-stage="{stage}"]' if stage else "")
        return [text.strip() for text in self.page.locator(f"{selector} .message").all_inner_texts()]

    def settled(self) -> None:
        """Wait until the last edit's check came back (the page says so in its status line)."""
        self.page.wait_for_function(
            "() => !document.getElementById('status').textContent.startsWith('Checking')", timeout=EDIT_MS
        )

    def stage(self, name: str) -> Any:
        return self.page.locator(f'#canvas g.stage[data-stage="{name}"]')

    def select(self, name: str) -> None:
        self.stage(name).locator("rect.body").click()
        self.page.wait_for_selector(f'#stage-heading:text-is("Stage {name}")')

    def set_option(self, stage: str, key: str, value: str) -> None:
        """Type ``value`` into the option field and leave it (the form sends the edit on change)."""
        self.select(stage)
        field = self.page.locator(f'#options [data-option="{key}"]').locator("input, textarea, select").first
        # the settings every stage of a kind has, and nested blocks, are folded away: unfold them as a click would
        field.evaluate(
            """e => { for (let d = e.closest('details:not([open])'); d; d = d.closest('details:not([open])'))
                        d.querySelector(':scope > summary').click(); }"""
        )
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
            field.press("Tab")
        self.settled()

    def drag_wire(self, source: str, target: str) -> None:
        """Drag from ``source``'s output handle onto ``target``, as a user connects two stages."""
        handle = self.stage(source).locator("circle.handle.out").bounding_box()
        body = self.stage(target).locator("rect.body").bounding_box()
        assert handle is not None and body is not None
        mouse = self.page.mouse
        mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        mouse.down()
        mouse.move(body["x"] + body["width"] / 2, body["y"] + body["height"] / 2, steps=8)
        mouse.up()
        self.settled()

    def unlabelled(self) -> list[str]:
        """Form controls with no accessible name (no <label>, aria-label or aria-labelledby)."""
        return list(
            self.page.evaluate(
                """() => [...document.querySelectorAll('input, select, textarea, button')]
                  .filter(e => e.offsetParent !== null)
                  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                  .filter(e => !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
                  .map(e => e.outerHTML.slice(0, 80))"""
            )
        )
