"""``etl-cli dlq``: count, show and replay a pipeline's dead letters (use cases in :mod:`etl_cli.usecases.dlq`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from etl_cli.cli.completion import complete_stage
from etl_cli.cli.options import (
    ConfirmEnvOpt,
    EnvOpt,
    FormatOpt,
    LogFormatOpt,
    MasterOpt,
    PipelineArg,
    RemoteOpt,
    ResultsDirOpt,
    SetOpt,
    TakesDebug,
    TextOrJson,
    VerboseOpt,
    spark_target,
)
from etl_cli.cli.output import stdout_console
from etl_cli.cli.reporters import run_reporter
from etl_cli.cli.tables import FittedTable
from etl_cli.usecases.dlq import QueueOptions, ReplayOptions, count_dead_letters, replay_dead_letters, show_dead_letters

dlq_app = typer.Typer(
    name="dlq",
    help="Inspect a pipeline's dead-letter queue and replay fixed rows (see docs/dead-letter.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

RunOpt = Annotated[list[str] | None, typer.Option("--run", help="Only dead letters of this run id (repeatable).")]
CheckOpt = Annotated[str | None, typer.Option("--check", help="Only rows quarantined by this check.")]
StageOpt = Annotated[
    str | None, typer.Option("--stage", help="Only dead letters of this stage.", autocompletion=complete_stage)
]


@dlq_app.command("count", cls=TakesDebug)
def count(
    pipeline: PipelineArg,
    env: EnvOpt = None,
    sets: SetOpt = None,
    runs: RunOpt = None,
    check: CheckOpt = None,
    stage: StageOpt = None,
    master: MasterOpt = None,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Dead letters per run, stage, kind (malformed, quarantined, rejected) and check."""
    rows = count_dead_letters(pipeline, QueueOptions(env, tuple(sets or ()), master, tuple(runs or ()), check, stage))
    if output_format is TextOrJson.json:
        print(json.dumps({"total": sum(r["rows"] for r in rows), "groups": rows}, indent=2))
        return
    console = stdout_console()
    if not rows:
        console.print("no dead letters")
        return
    table = Table(title=f"dead letters: {sum(r['rows'] for r in rows):,}", title_justify="left")
    for column in ("run", "stage", "kind", "check", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left", overflow="fold")
    for r in rows:
        table.add_row(
            escape(r["run_id"] or ""), escape(r["stage"] or ""), r["kind"], escape(r["check"] or "—"), f"{r['rows']:,}"
        )
    console.print(FittedTable(table))


@dlq_app.command("show", cls=TakesDebug)
def show(
    pipeline: PipelineArg,
    env: EnvOpt = None,
    sets: SetOpt = None,
    runs: RunOpt = None,
    check: CheckOpt = None,
    stage: StageOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many.")] = 20,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show sensitive columns unmasked.")] = False,
    master: MasterOpt = None,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """The dead letters themselves: when, which run and stage, why, and the row (sensitive columns masked)."""
    queue = QueueOptions(env, tuple(sets or ()), master, tuple(runs or ()), check, stage)
    rows = show_dead_letters(pipeline, queue, limit, reveal)
    if output_format is TextOrJson.json:
        for row in rows:
            print(json.dumps(row, default=str))
        return
    console = stdout_console()
    if not rows:
        console.print("no dead letters")
    for row in rows:
        what = f"{row['kind']}" + (f" by {row['check']}" if row["check"] else "")
        run = escape(row["run_id"] or "")
        console.print(f"[bold]{escape(row['stage'] or '')}[/] · {escape(what)} · run {run} · {row['failed_at']}")
        console.print(f"  reason: {escape(row['reason'] or '')}")
        console.print(f"  row:    {escape(row['row'] or '')}")
        if row["raw"] is not None:
            console.print(f"  raw:    {escape(row['raw'])}")


@dlq_app.command("replay", cls=TakesDebug)
def replay(
    pipeline: PipelineArg,
    env: EnvOpt = None,
    sets: SetOpt = None,
    runs: RunOpt = None,
    check: CheckOpt = None,
    stage: StageOpt = None,
    rows: Annotated[
        Path | None,
        typer.Option("--rows", help="A JSON Lines file of corrected rows to load instead of the dead letters."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replay even if it was done before or a transform on the way is not row-wise."),
    ] = False,
    master: MasterOpt = None,
    remote: RemoteOpt = None,
    results_dir: ResultsDirOpt = None,
    log_format: LogFormatOpt = TextOrJson.text,
    verbose: VerboseOpt = False,
    confirm_env: ConfirmEnvOpt = None,
) -> None:
    """Run dead letters (or corrected rows) through the pipeline again from the stage they left; sinks append."""
    queue = QueueOptions(env, tuple(sets or ()), spark_target(master, remote), tuple(runs or ()), check, stage)
    options = ReplayOptions(rows, force, verbose, results_dir, confirm_env)
    code = replay_dead_letters(pipeline, queue, options, run_reporter(log_format))
    raise typer.Exit(int(code))
