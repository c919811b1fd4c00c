"""Offline checks of the SQL expressions a pipeline's transforms hold, each at its own ``file:line:col``.

``validate`` runs them once the pipeline has no other error. Every expression (a filter's
condition, a derived column, a select item, a join condition, a group-by key or aggregation,
a window's keys and columns, a deduplication's keys and order, a sort's keys, a ``sql``
stage's query, an ``expression`` check's condition) is parsed by sqlglot (dialect spark)
inside a query over the stage's inputs, and resolved by the lineage reader
(:mod:`etl_cli.lineage.expressions`) against the columns the pipeline's lineage knows
offline (:mod:`etl_cli.lineage.engine`: declared schemas, contracts, upstream transforms).
Only definite problems are errors:

- ``sql-syntax``: the expression does not parse (sqlglot's message), or holds two statements;
- ``unknown-column``: a column no input has, when the inputs' columns are known (a join's
  ``on`` key too: both sides must have it);
- ``ambiguous-column``: an unqualified column that several joined inputs have;
- ``unknown-qualifier``: ``x.col`` where ``x`` is not an input (when an input's columns are
  unknown ``x`` could be a struct column of it: then only a warning, when ``x`` is close to
  an input's name);
- ``duplicate-column``: an aggregate, select or sql stage making two columns of one name
  (Spark lets the stage run and the sink fails with ``COLUMN_ALREADY_EXISTS``);
- ``unknown-table`` (a warning): a ``sql`` query reading a table that is not an input (it may
  be a catalog table);
- type problems where the types of the columns read are known (outside ``sql`` queries):
  ``condition-not-boolean``, ``not-numeric``, ``type-mismatch``
  (:mod:`etl_cli.lineage.expression_types`).

A column whose input's columns are unknown is not checked: without Spark there is nothing to
check it against. A place inside the expression is given when the file holds the YAML scalar
on one line, plain or quoted without escapes (the file's text is compared), else the scalar's
own place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.tokens import Token, TokenType

from etl_cli.config.nodes import NodeInfo, Provenance
from etl_cli.diagnostics import Diagnostic, did_you_mean, error, warning
from etl_cli.errors import Location
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.expression_types import type_problems
from etl_cli.lineage.expressions import DIALECT, NO_COLUMN, NO_TABLE, NOT_INPUT, UNCLEAR, Unresolved, query_lineage
from etl_cli.lineage.model import LineageGraph
from etl_cli.model.pipeline import PipelineSpec, stage_path
from etl_cli.plugins.api import StageSpec, Transform
from etl_cli.plugins.checks import CheckSpec
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_types import SortKey, quote

#: how an expression is used, which decides the query it is parsed in
VALUE, CONDITION, ORDER, QUERY = "value", "condition", "order", "query"
#: the transforms whose output names come from the user: two of one name is a mistake there
_NAMING_TYPES = ("aggregate", "select", "sql")
_DUPLICATE_HINT = "rename one (... AS other_name): Spark runs the stage, then the sink fails with COLUMN_ALREADY_EXISTS"

OptionPath = tuple[str | int, ...]
#: how sqlglot names a node in its messages (``<class 'sqlglot.expressions.core.And'>``): its class name will do
_CLASS = re.compile(r"<class '(?:\w+\.)*(\w+)'>")


@dataclass(frozen=True)
class Expression:
    """One SQL expression of a stage: where it is in the stage's item, its text, and how it is used."""

    path: OptionPath
    text: str
    clause: str
    #: columns the expression also sees: those a derive or select makes before it
    earlier: tuple[str, ...] = ()
    #: where ``text`` starts in the YAML scalar (None: the text is not the scalar's, e.g. a quoted name)
    shift: int | None = 0
    #: how many of the stage's inputs it sees, the first ones (a join condition: those joined so far); None: all
    seen: int | None = None
    #: the aggregate function the stage applies to it (an aggregate transform's ``function``)
    function: str | None = None


def check_expressions(spec: PipelineSpec, registry: Registry, graph: LineageGraph | None = None) -> list[Diagnostic]:
    """Every definite problem of the pipeline's SQL expressions (module doc), each at its place.

    ``graph``: the pipeline's column lineage, when the caller has it already (``validate`` builds it once).
    """
    graph = graph if graph is not None else pipeline_lineage(spec, registry)
    known = _Known(
        {node.stage: node.columns for node in graph.nodes if node.stage is not None},
        {node.stage: dict(node.types) for node in graph.nodes if node.stage is not None},
    )
    found: list[Diagnostic] = []
    transforms = [stage for stage in spec.stages if stage.kind == "transform"]
    for index, stage in enumerate(transforms):
        checker = _StageChecker(stage, stage_path("transform", index), spec.provenance, known)
        found += checker.check(registry, stage_expressions(stage))
    for index, check in enumerate(spec.checks):
        if check.type == "expression":
            found += _check_expression(check, ("checks", index), spec.provenance, known)
    return found


@dataclass(frozen=True)
class _Known:
    """What the lineage knows offline: each stage's columns (None: unknown) and the Spark types known of them."""

    columns: Mapping[str, Sequence[str] | None]
    types: Mapping[str, Mapping[str, str]]


def _check_expression(check: CheckSpec, path: OptionPath, provenance: Provenance, known: _Known) -> list[Diagnostic]:
    """An ``expression`` check's condition, over its stage's rows as a filter of that stage would read them."""
    rows = StageSpec(check.name, "transform", check.type, (check.stage,), check.options, check.location)
    checker = _StageChecker(rows, path, provenance, known, label=check.label)
    return checker.check(None, [Expression(("expression",), check.options["expression"], CONDITION)])


# --------------------------------------------------------------------------- the expressions of each transform


def stage_expressions(stage: StageSpec) -> list[Expression]:
    """The SQL expressions of a built-in transform (a plug-in's own are not known here)."""
    reader = _READERS.get(stage.type)
    return list(reader(stage.options)) if reader is not None else []


def _filter(options: Mapping[str, Any]) -> Iterator[Expression]:
    yield Expression(("condition",), options["condition"], CONDITION)


def _derive(options: Mapping[str, Any]) -> Iterator[Expression]:
    names = list(options["columns"])
    for i, (name, text) in enumerate(options["columns"].items()):
        yield Expression(("columns", name), str(text), VALUE, tuple(names[:i]))


def _select(options: Mapping[str, Any]) -> Iterator[Expression]:
    """Items of ``columns``; each sees the names of the items before it (Spark's lateral column aliases)."""
    names: list[str] = []
    for i, text in enumerate(options.get("columns") or ()):
        yield Expression(("columns", i), text, VALUE, tuple(names))
        names += [name] if (name := _output_name(text)) else []


def _split(options: Mapping[str, Any]) -> Iterator[Expression]:
    """A split's conditions, on the split itself only (the stages of its outputs share its options)."""
    if "output" not in options:
        for name, text in options["outputs"].items():
            yield Expression(("outputs", name), text, CONDITION)


def _join(options: Mapping[str, Any]) -> Iterator[Expression]:
    """The conditions, each seeing the inputs joined so far: the top-level one from the first step without keys."""
    steps = options.get("joins") or ()
    if isinstance(options.get("condition"), str):
        first = next((i for i, step in enumerate(steps) if not _owns_keys(step)), 0)
        yield Expression(("condition",), options["condition"], CONDITION, seen=first + 2)
    for i, step in enumerate(steps):
        if isinstance(step.get("condition"), str):
            yield Expression(("joins", i, "condition"), step["condition"], CONDITION, seen=i + 2)


def _owns_keys(step: Mapping[str, Any]) -> bool:
    """Whether a ``joins`` entry sets its own keys instead of taking the top-level on/condition (as join.py)."""
    return "on" in step or "condition" in step or step.get("how") == "cross"


def _aggregate(options: Mapping[str, Any]) -> Iterator[Expression]:
    for i, text in enumerate(options.get("group_by") or ()):
        yield Expression(("group_by", i), text, VALUE)
    for output, spec in options["aggregations"].items():
        if "column" in spec:
            yield Expression(("aggregations", output, "column"), spec["column"], VALUE, function=spec.get("function"))
        if "expr" in spec:
            yield Expression(("aggregations", output, "expr"), spec["expr"], VALUE)
    if (window := options.get("window")) is not None:
        yield Expression(("window", "column"), quote(window["column"]), VALUE, shift=None)


def _window(options: Mapping[str, Any]) -> Iterator[Expression]:
    for i, text in enumerate(options.get("partition_by") or ()):
        yield Expression(("partition_by", i), text, VALUE)
    yield from _sort_keys(options, "order_by")
    for output, spec in options["columns"].items():
        if "column" in spec:
            yield Expression(("columns", output, "column"), spec["column"], VALUE, function=spec.get("function"))


def _deduplicate(options: Mapping[str, Any]) -> Iterator[Expression]:
    for i, key in enumerate(options["keys"]):
        yield Expression(("keys", i), quote(key), VALUE, shift=None)
    yield from _sort_keys(options, "order_by")


def _sort_keys(options: Mapping[str, Any], key: str) -> Iterator[Expression]:
    for i, entry in enumerate(options.get(key) or ()):
        try:
            expression = SortKey.parse(entry).expression
        except ValueError:
            continue  # the transform's own option check reports it
        yield Expression((key, i), expression, ORDER, shift=entry.find(expression))


def _sort(options: Mapping[str, Any]) -> Iterator[Expression]:
    yield from _sort_keys(options, "order_by")


def _sql(options: Mapping[str, Any]) -> Iterator[Expression]:
    yield Expression(("query",), options["query"], QUERY)


def _named_columns(options: Mapping[str, Any]) -> Iterator[Expression]:
    """The input columns a cast, rename or drop names (a drop with ``if_exists`` may name missing ones)."""
    if options.get("if_exists") is True:
        return
    names = options["columns"]
    keyed: list[tuple[str | int, str]] = (
        [(name, name) for name in names] if isinstance(names, Mapping) else list(enumerate(names))
    )
    for key, name in keyed:
        yield Expression(("columns", key), quote(name), VALUE, shift=None)


def _time_series(options: Mapping[str, Any]) -> Iterator[Expression]:
    """resample, rolling, trend: time column and keys (column names), what value, aggregations or columns read."""
    yield Expression(("time_column",), quote(options["time_column"]), VALUE, shift=None)
    for i, key in enumerate(options.get("keys") or ()):
        yield Expression(("keys", i), quote(key), VALUE, shift=None)
    if "value" in options:
        yield Expression(("value",), options["value"], VALUE)
    items = "aggregations" if "aggregations" in options else "columns"
    for output, spec in (options.get(items) or {}).items():
        if "column" in spec:
            yield Expression((items, output, "column"), spec["column"], VALUE, function=spec.get("function"))
        if "expr" in spec:
            yield Expression((items, output, "expr"), spec["expr"], VALUE)


def _geo_points(options: Mapping[str, Any]) -> Iterator[Expression]:
    """geo_point, geo_distance, geo_within: the columns their points read (lon, lat, or a point's keys)."""
    for key in ("lon", "lat"):
        if key in options:
            yield Expression((key,), quote(options[key]), VALUE, shift=None)
    for point in ("from", "to", "point"):
        for key, name in (options.get(point) or {}).items():
            yield Expression((point, key), quote(name), VALUE, shift=None)


def _geo_join(options: Mapping[str, Any]) -> Iterator[Expression]:
    """geo_join: the point's columns, of the first input, and the polygon column (of either, offline)."""
    for key, name in (options.get("point") or {}).items():
        yield Expression(("point", key), quote(name), VALUE, shift=None, seen=1)
    yield Expression(("polygon",), quote(options["polygon"]), VALUE, shift=None)


_READERS = {
    "geo_point": _geo_points,
    "geo_distance": _geo_points,
    "geo_within": _geo_points,
    "geo_join": _geo_join,
    "resample": _time_series,
    "rolling": _time_series,
    "trend": _time_series,
    "cast": _named_columns,
    "rename": _named_columns,
    "drop": _named_columns,
    "mask": _named_columns,
    "filter": _filter,
    "split": _split,
    "derive": _derive,
    "select": _select,
    "join": _join,
    "aggregate": _aggregate,
    "window": _window,
    "deduplicate": _deduplicate,
    "sql": _sql,
    "sort": _sort,
}


def _output_name(text: str) -> str | None:
    """The name a select item gives its column (its alias, or the column it is), None for ``*`` or unparsable."""
    try:
        parsed = sqlglot.parse_one(text, read=DIALECT)
    except SqlglotError:
        return None
    if isinstance(parsed, exp.Star) or (isinstance(parsed, exp.Column) and parsed.is_star):
        return None
    return parsed.alias_or_name or None


# --------------------------------------------------------------------------- checking one stage


class _StageChecker:
    """Checks the expressions of one transform against its inputs' known columns."""

    def __init__(self, stage: StageSpec, path: OptionPath, provenance: Provenance, known: _Known,
                 label: str | None = None):  # fmt: skip
        self.stage, self.path, self.provenance = stage, path, provenance
        self.label = label or stage.label
        self.inputs: dict[str, Sequence[str] | None] = {name: known.columns.get(name) for name in stage.inputs}
        self.types = {name: known.types.get(name) or {} for name in stage.inputs}

    def _visible(self, expression: Expression) -> dict[str, Sequence[str] | None]:
        """The inputs ``expression`` sees (:attr:`Expression.seen`)."""
        return dict(list(self.inputs.items())[: expression.seen])

    def _all_known(self, expression: Expression) -> bool:
        return all(columns is not None for columns in self._visible(expression).values())

    def check(self, registry: Registry | None, expressions: Sequence[Expression]) -> list[Diagnostic]:
        """Problems of ``expressions``, of a join's keys, then (``registry`` given) of the output's names."""
        found: list[Diagnostic] = []
        for expression in expressions:
            found += self._expression(expression)
        if self.stage.type == "join":
            found += self._join_keys()
        if not found and registry is not None and self.stage.type in _NAMING_TYPES:
            found += self._duplicates(registry)
        return found

    def _join_keys(self) -> list[Diagnostic]:
        """A USING key (``on``) must be a column of the rows joined so far and of the input joined to them."""
        found: list[Diagnostic] = []
        names = list(self.inputs)
        steps = self.stage.options.get("joins") or [{}] * (len(names) - 1)
        for i, step in enumerate(steps[: len(names) - 1]):
            owned = _owns_keys(step)
            keys, where = (
                (step.get("on") or [], ("joins", i, "on")) if owned else (self.stage.option("on") or [], ("on",))
            )
            for j, key in enumerate(keys):
                for side in (names[: i + 1], [names[i + 1]]):
                    problem = self._missing_key(key, side, (*where, j))
                    if problem is not None:
                        found.append(problem)
                        break
        return found

    def _missing_key(self, key: str, side: Sequence[str], path: OptionPath) -> Diagnostic | None:
        """An error when no input of ``side`` has the column ``key`` and all their columns are known."""
        columns = [self.inputs[name] for name in side]
        if any(c is None for c in columns) or any(key.lower() in {c.lower() for c in cs or ()} for cs in columns):
            return None
        known = [c for cs in columns for c in cs or ()]
        which = f"'{side[0]}' does not have" if len(side) == 1 else f"none of {', '.join(side)} has"
        return error(
            "unknown-column",
            f"{self.label}: {'.'.join(map(str, path))} joins on column '{key}', which {which}",
            self.provenance.value_location((*self.path, *path)),
            did_you_mean(key, known) or f"known columns: {', '.join(known)}",
        )

    def _expression(self, expression: Expression) -> list[Diagnostic]:
        query, first_line = self._query(expression)
        try:
            statements = [statement for statement in sqlglot.parse(query, read=DIALECT) if statement is not None]
        except ParseError as problem:
            return [self._syntax(expression, problem, first_line)]
        except SqlglotError as problem:
            return [self._syntax(expression, problem, None)]
        if len(statements) > 1:  # Spark takes one: the rest would fail the run, or run as more than a query
            return [self._second_statement(expression)]
        tables = self._tables(expression)
        found: list[Diagnostic] = []
        unresolved_ones = query_lineage(query, tables).unresolved
        for unresolved in _one_per_table_read(unresolved_ones):
            diagnostic = self._unresolved(expression, unresolved)
            if diagnostic is not None:
                found.append(diagnostic)
        if not found and expression.clause != QUERY:
            found += self._type_problems(expression)
        return found

    def _type_problems(self, expression: Expression) -> list[Diagnostic]:
        """The expression's type problems (:mod:`etl_cli.lineage.expression_types`), each at its place."""
        problems = type_problems(
            expression.text,
            condition=expression.clause == CONDITION,
            function=expression.function,
            inputs=self._visible(expression),
            types=self.types,
            earlier=expression.earlier,
        )
        return [
            (error if problem.is_error else warning)(
                problem.code,
                f"{self.label}: {self._what(expression)}{problem.message}",
                self._location(expression, problem.offset),
                problem.hint,
            )
            for problem in problems
        ]

    def _query(self, expression: Expression) -> tuple[str, int]:
        """A query holding the expression from the start of a line of its own, and that line's number."""
        tables = " CROSS JOIN ".join(quote(name) for name in self._visible(expression))
        if expression.clause == QUERY:
            return expression.text, 1
        if expression.clause == VALUE:
            return f"SELECT\n{expression.text}\nFROM {tables}", 2
        keyword = "WHERE" if expression.clause == CONDITION else "ORDER BY"
        return f"SELECT 1 AS one FROM {tables} {keyword}\n{expression.text}\n", 2

    def _tables(self, expression: Expression) -> dict[str, Sequence[str] | None]:
        """The inputs' columns, with those made earlier in the stage when it has one input."""
        visible = self._visible(expression)
        if not expression.earlier or len(visible) != 1:
            return visible
        ((name, columns),) = visible.items()
        return {name: None if columns is None else [*columns, *expression.earlier]}

    # ------------------------------------------------------------------ diagnostics

    def _syntax(self, expression: Expression, problem: SqlglotError, first_line: int | None) -> Diagnostic:
        detail = problem.errors[0] if isinstance(problem, ParseError) and problem.errors else {}
        offset = None
        if first_line is not None and "line" in detail:
            line, col = detail["line"] - first_line, detail["col"] - len(detail.get("highlight") or "x") + 1
            offset = _offset(expression.text, line, col)
        if isinstance(problem, TokenError):  # its message quotes the whole query, not the user's expression
            message = "it cannot be split into words and symbols (a quote or comment left open?)"
        else:
            message = _CLASS.sub(r"\1", str(detail.get("description") or str(problem).strip().splitlines()[0]))
        if detail.get("highlight"):
            message += f" (at '{detail['highlight']}')"
        return error(
            "sql-syntax",
            f"{self.label}: {self._what(expression)} is not valid Spark SQL: {message}",
            self._location(expression, offset),
            "check the expression's brackets, quotes and operators",
        )

    def _second_statement(self, expression: Expression) -> Diagnostic:
        return error(
            "sql-syntax",
            f"{self.label}: {self._what(expression)} is not valid Spark SQL: it holds more than one statement (at ';')",
            self._location(expression, self._find(expression.text, ";")),
            "remove the ';' and what follows it",
        )

    def _unresolved(self, expression: Expression, unresolved: Unresolved) -> Diagnostic | None:
        if unresolved.reason == NO_COLUMN:
            return self._unknown_column(expression, unresolved, unresolved.table)
        if unresolved.reason == NO_TABLE:
            return self._unknown_qualifier(expression, unresolved)
        if unresolved.reason == NOT_INPUT:
            return self._unknown_table(expression, unresolved)
        if unresolved.reason == UNCLEAR and expression.clause != QUERY and self._all_known(expression):
            return self._unqualified(expression, unresolved)
        return None

    def _unknown_column(self, expression: Expression, unresolved: Unresolved, table: str | None) -> Diagnostic:
        tables = self._tables(expression)
        known = [c for name, columns in tables.items() if table in (None, name) for c in columns or ()]
        which = "no input has" if table is None else f"'{table}' does not have"
        hint = did_you_mean(unresolved.column, known) or (f"known columns: {', '.join(known)}" if known else None)
        return error(
            "unknown-column",
            f"{self.label}: {self._what(expression)} reads column '{unresolved.column}', which {which}",
            self._location(expression, self._find(expression.text, unresolved.column)),
            hint,
        )

    def _unknown_qualifier(self, expression: Expression, unresolved: Unresolved) -> Diagnostic | None:
        qualifier = unresolved.table or ""
        visible = self._visible(expression)
        inputs = list(visible)
        location = self._location(expression, self._find(expression.text, qualifier))
        read = f"{self.label}: {self._what(expression)} reads '{qualifier}.{unresolved.column}'"
        if qualifier.lower() in {name.lower() for name in self.inputs} - {name.lower() for name in inputs}:
            message = f"{read}, but '{qualifier}' is joined after this condition, which sees {', '.join(inputs)}"
            return error("unknown-qualifier", message, location, "a join condition sees the inputs joined so far")
        hint = did_you_mean(qualifier, inputs) or f"qualify columns with an input's stage name: {', '.join(inputs)}"
        message = f"{read}, but '{qualifier}' is not an input of the stage (inputs: {', '.join(self.inputs)})"
        if self._all_known(expression):
            return error("unknown-qualifier", message, location, hint)
        if not did_you_mean(qualifier, inputs):
            return None  # a struct column of an input whose columns are unknown, most likely
        unknown = ", ".join(name for name, columns in visible.items() if columns is None)
        return warning("unknown-qualifier", f"{message}, unless it is a struct column of {unknown}", location, hint)

    def _unknown_table(self, expression: Expression, unresolved: Unresolved) -> Diagnostic:
        table = unresolved.table or ""
        inputs = list(self.inputs)
        return warning(
            "unknown-table",
            f"{self.label}: the query reads '{table}', which is not an input of the stage "
            f"(inputs: {', '.join(inputs)})",
            self._location(expression, self._find(expression.text, table)),
            did_you_mean(table, inputs) or "add it to inputs, unless it is a table of Spark's catalog",
        )

    def _unqualified(self, expression: Expression, unresolved: Unresolved) -> Diagnostic | None:
        holders = [name for name, columns in self._visible(expression).items()
                   if unresolved.column.lower() in {c.lower() for c in columns or ()}]  # fmt: skip
        if not holders:
            return self._unknown_column(expression, unresolved, None)
        if len(holders) == 1 or unresolved.column.lower() in self._using_keys():
            return None  # a key of a USING join is one column of the rows joined so far
        *others, last = (f"'{h}'" for h in holders)
        return error(
            "ambiguous-column",
            f"{self.label}: {self._what(expression)} reads column '{unresolved.column}', which "
            f"{', '.join(others)} and {last} {'both' if len(holders) == 2 else 'all'} have",
            self._location(expression, self._find(expression.text, unresolved.column)),
            f"qualify it with the stage's name: {holders[0]}.{unresolved.column}",
        )

    def _using_keys(self) -> set[str]:
        """The lower-cased ``on`` keys of the stage's join steps."""
        steps = [self.stage.options, *(self.stage.option("joins") or ())]
        return {key.lower() for step in steps for key in step.get("on") or ()}

    def _duplicates(self, registry: Registry) -> list[Diagnostic]:
        """Two output columns of one name (Spark compares names without regard to case)."""
        lineage = registry.get_as(Transform, self.stage.type).column_lineage(self.stage, self.inputs)
        if lineage is None:
            return []
        columns = query_lineage(lineage.query, self.inputs).columns or ()
        seen: set[str] = set()
        found = []
        for name in columns:
            if name.lower() in seen:
                found.append(
                    error(
                        "duplicate-column",
                        f"{self.label} makes two columns named '{name}'",
                        self._duplicate_location(name),
                        _DUPLICATE_HINT,
                    )
                )
            seen.add(name.lower())
        return found

    def _duplicate_location(self, name: str) -> Location | None:
        """The aggregation or select item that makes ``name`` (the last one), else the option holding them."""
        options = self.stage.options
        if self.stage.type == "aggregate":
            outputs = [key for key in options["aggregations"] if key.lower() == name.lower()]
            return self.provenance.key_location((*self.path, "aggregations", *outputs[-1:]))
        if self.stage.type == "select":
            items = [
                i for i, text in enumerate(options["columns"]) if (_output_name(text) or "").lower() == name.lower()
            ]
            return self.provenance.value_location((*self.path, "columns", *items[-1:]))
        return self.provenance.value_location((*self.path, "query"))

    # ------------------------------------------------------------------ places

    def _what(self, expression: Expression) -> str:
        return ".".join(str(part) for part in expression.path)

    def _find(self, text: str, name: str) -> int | None:
        """Where the identifier ``name`` starts in ``text`` (the first one), None when it is not found."""
        try:
            tokens: list[Token] = sqlglot.tokenize(text, read=DIALECT)
        except SqlglotError:
            return None
        for token in tokens:
            if token.token_type != TokenType.STRING and token.text.lower() == name.lower():
                return token.start
        return None

    def _location(self, expression: Expression, offset: int | None) -> Location | None:
        path = (*self.path, *expression.path)
        start = self.provenance.value_location(path)
        info = self.provenance.info(path)
        if start is None or info is None or offset is None or expression.shift is None:
            return start
        if "\n" in expression.text[:offset]:
            return start
        inside = _value_start(start, info, _option(self.stage.options, expression.path))
        if inside is None:
            return start
        return Location(start.file, start.line, start.column + inside + expression.shift + offset)


def _one_per_table_read(found: Sequence[Unresolved]) -> list[Unresolved]:
    """``found`` with one entry per table read that is not an input (each of its columns has one)."""
    tables: set[str | None] = set()
    kept = []
    for unresolved in found:
        if unresolved.reason == NOT_INPUT:
            if unresolved.table in tables:
                continue
            tables.add(unresolved.table)
        kept.append(unresolved)
    return kept


def _offset(text: str, line: int, col: int) -> int | None:
    """The character offset of 0-based ``line``, 1-based ``col`` in ``text``, None when outside it."""
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    return sum(len(before) + 1 for before in lines[:line]) + max(0, min(col - 1, len(lines[line])))


def _option(options: Mapping[str, Any], path: OptionPath) -> Any:
    value: Any = options
    for part in path:
        value = value[part]
    return value


def _value_start(start: Location, info: NodeInfo, value: Any) -> int | None:
    """How far the value's first character is from ``start`` when the file holds it whole on that line (0 plain,
    1 quoted without escapes), else None: only then is a column inside the value exact."""
    if info.interpolated or not isinstance(value, str) or "\n" in value:
        return None
    lines = _lines(start.file)
    if not 0 < start.line <= len(lines):
        return None
    written = lines[start.line - 1][start.column - 1 :]
    if info.raw is not None:
        return 0 if info.raw == value and written.startswith(value) else None
    for mark in "'\"":
        if mark not in value and "\\" not in value and written.startswith(f"{mark}{value}{mark}"):
            return 1
    return None


def _lines(file: str) -> tuple[str, ...]:
    try:
        return tuple(Path(file).read_text(encoding="utf-8").splitlines())
    except OSError:
        return ()
