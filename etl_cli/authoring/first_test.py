"""The first test ``create-pipeline`` offers to write: ``<pipeline>/tests/<name>.yaml``.

Its rows are the first rows of the input's local CSV file (so ``etl-cli test`` passes on the new pipeline
when that file exists), else placeholder rows of the declared schema's types. Nothing starts Spark, so the
sink's row count is only written where the wizard knows it without running anything: when no step between
source and sink can add or drop rows. Otherwise the test expects the source's row count (every stage still
runs, so the pipeline is exercised end to end) and a comment says what to add.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from etl_cli.authoring.columns import _first_file, source_columns

#: how many rows the test takes from the input file
ROWS = 3
#: transform types that output one row per input row (as the wizard writes them)
ROW_PRESERVING = {"select", "derive", "window", "cast", "rename", "drop"}
#: check actions that never remove a row
KEEPING_ACTIONS = {"warn", "fail", None}
#: a placeholder value per type family, for a schema without a file to read rows from
_PLACEHOLDERS = (
    ("int", 1),
    ("long", 1),
    ("decimal", 1.5),
    ("double", 1.5),
    ("float", 1.5),
    ("bool", True),
    ("timestamp", "2026-01-01T00:00:00"),
    ("date", "2026-01-01"),
)


def first_test_text(
    pipeline: str,
    sources: Sequence[Mapping[str, Any]],
    sink: str,
    transforms: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    root: Path,
) -> str | None:
    """The test file's text, or None when a source's columns cannot be known without Spark.

    Every source is given rows (one given none would be empty, and Spark needs its schema then);
    the row count expected is the first source's.
    """
    given = {str(source["name"]): _rows(source, root) for source in sources}
    if not given or not all(rows for rows, _ in given.values()):
        return None
    name = str(sources[0]["name"])
    rows, origin = given[name]
    if _keeps_rows(transforms, checks):
        stage, note = sink, f"every step keeps one row per input row: {len(rows)} in, {len(rows)} out"
    else:
        stage, note = name, f"a step may add or drop rows: add what {sink} should be given, e.g. {sink}: {{count: N}}"
    test = {
        "name": f"{pipeline} reads {len(rows)} row(s)",
        "given": {source: {"rows": source_rows} for source, (source_rows, _) in given.items()},
        "expect": {stage: {"count": len(rows)}},
    }
    header = (
        f"# A first test of {pipeline}, written by `etl-cli create-pipeline`; run it with  etl-cli test <folder>\n"
        f"# The rows of {name} are {origin}; {note}.\n"
    )
    return header + yaml.safe_dump({"tests": [test]}, sort_keys=False, allow_unicode=True, width=100)


def _keeps_rows(transforms: list[dict[str, Any]], checks: list[dict[str, Any]]) -> bool:
    """Whether the sink is given exactly one row per source row (known from the stage types alone)."""
    steps = all(t.get("type") in ROW_PRESERVING or (t.get("type") == "sort" and not t.get("limit")) for t in transforms)
    return steps and all(c.get("action") in KEEPING_ACTIONS for c in checks)


def _rows(source: Mapping[str, Any], root: Path) -> tuple[list[dict[str, Any]], str]:
    """The first rows of the local CSV input, else placeholder rows of the declared schema; and where they are from."""
    path = source.get("path")
    found = _first_file(path, root, "csv") if source.get("type") == "csv" and isinstance(path, str) else None
    if found is not None:
        rows = _csv_rows(found, source.get("options") or {})
        if rows:
            return rows, f"the first {len(rows)} of {path}"
    schema = source.get("schema")
    if isinstance(schema, Mapping) and schema:
        return [_placeholder(schema, i) for i in (1, 2)], "placeholders of the declared schema's types: edit them"
    columns = source_columns(str(source.get("type")), source, root)
    return ([{c: f"{c}_1" for c in columns}] if columns else []), "placeholders: edit them"


def _csv_rows(file: Path, options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Up to :data:`ROWS` rows of a CSV file with a header line, empty cells as null."""
    if str(options.get("header", True)).lower() == "false":
        return []
    with file.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=str(options.get("sep", ",")))
        rows = []
        for row in reader:
            rows.append({k: _cell(v) for k, v in row.items() if k is not None})
            if len(rows) == ROWS:
                break
    return rows


def _cell(text: str | None) -> Any:
    """A CSV cell as YAML would read it when it is a number or a boolean (so a typed schema takes it), else text."""
    if text in (None, ""):
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, bool)) else text


def _placeholder(schema: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Row ``index`` of placeholder values, one per declared column, of the column's type."""
    row: dict[str, Any] = {}
    for column, declared in schema.items():
        kind = str(declared).lower()
        value = next((v for family, v in _PLACEHOLDERS if family in kind), f"{column}_{index}")
        row[str(column)] = value * index if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    return row
