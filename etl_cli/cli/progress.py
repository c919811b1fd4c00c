"""A transient status line for ``dry-run`` and ``debug``: Spark starting, stage n of m, Spark's tasks.

It shows only on a terminal and disappears while results are printed or a prompt waits;
elsewhere it prints one plain line when Spark starts and nothing else.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from etl_cli.cli.reporters import spark_progress_text, spinner
from etl_cli.events import Reporter, SparkProgress, StageResult


class StatusReporter(Reporter):
    """Shows what is being computed while the user waits; prints no results (the command does)."""

    def __init__(self, console: Console, verb: str = "computing"):
        self.console = console
        self.verb = verb
        self.wants_spark_progress = console.is_terminal
        self._status: Any = None
        self._text = ""

    def _show(self, text: str) -> None:
        self._text = text
        if not self.console.is_terminal:
            return
        if self._status is None:
            self._status = self.console.status(escape(text), spinner=spinner(self.console))
            self._status.start()
        else:
            self._status.update(escape(text))

    def stop(self) -> None:
        """Remove the status line (before printing or prompting)."""
        if self._status is not None:
            self._status.stop()
            self._status = None

    def session_starting(self, master: str) -> None:
        if self.console.is_terminal:
            self._show(f"starting Spark ({master})…")
        else:
            self.console.print(f"starting Spark ({master})", markup=False, highlight=False)

    def message(self, level: str, text: str) -> None:
        """Notes and warnings (the warm engine used or not...), above the status line."""
        self.stop()
        self.console.print(f"{level}: {text}", markup=False, highlight=False)

    def stage_started(self, name: str, kind: str, type_: str, index: int, total: int) -> None:
        self._show(f"{self.verb} stage {index}/{total}: {name} ({kind} {type_})")

    def spark_progress(self, progress: SparkProgress | None) -> None:
        if self._status is not None:
            detail = spark_progress_text(progress)
            base = self._text
            self._status.update(escape(f"{base} · {detail}" if detail else base))

    def stage_finished(self, result: StageResult, index: int, total: int) -> None:
        if self.verb == "computing":
            self.stop()
