"""What ``etl-cli table optimize|vacuum|expire-snapshots`` asks of a table-format sink, and what it answers.

A sink plug-in whose tables need maintenance provides, in its module, ``MAINTENANCE_ACTIONS`` (the
actions it knows, from :data:`ACTIONS`) and ``maintain(ctx, stage, request) -> MaintenanceResult``;
the use case (:mod:`etl_cli.usecases.table`) finds them by the sink's type, refuses an action the
module does not list before starting Spark, and calls ``maintain`` with a session that has the
sink's packages and settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["optimize", "vacuum", "expire-snapshots"]
ACTIONS: tuple[Action, ...] = ("optimize", "vacuum", "expire-snapshots")


@dataclass(frozen=True)
class MaintenanceRequest:
    """One maintenance action and its settings (each action reads the ones it needs)."""

    action: Action
    #: optimize: columns to cluster the data files by (Delta ZORDER BY); empty: compaction only
    zorder_by: tuple[str, ...] = ()
    #: vacuum: hours of removed files to keep (None: the table's own retention)
    retain_hours: float | None = None
    #: expire-snapshots: expire snapshots older than this timestamp (ISO 8601; None: the format's default)
    older_than: str | None = None
    #: expire-snapshots: always keep at least this many snapshots
    retain_last: int | None = None
    #: go below the table's own retention (vacuum) — readers of old versions and running writers may break
    force: bool = False


@dataclass(frozen=True)
class MaintenanceResult:
    """What was done to which table (printed by the CLI, as JSON with --format json)."""

    target: str
    action: str
    details: Mapping[str, Any] = field(default_factory=dict)
