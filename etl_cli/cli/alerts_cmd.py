"""``etl-cli alerts export``: Prometheus alerting rules for the project's pipelines (use case in
:mod:`etl_cli.usecases.alerts`; see docs/observability.md#alerts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl_cli.cli.options import EnvOpt, ExcludeOpt, ProjectPathArg, SelectOpt, TakesDebug
from etl_cli.usecases.alerts import ExportRequest, export_rules

alerts_app = typer.Typer(
    name="alerts",
    help="Export Prometheus alerting rules for the project's pipelines (see docs/observability.md#alerts).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@alerts_app.command("export", cls=TakesDebug)
def export_command(
    path: ProjectPathArg = Path("."),
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    env: EnvOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the rules to this file instead of stdout.")
    ] = None,
) -> None:
    """Write Prometheus alerting rules for the selected pipelines.

    Rules for a failed run, a run missing past its schedule (or alerts max_age), failed data-quality
    checks, dead letters, an open circuit breaker, and lagging or stalled streaming queries, with the
    thresholds of alerts: in etl-project.yaml. With --env, the pipelines are read in that environment
    and every rule selects env="ENV". Offline.
    """
    request = ExportRequest(tuple(select or ()), tuple(exclude or ()), env)
    rules = export_rules(path, request)
    for note in rules.notes:
        typer.echo(f"note: {note}", err=True)
    if output is None:
        print(rules.text, end="")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(rules.text, encoding="utf-8")
    typer.echo(f"wrote {output} ({', '.join(rules.pipelines)})", err=True)
