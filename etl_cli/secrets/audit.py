"""The secret access log: one JSON line per access, never a value.

Each record holds ``timestamp`` (UTC, ISO 8601), ``run_id``, ``pipeline``,
``environment``, ``provider`` (the instance name from the reference), ``type`` (the
provider type), ``reference`` (``provider:path#key``), ``user`` (the OS user),
``outcome`` (see :data:`OUTCOMES`) and, for failures, ``error`` (the error class).
The file is ``<state dir>/audit/secrets.jsonl`` (default ``.etl/audit/secrets.jsonl``),
created readable by its owner only and only ever appended to.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl_cli.config.project import Project

AUDIT_FILE = Path("audit") / "secrets.jsonl"

#: resolved (read from the provider), cached (served from the run's cache), refreshed
#: (re-read after an auth failure), stored (``secrets set``), revealed (``secrets get
#: --reveal``), not_found, refused (auth), unavailable, failed (anything else)
OUTCOMES = ("resolved", "cached", "refreshed", "stored", "revealed", "not_found", "refused", "unavailable", "failed")


def audit_path(project: Project) -> Path:
    """Where the project's secret access log is kept."""
    return project.run_state_dir() / AUDIT_FILE


@dataclass(frozen=True)
class AuditContext:
    """Who is accessing secrets: which run of which pipeline in which environment."""

    run_id: str | None = None
    pipeline: str | None = None
    environment: str | None = None


class AuditLog:
    """Appends access records to one JSON-lines file."""

    def __init__(self, path: Path, context: AuditContext | None = None) -> None:
        self.path = path
        self.context = context or AuditContext()

    def record(self, provider: str, type_: str, reference: str, outcome: str, error: str | None = None) -> None:
        """Append one access record (the reference only: values never reach this method)."""
        entry: dict[str, Any] = {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "run_id": self.context.run_id,
            "pipeline": self.context.pipeline,
            "environment": self.context.environment,
            "provider": provider,
            "type": type_,
            "reference": reference,
            "user": _os_user(),
            "outcome": outcome,
        }
        if error:
            entry["error"] = error
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(entry, sort_keys=False) + "\n").encode()
        # One write() of one line with O_APPEND: concurrent runs do not interleave lines.
        handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(handle, line)
        finally:
            os.close(handle)


def read_audit(
    path: Path,
    pipeline: str | None = None,
    provider: str | None = None,
    since: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """The records of ``path``, oldest first, keeping those that match every given filter."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            if pipeline and entry.get("pipeline") != pipeline:
                continue
            if provider and provider not in (entry.get("provider"), entry.get("type")):
                continue
            if since and _timestamp(entry) < since:
                continue
            yield entry


def _timestamp(entry: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(entry.get("timestamp")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"
