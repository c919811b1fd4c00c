"""``etl-cli backfill``: one run per interval of a date range (use case in :mod:`etl_cli.usecases.backfill`).

Everything it prints goes to stderr, as ``run`` prints: a line per interval as it starts and finishes, with
how many are done, failed and remaining, then one table of every interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from etl_cli.cli.options import ConfirmEnvOpt, EnvOpt, ParamOpt, PipelineArg, SetOpt
from etl_cli.cli.tables import FittedTable
from etl_cli.orchestration.backfill import FAILED, SUCCEEDED, BackfillRecord, IntervalRun

_STYLE = {SUCCEEDED: "green", FAILED: "red"}


def backfill_command(
    pipeline: PipelineArg,
    start: Annotated[
        str | None,
        typer.Option("--from", metavar="DATE", help="The first interval's start: 2026-01-01 or 2026-01-01T06:00."),
    ] = None,
    stop: Annotated[
        str | None,
        typer.Option("--to", metavar="DATE", help="The last interval's start (included): 2026-01-31."),
    ] = None,
    step: Annotated[
        str | None,
        typer.Option("--step", metavar="STEP", help="The length of an interval: 1h, 6h, 1d, 7d, 1w, 1mo (default 1d)."),
    ] = None,
    param_name: Annotated[
        str | None,
        typer.Option(
            "--param-name",
            metavar="NAME",
            help="The parameter each interval's start goes to (default: the pipeline's only date/timestamp one).",
        ),
    ] = None,
    env: EnvOpt = None,
    sets: SetOpt = None,
    params: ParamOpt = None,
    allow_append: Annotated[
        bool,
        typer.Option("--allow-append", help="Accept sinks in mode append (a re-run adds an interval's rows again)."),
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="BACKFILL_ID",
            help="Run again only the intervals of that backfill that did not succeed (with its options).",
        ),
    ] = None,
    confirm_env: ConfirmEnvOpt = None,
) -> None:
    """Run a pipeline once per interval of a date range, giving it each interval's start as a parameter.

    The runs go one after the other and a failed interval does not stop the rest. Refused when a re-run of
    an interval would not replace what it wrote (an append, an overwrite of the whole target). Exits with
    the worst exit code of the runs (143, 130, 4, 3, 1, 2, 5, then 0); the record is .etl/backfills/ID.json.
    """
    from etl_cli.cli.output import stderr_console
    from etl_cli.usecases.backfill import BackfillOptions, run_backfill

    console = BackfillConsole(stderr_console())
    options = BackfillOptions(
        pipeline=pipeline,
        start=start,
        stop=stop,
        step=step,
        param_name=param_name,
        env=env,
        sets=tuple(sets or ()),
        params=tuple(params or ()),
        allow_append=allow_append,
        resume=resume,
        confirm_env=confirm_env,
    )
    outcome = run_backfill(options, console)
    if outcome.record is None or outcome.record_file is None:
        console.line(f"backfill {outcome.nothing_to_resume}: every interval succeeded, nothing to resume")
        raise typer.Exit(0)
    console.backfill_finished(outcome.record, outcome.record_file, pipeline)
    raise typer.Exit(outcome.record.exit_code or 0)


class BackfillConsole:
    """Plain lines for people (coloured on a terminal)."""

    def __init__(self, console: Console):
        self.console = console

    def line(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True, markup=False)

    def backfill_started(self, record: BackfillRecord) -> None:
        todo = sum(1 for interval in record.intervals if interval.status != SUCCEEDED)
        again = f" · resumed: {todo} of {len(record.intervals)} to run again" if record.resumed_at else ""
        end = f", {record.end_param} its end" if record.end_param else ""
        self.line(
            f"backfill {record.backfill_id} · {record.pipeline} · env {record.env or 'default'} · "
            f"{len(record.intervals)} intervals of {record.step} from {record.from_} to {record.to} · "
            f"{record.param} gets each interval's start{end}{again}"
        )

    def interval_started(self, record: BackfillRecord, interval: IntervalRun) -> None:
        self.line(f"started   {interval.start} · run {interval.run_id}")

    def interval_finished(self, record: BackfillRecord, interval: IntervalRun) -> None:
        style = _STYLE.get(interval.status, "red")
        text = f"[{style}]{interval.status:<9}[/] {escape(interval.start)} · exit {interval.exit_code}"
        if interval.duration_s is not None:
            text += f" in {interval.duration_s:.1f}s"
        if interval.status != SUCCEEDED:
            text += f" · log {escape(interval.log_file or '')}"
        counts = record.counts()
        text += f" · done {counts['done']}, failed {counts['failed']}, remaining {counts['remaining']}"
        self.console.print(text, highlight=False, soft_wrap=True)

    def backfill_finished(self, record: BackfillRecord, record_file: Path, pipeline: Path) -> None:
        self.console.print(summary_table(record))
        self.line(f"backfill record: {record_file}")
        if record.status != SUCCEEDED:
            self.line(f"to run again what did not succeed: etl-cli backfill {pipeline} --resume {record.backfill_id}")


def summary_table(record: BackfillRecord) -> FittedTable:
    """One row per interval: its start, status, exit code, run id and time (boxed on a terminal, else plain)."""
    counts = record.counts()
    title = (
        f"backfill {record.status} in {record.duration_s or 0:.1f}s (exit {record.exit_code}): "
        f"{counts['done']} done, {counts['failed']} failed, {counts['remaining']} not run"
    )
    table = Table(title=title, title_justify="left")
    for column in ("interval", "status", "exit", "run", "time"):
        table.add_column(column, justify="right" if column in ("exit", "time") else "left")
    for interval in record.intervals:
        table.add_row(
            escape(interval.start),
            interval.status,
            "—" if interval.exit_code is None else str(interval.exit_code),
            interval.run_id or "—",
            "—" if interval.duration_s is None else f"{interval.duration_s:.1f}s",
        )
    return FittedTable(table)
