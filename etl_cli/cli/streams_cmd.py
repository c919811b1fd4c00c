"""``etl-cli streams list|status|stop``: the streaming runs on this machine.

Use cases in :mod:`etl_cli.usecases.streams`; the control files in :mod:`etl_cli.runtime.streams.control`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from etl_cli.cli.options import FormatOpt, TakesDebug, TextOrJson
from etl_cli.cli.output import stderr_console, stdout_console
from etl_cli.cli.tables import FittedTable
from etl_cli.usecases.streams import StreamingRun, stop_failure, stop_run, streaming_runs

streams_app = typer.Typer(
    name="streams",
    help="List the streaming runs on this machine, show their progress and Kafka lag, stop one gracefully.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ProjectArg = Annotated[
    Path, typer.Argument(metavar="PROJECT", help="A folder of the project (its etl-project.yaml is there or above).")
]
PipelineArg = Annotated[str | None, typer.Argument(metavar="PIPELINE", help="Only runs of this pipeline (its name).")]
EnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Only runs in this environment.")]
RunIdOpt = Annotated[str | None, typer.Option("--run-id", help="Only the run with this id (or the start of it).")]
_MISSING = "—"


@streams_app.command("list", cls=TakesDebug)
def list_command(
    project: ProjectArg = Path("."),
    pipeline: PipelineArg = None,
    env: EnvOpt = None,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """The streaming runs of the project on this machine: run id, pipeline, environment, pid, start, queries.

    A run whose process has ended without removing its control file (it was killed) is listed as
    stale, with the reason, and its control file is removed.
    """
    runs = streaming_runs(project, pipeline, env)
    if output_format is TextOrJson.json:
        print(json.dumps({"runs": [r.to_json() for r in runs]}, indent=2))
        return
    console = stdout_console()
    if not runs:
        console.print("no streaming run on this machine")
        return
    table = Table(title=None)
    for column in ("run id", "pipeline", "env", "state", "pid", "started (UTC)", "queries", "last update"):
        table.add_column(column, justify="right" if column in ("pid", "queries") else "left")
    for run in runs:
        record = run.record
        table.add_row(
            escape(run.run_id),
            escape(run.pipeline),
            escape(run.env or "default"),
            escape(_state(run)),
            str(run.pid),
            escape(_when(record.get("started_at"))),
            str(len(run.queries)),
            escape(_age(record.get("updated_at"))),
        )
    console.print(FittedTable(table))
    _report_stale(runs)


@streams_app.command("status", cls=TakesDebug)
def status_command(
    project: ProjectArg = Path("."),
    pipeline: PipelineArg = None,
    env: EnvOpt = None,
    run_id: RunIdOpt = None,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Each streaming query of the runs: micro-batch, input and processed rows/s, watermark, Kafka lag, rows written.

    The figures are those of each query's last progress report (Kafka lag: the latest offset
    minus the offset read up to, per partition, as of the last micro-batch).
    """
    runs = streaming_runs(project, pipeline, env, run_id)
    if output_format is TextOrJson.json:
        print(json.dumps({"runs": [r.to_json() for r in runs]}, indent=2))
        return
    console = stdout_console()
    if not runs:
        console.print("no streaming run on this machine")
        return
    for run in runs:
        started = _when(run.record.get("started_at"))
        console.print(
            f"{escape(run.pipeline)} (env {escape(run.env or 'default')}) run {escape(run.run_id)}, "
            f"pid {run.pid}, started {escape(started)}: {escape(_state(run))}"
        )
        if run.state != "running" or not run.queries:
            continue
        table = Table(title=None)
        columns = ("query", "state", "batch", "input rows/s", "processed rows/s", "watermark", "kafka lag", "rows")
        for column in columns:
            table.add_column(column, justify="left" if column in ("query", "state", "watermark") else "right")
        for query in run.queries:
            table.add_row(
                escape(str(query.get("name"))),
                escape("active" if query.get("active") else "stopped"),
                _cell(query.get("batch_id")),
                _cell(query.get("input_rows_per_second")),
                _cell(query.get("processed_rows_per_second")),
                escape(query.get("watermark") or _MISSING),
                _cell(query.get("lag")),
                _cell(query.get("rows_written")),
            )
        console.print(FittedTable(table))
    _report_stale(runs)


@streams_app.command("stop", cls=TakesDebug)
def stop_command(
    project: ProjectArg = Path("."),
    pipeline: PipelineArg = None,
    env: EnvOpt = None,
    run_id: RunIdOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds to wait for the run to end (default 120).")
    ] = 120.0,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Stop a streaming run gracefully, as SIGTERM does, and wait for it to end.

    Its running micro-batch may finish (within the pipeline's stop_timeout_s), then its queries
    stop; the checkpoint stays consistent and the next run resumes from it. Exit 0 when the run
    ended cleanly; 4 when it ended failed or still runs after --timeout; 2 when no run of
    etl-cli's matches, or several do.
    """
    outcome = stop_run(project, pipeline, env, run_id, timeout)
    failure = stop_failure(outcome)
    if output_format is TextOrJson.json:
        print(json.dumps(outcome.to_json(), indent=2))
    elif failure is None:
        run = outcome.run
        status = f" ({outcome.run_status})" if outcome.run_status else ""
        stdout_console().print(
            f"stopped {escape(run.pipeline)} (env {escape(run.env or 'default')}) run {escape(run.run_id)}, "
            f"pid {run.pid}, in {outcome.waited_s:.1f} s{escape(status)}"
        )
    if failure is not None:
        raise failure


def _state(run: StreamingRun) -> str:
    if run.state == "running":
        return "running"
    return f"{run.state}: {run.reason}" + (" (control file removed)" if run.removed else "")


def _report_stale(runs: list[StreamingRun]) -> None:
    removed = [r for r in runs if r.removed]
    if removed:
        stderr_console().print(f"removed {len(removed)} stale control file(s) of runs that had ended")


def _cell(value: Any) -> str:
    if value is None:
        return _MISSING
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _when(value: Any) -> str:
    if not value:
        return _MISSING
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(value)


def _age(value: Any) -> str:
    if not value:
        return _MISSING
    try:
        seconds = (datetime.now(UTC) - datetime.fromisoformat(str(value))).total_seconds()
    except ValueError:
        return str(value)
    return f"{max(seconds, 0):.0f} s ago"
