"""The columns the wizard offers for column questions (filter, group by, keys, checks, partitions).

A source's columns come from its declared schema, else from the header of a local CSV file or the schema of a
local Parquet file (when pyarrow is importable); nothing starts Spark, and what cannot be read locally offers
nothing. They are followed through the transformations the wizard adds, as far as each one's answers show them.
"""

from __future__ import annotations

import csv
import glob
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from etl_cli.plugins.api import resolve_path
from etl_cli.plugins.spark_types import output_name, split_top_level

Columns = tuple[str, ...]

_GLOB = re.compile(r"[*?\[{]")
#: files Spark skips in a folder it reads
_HIDDEN = ("_", ".")


def source_columns(type_name: str, options: Mapping[str, Any], root: Path) -> Columns:
    """The columns of a source stage of ``type_name`` with ``options``; relative paths start at ``root``."""
    schema = options.get("schema")
    if isinstance(schema, Mapping):
        return tuple(str(column) for column in schema)
    if isinstance(schema, str) and schema.strip():
        return tuple(_ddl_names(schema))
    reader = _READERS.get(type_name)
    path = options.get("path")
    if reader is None or not isinstance(path, str):
        return ()
    found = _first_file(path, root, type_name)
    return reader(found, options) if found is not None else ()


def columns_after(stage: Mapping[str, Any], known: Mapping[str, Columns]) -> Columns:
    """The columns a transform stage (as the wizard writes it) returns, given the columns of each stage so far."""
    inputs = [known.get(str(name), ()) for name in stage.get("inputs") or ()]
    first = inputs[0] if inputs else ()
    kind = stage.get("type")
    if kind == "aggregate":
        return _dedup([*_output_names(stage.get("group_by") or ()), *(stage.get("aggregations") or {})])
    if not first:
        return ()
    if kind in ("filter", "deduplicate", "sort"):
        return first
    if kind == "select":
        return tuple(_output_names(stage.get("columns") or ()))
    if kind in ("derive", "window"):
        return _dedup([*first, *(stage.get("columns") or {})])
    if kind == "join":
        return _dedup([column for columns in inputs for column in columns])
    return ()


def _ddl_names(ddl: str) -> list[str]:
    """``id BIGINT, `full name` STRING`` → ``["id", "full name"]``."""
    names = []
    for part in split_top_level(ddl):
        text = part.strip()
        if text.startswith("`"):
            names.append(text[1 : text.index("`", 1)] if "`" in text[1:] else text.strip("`"))
        elif text:
            names.append(text.split()[0])
    return names


def _output_names(entries: Any) -> list[str]:
    """The columns the ``select``/``group_by`` entries become (:func:`output_name`); an expression without an alias
    offers none."""
    return [name for name in map(output_name, entries) if name is not None]


def _dedup(columns: list[str]) -> Columns:
    return tuple(dict.fromkeys(columns))


def _first_file(path: str, root: Path, type_name: str) -> Path | None:
    """The first local file a source would read: the file, the first data file of a folder, or of a glob."""
    if "://" in path or path.startswith("${"):
        return None
    resolved = Path(resolve_path(path, root))
    if _GLOB.search(path):
        matches = [Path(m) for m in sorted(glob.glob(str(resolved)))]
        return next((m for m in matches if m.is_file() and not m.name.startswith(_HIDDEN)), None)
    if resolved.is_dir():
        files = sorted(resolved.rglob(f"*.{type_name}"))
        return next((f for f in files if not any(p.startswith(_HIDDEN) for p in f.relative_to(resolved).parts)), None)
    return resolved if resolved.is_file() else None


def _csv_header(file: Path, options: Mapping[str, Any]) -> Columns:
    given = options.get("options")
    reader_options: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    if str(reader_options.get("header", True)).lower() == "false":
        return ()
    separator = str(reader_options.get("sep") or reader_options.get("delimiter") or ",")
    try:
        with file.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            header = next(csv.reader(handle, delimiter=separator[:1] or ","), [])
    except OSError:
        return ()
    return tuple(column.strip() for column in header if column.strip())


def _parquet_schema(file: Path, options: Mapping[str, Any]) -> Columns:
    """The Parquet file's column names, when pyarrow is importable (it is optional) and the file reads."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return ()
    try:
        return tuple(pq.read_schema(file).names)
    except Exception:  # a file pyarrow cannot read offers no columns; Spark reports it at run time
        return ()


_READERS: dict[str, Callable[[Path, Mapping[str, Any]], Columns]] = {"csv": _csv_header, "parquet": _parquet_schema}
