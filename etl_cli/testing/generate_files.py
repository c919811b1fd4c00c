"""Generated rows written as one CSV or JSON Lines file, without Spark (the path for small outputs).

Values are written as Spark's readers parse them back into the declared types: dates as
``2024-01-31``, timestamps as ``2024-01-31 08:15:00`` (read in the session's time zone, UTC
for etl-cli), decimals as plain digits, booleans as ``true``/``false``, nulls as an empty CSV
field or a JSON ``null``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


def write_csv(path: Path, names: Sequence[str], rows: Iterable[Mapping[str, Any]], header: bool, sep: str) -> None:
    """``rows`` as CSV with ``sep`` between fields, a header line when ``header``."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=sep, lineterminator="\n")
        if header:
            writer.writerow(names)
        for row in rows:
            writer.writerow(["" if row[name] is None else _text(row[name]) for name in names])


def write_json_lines(path: Path, names: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """``rows`` as JSON Lines: one object per line, keys in column order."""
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            fields = (f"{json.dumps(name)}:{_json_value(row[name])}" for name in names)
            out.write("{" + ",".join(fields) + "}\n")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _json_value(value: Any) -> str:
    """A JSON value; decimals as number literals with all their digits (a float would round them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return json.dumps(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return json.dumps(_text(value))
