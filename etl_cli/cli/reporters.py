"""Reporters: how a run looks in a terminal (rich), in cron logs (plain) and to machines (JSON)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TextIO, cast

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from etl_cli import tracing
from etl_cli.cli.options import TextOrJson
from etl_cli.cli.output import AsciiStream, ascii_only, stderr_console
from etl_cli.cli.tables import FittedTable
from etl_cli.errors import EtlError, UsageError
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
    """One JSON object per line per event (``--log-format json``), the same line to each of ``streams``.

    Every line names the run, the pipeline, the environment, the stage that is running (null
    between stages) and the run's trace id (null when it does not trace), so a log collector can
    filter and join lines, and find the trace, without following the run from its first line.
    """

    def __init__(self, *streams: TextIO):
        self.streams = streams or (sys.stderr,)
        self.run_id = ""
        self.pipeline: str | None = None
        self.env: str | None = None
        self.stage: str | None = None
        #: the run's trace, started before the run (kept after it ends, for the last lines)
        self.trace_id: str | None = None

    def _emit(self, event: str, **fields: Any) -> None:
        text = self.line(event, **fields)
        for stream in self.streams:
            stream.write(text)
            stream.flush()

    def line(self, event: str, **fields: Any) -> str:
        """The JSON line of ``event``, with the run's fields, newline included."""
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "event": event,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "env": self.env,
            "stage": self.stage,
            "trace_id": self.trace_id,
        }
        record.update(fields)
        return json.dumps(record, default=str) + "\n"

    def run_started(self, run_id: str, pipeline: str, env: str | None, stages: int) -> None:
        self.run_id, self.pipeline, self.env, self.trace_id = run_id, pipeline, env, tracing.trace_id()
        self._emit("run_started", stages=stages)

    def session_starting(self, master: str) -> None:
        self._emit("session_starting", master=master)

    def session_started(self, master: str, startup_s: float) -> None:
        self._emit("session_started", master=master, startup_s=startup_s)

    def profile_report(self, profile: dict[str, Any]) -> None:
        self._emit("profile", **profile)

    def stage_started(self, name: str, kind: str, type_: str, index: int, total: int) -> None:
        self.stage = name
        self._emit("stage_started", kind=kind, type=type_, index=index, total=total)

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
        self.stage = None

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


@contextmanager
def run_log(log_format: TextOrJson, log_file: Path | None) -> Iterator[Reporter]:
    """:func:`run_reporter`'s reporter and, with ``--log-file``, the same lines appended to that file.

    The console keeps its output. The file gets the JSON lines stderr gets, or the text lines a console
    that is not a terminal prints (no colour, no status line), and last the error that ends the run,
    which the console gets from the CLI's error boundary. It holds nothing the console does not:
    secret values are masked before any event is reported.
    """
    if log_file is None:
        yield run_reporter(log_format)
        return
    with _open_log_file(log_file) as stream:
        reporter, note_error = _teed(log_format, stream)
        try:
            yield reporter
        except EtlError as exc:
            note_error(str(exc))
            raise


def _teed(log_format: TextOrJson, stream: TextIO) -> tuple[Reporter, Callable[[str], None]]:
    """The reporter writing to the console and ``stream``, and how to write an error line to ``stream`` alone."""
    if log_format is TextOrJson.json:
        both = JsonLinesReporter(sys.stderr, stream)

        def note(text: str) -> None:
            stream.write(both.line("message", level="error", text=text))

        return both, note
    in_file = ConsoleReporter(_file_console(stream))
    return TeeReporter(ConsoleReporter(stderr_console()), in_file), lambda text: in_file.message("error", text)


def _open_log_file(path: Path) -> TextIO:
    """``path`` opened for appending; created readable by its owner only, since run logs describe systems."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UsageError(
            f"cannot write the log file {path} (--log-file): {exc.strerror}",
            hint="create its folder, or give --log-file a path you may write",
        ) from exc
    return os.fdopen(descriptor, "a", encoding="utf-8")


def _file_console(stream: TextIO) -> Console:
    """A console writing plain lines to a log file (ASCII alone under ``ETL_ASCII``, as on stderr)."""
    target = cast("IO[str]", AsciiStream(stream)) if ascii_only() else stream
    return Console(file=target, force_terminal=False, no_color=True, highlight=False, soft_wrap=True)


class TeeReporter(Reporter):
    """Hands every event to each of its reporters (the console's and the log file's)."""

    def __init__(self, *reporters: Reporter):
        self.reporters = reporters
        self.wants_spark_progress = any(r.wants_spark_progress for r in reporters)


def _fan_out(name: str) -> Any:
    def forward(self: TeeReporter, *args: Any, **kwargs: Any) -> None:
        for reporter in self.reporters:
            getattr(reporter, name)(*args, **kwargs)

    forward.__name__ = name
    return forward


# every event of Reporter is forwarded, so an event added there reaches the console and the log file alike
for _event in [name for name, value in vars(Reporter).items() if callable(value) and not name.startswith("_")]:
    setattr(TeeReporter, _event, _fan_out(_event))
