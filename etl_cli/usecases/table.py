"""Use case of ``etl-cli table optimize|vacuum|expire-snapshots``: maintenance of a table a pipeline's sink writes.

The target is a sink of a pipeline (its options say where the table is, with the environment's overlay
and secrets applied). The sink's plug-in module does the work (:mod:`etl_cli.plugins.maintenance`):
an action it does not list is refused before Spark starts. The maintenance runs under the pipeline's
run lock (exit 5 while a run holds it), so it never races a run of the same pipeline and environment.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from etl_cli.app import load_spec, new_run_id, registry
from etl_cli.errors import EtlError, RunError, UsageError
from etl_cli.events import Reporter
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import compile_plan
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.maintenance import Action, MaintenanceRequest, MaintenanceResult
from etl_cli.runtime.bookkeeping.lock import run_lock
from etl_cli.runtime.execution.workspace import open_workspace

__all__ = ["Action", "MaintenanceRequest", "MaintenanceResult", "TableTarget", "maintain_table"]


@dataclass(frozen=True)
class TableTarget:
    """The pipeline and (optionally) the sink naming the table; ``sets`` are ``--set KEY.PATH=VALUE`` overrides (a
    ``spark.conf`` setting for the maintenance session, a sink's path), applied as a run applies them."""

    pipeline: Path
    sink: str | None = None
    env: str | None = None
    params: Sequence[str] = ()
    sets: Sequence[str] = ()


def maintain_table(
    target: TableTarget, request: MaintenanceRequest, reporter: Reporter, master: str | None = None
) -> MaintenanceResult:
    """Run ``request`` on the table of ``target``'s sink; raise UsageError for a sink or action that has none."""
    _, spec = load_spec(target.pipeline, target.env, target.sets, params=target.params, require_params=True)
    stage, module = _chosen_sink(spec, target.sink)
    actions = tuple(getattr(module, "MAINTENANCE_ACTIONS", ()))
    if request.action not in actions:
        raise UsageError(
            f"{stage.label}: {request.action} does not apply to {stage.type} tables",
            hint=f"{stage.type} tables know: {', '.join(actions)}",
        )
    run_id = new_run_id()
    with (
        run_lock(spec.state_dir, spec.name, spec.env, run_id),
        open_workspace(compile_plan(spec), registry(), reporter, run_id, master) as workspace,
    ):
        try:
            result: MaintenanceResult = module.maintain(workspace.ctx, stage, request)
        except EtlError:
            raise
        except Exception as exc:
            raise RunError(
                f"{request.action} of the table of {stage.label} failed: {_first_line(exc)}", location=stage.location
            ) from exc
    return result


def _chosen_sink(spec: PipelineSpec, name: str | None) -> tuple[StageSpec, ModuleType]:
    """The sink named (or the only one with maintenance) and its plug-in module."""
    maintained = []
    for stage in spec.sinks:
        module = importlib.import_module(registry().get("sink", stage.type).__module__)
        if name is not None and stage.name == name:
            if not hasattr(module, "maintain"):
                raise UsageError(f"{stage.label} writes no table etl-cli can maintain (delta, iceberg)")
            return stage, module
        if hasattr(module, "maintain"):
            maintained.append((stage, module))
    if name is not None:
        raise UsageError(f"pipeline {spec.name} has no sink {name}")
    if len(maintained) != 1:
        names = ", ".join(s.name for s, _ in maintained)
        raise UsageError(
            f"pipeline {spec.name} has {len(maintained)} table sinks{': ' + names if names else ''}",
            hint="name one with --sink" if maintained else "table maintenance applies to delta and iceberg sinks",
        )
    return maintained[0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
