"""Use case of ``etl-cli alerts export``: Prometheus alerting rules for the project's pipelines, offline.

It loads the project DAG around a path (every pipeline, validated, in the environment asked for: its
overlays decide schedules), takes the selected pipelines and writes their rules with the thresholds of
``alerts:`` in etl-project.yaml (etl_cli/orchestration/alerts.py says which rules and why).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from etl_cli.config.alerts import AlertSettings
from etl_cli.config.project import PROJECT_FILE, load_project
from etl_cli.diagnostics import did_you_mean, error
from etl_cli.errors import InvalidPipeline, UsageError
from etl_cli.orchestration.alerts import RuleSet, rule_file
from etl_cli.orchestration.selectors import select
from etl_cli.usecases.dag import load_project_dag


@dataclass(frozen=True)
class ExportRequest:
    """What ``alerts export`` was asked for."""

    selectors: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: ``--env``: the environment the pipelines are loaded in, and the ``env`` label every rule selects on
    env: str | None = None


def export_rules(start: Path, request: ExportRequest) -> RuleSet:
    """The rules file of the selected pipelines of the project around ``start``."""
    dag, specs = load_project_dag(start, request.env)
    project = load_project(dag.root)
    _require_known(project.alerts, specs.keys())
    names = select(dag, request.selectors, request.exclude)
    if not names:
        raise UsageError("no pipeline is selected", hint="check --select and --exclude: etl-cli dag show lists them")
    return rule_file(project.name, [specs[name] for name in names], project.alerts, request.env)


def _require_known(settings: AlertSettings, known: Collection[str]) -> None:
    """An ``alerts.pipelines`` entry naming no pipeline is a typo whose thresholds would never apply."""
    problems = [
        error(
            "unknown-pipeline",
            f"alerts.pipelines.{name}: the project has no pipeline named '{name}'",
            settings.locations.get(name),
            did_you_mean(name, known) or f"its pipelines: {', '.join(sorted(known))}",
        )
        for name in settings.pipelines
        if name not in known
    ]
    if problems:
        raise InvalidPipeline(problems, f"{PROJECT_FILE} is invalid")
