"""The JSON records of DAG runs and backfills: written atomically as they change, read back by id for ``--resume``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from etl_cli.config.limits import is_name
from etl_cli.diagnostics import with_article
from etl_cli.errors import UsageError

T = TypeVar("T")


def write_record_file(folder: Path, record_id: str, data: Mapping[str, Any]) -> Path:
    """Write ``<record_id>.json`` atomically (write beside it, then rename over it): a kill leaves the old or new."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{record_id}.json"
    tmp = folder / f".{target.name}.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def recent_records(folder: Path, count: int = 5) -> list[str]:
    """The ids of the last ``count`` records, newest first (ids start with their start time)."""
    ids = sorted((p.stem for p in folder.glob("*.json") if not p.name.startswith(".")), reverse=True)
    return ids[:count]


def read_record_file(folder: Path, record_id: str, parse: Callable[[Any], T], what: str, plural: str, kind: str) -> T:
    """The record ``record_id`` as written, through ``parse``; a missing or unreadable one is a usage error.

    ``what``/``plural`` name the record in messages ("DAG run", "DAG runs"), ``kind`` the file ("backfill record").
    """
    target = folder / f"{record_id}.json"
    if not is_name(record_id) or not target.is_file():
        recent = recent_records(folder)
        hint = f"recent {plural}: {', '.join(recent)}" if recent else f"no {what} has been recorded in {folder}"
        raise UsageError(f"no {what} '{record_id}' in {folder}", hint=hint)
    try:
        return parse(json.loads(target.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{target} is not {with_article(kind)}: {exc}") from exc
