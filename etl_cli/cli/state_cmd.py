"""``etl-cli state show|reset``: the incremental watermarks pipelines keep (use cases in
:mod:`etl_cli.usecases.state`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from etl_cli.cli.options import FormatOpt, TakesDebug, TextOrJson
from etl_cli.cli.output import stderr_console, stdout_console
from etl_cli.cli.tables import FittedTable
from etl_cli.errors import ExitCode, UsageError
from etl_cli.usecases.state import find_state, reset_state, show_state

state_app = typer.Typer(
    name="state",
    help="Show the incremental watermarks pipelines keep between runs, or forget one source's.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ProjectOpt = Annotated[
    Path, typer.Option("--project", help="A folder of the project (its etl-project.yaml is there or above).")
]
ShowEnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Only this environment (default: every one).")]
ResetEnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", help="The environment (default: $ETL_ENV, then the project default, as run)."),
]


@state_app.command("show", cls=TakesDebug)
def show_command(
    pipeline: Annotated[str | None, typer.Argument(help="Only this pipeline (its name).")] = None,
    env: ShowEnvOpt = None,
    project: ProjectOpt = Path("."),
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Each source's saved watermark, per pipeline and environment, with when and by which run it was saved."""
    states = show_state(project, pipeline, env)
    if output_format is TextOrJson.json:
        print(json.dumps({"state": [s.to_json() for s in states]}, indent=2, default=str))
        return
    console = stdout_console()
    if not states:
        console.print("no saved state" + (f" for pipeline {escape(pipeline)}" if pipeline else ""))
        return
    table = Table(title=None)
    for column in ("pipeline", "env", "source", "watermark", "saved at", "by run"):
        table.add_column(column)
    for s in states:
        shown = s.problem if s.value is None else _watermark(s.value)
        cells = (s.pipeline, s.env, s.stage, shown or "", s.saved_at or "—", s.run_id or "—")
        table.add_row(*map(escape, cells))
    console.print(FittedTable(table))


@state_app.command("reset", cls=TakesDebug)
def reset_command(
    pipeline: Annotated[str, typer.Argument(help="The pipeline (its name).")],
    source: Annotated[str, typer.Argument(help="The source whose watermark to forget.")],
    env: ResetEnvOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed off a terminal).")
    ] = False,
    project: ProjectOpt = Path("."),
) -> None:
    """Forget one source's watermark: the next run reads that source from the start. Nothing else is deleted.

    Refused (exit 5) while a run of the pipeline holds its lock.
    """
    target = find_state(project, pipeline, source, env)
    state = target.state
    what = f"the saved state of source '{source}' of pipeline '{pipeline}' (env {state.env})"
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"resetting {what} needs confirmation", hint="run it in a terminal, or pass --yes")
        current = _watermark(state.value) if state.value is not None else state.problem
        stderr_console().print(f"{escape(what)}: {escape(current or '')}")
        if not typer.confirm("Forget it? The next run reads the source from the start", err=True):
            stderr_console().print("nothing changed")
            raise typer.Exit(int(ExitCode.USAGE))  # not confirmed: as without a terminal and --yes
    removed = reset_state(target)
    stdout_console().print(f"forgot {escape(what)}: removed {escape(str(removed))}")


def _watermark(value: Mapping[str, Any]) -> str:
    """``updated_at = 2026-03-01 10:00:00`` for a JDBC watermark; any other value as compact JSON."""
    if set(value) >= {"column", "value"}:
        return f"{value['column']} = {value['value']}"
    return json.dumps(value, default=str, separators=(",", ":"))
