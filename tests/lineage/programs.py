"""The programs the tests of the lineage pictures drive: headless Chromium, and Graphviz's ``dot``.

Both come from Debian (``scripts/test-tools.sh`` installs them). Without one a test that needs it skips,
except under CI, which must have them, where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def program(names: tuple[str, ...], package: str) -> str:
    """The path of the first of ``names`` installed; skips the test (fails it under CI) when none is."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    message = f"{names[0]} is not installed (scripts/test-tools.sh installs it: apt-get install {package})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a profile of its own and no way to reach a host (the page must need none)."""
    command = [
        program(BROWSERS, "chromium"),
        "--headless=new",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        *(["--no-sandbox"] if os.geteuid() == 0 else []),  # Chromium refuses to sandbox itself as root
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True, stdin=subprocess.DEVNULL)


class PageDom(HTMLParser):
    """What ``--dump-dom`` shows of a lineage page after its script ran: the boxes, each column row with its
    classes and name (its <title>), and the text of the details panel."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[set[str], str]] = []
        self.nodes = 0
        self.details: list[str] = []
        self._row: set[str] | None = None
        self._in_title = False
        self._in_details = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        classes = set((named.get("class") or "").split())
        if tag == "g" and "col" in classes:
            self._row = classes
        elif tag == "g" and "node" in classes:
            self.nodes += 1
        elif tag == "title" and self._row is not None:
            self._in_title = True
        elif tag == "aside" and named.get("id") == "details":
            self._in_details = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "aside":
            self._in_details = False

    def handle_data(self, data: str) -> None:
        if self._in_title and self._row is not None:
            self.rows.append((self._row, data))
            self._row = None
        elif self._in_details and data.strip():
            self.details.append(data.strip())

    def having(self, name: str) -> set[str]:
        """The names of the column rows that have class ``name``."""
        return {title for classes, title in self.rows if name in classes}
