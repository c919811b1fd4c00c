"""What ``etl-cli dag run`` prints: a line per pipeline started, finished or skipped, then one summary table.

Everything goes to stderr, as ``run`` does; ``--log-format json`` writes one JSON object per line instead
(``dag_run_started``, ``pipeline_started``, ``pipeline_finished``, ``pipeline_skipped``, ``dag_run_finished``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from etl_cli.cli.tables import FittedTable
from etl_cli.orchestration.dag_record import FAILED, SUCCEEDED, DagRunRecord, PipelineRun

_STYLE = {SUCCEEDED: "green", FAILED: "red"}


def _rows(rows: int | None) -> str:
    return "—" if rows is None else f"{rows:,}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _seconds(duration_s: float | None) -> str:
    return "—" if duration_s is None else f"{duration_s:.1f}s"


class DagRunConsole:
    """Plain lines for people (coloured on a terminal)."""

    def __init__(self, console: Console):
        self.console = console

    def _line(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)

    def dag_run_started(self, record: DagRunRecord) -> None:
        resumes = f" · resumes {record.resumes}" if record.resumes else ""
        params = f" · params {escape(' '.join(record.params))}" if record.params else ""
        self._line(
            f"dag run [bold]{record.dag_run_id}[/] · {_count(len(record.pipelines), 'pipeline')} · jobs {record.jobs}"
            f" · env {escape(record.env or 'default')}{params}{resumes}"
        )

    def pipeline_started(self, run: PipelineRun) -> None:
        self._line(f"started   {escape(run.name)} · run {run.run_id}")

    def pipeline_finished(self, run: PipelineRun) -> None:
        style = _STYLE.get(run.status, "red")
        text = f"[{style}]{run.status:<9}[/] {escape(run.name)} · exit {run.exit_code} in {_seconds(run.duration_s)}"
        if run.rows_written is not None:
            text += f" · {run.rows_written:,} rows written"
        if run.status != SUCCEEDED:
            text += f" · log {escape(run.log_file or '')}"
        if run.error:
            text += f" · {escape(run.error)}"
        self._line(text)

    def pipeline_skipped(self, run: PipelineRun) -> None:
        self._line(f"[yellow]{run.status.replace('_', ' '):<9}[/] {escape(run.name)}: {escape(run.skip_reason or '')}")

    def dag_run_finished(self, record: DagRunRecord, record_file: Path) -> None:
        self.console.print(summary_table(record))
        self.console.print(f"dag run results: {record_file}", markup=False, highlight=False)


def summary_table(record: DagRunRecord) -> FittedTable:
    """One row per pipeline: status, exit code, rows written, time (boxed on a terminal, plain text elsewhere)."""
    title = f"dag run {record.status} in {_seconds(record.duration_s)} (exit {record.exit_code})"
    table = Table(title=title, title_justify="left")
    for column in ("pipeline", "status", "exit", "rows written", "time"):
        table.add_column(column, justify="right" if column in ("exit", "rows written", "time") else "left")
    for run in record.pipelines.values():
        exit_code = "—" if run.exit_code is None else str(run.exit_code)
        table.add_row(escape(run.name), run.status, exit_code, _rows(run.rows_written), _seconds(run.duration_s))
    return FittedTable(table)


class DagRunJsonLines:
    """One JSON object per line per event, each with the DAG run id (``--log-format json``)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.dag_run_id = ""

    def _emit(self, event: str, **fields: Any) -> None:
        record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event}
        record["dag_run_id"] = self.dag_run_id
        record.update(fields)
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()

    def dag_run_started(self, record: DagRunRecord) -> None:
        self.dag_run_id = record.dag_run_id
        self._emit(
            "dag_run_started",
            pipelines=list(record.pipelines),
            jobs=record.jobs,
            env=record.env,
            params=record.params,
            resumes=record.resumes,
        )

    def pipeline_started(self, run: PipelineRun) -> None:
        self._emit("pipeline_started", pipeline=run.name, run_id=run.run_id, log_file=run.log_file)

    def pipeline_finished(self, run: PipelineRun) -> None:
        self._emit(
            "pipeline_finished",
            pipeline=run.name,
            status=run.status,
            exit_code=run.exit_code,
            duration_s=run.duration_s,
            rows_written=run.rows_written,
            run_id=run.run_id,
            results_file=run.results_file,
            log_file=run.log_file,
            error=run.error,
        )

    def pipeline_skipped(self, run: PipelineRun) -> None:
        self._emit("pipeline_skipped", pipeline=run.name, status=run.status, reason=run.skip_reason)

    def dag_run_finished(self, record: DagRunRecord, record_file: Path) -> None:
        pipelines = [
            {"pipeline": r.name, "status": r.status, "exit_code": r.exit_code, "rows_written": r.rows_written,
             "duration_s": r.duration_s}
            for r in record.pipelines.values()
        ]  # fmt: skip
        self._emit(
            "dag_run_finished",
            status=record.status,
            exit_code=record.exit_code,
            duration_s=record.duration_s,
            results_file=str(record_file),
            pipelines=pipelines,
        )
