"""Reporters: how a run looks in a terminal (rich), in cron logs (plain) and to machines (JSON)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from etl_cli.cli.options import TextOrJson
from etl_cli.cli.output import stderr_console
from etl_cli.cli.tables import FittedTable
from etl_cli.events import Reporter, SparkProgress, StageResult


def _fmt_rows(rows: int | None) -> str:
    return "—" if rows is None else f"{rows:,}"


def spark_progress_text(progress: SparkProgress | None) -> str:
    """``Spark job 3: 5/8 tasks · 1,204 rows written`` (empty when no job runs)."""
    if progress is None or not progress.tasks:
        return ""
    jobs = ", ".join(str(j) for j in progress.jobs)
    text = f"Spark job{'s' if len(progress.jobs) > 1 else ''} {jobs}: {progress.tasks_done}/{progress.tasks} tasks"
    if progress.rows_written:
        text += f" · {progress.rows_written:,} rows written"
    elif progress.rows_read:
        text += f" · {progress.rows_read:,} rows read"
    return text


def spinner(console: Console) -> str:
    """The status line's spinner: braille dots, or ``-\\|/`` where the console writes ASCII only."""
    return "line" if console.options.ascii_only else "dots"


def summary_table(results: list[StageResult], status: str, duration_s: float) -> FittedTable:
    """One row per stage: status, rows in and out, time (boxed on a terminal, plain aligned text elsewhere)."""
    table = Table(title=f"run {status} in {duration_s:.1f}s", title_justify="left")
    for column in ("stage", "kind", "type", "status", "rows in", "rows out", "time"):
        table.add_column(column, justify="right" if column in ("rows in", "rows out", "time") else "left")
    for r in results:
        table.add_row(
            r.name, r.kind, r.type, r.status, _fmt_rows(r.rows_in), _fmt_rows(r.rows_out), f"{r.duration_s:.2f}s"
        )
    return FittedTable(table)


def output_lines(results: list[StageResult]) -> list[str]:
    """Where each sink wrote and how many rows: ``  orders_out  1,204 rows written to /srv/out/orders (overwrite)``.

    A batch sink that failed or never ran published nothing; a streaming sink's micro-batches are written
    as they go, so one that stopped or failed still says how many rows it wrote.
    """
    sinks = [r for r in results if r.kind == "sink"]
    width = max((len(r.name) for r in sinks), default=0)
    return [f"  {r.name:<{width}}  {_written(r)}" for r in sinks]


def _written(result: StageResult) -> str:
    target = _target(result.details)
    if result.rows_out is not None:
        notes = [str(n) for n in (result.details.get("mode"), None if result.status == "ok" else result.status) if n]
        where = f" to {target}" if target else ""
        return f"{result.rows_out:,} rows written{where}" + (f" ({', '.join(notes)})" if notes else "")
    if result.status == "skipped" and target:
        return f"nothing written: {target} exists (mode {result.details.get('mode', 'ignore')})"
    return f"nothing written ({result.status})"


def _target(details: dict[str, Any]) -> str:
    """The sink's resolved target as its plug-in reported it: a path or URI, a topic, a table and its database."""
    target = details.get("target")
    if target is None:
        return ""
    return f"{target} at {details['database']}" if details.get("database") else str(target)


class ConsoleReporter(Reporter):
    """Human output. On a terminal: colour and a live status line; elsewhere plain lines."""

    def __init__(self, console: Console):
        self.console = console
        self.run_id = ""
        self._status: Any = None
        self._stage_text = ""
        self.wants_spark_progress = console.is_terminal

    def run_started(self, run_id: str, pipeline: str, env: str | None, stages: int) -> None:
        self.run_id = run_id
        self.console.print(
            f"run [bold]{run_id}[/] · pipeline [bold]{pipeline}[/] · env {env or 'default'} · {stages} stages"
        )

    def session_starting(self, master: str) -> None:
        if self.console.is_terminal:
            self._status = self.console.status(f"starting Spark ({master})…", spinner=spinner(self.console))
            self._status.start()
        else:
            self.console.print(f"starting Spark ({master})")

    def stage_started(self, name: str, kind: str, type_: str, index: int, total: int) -> None:
        self._stage_text = f"stage {index}/{total}: {name} ({kind} {type_})"
        if self._status is not None:
            self._status.update(self._stage_text)

    def spark_progress(self, progress: SparkProgress | None) -> None:
        if self._status is not None and self._stage_text:
            detail = spark_progress_text(progress)
            self._status.update(f"{self._stage_text} · {detail}" if detail else self._stage_text)

    def stage_finished(self, result: StageResult, index: int, total: int) -> None:
        if result.kind == "sink" or result.status != "ok":
            style = "green" if result.status == "ok" else ("yellow" if result.status == "skipped" else "red")
            rows = f" · {_fmt_rows(result.rows_out)} rows" if result.rows_out is not None else ""
            self.console.print(
                f"  [{style}]{result.status:>7}[/] {result.kind} {result.name}{rows} · {result.duration_s:.2f}s"
            )

    def message(self, level: str, text: str) -> None:
        self.console.print(f"{level}: {text}")

    def quality_report(self, report: dict[str, Any]) -> None:
        from etl_cli.cli.quality_table import print_quality_report

        print_quality_report(self.console, report)

    #: Spark's start-up, a line of the run summary (None until Spark is up)
    startup_s: float | None = None

    def session_started(self, master: str, startup_s: float) -> None:
        self.startup_s = startup_s

    def profile_report(self, profile: dict[str, Any]) -> None:
        from etl_cli.cli.profile_view import print_profile

        print_profile(self.console, profile)

    def retrying(self, operation: str, endpoint: str, attempt: int, attempts: int, delay_s: float, error: str) -> None:
        self.console.print(
            f"  [yellow]retry[/] {escape(operation)}: attempt {attempt}/{attempts} failed ({escape(error)}); "
            f"next in {delay_s:.1f}s",
            highlight=False,
        )

    def circuit_changed(self, endpoint: str, old: str, new: str, failures: int) -> None:
        style = "red" if new == "open" else "yellow"
        self.console.print(
            f"  [{style}]circuit[/] {escape(endpoint)}: {old} → {new} after {failures} consecutive failure(s)",
            highlight=False,
        )

    def run_finished(self, results: list[StageResult], status: str, duration_s: float, results_file: str) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        if results:
            self.console.print(summary_table(results, status, duration_s))
            if self.startup_s is not None:
                from etl_cli.cli.profile_view import startup_line

                self.console.print(startup_line(self.startup_s), markup=False, highlight=False)
            self._print_outputs(results)
        self.console.print(f"run results: {results_file}", markup=False, highlight=False)

    def _print_outputs(self, results: list[StageResult]) -> None:
        lines = output_lines(results)
        if lines:
            self.console.print("outputs:")
            for line in lines:
                self.console.print(line, markup=False, highlight=False)


class JsonLinesReporter(Reporter):
    """One JSON object per line per event, each with the run id (``--log-format json``)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.run_id = ""

    def _emit(self, event: str, **fields: Any) -> None:
        record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, "run_id": self.run_id}
        record.update(fields)
        self.stream.write(json.dumps(record, default=str) + "\n")
        self.stream.flush()

    def run_started(self, run_id: str, pipeline: str, env: str | None, stages: int) -> None:
        self.run_id = run_id
        self._emit("run_started", pipeline=pipeline, env=env, stages=stages)

    def session_starting(self, master: str) -> None:
        self._emit("session_starting", master=master)

    def session_started(self, master: str, startup_s: float) -> None:
        self._emit("session_started", master=master, startup_s=startup_s)

    def profile_report(self, profile: dict[str, Any]) -> None:
        self._emit("profile", **profile)

    def stage_started(self, name: str, kind: str, type_: str, index: int, total: int) -> None:
        self._emit("stage_started", stage=name, kind=kind, type=type_, index=index, total=total)

    def stage_finished(self, result: StageResult, index: int, total: int) -> None:
        self._emit(
            "stage_finished",
            stage=result.name,
            kind=result.kind,
            type=result.type,
            status=result.status,
            rows_out=result.rows_out,
            duration_s=round(result.duration_s, 3),
            error=result.error,
        )

    def message(self, level: str, text: str) -> None:
        self._emit("message", level=level, text=text)

    def quality_report(self, report: dict[str, Any]) -> None:
        self._emit("quality_report", **{k: v for k, v in report.items() if k != "run_id"})

    def retrying(self, operation: str, endpoint: str, attempt: int, attempts: int, delay_s: float, error: str) -> None:
        self._emit(
            "retrying",
            operation=operation,
            endpoint=endpoint,
            attempt=attempt,
            attempts=attempts,
            delay_s=round(delay_s, 3),
            error=error,
        )

    def circuit_changed(self, endpoint: str, old: str, new: str, failures: int) -> None:
        self._emit("circuit_changed", endpoint=endpoint, old=old, new=new, failures=failures)

    def run_finished(self, results: list[StageResult], status: str, duration_s: float, results_file: str) -> None:
        self._emit(
            "run_finished",
            status=status,
            duration_s=duration_s,
            results_file=results_file,
            stages=[_stage_summary(r) for r in results],
        )


def _stage_summary(result: StageResult) -> dict[str, Any]:
    """A stage in ``run_finished``: a sink adds where it wrote (``target``, and ``database`` for a table)."""
    summary: dict[str, Any] = {"stage": result.name, "status": result.status, "rows_out": result.rows_out}
    if result.kind == "sink":
        summary.update({key: result.details[key] for key in ("target", "database") if key in result.details})
    return summary


def run_reporter(log_format: TextOrJson) -> Reporter:
    """The reporter ``--log-format`` asks for: rich text on stderr for people, JSON Lines for log collectors."""
    return JsonLinesReporter() if log_format is TextOrJson.json else ConsoleReporter(stderr_console())
