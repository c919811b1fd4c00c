"""Compare the rows a stage output with the rows a test expects, and say how they differ.

Pure Python on collected rows, so the comparison (and its diff) is the same whatever Spark
did. Only the columns the expected rows name (or ``columns:``) are compared; cells compare by
value across the types YAML and Spark use (``10.5`` equals ``Decimal('10.50')``,
``"2026-11-04"`` equals ``date(2026, 11, 4)``), numbers within ``tolerance``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Changed:
    """A row whose key matched but whose cells differ: (column, expected, actual) per cell."""

    key: Row
    cells: tuple[tuple[str, Any, Any], ...]


@dataclass
class RowsDiff:
    """How a stage's actual rows differ from the expected ones (empty: they match)."""

    stage: str
    expected: int
    actual: int
    missing: list[Row] = field(default_factory=list)
    unexpected: list[Row] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.changed or self.problems)

    def lines(self, limit: int = 20) -> list[str]:
        """The diff as text: ``-`` a missing row, ``+`` an unexpected one, ``~`` a changed one."""
        counts = [f"{len(items)} {word}" for items, word in self._groups() if items]
        head = f"{self.stage}: " + ", ".join([*self.problems, *counts])
        out = [f"{head} (expected {self.expected} row(s), got {self.actual})"]
        out += [f"  - missing     {show_row(row)}" for row in self.missing]
        out += [f"  + unexpected  {show_row(row)}" for row in self.unexpected]
        for change in self.changed:
            cells = ", ".join(f"{c}: {show(e)} -> {show(a)}" for c, e, a in change.cells)
            out.append(f"  ~ changed     {show_row(change.key)}  {cells}")
        if len(out) - 1 > limit:
            out = [*out[: limit + 1], f"  ... and {len(out) - 1 - limit} more"]
        return out

    def _groups(self) -> list[tuple[list[Any], str]]:
        return [(self.missing, "missing"), (self.unexpected, "unexpected"), (self.changed, "changed")]


def compare_rows(
    stage: str,
    expected: Sequence[Row],
    actual: Sequence[Row],
    *,
    columns: Sequence[str] | None = None,
    keys: Sequence[str] = (),
    subset: bool = False,
    ordered: bool = False,
    tolerance: float = 0.0,
) -> RowsDiff:
    """The differences between ``expected`` and ``actual`` rows of ``stage`` (see the module docstring)."""
    compared = list(columns) if columns is not None else _named(expected, keys)
    diff = RowsDiff(stage, len(expected), len(actual))
    present = set(actual[0]) if actual else None
    absent = [c for c in compared if present is not None and c not in present]
    if absent:
        diff.problems.append(f"no column {', '.join(absent)} in the output (it has {', '.join(present or ())})")
        return diff
    want: list[Row] = [_project(r, compared) for r in expected]
    got: list[Row] = [_project(r, compared) for r in actual]
    if ordered:
        _ordered(diff, want, got, tolerance, subset)
    elif keys:
        _keyed(diff, want, got, list(keys), tolerance, subset)
    else:
        _unordered(diff, want, got, tolerance, subset)
    return diff


def _named(rows: Sequence[Row], keys: Sequence[str]) -> list[str]:
    names: dict[str, None] = dict.fromkeys(keys)
    for row in rows:
        names.update(dict.fromkeys(row))
    return list(names)


def _project(row: Row, columns: Sequence[str]) -> dict[str, Any]:
    return {c: row.get(c) for c in columns}


def _unordered(diff: RowsDiff, want: list[Row], got: list[Row], tolerance: float, subset: bool) -> None:
    left = list(got)
    for row in want:
        index = next((i for i, cand in enumerate(left) if rows_equal(row, cand, tolerance)), None)
        if index is None:
            diff.missing.append(row)
        else:
            left.pop(index)
    if not subset:
        diff.unexpected.extend(left)


def _keyed(diff: RowsDiff, want: list[Row], got: list[Row], keys: list[str], tolerance: float, subset: bool) -> None:
    left = list(got)
    for row in want:
        index = next((i for i, cand in enumerate(left) if _same_key(row, cand, keys)), None)
        if index is None:
            diff.missing.append(row)
            continue
        cand = left.pop(index)
        cells = tuple(
            (c, row[c], cand[c]) for c in row if c not in keys and not cells_equal(row[c], cand[c], tolerance)
        )
        if cells:
            diff.changed.append(Changed({k: row[k] for k in keys}, cells))
    if not subset:
        diff.unexpected.extend(left)


def _same_key(row: Row, cand: Row, keys: list[str]) -> bool:
    return all(cells_equal(row[k], cand[k], 0.0) for k in keys)


def _ordered(diff: RowsDiff, want: list[Row], got: list[Row], tolerance: float, subset: bool) -> None:
    for position, (row, cand) in enumerate(zip(want, got, strict=False), start=1):
        cells = tuple((c, row[c], cand[c]) for c in row if not cells_equal(row[c], cand[c], tolerance))
        if cells:
            diff.changed.append(Changed({"row": position}, cells))
    diff.missing.extend(want[len(got) :])
    if not subset:
        diff.unexpected.extend(got[len(want) :])


def rows_equal(expected: Row, actual: Row, tolerance: float = 0.0) -> bool:
    return all(cells_equal(value, actual.get(column), tolerance) for column, value in expected.items())


def cells_equal(expected: Any, actual: Any, tolerance: float = 0.0) -> bool:
    """Whether two cells hold the same value, across the types YAML and Spark use."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return set(expected) == set(actual) and all(cells_equal(expected[k], actual[k], tolerance) for k in expected)
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        return len(expected) == len(actual) and all(
            cells_equal(e, a, tolerance) for e, a in zip(expected, actual, strict=True)
        )
    if hasattr(actual, "asDict"):  # a Spark Row (struct)
        return cells_equal(expected, actual.asDict(recursive=True), tolerance)
    if _is_number(actual):
        number = _number(expected)
        return number is not None and _close(number, Decimal(str(actual)), tolerance)
    if isinstance(actual, (date, datetime)):
        return _moment(expected, actual) == actual
    if isinstance(expected, (date, datetime)) and isinstance(actual, str):  # a date Spark inferred as text
        return _moment(actual, expected) == expected
    if isinstance(actual, bool) or isinstance(expected, bool):
        return expected is actual or (isinstance(expected, str) and expected.lower() == str(actual).lower())
    return bool(expected == actual or (isinstance(expected, (int, float)) and str(expected) == str(actual)))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)) if isinstance(value, (int, float, Decimal, str)) else None
    except InvalidOperation:
        return None


def _close(expected: Decimal, actual: Decimal, tolerance: float) -> bool:
    if expected.is_nan() or actual.is_nan():
        return expected.is_nan() and actual.is_nan()
    return abs(expected - actual) <= Decimal(str(tolerance))


def _moment(expected: Any, actual: date) -> Any:
    """``expected`` as a date or datetime like ``actual`` (a YAML date, or text in ISO form)."""
    if isinstance(expected, str):
        try:
            parsed = datetime.fromisoformat(expected.strip())
        except ValueError:
            return expected
        return parsed if isinstance(actual, datetime) else parsed.date()
    if isinstance(expected, datetime) and not isinstance(actual, datetime):
        return expected.date()
    if isinstance(actual, datetime) and isinstance(expected, date) and not isinstance(expected, datetime):
        return datetime(expected.year, expected.month, expected.day)
    return expected


def show(value: Any) -> str:
    """A cell as a test file would write it."""
    if value is None:
        return "null"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return repr(value)
    return str(value)


def show_row(row: Row) -> str:
    return "{" + ", ".join(f"{k}: {show(v)}" for k, v in row.items()) + "}"
