"""Seeded, reproducible rows for a source, from its declared schema, contract and checks.

Every cell is a pure function of (seed, source, column, row index): a row does not depend on the
rows before it, so the Python path (:func:`generate_rows`) and the Spark path
(:mod:`etl_cli.testing.generate_spark`, one partition of row indexes per task) produce the same
rows for the same seed, however the indexes are split. Unique columns map the row index
through a seeded permutation of the column's domain, so uniqueness holds by construction
instead of by retrying. Nothing here imports pyspark.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from etl_cli.diagnostics import with_article
from etl_cli.errors import ConfigError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.testing.cell_random import CellRandom, mix64, stream_key
from etl_cli.testing.gen_columns import GenColumn, columns_for_source
from etl_cli.testing.regex_sample import Node, compile_pattern, regex_problem, sample

__all__ = ["GenColumn", "GenSource", "columns_for_source", "generate_rows", "row_generator", "source_rows"]

_INT_BOUNDS = {
    "tinyint": 7,
    "byte": 7,
    "smallint": 15,
    "short": 15,
    "int": 31,
    "integer": 31,
    "bigint": 63,
    "long": 63,
}
_DECIMAL = re.compile(r"^(?:decimal|dec|numeric)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")
_EPOCH = datetime(1970, 1, 1)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
#: where values fall when no range check bounds them (a unique column without bounds counts up from the low end)
DEFAULT_LOW: dict[str, Any] = {"int": 0, "date": date(2020, 1, 1), "timestamp": datetime(2020, 1, 1)}
DEFAULT_HIGH: dict[str, Any] = {"int": 10_000, "date": date(2026, 12, 31), "timestamp": datetime(2026, 12, 31, 23, 59)}
DEFAULT_FLOAT_RANGE = (0.0, 1_000.0)


@dataclass(frozen=True)
class GenSource:
    """How a referenced source is generated: a reference draws a row index of it and takes that row's value."""

    columns: Sequence[GenColumn]
    count: int
    seed: int


#: what a reference can point into: a generated source, or rows given as they are (a test's inline rows)
Parent = GenSource | Sequence[Mapping[str, Any]]


def generate_rows(
    columns: Sequence[GenColumn], count: int, seed: int, parents: Mapping[str, Parent] | None = None
) -> list[dict[str, Any]]:
    """``count`` rows (column name → Python value, in column order) for ``seed``.

    ``parents``: the sources that columns with ``references`` point into, by source name; a
    reference to a source missing there is a ConfigError.
    """
    row_at = row_generator(columns, count, seed, parents)
    return [row_at(index) for index in range(count)]


def source_rows(
    spec: PipelineSpec, source: str, count: int, seed: int, others: Mapping[str, Parent] | None = None
) -> list[dict[str, Any]]:
    """Rows for a pipeline's source, its references resolved: what :func:`generate_rows` needs, read from ``spec``.

    A referenced source found in ``others`` (how it is generated, or its rows) is drawn from as given; any
    other is taken as generated from its own declarations with the same ``count`` and ``seed``, which is
    what ``etl-cli generate`` writes for it.
    """
    columns = columns_for_source(spec, source)
    parents: dict[str, Parent] = dict(others or {})
    for column in columns:
        if column.references is not None and column.references[0] not in parents:
            parent = column.references[0]
            parents[parent] = GenSource(columns_for_source(spec, parent), count, seed)
    return generate_rows(columns, count, seed, parents)


def row_generator(
    columns: Sequence[GenColumn], count: int, seed: int, parents: Mapping[str, Parent] | None = None
) -> RowGenerator:
    """The function from row index to row that :func:`generate_rows` applies to 0..count-1 (picklable for Spark)."""
    return RowGenerator(tuple(_cell_generator(column, count, seed, parents or {}) for column in columns))


@dataclass(frozen=True)
class RowGenerator:
    """Row index → row; each cell from its own column's generator."""

    cells: tuple[CellGenerator, ...]

    def __call__(self, index: int) -> dict[str, Any]:
        return {cell.name: cell(index) for cell in self.cells}


@dataclass(frozen=True)
class CellGenerator:
    """One column's value at a row index: null with the column's null rate, else drawn from its domain."""

    name: str
    #: the column's stream key (from the seed, the source and the column name); the row index picks the cell's stream
    key: int
    null_rate: float
    draw: Draw

    def __call__(self, index: int) -> Any:
        rng = CellRandom(mix64(self.key ^ index))
        if self.null_rate > 0 and rng.random() < self.null_rate:
            return None
        return self.draw(index, rng)


# ---------------------------------------------------------------------------
# Draws: how a column's non-null value is chosen
# ---------------------------------------------------------------------------


class Draw:
    """A column's non-null value at ``index``, from the cell's own random source."""

    def __call__(self, index: int, rng: CellRandom) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Choice(Draw):
    values: tuple[Any, ...]

    def __call__(self, index: int, rng: CellRandom) -> Any:
        return rng.choice(self.values)


@dataclass(frozen=True)
class Weighted(Choice):
    """A value drawn with the chance its weight gives it: ``bounds`` are the running totals of the weights."""

    bounds: tuple[float, ...] = ()

    def __call__(self, index: int, rng: CellRandom) -> Any:
        return self.values[min(bisect.bisect_right(self.bounds, rng.random() * self.bounds[-1]), len(self.values) - 1)]


@dataclass(frozen=True)
class Pattern(Draw):
    compiled: Node

    def __call__(self, index: int, rng: CellRandom) -> Any:
        return sample(self.compiled, rng)


@dataclass(frozen=True)
class Word(Draw):
    """Lower-case letters: readable text when nothing constrains a string column."""

    def __call__(self, index: int, rng: CellRandom) -> Any:
        return "".join(rng.choice(_LETTERS) for _ in range(rng.randint(4, 10)))


@dataclass(frozen=True)
class Units(Draw):
    """Whole steps between two bounds (integers, decimal cents, days, seconds), turned into values by ``kind``."""

    kind: str
    low: int
    high: int
    scale: int = 0

    def __call__(self, index: int, rng: CellRandom) -> Any:
        return self.value(rng.randint(self.low, self.high))

    def value(self, units: int) -> Any:
        if self.kind == "decimal":
            return Decimal(units).scaleb(-self.scale)
        if self.kind == "date":
            return date.fromordinal(units)
        if self.kind == "timestamp":
            return _EPOCH + timedelta(seconds=units)
        return units


@dataclass(frozen=True)
class Uniform(Draw):
    low: float
    high: float

    def __call__(self, index: int, rng: CellRandom) -> Any:
        return min(max(round(rng.uniform(self.low, self.high), 4), self.low), self.high)


@dataclass(frozen=True)
class Permuted(Draw):
    """The ``index``-th element of a seeded permutation of ``size`` ordinals: distinct for distinct indexes."""

    size: int
    factor: int
    offset: int
    element: Draw

    def __call__(self, index: int, rng: CellRandom) -> Any:
        ordinal = (self.factor * index + self.offset) % self.size
        element = self.element
        if isinstance(element, Units):
            return element.value(element.low + ordinal)
        if isinstance(element, Choice):
            return element.values[ordinal]
        if isinstance(element, Uniform):
            return element.low + (element.high - element.low) * ordinal / self.size
        return ordinal


@dataclass(frozen=True)
class Labelled(Draw):
    """Distinct text: the column name and a permuted ordinal (``customer_17``)."""

    prefix: str
    ordinals: Permuted

    def __call__(self, index: int, rng: CellRandom) -> Any:
        return f"{self.prefix}_{self.ordinals(index, rng)}"


@dataclass(frozen=True)
class Referenced(Draw):
    """A value of another source's column at a row index drawn for this cell (a foreign key that resolves)."""

    parent: CellGenerator | None
    parent_count: int
    values: tuple[Any, ...] = ()

    def __call__(self, index: int, rng: CellRandom) -> Any:
        if self.parent is None:
            return rng.choice(self.values) if self.values else None
        return self.parent(rng.randrange(self.parent_count)) if self.parent_count else None


# ---------------------------------------------------------------------------
# From a column spec to its generator
# ---------------------------------------------------------------------------


def _cell_generator(column: GenColumn, count: int, seed: int, parents: Mapping[str, Parent]) -> CellGenerator:
    null_rate = 0.0 if column.unique or not column.nullable else column.null_rate
    key = stream_key(seed, column.source or "", column.name)
    return CellGenerator(column.name, key, null_rate, _draw(column, count, seed, parents))


def _draw(column: GenColumn, count: int, seed: int, parents: Mapping[str, Parent]) -> Draw:
    if column.references is not None:
        return _referenced(column, parents)
    kind = _kind(column)
    if column.regex is not None and not column.accepted_values:
        if column.unique:
            raise _error(column, "cannot generate unique values for a regex pattern", "drop one of the two checks")
        if problem := regex_problem(column.regex):
            raise _error(column, f"cannot generate values for the pattern {column.regex!r}: {problem}")
        return Pattern(compile_pattern(column.regex))
    base = _base_draw(column, kind, count)
    if not column.unique:
        return base
    return _unique(column, kind, base, count, seed)


def _base_draw(column: GenColumn, kind: str, count: int) -> Draw:
    if column.accepted_values:
        values = tuple(_coerce(column, kind, v) for v in column.accepted_values)
        return _weighted(column, values) if column.weights else Choice(values)
    if kind in ("string", "boolean") and (column.min is not None or column.max is not None):
        raise _error(column, f"cannot follow a range on a {kind} column", "give accepted_values or a regex instead")
    if kind == "string":
        return Word()
    if kind == "boolean":
        return Choice((False, True))
    if kind == "float":
        return _uniform(column)
    return _units(column, kind, count)


def _weighted(column: GenColumn, values: tuple[Any, ...]) -> Weighted:
    weights = column.weights
    if len(weights) != len(values) or any(w < 0 for w in weights) or not any(w > 0 for w in weights):
        raise _error(
            column,
            f"its weights {list(weights)} do not fit its {len(values)} accepted values",
            "give one weight (0 or more, at least one above 0) per accepted value, in the same order",
        )
    return Weighted(values, tuple(itertools.accumulate(float(w) for w in weights)))


def _unique(column: GenColumn, kind: str, base: Draw, count: int, seed: int) -> Draw:
    if kind == "string" and not column.accepted_values:
        return Labelled(column.name, _permutation(count, seed, column, Units("int", 1, count)))
    if isinstance(base, Units):
        size = base.high - base.low + 1
    elif isinstance(base, Choice):
        size = len(base.values)
    else:
        size = count
    if size < count:
        raise _error(
            column,
            f"{count} unique values are asked for, and the column allows only {size}",
            "widen its range or accepted values, or generate fewer rows",
        )
    return _permutation(size, seed, column, base)


def _permutation(size: int, seed: int, column: GenColumn, element: Draw) -> Permuted:
    """An affine permutation ``k → (a·k + b) mod size`` with ``a`` prime to ``size``, chosen by the seed."""
    rng = CellRandom(stream_key(seed, column.source or "", column.name, "permutation"))
    factor = rng.randint(1, size - 1) if size > 1 else 1
    while math.gcd(factor, size) != 1:
        factor += 1
    return Permuted(size, factor, rng.randrange(size) if size else 0, element)


def _units(column: GenColumn, kind: str, count: int) -> Units:
    scale = _decimal_scale(column.type) if kind == "decimal" else 0
    floor, ceiling = _type_limits(column.type, kind, scale)
    low = _bound(column, column.min, kind, scale, up=True)
    high = _bound(column, column.max, kind, scale, up=False)
    if low is not None and not column.min_inclusive:
        low += 1
    if high is not None and not column.max_inclusive:
        high -= 1
    default_low = _bound(column, DEFAULT_LOW["int" if kind == "decimal" else kind], kind, scale, up=True)
    default_high = _bound(column, DEFAULT_HIGH["int" if kind == "decimal" else kind], kind, scale, up=False)
    assert default_low is not None and default_high is not None
    span = max(count - 1, 0) if column.unique else default_high - default_low
    if low is None and high is None:
        low = 1 if column.unique and kind in ("int", "decimal") else default_low
    if low is None:
        assert high is not None
        low = high - span
    if high is None:
        high = low + span
    low, high = max(low, floor), min(high, ceiling)
    if low > high:
        raise _error(column, f"its range is empty ({column.min} to {column.max})", "fix the range check's bounds")
    return Units(kind, low, high, scale)


def _uniform(column: GenColumn) -> Uniform:
    given_low = float(column.min) if column.min is not None else None
    given_high = float(column.max) if column.max is not None else None
    if given_low is not None and not column.min_inclusive:
        given_low = math.nextafter(given_low, math.inf)
    if given_high is not None and not column.max_inclusive:
        given_high = math.nextafter(given_high, -math.inf)
    span = DEFAULT_FLOAT_RANGE[1] - DEFAULT_FLOAT_RANGE[0]
    if given_low is not None:
        low = given_low
    else:
        low = given_high - span if given_high is not None else DEFAULT_FLOAT_RANGE[0]
    high = given_high if given_high is not None else low + span
    if low > high:
        raise _error(column, f"its range is empty ({column.min} to {column.max})", "fix the range check's bounds")
    return Uniform(low, high)


def _referenced(column: GenColumn, parents: Mapping[str, Parent]) -> Referenced:
    assert column.references is not None
    source, target = column.references
    if source not in parents:
        raise _error(
            column,
            f"it references {source}.{target}, and no rows of '{source}' are given to draw from",
            f"pass how '{source}' is generated (or its rows) in parents, or call source_rows(spec, ...)",
        )
    parent = parents[source]
    if isinstance(parent, GenSource):
        match = [c for c in parent.columns if c.name == target]
        if not match:
            raise _error(column, f"it references {source}.{target}, and '{source}' has no column '{target}'")
        return Referenced(_cell_generator(match[0], parent.count, parent.seed, parents), parent.count)
    values = tuple(row.get(target) for row in parent if row.get(target) is not None)
    return Referenced(None, 0, values)


# ---------------------------------------------------------------------------
# Types and bounds
# ---------------------------------------------------------------------------


def _kind(column: GenColumn) -> str:
    """The generator family of a Spark SQL type; a ConfigError for types it cannot make."""
    text = column.type.strip().lower()
    word = re.split(r"[\s(<]", text, maxsplit=1)[0]
    if word in _INT_BOUNDS:
        return "int"
    if word in ("float", "real", "double"):
        return "float"
    if _DECIMAL.match(text):
        return "decimal"
    if word in ("string", "varchar", "char", "character"):
        return "string"
    if word in ("boolean", "bool"):
        return "boolean"
    if word == "date":
        return "date"
    if word in ("timestamp", "timestamp_ltz", "timestamp_ntz"):
        return "timestamp"
    raise _error(
        column,
        f"cannot generate values of type {column.type}",
        "generated types: string, tinyint..bigint, float, double, decimal(p,s), boolean, date, timestamp",
    )


def _decimal_scale(type_text: str) -> int:
    match = _DECIMAL.match(type_text.strip().lower())
    return int(match.group(2) or 0) if match else 0


def _decimal_precision(type_text: str) -> int:
    match = _DECIMAL.match(type_text.strip().lower())
    return int(match.group(1) or 10) if match else 10


def _type_limits(type_text: str, kind: str, scale: int) -> tuple[int, int]:
    if kind == "int":
        bits = _INT_BOUNDS[re.split(r"[\s(<]", type_text.strip().lower(), maxsplit=1)[0]]
        return -(2**bits), 2**bits - 1
    if kind == "decimal":
        largest = 10 ** _decimal_precision(type_text) - 1
        return -largest, largest
    if kind == "date":
        return date.min.toordinal(), date.max.toordinal()
    return -(2**62), 2**62


def _bound(column: GenColumn, value: Any, kind: str, scale: int, *, up: bool) -> int | None:
    """A bound in whole units of ``kind``, rounded inwards (``up`` for a lower bound)."""
    if value is None:
        return None
    try:
        if kind == "date":
            return _as_date(value).toordinal()
        if kind == "timestamp":
            moment = _as_datetime(value)
            seconds = (moment - _EPOCH) / timedelta(seconds=1)
            return math.ceil(seconds) if up else math.floor(seconds)
        units = Decimal(str(value)).scaleb(scale)
    except (ValueError, ArithmeticError, TypeError) as exc:
        raise _error(
            column, f"the bound {value!r} is not {with_article(kind)} ({exc})", "fix the range check's min or max"
        ) from exc
    return math.ceil(units) if up else math.floor(units)


def _coerce(column: GenColumn, kind: str, value: Any) -> Any:
    """An accepted value as the column's Python type (YAML gives dates and decimals as text or numbers)."""
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "decimal":
            return Decimal(str(value)).quantize(Decimal(1).scaleb(-_decimal_scale(column.type)))
        if kind == "date":
            return _as_date(value)
        if kind == "timestamp":
            return _as_datetime(value)
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
    except (ValueError, ArithmeticError, TypeError) as exc:
        raise _error(
            column, f"the accepted value {value!r} is not {with_article(kind)}", "fix the accepted_values list"
        ) from exc
    return str(value)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)


def _error(column: GenColumn, problem: str, hint: str | None = None) -> ConfigError:
    where = f"column '{column.name}'" + (f" of '{column.source}'" if column.source else "")
    return ConfigError(f"cannot generate {where}: {problem}", location=column.location, hint=hint)
