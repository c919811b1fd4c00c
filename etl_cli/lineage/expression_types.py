"""Type problems of one SQL expression, found where the types of the columns it reads are known offline.

A column's type is known when its input's lineage carries it: a source's declared ``schema:``,
a contract, or a column passed on unchanged by the transforms upstream (anything computed is
unknown). sqlglot (dialect spark) annotates the expression with those types, and only what is
certain is reported:

- ``condition-not-boolean``: a condition that is a column, literal, cast or arithmetic of a
  known type other than BOOLEAN (Spark refuses such a filter);
- ``not-numeric``: ``sum``/``avg`` over a DATE, TIMESTAMP or BOOLEAN column, and ``+ - * /``
  on a BOOLEAN column (Spark refuses them); over a STRING column only a warning (Spark casts
  it to DOUBLE, and the run fails at the first value that is no number);
- ``type-mismatch`` (a warning): a DATE/TIMESTAMP column compared with a string literal that is
  no date (nor ``'yesterday'`` and the like), or a numeric column with one that is no number:
  Spark fails the run with ``CAST_INVALID_INPUT`` (without ANSI mode, no row matches).

A column of unknown type is never guessed at: nothing that involves it is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types

from etl_cli.lineage.expressions import DIALECT

Type = exp.DataType.Type
#: the aggregate functions that need numbers, by their sqlglot node
_NUMERIC_AGGREGATES: dict[type[exp.Expr], str] = {exp.Sum: "sum", exp.Avg: "avg"}
_ARITHMETIC: dict[type[exp.Binary], str] = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/"}
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
#: the roots of a condition whose type sqlglot knows for certain (not a function it may not model as Spark does)
_CERTAIN_ROOTS: tuple[type[exp.Expr], ...] = (exp.Column, exp.Literal, exp.Cast, *_ARITHMETIC)
_TEMPORAL = exp.DataType.TEMPORAL_TYPES
#: what a string cast to a date or timestamp may look like in Spark (a year, then month, day, time; or a time)
_DATE_LIKE = re.compile(r"\s*([+-]?\d{4,}(-\d{1,2}(-\d{1,2}([ T].*)?)?)?|T?\d{1,2}:\d{1,2}.*)\s*", re.DOTALL)
#: the words Spark reads as dates and times
_SPECIAL_DATES = ("epoch", "now", "today", "yesterday", "tomorrow")
_NUMBER_LIKE = re.compile(
    r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[dDfFlLbBsS]?\s*|\s*[+-]?(inf|infinity|nan)\s*", re.I
)


@dataclass(frozen=True)
class TypeProblem:
    """One type problem: its code, whether it is an error, what is wrong, and where.

    ``message`` follows the expression's name in the diagnostic, from its own separator (": ..." or " is ...").
    """

    code: str
    is_error: bool
    message: str
    hint: str
    #: where the fault starts in the expression's text
    offset: int


@dataclass(frozen=True)
class _Typed:
    """A column of the expression whose type is known: its name as written and its declared type."""

    name: str
    declared: str
    type: exp.DataType
    #: where it starts in the expression's text
    start: int


def type_problems(text: str, *, condition: bool, function: str | None,
                  inputs: Mapping[str, Sequence[str] | None], types: Mapping[str, Mapping[str, str]],
                  earlier: Sequence[str] = ()) -> list[TypeProblem]:  # fmt: skip
    """The type problems of ``text`` (module doc) over ``inputs`` (stage → columns, None: unknown) of ``types``.

    ``condition``: the expression must be true or false; ``function``: the aggregate function an aggregate
    transform applies to it (its ``function`` option); ``earlier``: columns made before it in its stage.
    """
    try:
        parsed = sqlglot.parse_one(text, read=DIALECT)
    except SqlglotError:
        return []  # the syntax check reports it
    typed = _annotate(parsed, inputs, types, {name.lower() for name in earlier})
    if not typed:
        return []
    found = list(_aggregates(parsed, typed, function))
    found += _arithmetic(parsed, typed)
    found += _comparisons(parsed, typed)
    if condition:
        found += _not_boolean(parsed, typed, text)
    return found


# --------------------------------------------------------------------------- the columns' types


def _annotate(parsed: exp.Expr, inputs: Mapping[str, Sequence[str] | None], types: Mapping[str, Mapping[str, str]],
              earlier: set[str]) -> dict[int, _Typed]:  # fmt: skip
    """The expression's columns of known type (by node id), after sqlglot annotated every node with types.

    Each column is renamed to a column of one made-up table whose schema holds the known types: the
    expression is annotated alone, whatever the inputs are called.
    """
    typed: dict[int, _Typed] = {}
    schema: dict[str, str] = {}
    for i, column in enumerate(list(parsed.find_all(exp.Column))):
        if isinstance(column.this, exp.Star):
            continue
        known = _column_type(column, inputs, types, earlier)
        alias = f"c{i}" if known is not None else f"u{i}"
        if known is not None:
            declared, built = known
            typed[id(column)] = _Typed(column.name, declared, built, int(column.this.meta.get("start", 0)))
            schema[alias] = built.sql(DIALECT)
        column.set("this", exp.to_identifier(alias))
        column.set("table", exp.to_identifier("_t"))
        for part in ("db", "catalog"):
            column.set(part, None)
    if typed:
        query = exp.Select().from_("_t")
        query.set("expressions", [parsed])  # the parsed nodes themselves, not copies: their types are read after
        annotate_types(query, schema={"_t": schema}, dialect=DIALECT)
    return typed


def _column_type(column: exp.Column, inputs: Mapping[str, Sequence[str] | None],
                 types: Mapping[str, Mapping[str, str]],
                 earlier: set[str]) -> tuple[str, exp.DataType] | None:  # fmt: skip
    """The declared type of the input column ``column`` reads, when it is certain which one and its type is known."""
    name = column.name.lower()
    if column.table:
        holders = [stage for stage in inputs if stage.lower() == column.table.lower()]
    elif name in earlier or any(columns is None for columns in inputs.values()):
        return None
    else:
        holders = [stage for stage, columns in inputs.items() if name in {c.lower() for c in columns or ()}]
    if len(holders) != 1:
        return None
    declared = next((kind for c, kind in types.get(holders[0], {}).items() if c.lower() == name), None)
    if declared is None:
        return None
    try:
        return declared, exp.DataType.build(declared, dialect=DIALECT)
    except (SqlglotError, ValueError):
        return None


def _column(node: exp.Expr | None, typed: Mapping[int, _Typed]) -> _Typed | None:
    """The typed column ``node`` is (inside brackets), else None."""
    while isinstance(node, exp.Paren):
        node = node.this
    return typed.get(id(node)) if isinstance(node, exp.Column) else None


# --------------------------------------------------------------------------- the rules


def _aggregates(parsed: exp.Expr, typed: Mapping[int, _Typed], function: str | None) -> Iterator[TypeProblem]:
    """``sum``/``avg`` over a column that is not a number: in the SQL, or as the aggregate transform's function."""
    calls = [(name, node.this) for node in parsed.walk() for kind, name in _NUMERIC_AGGREGATES.items()
             if type(node) is kind]  # fmt: skip
    if function in _NUMERIC_AGGREGATES.values():
        calls.append((function or "", parsed))
    for name, argument in calls:
        known = _column(argument, typed)
        if known is None or not _not_a_number(known.type):
            continue
        text = known.type.this in exp.DataType.TEXT_TYPES
        yield TypeProblem(
            "not-numeric",
            not text,
            f": {name} over column '{known.name}' of type {known.declared}, which is not a number"
            + (": Spark casts it to DOUBLE, and a value that is no number fails the run" if text else ""),
            _cast_hint(name, known),
            known.start,
        )


def _arithmetic(parsed: exp.Expr, typed: Mapping[int, _Typed]) -> Iterator[TypeProblem]:
    """``+ - * /`` on a BOOLEAN column (Spark refuses it)."""
    for node in parsed.find_all(exp.Binary):
        operator = _ARITHMETIC.get(type(node))
        if operator is None:
            continue
        for side in (node.left, node.right):
            known = _column(side, typed)
            if known is not None and known.type.this == Type.BOOLEAN:
                yield TypeProblem(
                    "not-numeric",
                    True,
                    f": '{operator}' on column '{known.name}' of type {known.declared}, which is not a number",
                    f"cast it to a number: CAST({known.name} AS INT) is 1 for true and 0 for false",
                    known.start,
                )


def _comparisons(parsed: exp.Expr, typed: Mapping[int, _Typed]) -> Iterator[TypeProblem]:
    """A date or number column compared with a string literal that Spark cannot cast to its type."""
    for node in parsed.find_all(*_COMPARISONS):
        for one, other in ((node.left, node.right), (node.right, node.left)):
            known = _column(one, typed)
            if known is None or not isinstance(other, exp.Literal) or not other.is_string:
                continue
            if known.type.this in _TEMPORAL and not _is_date(other.this):
                what, example = "a date", "a date such as '2024-01-31', or 'yesterday', 'today', 'now'"
            elif known.type.this in exp.DataType.NUMERIC_TYPES and not _NUMBER_LIKE.fullmatch(other.this):
                what, example = "a number", "a number, unquoted"
            else:
                continue
            yield TypeProblem(
                "type-mismatch",
                False,
                f" compares column '{known.name}' of type {known.declared} with '{other.this}', which is not {what}:"
                " Spark cannot cast it, so the run fails (CAST_INVALID_INPUT; without ANSI mode, no row matches)",
                f"write {example}",
                int(other.meta.get("start", 0)),
            )


def _not_boolean(parsed: exp.Expr, typed: Mapping[int, _Typed], text: str) -> Iterator[TypeProblem]:
    """A condition of a known type that is not BOOLEAN, when every column it reads has a known type."""
    root = parsed.unnest() if isinstance(parsed, exp.Paren) else parsed
    kind = root.type
    if not isinstance(root, _CERTAIN_ROOTS) or kind is None or kind.this in (Type.UNKNOWN, Type.NULL, Type.BOOLEAN):
        return
    if any(id(column) not in typed for column in root.find_all(exp.Column)):
        return
    column = _column(root, typed)
    shown = column.declared if column is not None else kind.sql(DIALECT)
    test = f"{text.strip()} > 0" if kind.this in exp.DataType.NUMERIC_TYPES else f"{text.strip()} IS NOT NULL"
    yield TypeProblem(
        "condition-not-boolean",
        True,
        f" is of type {shown}, not BOOLEAN",
        f"write a comparison or test, e.g. {test}: Spark refuses a condition that is not true or false",
        0,
    )


def _is_date(text: str) -> bool:
    """Whether Spark can cast ``text`` to a date or timestamp: a date's or time's shape, or a special value."""
    return bool(_DATE_LIKE.fullmatch(text)) or text.strip().lower() in _SPECIAL_DATES


def _not_a_number(kind: exp.DataType) -> bool:
    return kind.this in exp.DataType.TEXT_TYPES or kind.this in _TEMPORAL or kind.this == Type.BOOLEAN


def _cast_hint(function: str, known: _Typed) -> str:
    if known.type.this == Type.BOOLEAN:
        return f"cast it: {function}(CAST({known.name} AS INT)) takes true as 1 and false as 0"
    if known.type.this in _TEMPORAL:
        return f"{function} a number made from it (e.g. unix_date({known.name}), days since 1970-01-01), or use min/max"
    return f"cast it if it holds numbers: {function}(CAST({known.name} AS DECIMAL(38,2))), or use a numeric column"
