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
    #: the run whose checkpoint this run read the stage's rows from, instead of computing them (``run --select``)
    from_checkpoint: str | None = None


@dataclass(frozen=True)
class SparkProgress:
    """What Spark's active jobs have done so far (polled from its status tracker while a stage runs)."""

    jobs: tuple[int, ...]
    tasks: int
    tasks_done: int
    tasks_running: int
    #: records read and written by the tasks that finished (Spark counts them per task)
    rows_read: int = 0
    rows_written: int = 0


class Reporter:
    """Receives run events; every method is a no-op so reporters override what they show."""

    #: whether :meth:`spark_progress` events are wanted: polling Spark takes a thread, and only terminals show them
    wants_spark_progress: bool = False

    def run_started(self, run_id: str, pipeline: str, env: str | None, stages: int) -> None:
        """A run begins (lock taken, session not yet started)."""

    def session_starting(self, master: str) -> None:
        """Spark is starting: the slow part before the first stage."""

    def session_started(self, master: str, startup_s: float) -> None:
        """Spark is up after ``startup_s`` seconds (a run's start-up, in no stage's time)."""

    def profile_report(self, profile: dict[str, Any]) -> None:
        """``run --profile``: where the time went (the ``profile`` of the run results, see docs/run.md)."""

    def stage_started(self, name: str, kind: str, type_: str, index: int, total: int) -> None:
        """A stage begins."""

    def stage_finished(self, result: StageResult, index: int, total: int) -> None:
        """A stage ended (ok, failed or skipped)."""

    def message(self, level: str, text: str) -> None:
        """A human-readable note (warnings, commit steps)."""

    def run_finished(self, results: list[StageResult], status: str, duration_s: float, results_file: str) -> None:
        """The run is over; ``results`` covers every stage; its JSON record is at ``results_file``."""

    def spark_progress(self, progress: SparkProgress | None) -> None:
        """Spark's active jobs moved on (None: no job is running). Sent only when ``wants_spark_progress``."""

    def quality_report(self, report: dict[str, Any]) -> None:
        """The data-quality checks of the run were evaluated (the JSON of ``<run_id>.quality.json``).

        ``report["checks"]`` holds one entry per check: name, stage, type, action, severity,
        rows_evaluated, rows_failed, failure_rate, samples, outcome.
        """

    def retrying(self, operation: str, endpoint: str, attempt: int, attempts: int, delay_s: float, error: str) -> None:
        """Try ``attempt`` of ``attempts`` of an external operation failed transiently; the next is in ``delay_s``."""

    def circuit_changed(self, endpoint: str, old: str, new: str, failures: int) -> None:
        """The circuit breaker of ``endpoint`` moved between closed, open and half_open."""
