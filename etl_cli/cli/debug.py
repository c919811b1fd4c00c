"""``etl-debug`` (and ``etl-cli debug``): step through a pipeline stage by stage.

At each stage: its name and type, rows in and out, the schema as a tree, the first rows,
per-column null counts, and the verdict of its data-quality checks. At the prompt: ``n``
next, ``c [STAGE]`` continue (to STAGE), ``sql QUERY``, ``more``, ``save [PATH]``,
``show``, ``q`` quit. Without a terminal on
stdin (or with ``--non-interactive``) it prints every stage and never prompts.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from etl_cli import app
from etl_cli.cli.completion import complete_stage
from etl_cli.cli.options import (
    AsOpt,
    ConfirmEnvOpt,
    EnvOpt,
    MasterOpt,
    ParamOpt,
    PipelineArg,
    RemoteOpt,
    SetOpt,
    TakesVersion,
    VerboseOpt,
    spark_target,
)
from etl_cli.cli.output import stderr_console, stdout_console
from etl_cli.cli.progress import StatusReporter
from etl_cli.cli.quality_table import print_quality_report
from etl_cli.cli.show import null_counts_text, rows_table, schema_tree
from etl_cli.errors import EtlError, UsageError
from etl_cli.testing.spec import given_snippet

if TYPE_CHECKING:
    from etl_cli.runtime.execution.stepping import StageSnapshot, Stepper

HELP = """commands:
  n, next            run the next stage (Enter does it too)
  c, continue [S]    run on to stage S and stop there (no S: run to the end)
  sql QUERY          run a query; every stage so far is a table named after it
  more               show the next rows of this stage
  save [PATH]        save the rows shown as a test fixture (JSON lines + schema)
  show               show this stage again
  q, quit            stop (staged writes are discarded)"""


def debug_command(
    pipeline: PipelineArg,
    env: EnvOpt = None,
    sets: SetOpt = None,
    params: ParamOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show per stage (and per 'more').")] = 10,
    break_at: Annotated[
        str | None,
        typer.Option(
            "--break-at",
            help="Run without stopping until this stage, then step.",
            metavar="STAGE",
            autocompletion=complete_stage,
        ),
    ] = None,
    stage: Annotated[
        str | None,
        typer.Option("--stage", help="Only this stage and the stages it reads.", autocompletion=complete_stage),
    ] = None,
    non_interactive: Annotated[
        bool, typer.Option("--non-interactive", help="Print every stage, never prompt (automatic without a TTY).")
    ] = False,
    write: Annotated[bool, typer.Option("--write", help="Also write the sinks (published at the end).")] = False,
    sample: Annotated[int | None, typer.Option("--sample", min=1, help="Read at most N rows per source.")] = None,
    master: MasterOpt = None,
    remote: RemoteOpt = None,
    verbose: VerboseOpt = False,
    principal: AsOpt = None,
    confirm_env: ConfirmEnvOpt = None,
) -> None:
    """Run a pipeline stage by stage and look at each stage's output; sinks are written only with --write."""
    console = stdout_console()
    interactive = not non_interactive and sys.stdin.isatty()
    reporter = StatusReporter(stderr_console())
    given = (
        env,
        tuple(sets or []),
        spark_target(master, remote),
        stage,
        break_at,
        limit,
        sample,
        write,
        verbose,
        tuple(params or []),
    )
    options = app.DebugOptions(*given, principal=principal, confirm_env=confirm_env)
    with app.debug(pipeline, options, reporter) as stepper:
        session = DebugSession(console, stepper, reporter, interactive, break_at)
        code = session.run()
    raise typer.Exit(code)


class DebugSession:
    """Drives a :class:`Stepper`: what to print, when to stop, what the prompt does."""

    def __init__(
        self, console: Console, stepper: Stepper, reporter: StatusReporter, interactive: bool, break_at: str | None
    ):
        self.console = console
        self.stepper = stepper
        self.reporter = reporter
        self.interactive = interactive
        self.stop_at = break_at
        self.stepping = break_at is None
        self.failure: EtlError | None = None

    def run(self) -> int:
        self.reporter.stop()
        if self.interactive:
            self.console.print(f"[dim]{len(self.stepper.stages)} stages · type help for commands[/]")
        while not self.stepper.done and self.failure is None:
            snapshot = self._step()
            if snapshot is None:
                break
            if not self.interactive:
                self._print_stage(snapshot)
            elif self.stepping or snapshot.stage.name == self.stop_at:
                self.stepping, self.stop_at = True, None
                self._print_stage(snapshot)
                if not self._prompt():
                    return 0
            else:
                self._print_summary(snapshot)
        if self.failure is not None:
            return self._failed()
        self._finish()
        if self.interactive:
            self.console.print("[green]done[/]: every stage ran")
        return 0

    def _step(self) -> StageSnapshot | None:
        try:
            return self.stepper.step()
        except EtlError as exc:
            self.failure = exc
            return None
        finally:
            self.reporter.stop()

    def _failed(self) -> int:
        assert self.failure is not None
        if not self.interactive:
            raise self.failure
        self.console.print(f"[bold red]error[/]: {escape(str(self.failure))}")
        self.console.print("[dim]the stage failed; sql, more and save still work on earlier stages[/]")
        self._prompt()
        return int(self.failure.exit_code)

    def _finish(self) -> None:
        for result in self.stepper.finish():
            self.console.print(f"[green]written[/]: sink {escape(result.name)} · {result.rows_out or 0:,} rows")

    # -- printing

    def _print_stage(self, snapshot: StageSnapshot) -> None:
        stage = snapshot.stage
        where = f"  [dim]{escape(str(stage.location))}[/]" if stage.location else ""
        self.console.rule(f"[bold]{snapshot.index}/{snapshot.total} {stage.kind} {escape(stage.name)}[/]", align="left")
        self.console.print(f"type {escape(stage.type)} · {self._counts(snapshot)}{where}")
        self.console.print(schema_tree("schema", snapshot.schema))
        if snapshot.tags:
            tagged = "; ".join(f"{name}: {tags}" for name, tags in snapshot.tags.items())
            self.console.print(f"[dim]tags: {escape(tagged)}[/]")
        if stage.kind == "sink":
            self._print_sink(snapshot)
            return
        if snapshot.streaming:
            self.console.print("[yellow]reads a stream: rows are not shown[/]")
            return
        self._print_rows(snapshot.columns, snapshot.rows, f"first {len(snapshot.rows)} rows")
        self.console.print(null_counts_text(snapshot.columns, snapshot.null_counts))
        if snapshot.masked:
            self.console.print(f"[dim]masked (sensitive): {escape(', '.join(snapshot.masked))}[/]")
        if snapshot.checks:
            checks = [asdict(c) for c in snapshot.checks]
            print_quality_report(self.console, {"status": _verdict(snapshot), "checks": checks})

    def _print_sink(self, snapshot: StageSnapshot) -> None:
        for effect in snapshot.effects:
            details = " ".join(f"{k}={v}" for k, v in effect.details.items() if v not in (None, "", [], ()))
            line = f"{effect.action} {effect.target} mode {effect.mode} {details}"
            self.console.print(escape(line.strip()))
        if snapshot.staged:
            self.console.print("[yellow]staged[/]: published when every stage has run")
        else:
            self.console.print("[dim]not written (debug writes sinks only with --write)[/]")

    def _print_rows(self, columns: Sequence[str], rows: Sequence[Sequence[str]], title: str) -> None:
        if not rows:
            self.console.print(f"[dim]{title}: no rows[/]")
            return
        self.console.print(rows_table(columns, rows, title))

    def _print_summary(self, snapshot: StageSnapshot) -> None:
        stage = snapshot.stage
        self.console.print(
            f"[dim]{snapshot.index}/{snapshot.total}[/] {stage.kind} {escape(stage.name)} · {self._counts(snapshot)}"
        )

    @staticmethod
    def _counts(snapshot: StageSnapshot) -> str:
        def shown(rows: int | None) -> str:
            return "—" if rows is None else f"{rows:,}"

        if snapshot.stage.kind == "source":
            return f"rows out {shown(snapshot.rows_out)}"
        if snapshot.stage.kind == "sink":
            return f"rows in {shown(snapshot.rows_in)} · {'staged' if snapshot.staged else 'not written'}"
        return f"rows in {shown(snapshot.rows_in)} · rows out {shown(snapshot.rows_out)}"

    # -- the prompt

    def _prompt(self) -> bool:
        """Read commands until one moves on; False when the user quits."""
        import readline  # noqa: F401 - line editing and history for input()

        current = self.stepper.current.stage.name if self.stepper.current else "start"
        while True:
            try:
                line = input(f"debug {current}> ").strip()
            except EOFError:
                self.console.print()
                return False
            try:
                outcome = self._command(line)
            except EtlError as exc:
                self.console.print(f"[bold red]error[/]: {escape(str(exc))}")
                continue
            if outcome is not None:
                return outcome

    def _command(self, line: str) -> bool | None:
        """Run one command: True to move on, False to quit, None to stay at the prompt."""
        word, _, rest = line.partition(" ")
        word, rest = word.lower(), rest.strip()
        if word in ("", "n", "next"):
            return self._can_go_on()
        if word in ("c", "continue"):
            return self._continue(rest)
        if word in ("q", "quit", "exit"):
            return False
        if word == "sql":
            if not rest:
                raise UsageError("sql needs a query", hint="e.g. sql SELECT count(*) FROM orders")
            result = self.stepper.sql(rest)
            self._print_rows(result.columns, result.rows, "query result")
        elif word == "more":
            page = self.stepper.more()
            if not page.rows:
                self.console.print(f"[dim]no more rows (all {page.offset:,} shown)[/]")
            else:
                self._print_rows(page.columns, page.rows, f"rows {page.offset + 1}-{page.offset + len(page.rows)}")
        elif word == "save":
            rows, schema = self.stepper.save(Path(rest) if rest else None)
            self.console.print(f"saved {escape(str(rows))} and {escape(str(schema))}")
            saved = self.stepper.current  # save refuses before the first stage: it is set
            snippet = given_snippet(self.stepper.workspace.plan.pipeline, saved.stage, rows) if saved else None
            if snippet:
                self.console.print(escape(snippet))
        elif word == "show" and self.stepper.current is not None:
            self._print_stage(self.stepper.current)
        elif word in ("help", "h", "?"):
            self.console.print(HELP, markup=False)
        else:
            self.console.print(f"unknown command {escape(word)!r}")
            self.console.print(HELP, markup=False)
        return None

    def _can_go_on(self) -> bool | None:
        if self.failure is not None:
            self.console.print("[yellow]cannot go on: a stage failed (fix the pipeline and start again)[/]")
            return None
        return True

    def _continue(self, target: str) -> bool | None:
        if self.failure is not None:
            return self._can_go_on()
        if target:
            remaining = [s.name for s in self.stepper.stages[self.stepper.position :]]
            if target not in remaining:
                self.stepper.workspace.plan.stage(target)  # unknown: raises with "did you mean"
                raise UsageError(f"stage '{target}' has already run", hint=f"stages ahead: {', '.join(remaining)}")
        self.stepping, self.stop_at = False, target or None
        return True


def main() -> None:
    """``etl-debug``: the same command and error handling as ``etl-cli debug``, with ``--version`` and completion."""
    from etl_cli.cli.main import main as etl_cli_main

    debug_app = typer.Typer(add_completion=True, pretty_exceptions_enable=False, rich_markup_mode=None)
    debug_app.command(help=debug_command.__doc__, cls=TakesVersion)(debug_command)
    etl_cli_main(cli_app=debug_app, prog_name="etl-debug")


__all__ = ["debug_command", "main"]


def _verdict(snapshot: StageSnapshot) -> str:
    """The stage's checks in one word, as the run's quality report says it."""
    if any(c.outcome == "failed" for c in snapshot.checks):
        return "failed: a run would stop before writing"
    return "warned" if any(c.outcome == "warned" for c in snapshot.checks) else "passed"
