"""What a generator must respect for each column of a source, read from the pipeline.

Columns and types come from the source's declared ``schema:`` and its ``contract:`` (the schema's
order first; a contract column the schema lacks is added after). Constraints come from the
contract (``nullable: false``) and the checks on the source: ``not_null``, ``range``,
``accepted_values``, ``regex``, ``unique`` (its first column is made unique, which makes the
combination unique) and ``relationships`` to another source (``references``). Other checks
(``expression``, ``row_count``, ``freshness``, relationships to a transform) are not followed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from etl_cli.errors import ConfigError, Location
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.checks import CheckSpec
from etl_cli.plugins.spark_types import split_top_level

#: the share of nulls in a nullable column that no ``not_null`` check or ``nullable: false`` protects
DEFAULT_NULL_RATE = 0.05
_DDL_ENTRY = re.compile(r"\s*(`(?:[^`]|``)+`|[A-Za-z_][A-Za-z0-9_]*)\s+(\S.*?)\s*$", re.DOTALL)
_NOT_NULL = re.compile(r"\s+NOT\s+NULL\b", re.IGNORECASE)
_COMMENT = re.compile(r"\s+COMMENT\s+'.*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class GenColumn:
    """One column to generate and the constraints its values keep."""

    name: str
    #: a Spark SQL type: string, int, bigint, double, decimal(10,2), boolean, date, timestamp...
    type: str
    nullable: bool = True
    #: the share of rows that are null (0 when not nullable or unique)
    null_rate: float = 0.0
    #: bounds (numbers, or ISO dates/timestamps as text), inclusive unless told otherwise
    min: Any = None
    max: Any = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    #: when given, the only values drawn
    accepted_values: tuple[Any, ...] = ()
    #: how often each accepted value is drawn, relative to the others (empty: all equally often)
    weights: tuple[float, ...] = ()
    #: a pattern every value matches in full
    regex: str | None = None
    #: no two rows share a value (and no row is null)
    unique: bool = False
    #: (source, column): every value is one of that source's generated values
    references: tuple[str, str] | None = None
    #: the source the column belongs to and where its constraint was written, for errors
    source: str | None = None
    location: Location | None = None


def columns_for_source(spec: PipelineSpec, source: str) -> list[GenColumn]:
    """The columns of ``source`` with every constraint the pipeline declares on them.

    A ConfigError naming the source when it is not a source or declares no schema (neither
    ``schema:`` nor ``contract:``): without one there is nothing to generate from.
    """
    stage = _source_stage(spec, source)
    columns = _declared_columns(spec, stage)
    if not columns:
        raise ConfigError(
            f"source '{source}' declares no schema to generate data from",
            location=stage.location,
            hint="declare its columns with schema: {id: BIGINT, name: STRING} or a contract:",
        )
    sources = {s.name for s in spec.stages if s.kind == "source"}
    for check in spec.checks:
        if check.stage == source:
            _apply_check(columns, check, sources)
    return list(columns.values())


def _source_stage(spec: PipelineSpec, source: str) -> StageSpec:
    sources = [s for s in spec.stages if s.kind == "source"]
    for stage in sources:
        if stage.name == source:
            return stage
    names = ", ".join(s.name for s in sources)
    raise ConfigError(f"pipeline '{spec.name}' has no source '{source}'", hint=f"its sources: {names}")


def _declared_columns(spec: PipelineSpec, stage: StageSpec) -> dict[str, GenColumn]:
    columns: dict[str, GenColumn] = {}
    for name, type_text, nullable in _schema_entries(stage.option("schema")):
        columns[name] = _column(stage, name, type_text, nullable)
    contract = spec.contract(stage.name)
    for declared in contract.columns if contract else ():
        known = columns.get(declared.name)
        if known is None:
            columns[declared.name] = _column(stage, declared.name, declared.type or "string", declared.nullable)
        elif not declared.nullable:
            columns[declared.name] = replace(known, nullable=False, null_rate=0.0)
    return columns


def _column(stage: StageSpec, name: str, type_text: str, nullable: bool) -> GenColumn:
    rate = DEFAULT_NULL_RATE if nullable else 0.0
    return GenColumn(name, type_text, nullable, rate, source=stage.name, location=stage.location)


def _schema_entries(schema: Any) -> list[tuple[str, str, bool]]:
    """(name, type, nullable) of a declared schema: a mapping name → type, or DDL text."""
    if isinstance(schema, Mapping):
        return [(str(name), str(type_text), True) for name, type_text in schema.items()]
    if not isinstance(schema, str):
        return []
    entries = []
    for entry in split_top_level(schema):
        match = _DDL_ENTRY.match(_COMMENT.sub("", entry))
        if match is None:
            continue
        name = match.group(1).strip("`").replace("``", "`")
        type_text, not_null = _NOT_NULL.subn("", match.group(2))
        entries.append((name, type_text.strip(), not not_null))
    return entries


def _apply_check(columns: dict[str, GenColumn], check: CheckSpec, sources: set[str]) -> None:
    apply = _CHECKS.get(check.type)
    if apply is None:
        return
    for name, changes in apply(check, sources):
        if name in columns:
            columns[name] = replace(columns[name], location=check.location or columns[name].location, **changes)


def _not_null(check: CheckSpec, sources: set[str]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, {"nullable": False, "null_rate": 0.0}) for name in check.option("columns") or ()]


def _range(check: CheckSpec, sources: set[str]) -> list[tuple[str, dict[str, Any]]]:
    changes = {
        "min": check.option("min"),
        "max": check.option("max"),
        "min_inclusive": bool(check.option("min_inclusive", True)),
        "max_inclusive": bool(check.option("max_inclusive", True)),
    }
    return [(check.option("column"), changes)]


def _accepted(check: CheckSpec, sources: set[str]) -> list[tuple[str, dict[str, Any]]]:
    changes = {"accepted_values": tuple(check.option("values") or ()), "weights": tuple(check.option("weights") or ())}
    return [(check.option("column"), changes)]


def _regex(check: CheckSpec, sources: set[str]) -> list[tuple[str, dict[str, Any]]]:
    return [(check.option("column"), {"regex": check.option("pattern")})]


def _unique(check: CheckSpec, sources: set[str]) -> list[tuple[str, dict[str, Any]]]:
    keys = list(check.option("columns") or ())
    return [(keys[0], {"unique": True, "null_rate": 0.0})] if keys else []


def _relationships(check: CheckSpec, sources: set[str]) -> list[tuple[str, dict[str, Any]]]:
    target = check.option("to")
    if target not in sources:
        return []
    column = check.option("column")
    return [(column, {"references": (target, check.option("to_column") or column)})]


_CHECKS: dict[str, Callable[[CheckSpec, set[str]], list[tuple[str, dict[str, Any]]]]] = {
    "not_null": _not_null,
    "range": _range,
    "accepted_values": _accepted,
    "regex": _regex,
    "unique": _unique,
    "relationships": _relationships,
}
