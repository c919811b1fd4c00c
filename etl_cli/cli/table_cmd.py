"""``etl-cli table optimize|vacuum|expire-snapshots``: maintenance of the table a pipeline's sink writes (use case
in :mod:`etl_cli.usecases.table`; the table format's plug-in does the work)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from etl_cli.cli.options import (
    EnvOpt,
    FormatOpt,
    MasterOpt,
    ParamOpt,
    PipelineArg,
    SetOpt,
    TakesDebug,
    TextOrJson,
)
from etl_cli.events import Reporter
from etl_cli.usecases.table import Action, MaintenanceRequest, MaintenanceResult

table_app = typer.Typer(
    name="table",
    help="Maintain the Delta or Iceberg table a pipeline's sink writes: optimize, vacuum, expire snapshots.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SinkOpt = Annotated[
    str | None,
    typer.Option("--sink", help="The sink whose table to maintain (needed when the pipeline has several)."),
]


@table_app.command("optimize", cls=TakesDebug)
def optimize_command(
    pipeline: PipelineArg,
    sink: SinkOpt = None,
    zorder_by: Annotated[
        list[str] | None,
        typer.Option("--zorder-by", help="Cluster the data files by this column (repeatable; Delta ZORDER BY)."),
    ] = None,
    env: EnvOpt = None,
    params: ParamOpt = None,
    sets: SetOpt = None,
    master: MasterOpt = None,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Compact the table's small files into larger ones (one commit; readers see the same rows)."""
    request = MaintenanceRequest("optimize", zorder_by=tuple(zorder_by or ()))
    _run(pipeline, sink, env, params, sets, master, request, output_format)


@table_app.command("vacuum", cls=TakesDebug)
def vacuum_command(
    pipeline: PipelineArg,
    sink: SinkOpt = None,
    retain_hours: Annotated[
        float | None,
        typer.Option(
            "--retain-hours",
            min=0,
            help="Keep files removed less than this long ago (default: the "
            "table's delta.deletedFileRetentionDuration, 168 hours unless set).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Allow a retention below the table's own (breaks time travel to older "
            "versions and may break a write running now).",
        ),
    ] = False,
    env: EnvOpt = None,
    params: ParamOpt = None,
    sets: SetOpt = None,
    master: MasterOpt = None,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Delete the data files no version within the retention needs; refuses a retention below the table's."""
    request = MaintenanceRequest("vacuum", retain_hours=retain_hours, force=force)
    _run(pipeline, sink, env, params, sets, master, request, output_format)


@table_app.command("expire-snapshots", cls=TakesDebug)
def expire_snapshots_command(
    pipeline: PipelineArg,
    sink: SinkOpt = None,
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="Expire snapshots older than this time (ISO 8601).")
    ] = None,
    retain_last: Annotated[
        int | None, typer.Option("--retain-last", min=1, help="Always keep at least this many snapshots.")
    ] = None,
    env: EnvOpt = None,
    params: ParamOpt = None,
    sets: SetOpt = None,
    master: MasterOpt = None,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Expire old snapshots of an Iceberg table and delete the files only they used (Delta: use vacuum)."""
    request = MaintenanceRequest("expire-snapshots", older_than=older_than, retain_last=retain_last)
    _run(pipeline, sink, env, params, sets, master, request, output_format)


def _run(
    pipeline: Path,
    sink: str | None,
    env: str | None,
    params: list[str] | None,
    sets: list[str] | None,
    master: str | None,
    request: MaintenanceRequest,
    output_format: TextOrJson,
) -> None:
    from etl_cli.usecases.table import TableTarget, maintain_table

    target = TableTarget(pipeline, sink, env, tuple(params or ()), tuple(sets or ()))
    result = maintain_table(target, request, Reporter(), master)
    if output_format is TextOrJson.json:
        print(json.dumps(_as_json(result), indent=2, default=str))
    else:
        details = ", ".join(f"{k}: {v}" for k, v in result.details.items() if v not in (None, [], ""))
        print(f"{_done(request.action)} {result.target}" + (f" ({details})" if details else ""))


def _as_json(result: MaintenanceResult) -> dict[str, Any]:
    return {"target": result.target, "action": result.action, **dict(result.details)}


def _done(action: Action) -> str:
    return {"optimize": "optimized", "vacuum": "vacuumed", "expire-snapshots": "expired snapshots of"}[action]
