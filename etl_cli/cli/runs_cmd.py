"""``etl-cli runs list|show|diff|report``: the run history of a project (use cases in :mod:`etl_cli.usecases.runs`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from etl_cli.cli.options import FormatOpt, TakesDebug, TextOrJson
from etl_cli.cli.output import stderr_console, stdout_console
from etl_cli.cli.tables import FittedTable
from etl_cli.errors import UsageError
from etl_cli.usecases.runs import Change, RunDetail, RunDiff, RunQuery, diff_runs, list_runs, show_run

runs_app = typer.Typer(
    name="runs",
    help="List, show, compare and chart the project's past runs: stages, rows, durations, checks, errors.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Status(StrEnum):
    """The statuses a run ends with (``status`` in its results)."""

    success = "success"
    failed = "failed"
    interrupted = "interrupted"
    terminated = "terminated"


ProjectPathArg = Annotated[
    Path, typer.Argument(help="A folder of the project (its etl-project.yaml is there or above).")
]
ProjectOpt = Annotated[
    Path, typer.Option("--project", help="A folder of the project (its etl-project.yaml is there or above).")
]
RunIdArg = Annotated[str, typer.Argument(help="A run id, or the start of one that no other run shares.")]
PipelineOpt = Annotated[str | None, typer.Option("--pipeline", help="Only runs of this pipeline (its name).")]
_MISSING = "—"


@runs_app.command("list", cls=TakesDebug)
def list_command(
    path: ProjectPathArg = Path("."),
    pipeline: PipelineOpt = None,
    env: Annotated[str | None, typer.Option("--env", "-e", help="Only runs in this environment.")] = None,
    status: Annotated[Status | None, typer.Option("--status", help="Only runs that ended so.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many.")] = 20,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """The project's runs, newest first: id, pipeline, environment, status, exit code, start, duration, rows written.

    Runs from before the history existed are imported from their results files the first time.
    """
    runs = list_runs(path, RunQuery(pipeline, env, status.value if status else None, limit))
    if output_format is TextOrJson.json:
        print(json.dumps({"runs": [r.to_json() for r in runs]}, indent=2))
        return
    console = stdout_console()
    if not runs:
        console.print("no runs recorded")
        return
    table = Table(title=None)
    for column in ("run id", "pipeline", "env", "status", "exit", "started (UTC)", "duration", "rows written"):
        table.add_column(column, justify="right" if column in ("exit", "duration", "rows written") else "left")
    for r in runs:
        exit_code = _MISSING if r.exit_code is None else str(r.exit_code)
        cells = (r.run_id, r.pipeline, r.env, r.status, exit_code, _when(r.started_at))
        table.add_row(*map(escape, cells), _seconds(r.duration_s), _count(r.rows_written))
    console.print(FittedTable(table))


@runs_app.command("show", cls=TakesDebug)
def show_command(
    run_id: RunIdArg,
    pipeline: PipelineOpt = None,
    project: ProjectOpt = Path("."),
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """One run: its outcome and error, each stage's status, rows and duration, its checks, its results file."""
    detail = show_run(project, run_id, pipeline)
    if output_format is TextOrJson.json:
        print(json.dumps(detail.to_json(), indent=2))
        return
    _print_detail(detail)


@runs_app.command("diff", cls=TakesDebug)
def diff_command(
    run_a: Annotated[str, typer.Argument(help="The run to compare from (an id or its start).")],
    run_b: Annotated[str, typer.Argument(help="The run to compare with it.")],
    project: ProjectOpt = Path("."),
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Two runs side by side: each stage's rows out and duration, and the change from A to B (absolute and %)."""
    diff = diff_runs(project, run_a, run_b)
    if output_format is TextOrJson.json:
        print(json.dumps(diff.to_json(), indent=2))
        return
    _print_diff(diff)


@runs_app.command("report", cls=TakesDebug)
def report_command(
    pipeline: Annotated[
        str | None, typer.Argument(help="Only this pipeline (its name); every pipeline with runs when left out.")
    ] = None,
    env: Annotated[str | None, typer.Option("--env", "-e", help="Only runs in this environment.")] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="AGE|DATE",
            help="Only runs started since then: an age (30m, 12h, 7d, 2w) or an ISO date or time (UTC unless it "
            "says otherwise).",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many runs per pipeline and environment.")
    ] = 100,
    project: ProjectOpt = Path("."),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the page to this file, not stdout.")
    ] = None,
) -> None:
    """Write an HTML page charting the run history: duration and status of each run, rows per stage, check failures.

    One section per pipeline and environment, and a table of its recent runs. The page is one
    file that loads nothing (styles, script and SVG charts inline): for people without a
    Prometheus stack. With no matching run, the page says so (and so does the command, on stderr).
    """
    from etl_cli.usecases.run_report import ReportRequest, build_report
    from etl_cli.usecases.run_report_page import empty_message, html_page, plural

    report = build_report(ReportRequest(project, pipeline, env, since, limit))
    page = html_page(report)
    console = stderr_console()
    if not report.sections:
        console.print(f"warning: {escape(empty_message(report))}")
    if output is None:
        print(page)
        return
    try:
        output.write_text(page + "\n", encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"cannot write --output {output}: {error.strerror}", hint="pass a file in a folder that exists"
        ) from error
    sections = plural(len(report.sections), "section")
    console.print(f"wrote {escape(str(output))}: {plural(report.run_count, 'run')} in {sections}")


def _print_detail(detail: RunDetail) -> None:
    run, console = detail.run, stdout_console()
    console.print(f"run {escape(run.run_id)} · pipeline {escape(run.pipeline)} · env {escape(run.env)}")
    exit_code = "" if run.exit_code is None else f" (exit {run.exit_code})"
    console.print(
        f"{escape(run.status)}{exit_code} · started {_when(run.started_at)} UTC · {_seconds(run.duration_s)}"
        f" · master {escape(run.master or _MISSING)} · rows written {_count(run.rows_written)}"
    )
    if run.error_type or run.error_message:
        where = f" in stage {run.error_stage}" if run.error_stage else ""
        console.print(f"error{escape(where)}: {escape(run.error_type or '')}: {escape(run.error_message or '')}")
    console.print(f"results: {escape(run.results_file or _MISSING)}")
    stages = Table(title="stages", title_justify="left")
    for column in ("stage", "kind", "type", "status", "rows in", "rows out", "time", "error"):
        stages.add_column(column, justify="right" if column in ("rows in", "rows out", "time") else "left")
    for s in detail.stages:
        cells = (_count(s.rows_in), _count(s.rows_out), _seconds(s.duration_s))
        stages.add_row(*map(escape, (s.name, s.kind, s.type, s.status)), *cells, escape(s.error or ""))
    console.print(FittedTable(stages))
    if detail.checks:
        checks = Table(title="checks", title_justify="left")
        for column in ("check", "stage", "type", "outcome", "rows failed"):
            checks.add_column(column, justify="right" if column == "rows failed" else "left")
        for c in detail.checks:
            fields = (c.name, c.stage or _MISSING, c.type or _MISSING, c.outcome)
            checks.add_row(*map(escape, fields), _count(c.rows_failed))
        console.print(FittedTable(checks))


def _print_diff(diff: RunDiff) -> None:
    console = stdout_console()
    for label, run in (("A", diff.a), ("B", diff.b)):
        console.print(
            f"{label}: {escape(run.run_id)} · {escape(run.pipeline)} · {escape(run.env)} · {escape(run.status)}"
            f" · started {_when(run.started_at)} UTC"
        )
    table = Table(title=None)
    for column in ("stage", "kind", "rows A", "rows B", "rows change", "time A", "time B", "time change"):
        table.add_column(column, justify="left" if column in ("stage", "kind") else "right")
    for s in diff.stages:
        name = s.name + (f" (only in {s.only_in.upper()})" if s.only_in else "")
        rows = (_count(s.rows.a), _count(s.rows.b), _change(s.rows, _count))
        times = (_seconds(s.duration_s.a), _seconds(s.duration_s.b), _change(s.duration_s, _seconds))
        table.add_row(escape(name), escape(s.kind), *rows, *times)
    written, took = diff.rows_written, diff.duration_s
    totals = (_count(written.a), _count(written.b), _change(written, _count))
    table.add_row("(whole run)", "", *totals, _seconds(took.a), _seconds(took.b), _change(took, _seconds))
    console.print(FittedTable(table))


def _change(change: Change, show: Callable[[float | None], str]) -> str:
    """``+120 (+12.0%)``, ``-0.50s (-4.2%)``, ``0 (0.0%)``; without a percentage from 0; — when either is unknown."""
    delta = change.delta
    if delta is None:
        return _MISSING
    sign = "+" if delta > 0 else ("-" if delta < 0 else "")
    percent = change.percent
    return f"{sign}{show(abs(delta))}" + ("" if percent is None else f" ({percent:+.1f}%)")


def _count(rows: float | None) -> str:
    return _MISSING if rows is None else f"{int(rows):,}"


def _seconds(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``4m 05s``, ``2h 03m``."""
    if seconds is None:
        return _MISSING
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _when(started_at: str) -> str:
    """An ISO time as ``2026-12-05 13:02:28`` (the history keeps UTC); as stored when it is not one."""
    try:
        return datetime.fromisoformat(started_at).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return started_at
