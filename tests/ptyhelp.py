"""Run an installed console script in a real pseudo-terminal, as a person at a keyboard would."""

from __future__ import annotations

import io
import os
import re
import signal
import sys
import time
from pathlib import Path

import pexpect

#: keys as a terminal sends them
DOWN = "\x1b[B"
UP = "\x1b[A"
ENTER = "\r"
SPACE = " "
CLEAR_LINE = "\x15"  # Ctrl-U: delete the typed line

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\r")


def default_interrupt() -> None:
    """Run in a spawned child before its program: Ctrl-C on the terminal interrupts it, as from a shell. A test
    run started in the background by a non-interactive shell (``cmd &``) ignores SIGINT, and children inherit it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def script(name: str) -> str:
    """The console script installed next to this Python (``etl-cli``, ``etl-debug``)."""
    return str(Path(sys.executable).parent / name)


class Terminal:
    """A program in a pty, with everything it printed kept for assertions."""

    def __init__(self, program: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 60):
        full_env = {
            **os.environ,
            "TERM": "xterm-256color",
            "NO_COLOR": "1",
            # no terminal emulator answers cursor-position requests here
            "PROMPT_TOOLKIT_NO_CPR": "1",
            **(env or {}),
        }
        # the program reads the pty's size (Rich and prompt_toolkit prefer these; pytest-xdist workers set 80x24)
        for size in ("COLUMNS", "LINES"):
            if size not in (env or {}):
                full_env.pop(size, None)
        self.transcript = io.StringIO()
        self.timeout = timeout
        self._seen = 0
        self.child = pexpect.spawn(
            script(program), list(args), cwd=str(cwd), env=full_env, encoding="utf-8",
            dimensions=(50, 200), timeout=timeout, preexec_fn=default_interrupt,
        )  # fmt: skip
        self.child.logfile_read = self.transcript

    def expect(self, text: str, timeout: float | None = None) -> None:
        """Wait until ``text`` shows on the screen (after what earlier expects matched)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while (found := self.screen.find(text, self._seen)) < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} did not appear; the screen ends with:\n{self.screen[-3000:]}")
            try:
                self.child.read_nonblocking(size=4096, timeout=min(remaining, 0.5))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                raise AssertionError(f"the program ended before {text!r} appeared:\n{self.screen[-3000:]}") from None
        self._seen = found + len(text)

    def type(self, text: str) -> None:
        self.child.send(text)

    def line(self, text: str = "") -> None:
        self.child.send(text + ENTER)

    def wait(self) -> int:
        self.child.expect(pexpect.EOF)
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)

    @property
    def screen(self) -> str:
        """Everything shown so far, without terminal control sequences."""
        return _ESCAPES.sub("", self.transcript.getvalue())
