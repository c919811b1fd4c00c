"""``etl-cli test``: run the pipelines' tests (fixtures for sources, sinks captured) and report each one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from etl_cli.cli.options import EnvOpt, MasterOpt, RemoteOpt, spark_target
from etl_cli.cli.output import stderr_console, stdout_console
from etl_cli.cli.progress import StatusReporter
from etl_cli.usecases.pipeline_tests import TestOptions, run_tests

if TYPE_CHECKING:
    from etl_cli.testing.runner import TestOutcome

_LABELS = {"pass": "[green]PASS [/]", "fail": "[red]FAIL [/]", "error": "[red]ERROR[/]"}


def test_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="PATH...", help="Project folder, pipeline folders or test files (default: here)."),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", "-s", metavar="PIPELINE", help="Only these pipelines (name or glob; repeatable)."),
    ] = None,
    keyword: Annotated[
        str | None, typer.Option("-k", metavar="TEXT", help="Only the tests whose name contains TEXT (any case).")
    ] = None,
    junit_xml: Annotated[
        Path | None, typer.Option("--junit-xml", metavar="FILE", help="Also write the results as JUnit XML.")
    ] = None,
    update_snapshots: Annotated[
        bool, typer.Option("--update-snapshots", help="Write the snapshots of snapshot: true expectations.")
    ] = False,
    env: EnvOpt = None,
    master: MasterOpt = None,
    remote: RemoteOpt = None,
) -> None:
    """Run the pipelines' tests: given rows for the sources, expected rows for the stages and sinks.

    Sources are replaced by the tests' fixtures, sinks write nothing, the rest runs unchanged
    on local Spark. Exit 0 when every test passes, 1 when one fails (see docs/testing.md).
    """
    console = stdout_console()
    reporter = StatusReporter(stderr_console(), verb="testing")
    options = TestOptions(env, tuple(select or ()), keyword, update_snapshots, spark_target(master, remote))
    started = time.perf_counter()
    try:
        outcomes = run_tests(paths or [Path(".")], options, reporter, lambda o: _print_outcome(console, reporter, o))
    finally:
        reporter.stop()
    if junit_xml is not None:
        from etl_cli.testing.junit import write_junit

        write_junit(junit_xml, outcomes)
    _print_summary(console, outcomes, time.perf_counter() - started)
    raise typer.Exit(0 if all(o.status == "pass" for o in outcomes) else 1)


def _print_outcome(console: Console, reporter: StatusReporter, outcome: TestOutcome) -> None:
    reporter.stop()
    console.print(f"{_LABELS[outcome.status]} {escape(outcome.test.id)}  ({outcome.duration_s:.2f}s)")
    for line in outcome.lines:
        console.print("      " + escape(line))
    for path in outcome.updated:
        console.print(f"      snapshot written: {escape(path)}")


def _print_summary(console: Console, outcomes: list[TestOutcome], duration_s: float) -> None:
    counts = {status: sum(o.status == status for o in outcomes) for status in ("pass", "fail", "error")}
    words = f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} error(s)"
    colour = "green" if counts["pass"] == len(outcomes) else "red"
    console.print(f"[{colour}]{words}[/] in {duration_s:.1f}s")
