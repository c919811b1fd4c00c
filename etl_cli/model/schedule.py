"""The ``schedule:`` block: when a pipeline runs on its own, as a frozen value.

```yaml
# etl-project.yaml: every pipeline starts from this
schedule: {timezone: Europe/Paris, catchup: false}
# a pipeline
schedule:
  cron: "30 2 * * *"        # five fields: minute hour day-of-month month day-of-week
  max_active_runs: 1
```

The project's block is the lower layer, key by key: a pipeline's own keys win, ``enabled: false`` leaves a
pipeline out of a project-wide cron. A pipeline without a cron (its own or the project's) is not
scheduled. The JSON Schema checks the types; this module checks the values (cron expression, time zone,
environment) and builds :class:`ScheduleSpec`, which ``etl-cli schedule next|export`` read
(etl_cli/orchestration/schedules.py).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from etl_cli.config.nodes import Node, Provenance, to_plain
from etl_cli.config.project import PROJECT_FILE, Project
from etl_cli.config.schedules import CRON_EXAMPLE, DEFAULT_TIMEZONE, value_problem
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import Location

SCHEDULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "When the pipeline runs on its own: a cron expression read in a time zone, exported to cron, "
    f"systemd, Apache Airflow or Kubernetes by etl-cli schedule export. {PROJECT_FILE} may set it for every "
    "pipeline; the pipeline's own keys win. See docs/orchestration.md.",
    "properties": {
        "cron": {
            "type": "string",
            "description": "Five-field cron expression: minute hour day-of-month month day-of-week, for example "
            "'30 2 * * *' (02:30 every day).",
        },
        "timezone": {
            "type": "string",
            "default": DEFAULT_TIMEZONE,
            "description": "IANA time zone the cron expression is read in, for example Europe/Paris.",
        },
        "catchup": {
            "type": "boolean",
            "default": False,
            "description": "Run the times missed while the scheduler was down or off, when it comes back.",
        },
        "max_active_runs": {
            "type": "integer",
            "minimum": 1,
            "default": 1,
            "description": "Runs of this schedule that may be active at once (Airflow, Kubernetes); the pipeline "
            "lock allows one per machine and environment.",
        },
        "env": {
            "type": "string",
            "description": "Environment the scheduled runs use (default: the one etl-cli schedule export is given).",
        },
        "enabled": {
            "type": "boolean",
            "default": True,
            "description": "false: the pipeline is not scheduled, even when the project's schedule has a cron.",
        },
    },
}


@dataclass(frozen=True)
class ScheduleSpec:
    """A pipeline's schedule: its cron expression, read in ``timezone``, and how missed and overlapping runs go."""

    cron: str
    timezone: str = DEFAULT_TIMEZONE
    #: run the fire times missed while the scheduler was down
    catchup: bool = False
    #: runs that may be active at once
    max_active_runs: int = 1
    #: the environment scheduled runs use; None: the one the export is made for
    env: str | None = None
    #: where the cron expression was written (the pipeline's file or etl-project.yaml)
    location: Location | None = None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def check_schedule(document: Mapping[str, Any], provenance: Provenance, project: Project) -> list[Diagnostic]:
    """The problems of the pipeline's own ``schedule:`` values, each at its ``file:line:col``.

    The types were checked by the JSON Schema; a value of the wrong type is left to it.
    """
    own = document.get("schedule")
    if not isinstance(own, dict):
        return []
    found = []
    for key in ("cron", "timezone", "env"):
        value = own.get(key)
        if not isinstance(value, str):
            continue
        problem = value_problem(key, value, project.environments)
        if problem is not None:
            where = provenance.value_location(("schedule", key))
            found.append(error("invalid-schedule", f"schedule.{key}: {problem.message}", where, problem.hint))
    if own.get("enabled", True) is not False and "cron" not in own and "cron" not in _project_values(project):
        message = "schedule has no cron: neither the pipeline nor etl-project.yaml says when it runs"
        hint = f"add cron: {CRON_EXAMPLE}; or remove schedule:"
        found.append(error("invalid-schedule", message, provenance.key_location(("schedule",)), hint))
    return found


def schedule_of(document: Mapping[str, Any], provenance: Provenance, project: Project) -> ScheduleSpec | None:
    """The pipeline's schedule (the project's keys under its own), or None when it is not scheduled."""
    own = document.get("schedule") or {}
    values = {**_project_values(project), **own}
    if values.get("enabled", True) is False or "cron" not in values:
        return None
    return ScheduleSpec(
        cron=values["cron"],
        timezone=values.get("timezone", DEFAULT_TIMEZONE),
        catchup=values.get("catchup", False),
        max_active_runs=values.get("max_active_runs", 1),
        env=values.get("env"),
        location=provenance.value_location(("schedule", "cron")) if "cron" in own else _project_cron(project),
    )


def _project_values(project: Project) -> dict[str, Any]:
    return to_plain(project.schedule)[0] if project.schedule is not None else {}


def _project_cron(project: Project) -> Location | None:
    node: Node | None = project.schedule.get("cron") if project.schedule is not None else None
    return node.loc if node is not None else None
