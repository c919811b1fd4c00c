"""``etl-cli dlq``: count, show and replay a pipeline's dead letters."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from etl_cli import app
from etl_cli.runtime.dlq import Selection

dlq_app = typer.Typer(
    name="dlq",
    help="Inspect a pipeline's dead-letter queue and replay fixed rows (see docs/dead-letter.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Format(StrEnum):
    text = "text"
    json = "json"


PipelineArg = Annotated[Path, typer.Argument(help="Pipeline file or folder.")]
EnvOpt = Annotated[
    str | None, typer.Option("--env", "-e", help="Environment overlay (default: $ETL_ENV, then the project's).")
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override a key (repeatable).", metavar="KEY.PATH=VALUE")
]
RunOpt = Annotated[list[str] | None, typer.Option("--run", help="Only dead letters of this run id (repeatable).")]
CheckOpt = Annotated[str | None, typer.Option("--check", help="Only rows quarantined by this check.")]
StageOpt = Annotated[str | None, typer.Option("--stage", help="Only dead letters of this stage.")]
MasterOpt = Annotated[
    str | None, typer.Option("--master", help="Spark master (default: the pipeline's, else local[*]).")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="text for people, json for scripts.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _read(
    pipeline: Path, env: str | None, sets: list[str] | None, master: str | None, selection: Selection, action: Any
) -> Any:
    """Load the pipeline, start Spark, read the selected dead letters, apply ``action``, stop Spark."""
    from etl_cli.runtime.dlq import inspection_context, open_session, read_queue

    _, spec = app.load_spec(pipeline, env, tuple(sets or ()))
    session = open_session(spec, app.registry(), master)
    try:
        ctx = inspection_context(session, spec)
        return spec, action(spec, read_queue(ctx, spec, app.registry(), selection))
    finally:
        session.stop()


@dlq_app.command("count")
def count(
    pipeline: PipelineArg,
    env: EnvOpt = None,
    sets: SetOpt = None,
    runs: RunOpt = None,
    check: CheckOpt = None,
    stage: StageOpt = None,
    master: MasterOpt = None,
    output_format: FormatOpt = Format.text,
    debug: DebugOpt = False,
) -> None:
    """Dead letters per run, stage, kind (malformed, quarantined, rejected) and check."""
    from etl_cli.runtime.dlq import counts

    selection = Selection(tuple(runs or ()), check, stage)
    _, rows = _read(pipeline, env, sets, master, selection, lambda spec, df: counts(df))
    if output_format is Format.json:
        print(json.dumps({"total": sum(r["rows"] for r in rows), "groups": rows}, indent=2))
        return
    console = _stdout()
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
    console.print(table)


@dlq_app.command("show")
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
    output_format: FormatOpt = Format.text,
    debug: DebugOpt = False,
) -> None:
    """The dead letters themselves: when, which run and stage, why, and the row (sensitive columns masked)."""
    from etl_cli.runtime.dlq import letters

    selection = Selection(tuple(runs or ()), check, stage)
    _, rows = _read(pipeline, env, sets, master, selection, lambda spec, df: letters(df, spec, limit, reveal))
    if output_format is Format.json:
        for row in rows:
            print(json.dumps(row, default=str))
        return
    console = _stdout()
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


@dlq_app.command("replay")
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
    results_dir: Annotated[
        Path | None, typer.Option("--results-dir", help="Where to write the run-results JSON.")
    ] = None,
    log_format: Annotated[
        Format, typer.Option("--log-format", help="text for people, json for log collectors.")
    ] = Format.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Spark's own log output.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Run dead letters (or corrected rows) through the pipeline again from the stage they left; sinks append."""
    from etl_cli.cli.main import stderr_console
    from etl_cli.cli.reporters import ConsoleReporter, JsonLinesReporter
    from etl_cli.events import Reporter
    from etl_cli.runtime.replay import replay as run_replay

    _, spec = app.load_spec(pipeline, env, tuple(sets or ()))
    reporter: Reporter = JsonLinesReporter() if log_format is Format.json else ConsoleReporter(stderr_console())
    code, _ = run_replay(
        spec,
        app.registry(),
        reporter,
        app.new_run_id(),
        selection=Selection(tuple(runs or ()), check, stage),
        rows_file=rows,
        force=force,
        master=master,
        verbose=verbose,
        results_dir=results_dir,
    )
    raise typer.Exit(int(code))
