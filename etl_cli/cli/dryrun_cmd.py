"""``etl-cli dry-run``: what Spark thinks of each stage, and every effect a run would have."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from etl_cli import app
from etl_cli.cli.options import (
    AsOpt,
    EnvOpt,
    FormatOpt,
    MasterOpt,
    ParamOpt,
    PipelineArg,
    RemoteOpt,
    SetOpt,
    TextOrJson,
    VerboseOpt,
    spark_target,
)
from etl_cli.cli.output import print_diagnostic, stderr_console, stdout_console
from etl_cli.cli.progress import StatusReporter
from etl_cli.cli.quality_table import print_quality_report
from etl_cli.cli.show import print_indented, schema_tree

if TYPE_CHECKING:
    from etl_cli.runtime.execution.dryrun import DryRunReport, EffectReport, StageAnalysis


def dry_run_command(
    pipeline: PipelineArg,
    env: EnvOpt = None,
    sets: SetOpt = None,
    params: ParamOpt = None,
    sample: Annotated[
        int | None,
        typer.Option("--sample", min=1, help="Read at most N rows per source and count each stage's rows on them."),
    ] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show Spark's physical plan of each stage.")] = False,
    output_format: FormatOpt = TextOrJson.text,
    master: MasterOpt = None,
    remote: RemoteOpt = None,
    verbose: VerboseOpt = False,
    principal: AsOpt = None,
) -> None:
    """Let Spark analyse every stage and list every effect, without writing anything.

    Catches what validate cannot: unknown columns, join keys of different types, sums over
    text; each at the file:line of its stage. Exit 1 when it finds a problem.
    """
    reporter = StatusReporter(stderr_console(), verb="analysing")
    options = app.DryRunOptions(
        env,
        tuple(sets or []),
        spark_target(master, remote),
        sample,
        explain,
        verbose,
        tuple(params or []),
        principal=principal,
    )
    try:
        report = app.dry_run(pipeline, options, reporter)
    finally:
        reporter.stop()
    if output_format is TextOrJson.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print_report(stdout_console(), report)
    raise typer.Exit(report.exit_code)


def print_report(console: Console, report: DryRunReport) -> None:
    """The report as text: one block per stage, the effects, then the problems."""
    sample = f" · sample: at most {report.sample:,} rows per source" if report.sample else ""
    console.print(
        f"dry-run [bold]{escape(report.pipeline)}[/] · env {escape(report.env or 'default')} · "
        f"Spark {escape(report.spark_version)} on {escape(report.master)}{sample}"
    )
    for analysis in report.stages:
        console.print()
        _print_stage(console, analysis, report.tags.get(analysis.stage.name))
    console.print()
    _print_effects(console, report.effects)
    if report.quality:
        console.print()
        console.print("[bold]checks on the sample[/] (a run judges them on every row):")
        print_quality_report(console, report.quality)
    for diagnostic in report.diagnostics:
        print_diagnostic(console, diagnostic)
    stages = len(report.stages)
    if report.ok:
        console.print(f"[green]ok[/]: {stages} stages analysed, {len(report.effects)} effect(s), nothing written")
    else:
        console.print(f"[red]{len(report.diagnostics)} problem(s)[/] in {stages} stages; nothing was written")


def _print_stage(console: Console, analysis: StageAnalysis, tags: dict[str, str] | None = None) -> None:
    stage = analysis.stage
    where = f"  [dim]{escape(str(stage.location))}[/]" if stage.location else ""
    mark = {"ok": "", "failed": " [red]✗ failed[/]", "skipped": " [yellow]skipped[/]"}[analysis.status]
    console.print(f"[bold]{stage.kind} {escape(stage.name)}[/] ({escape(stage.type)}){mark}{where}")
    for line in _stage_lines(analysis):
        console.print(f"  {line}")
    if tags:  # the stage's tagged columns (docs/data-security.md)
        console.print("  tags    " + escape("; ".join(f"{name}: {text}" for name, text in tags.items())))
    if analysis.schema:
        origin = f" ({analysis.schema_origin})" if analysis.schema_origin else ""
        label = "writes columns" if stage.kind == "sink" else f"schema{origin}"
        print_indented(console, schema_tree(label, analysis.schema))
    if analysis.plan:
        console.print("  Spark plan:")
        print_indented(console, Text(analysis.plan), indent=4)


def _stage_lines(analysis: StageAnalysis) -> list[str]:
    stage = analysis.stage
    lines = [f"reads   {escape(item)}" for item in analysis.reads]
    if stage.inputs:
        lines.append(f"{'input ' if stage.kind == 'sink' else 'inputs'}  {escape(', '.join(stage.inputs))}")
    if stage.description:
        lines.append(f"about   {escape(stage.description)}")
    if analysis.streaming:
        lines.append("stream  reads a stream: rows are not sampled")
    if analysis.checks:
        lines.append(f"checks  {escape(', '.join(analysis.checks))}")
    if analysis.rows is not None:
        lines.append(f"rows    {analysis.rows:,} in the sample")
    if analysis.note:
        lines.append(f"[yellow]{escape(analysis.note)}[/]")
    return lines


def _print_effects(console: Console, effects: list[EffectReport]) -> None:
    if not effects:
        console.print("effects: none (no sink describes what it would change)")
        return
    console.print("[bold]effects[/] (what a run would do; the dry-run did none of it):")
    for item in effects:
        effect = item.effect
        details = "  ".join(f"{escape(k)} {escape(_detail(v))}" for k, v in effect.details.items() if _shown(v))
        console.print(
            f"  {escape(effect.action)} {escape(effect.target)}  mode {escape(effect.mode)}"
            f"{'  ' + details if details else ''}  [dim]({escape(effect.stage)})[/]"
        )
        if item.partitions is not None:
            more = (item.partitions_total or 0) - len(item.partitions)
            extra = f" (+{more} more)" if more > 0 else ""
            console.print(
                f"    partitions in the sample ({item.partitions_total}): {escape(', '.join(item.partitions))}{extra}"
            )


def _detail(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _shown(value: Any) -> bool:
    return value not in (None, "", [], (), {})
