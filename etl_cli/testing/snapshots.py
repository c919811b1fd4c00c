"""Snapshot files: a stage's rows stored beside the test, to compare later runs with.

``tests/__snapshots__/<test file>/<test>/<stage>.json`` holds ``{"columns": [...], "rows": [...]}``
with the rows sorted and every value written as JSON can hold it (decimals, dates and
timestamps as text), one row per line, so a change reads well in a code review.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from etl_cli.testing.spec import PipelineTest

SNAPSHOTS_FOLDER = "__snapshots__"


def snapshot_path(test: PipelineTest, stage: str) -> Path:
    """Where the snapshot of ``stage`` in ``test`` is kept."""
    return test.file.parent / SNAPSHOTS_FOLDER / test.file.stem / _safe(test.name) / f"{_safe(stage)}.json"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "_"


def read_snapshot(path: Path) -> list[dict[str, Any]] | None:
    """The stored rows, or None when there is no snapshot yet."""
    if not path.exists():
        return None
    return list(json.loads(path.read_text(encoding="utf-8"))["rows"])


def write_snapshot(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    plain = sorted(([_plain(row[c]) for c in columns] for row in rows), key=_sort_key)
    lines = ",\n".join("    " + json.dumps(dict(zip(columns, values, strict=True))) for values in plain)
    body = f'{{\n  "columns": {json.dumps(list(columns))},\n  "rows": [\n{lines}\n  ]\n}}\n'
    if not plain:
        body = json.dumps({"columns": list(columns), "rows": []}, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "asDict"):
        return _plain(value.asDict(recursive=True))
    return value


def _sort_key(values: list[Any]) -> list[tuple[bool, str]]:
    return [(v is not None, json.dumps(v, sort_keys=True)) for v in values]
