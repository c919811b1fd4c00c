"""What the core tells the outside world while it works.

The core never prints: it calls a :class:`Reporter`. The CLI implements one with
rich for terminals and one with plain or JSON lines for cron and CI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StageResult:
    """How one stage of a run ended."""

    name: str
    kind: str
    type: str
    status: str
    rows_in: int | None = None
    rows_out: int | None = None
    duration_s: float = 0.0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Reporter:
    """Receives run events; every method is a no-op so reporters override what they show."""

    def run_started(self, run_id: str, pipeline: str, env: str | None, stages: int) -> None:
        """A run begins (lock taken, session not yet started)."""

    def session_starting(self, master: str) -> None:
        """Spark is starting: the slow part before the first stage."""

    def stage_started(self, name: str, kind: str, type_: str, index: int, total: int) -> None:
        """A stage begins."""

    def stage_finished(self, result: StageResult, index: int, total: int) -> None:
        """A stage ended (ok, failed or skipped)."""

    def message(self, level: str, text: str) -> None:
        """A human-readable note (warnings, commit steps)."""

    def run_finished(self, results: list[StageResult], status: str, duration_s: float, results_file: str) -> None:
        """The run is over; ``results`` covers every stage; its JSON record is at ``results_file``."""
