"""Use cases of ``etl-cli audit``: the audit trail shown, filtered, and verified.

The trail is runtime/bookkeeping/audit_trail.py's: one hash-chained record per run, refused run and
``dry-run``/``debug`` session. ``verify`` reads it with the head file and, when ``audit.hmac_key`` is set,
the key (resolved with the project's secret providers, as the run resolved it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl_cli.config.project import load_project
from etl_cli.errors import UsageError
from etl_cli.runtime.bookkeeping.audit_trail import (
    Verification,
    project_resolver,
    read_head,
    read_lines,
    resolve_key,
    trail_path,
    verify_lines,
)
from etl_cli.usecases.secrets import parse_since

_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


def show_trail(start: Path, since: str | None = None, pipeline: str | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """The trail's path and its records, oldest first, after ``since`` (a date or an age) and of ``pipeline``.

    A line that is not a record (an edited one) is shown as ``{"line": N, "unreadable": true}``:
    ``verify`` says what happened to it.
    """
    path = trail_path(load_project(start).run_state_dir())
    after = parse_since(since)
    found: list[dict[str, Any]] = []
    for number, line in enumerate(read_lines(path), 1):
        record = _record(line)
        if record is None:
            found.append({"line": number, "unreadable": True})
            continue
        if pipeline is not None and record.get("pipeline") != pipeline:
            continue
        if after is not None and _time(record) < after:
            continue
        found.append(record)
    return path, found


@dataclass(frozen=True)
class TrailCheck:
    """What ``audit verify`` checked and found."""

    path: Path
    verification: Verification
    keyed: bool


def verify_trail(start: Path, anchor: str | None = None) -> TrailCheck:
    """Check the project's trail: the chain, the head file, the HMAC key when configured, ``anchor`` if given."""
    project = load_project(start)
    state_dir = project.run_state_dir()
    path = trail_path(state_dir)
    settings = project.audit
    key = None
    if settings.hmac_key is not None:
        key = resolve_key(settings, project_resolver(project, {"run_id": "audit-verify"}).resolve_value)
    verification = verify_lines(read_lines(path), key, read_head(state_dir), _anchor(anchor))
    return TrailCheck(path, verification, key is not None)


def _anchor(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    found = _ANCHOR.match(text.strip().lower())
    if found is None:
        raise UsageError(
            f"--anchor '{text}' is not SEQ:HASH", hint="for example --anchor 42:<the 64 hex digits of record 42's hash>"
        )
    return int(found.group(1)), found.group(2)


def _record(line: str) -> dict[str, Any] | None:
    import json

    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _time(record: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(record.get("time")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
