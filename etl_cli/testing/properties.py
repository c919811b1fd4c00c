"""Property checks: statements about a pipeline's output that must hold for any generated input.

A test with ``properties:`` runs its pipeline on ``examples`` generated inputs (every source the
test gives no rows is generated, :mod:`etl_cli.testing.generate`, with its own seed and row count
per example: the empty input, one row, two rows, then larger ones up to ``max_rows``) and judges
each property on the rows the stages output. When one fails, the input is shrunk (fewer rows
first, then simpler values: each cell replaced by the smallest value of its column) for as long as
the same property still fails, so the input shown is the smallest found. The Spark side (running
one input) is a callback; nothing here imports pyspark.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import Location
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.testing.compare import show, show_row

if TYPE_CHECKING:
    from etl_cli.testing.generate import Parent

Kind = Literal["unique", "not_null", "row_count", "sum"]
Rows = list[dict[str, Any]]
#: generated rows per source name
Inputs = dict[str, Rows]

KINDS: tuple[Kind, ...] = ("unique", "not_null", "row_count", "sum")
ROW_COUNTS = ("preserved", "not_more", "not_less")
DEFAULT_EXAMPLES = 10
DEFAULT_MAX_ROWS = 20
#: how many extra pipeline runs shrinking a failing input may take
SHRINK_RUNS = 40

_COLUMNS = {"type": "array", "items": {"type": "string"}, "minItems": 1}
PROPERTY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "stage": {"type": "string", "description": "the stage or sink whose rows unique/not_null judge"},
        "unique": {**_COLUMNS, "description": "no two rows of the stage share these columns' values"},
        "not_null": {**_COLUMNS, "description": "these columns are never null in the stage"},
        "from": {"type": "string", "description": "row_count/sum: the stage rows come from"},
        "to": {"type": "string", "description": "row_count/sum: the stage rows go to"},
        "row_count": {"enum": list(ROW_COUNTS), "description": "to has as many rows as from, not more, or not less"},
        "sum": {"type": "string", "description": "the column whose total is the same in from and to"},
        "as": {"type": "string", "description": "sum: the column's name in to, when it differs"},
        "tolerance": {"type": "number", "minimum": 0, "description": "sum: totals this close are equal"},
    },
}
TEST_KEYS: dict[str, Any] = {
    "properties": {"type": "array", "items": PROPERTY_SCHEMA, "minItems": 1},
    "examples": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "how many generated inputs"},
    "seed": {"type": "integer", "description": "the first example's seed; the same seed gives the same inputs"},
    "max_rows": {"type": "integer", "minimum": 1, "maximum": 100_000, "description": "the largest row count"},
}


@dataclass(frozen=True)
class Property:
    """One property: ``unique``/``not_null`` on a stage, or ``row_count``/``sum`` from one stage to another."""

    kind: Kind
    stage: str | None = None
    columns: tuple[str, ...] = ()
    source: str | None = None
    target: str | None = None
    row_count: str | None = None
    target_column: str | None = None
    tolerance: float = 0.0
    location: Location | None = None

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages whose rows the property reads."""
        return tuple(s for s in (self.stage, self.source, self.target) if s is not None)

    def describe(self) -> str:
        if self.kind in ("unique", "not_null"):
            return f"{self.kind} [{', '.join(self.columns)}] in {self.stage}"
        if self.kind == "row_count":
            return f"row_count {self.row_count} from {self.source} to {self.target}"
        named = f" (as {self.target_column})" if self.target_column != self.columns[0] else ""
        return f"sum of {self.columns[0]}{named} preserved from {self.source} to {self.target}"


def parse_property(item: Mapping[str, Any], at: Location | None) -> tuple[Property | None, list[Diagnostic]]:
    """A schema-valid ``properties:`` item as a :class:`Property`, or what is wrong with its shape."""
    kinds = [k for k in KINDS if k in item]
    if len(kinds) != 1:
        problem = "says none of" if not kinds else f"says {' and '.join(kinds)}: give one of"
        return None, [_bad(f"a property {problem} {', '.join(KINDS)}", at, "one property per list item")]
    kind = kinds[0]
    if kind in ("unique", "not_null"):
        wrong = [k for k in ("from", "to", "as", "tolerance") if k in item]
        if "stage" not in item or wrong:
            what = f"does not take {', '.join(wrong)}" if wrong else "needs stage:"
            return None, [_bad(f"property {kind} {what}", at, f"{{stage: STAGE, {kind}: [COLUMN]}}")]
        return Property(kind, stage=item["stage"], columns=tuple(item[kind]), location=at), []
    wrong = [k for k in ("stage", *(("as", "tolerance") if kind == "row_count" else ())) if k in item]
    if "from" not in item or "to" not in item or wrong:
        what = f"does not take {', '.join(wrong)}" if wrong else "needs from: and to:"
        example = "row_count: preserved" if kind == "row_count" else "sum: COLUMN"
        return None, [_bad(f"property {kind} {what}", at, f"{{from: STAGE, to: STAGE, {example}}}")]
    column = item.get("sum")
    return Property(
        kind,
        columns=(column,) if column else (),
        source=item["from"],
        target=item["to"],
        row_count=item.get("row_count"),
        target_column=item.get("as", column),
        tolerance=float(item.get("tolerance", 0.0)),
        location=at,
    ), []


def _bad(message: str, at: Location | None, hint: str) -> Diagnostic:
    return error("bad-property", message, at, hint)


def property_columns(prop: Property) -> dict[str, tuple[str, ...]]:
    """The columns the property names, per stage (for ``validate`` to check where columns are known offline)."""
    if prop.stage is not None:
        return {prop.stage: prop.columns}
    if prop.kind == "sum" and prop.source is not None and prop.target is not None:
        return {prop.source: prop.columns, prop.target: (prop.target_column or prop.columns[0],)}
    return {}


# ----------------------------------------------------------------------------- judging one run


@dataclass(frozen=True)
class Observation:
    """What one run of the pipeline on one input gave: the stages' rows, or why there are none to judge."""

    rows: Mapping[str, Rows] = field(default_factory=dict)
    #: a stage failed: (stage name, its error)
    failure: tuple[str, str] | None = None
    #: checks that failed (evaluated only when a property fails): a run would stop at the quality gate,
    #: so the input is not judged
    rejected: tuple[str, ...] = ()


def violation(prop: Property, rows: Mapping[str, Rows]) -> str | None:
    """Why ``prop`` does not hold for these stage rows, or None when it holds."""
    if prop.kind == "unique":
        return _unique(prop, rows[prop.stage or ""])
    if prop.kind == "not_null":
        return _not_null(prop, rows[prop.stage or ""])
    before, after = rows[prop.source or ""], rows[prop.target or ""]
    if prop.kind == "row_count":
        held = {"preserved": len(after) == len(before), "not_more": len(after) <= len(before)}
        if held.get(prop.row_count or "", len(after) >= len(before)):
            return None
        return f"{prop.source} has {len(before)} row(s), {prop.target} {len(after)}"
    return _sum(prop, before, after)


def _missing(stage: str | None, rows: Rows, columns: Sequence[str]) -> str | None:
    absent = [c for c in columns if rows and c not in rows[0]]
    return f"{stage} has no column {', '.join(absent)} (its columns: {', '.join(rows[0])})" if absent else None


def _unique(prop: Property, rows: Rows) -> str | None:
    absent = _missing(prop.stage, rows, prop.columns)
    if absent:
        return absent
    seen: dict[tuple[Any, ...], int] = {}
    for row in rows:
        key = tuple(row[c] for c in prop.columns)
        seen[key] = seen.get(key, 0) + 1
    repeated = [(key, n) for key, n in seen.items() if n > 1]
    if not repeated:
        return None
    key, n = repeated[0]
    cells = ", ".join(f"{c} = {show(v)}" for c, v in zip(prop.columns, key, strict=True))
    return f"{prop.stage}: {n} rows have {cells}"


def _not_null(prop: Property, rows: Rows) -> str | None:
    absent = _missing(prop.stage, rows, prop.columns)
    if absent:
        return absent
    for column in prop.columns:
        nulls = [row for row in rows if row[column] is None]
        if nulls:
            return f"{prop.stage}: {column} is null in {len(nulls)} row(s), e.g. {show_row(nulls[0])}"
    return None


def _sum(prop: Property, before: Rows, after: Rows) -> str | None:
    column, target = prop.columns[0], prop.target_column or prop.columns[0]
    absent = _missing(prop.source, before, [column]) or _missing(prop.target, after, [target])
    if absent:
        return absent
    total_before, total_after = _total(before, column), _total(after, target)
    if abs(total_before - total_after) <= Decimal(str(prop.tolerance)):
        return None
    return f"sum of {column} in {prop.source} is {total_before}, of {target} in {prop.target} {total_after}"


def _total(rows: Rows, column: str) -> Decimal:
    """The column's total as SQL's sum sees it (nulls do not count), exact for decimals."""
    total = Decimal(0)
    for row in rows:
        if row[column] is not None:
            try:
                total += Decimal(str(row[column]))
            except InvalidOperation:
                return Decimal("NaN")
    return total


# ----------------------------------------------------------------------------- examples and shrinking

#: what failed, so a shrunk input counts only when the same thing fails: ("property", index) or ("error", stage)
FailureKey = tuple[str, Any]


@dataclass(frozen=True)
class Failure:
    key: FailureKey
    message: str


def first_failure(properties: Sequence[Property], seen: Observation) -> Failure | None:
    """The first property that does not hold (or the stage that failed); None when all hold or checks rejected it."""
    if seen.failure is not None:
        return Failure(("error", seen.failure[0]), seen.failure[1])
    if seen.rejected:
        return None
    for index, prop in enumerate(properties):
        found = violation(prop, seen.rows)
        if found is not None:
            return Failure(("property", index), found)
    return None


def example_sizes(examples: int, max_rows: int, seed: int) -> list[int]:
    """Row counts, smallest first: 0, 1, 2, then seeded counts up to ``max_rows`` (the last one ``max_rows``)."""
    edges = [n for n in (0, 1, 2) if n <= max_rows][:examples]
    rng = random.Random(seed)
    rest = [rng.randint(min(3, max_rows), max_rows) for _ in range(examples - len(edges))]
    if rest:
        rest[-1] = max_rows
    return edges + rest


def generate_inputs(
    spec: PipelineSpec, sources: Sequence[str], fixed: Mapping[str, Parent], count: int, seed: int
) -> Inputs:
    """``count`` rows for each source in ``sources``; references into them (or into ``fixed`` rows) stay consistent."""
    from etl_cli.testing.generate import GenSource, columns_for_source, source_rows

    parents: dict[str, Parent] = dict(fixed)
    parents.update({s: GenSource(columns_for_source(spec, s), count, seed) for s in sources})
    return {s: source_rows(spec, s, count, seed, parents) for s in sources}


@dataclass
class PropertyReport:
    """How the property checks of one test went."""

    examples: int = 0
    failure: Failure | None = None
    #: the example that failed first: its number (1-based), seed and row count
    found_in: tuple[int, int, int] | None = None
    shrunk: Inputs | None = None
    shrink_runs: int = 0

    def lines(self, properties: Sequence[Property]) -> list[str]:
        """The failure as the test's report shows it (nothing when every property held)."""
        if self.failure is None:
            return []
        assert self.found_in is not None and self.shrunk is not None
        kind, what = self.failure.key
        head = (
            f"property {what + 1} failed: {properties[what].describe()}"
            if kind == "property"
            else f"stage {what} failed on a generated input"
        )
        number, seed, size = self.found_in
        total = sum(len(rows) for rows in self.shrunk.values())
        budget = ", the most it may take" if self.shrink_runs >= SHRINK_RUNS else ""
        return [
            head,
            f"  found on example {number} of {self.examples} (seed {seed}, {size} row(s) per generated source);"
            f" smallest failing input found ({total} row(s), after {self.shrink_runs} shrink run(s){budget}):",
            "  given:",
            *_given_lines(self.shrunk),
            *(f"  {line}" for line in self.failure.message.splitlines()),
        ]


def _given_lines(inputs: Inputs) -> list[str]:
    lines = []
    for source, rows in inputs.items():
        lines.append(f"    {source}:")
        lines.append("      rows:" + ("" if rows else " []"))
        lines.extend(f"        - {show_row(row)}" for row in rows)
    return lines


def explore(
    properties: Sequence[Property],
    make_inputs: Callable[[int, int], Inputs],
    run: Callable[[Inputs], Observation],
    sizes: Sequence[int],
    seed: int,
) -> PropertyReport:
    """Judge the properties on one input per size (seeds ``seed``, ``seed + 1``...); shrink the first failure."""
    report = PropertyReport()
    for number, size in enumerate(sizes, start=1):
        inputs = make_inputs(size, seed + number - 1)
        seen = run(inputs)
        report.examples = number
        failure = first_failure(properties, seen)
        if failure is not None:
            report.examples = len(sizes)
            report.found_in = (number, seed + number - 1, size)
            report.failure, report.shrunk, report.shrink_runs = shrink(properties, inputs, failure, run)
            return report
    return report


def shrink(
    properties: Sequence[Property], inputs: Inputs, failure: Failure, run: Callable[[Inputs], Observation]
) -> tuple[Failure, Inputs, int]:
    """The smallest input found that fails the same way: rows removed first, then cells made simpler."""
    shrinker = _Shrinker(properties, failure, run)
    smaller = shrinker.fewer_rows(inputs)
    simpler = shrinker.simpler_values(smaller)
    return shrinker.failure, simpler, shrinker.runs


class _Shrinker:
    """Tries candidate inputs (at most :data:`SHRINK_RUNS` runs) and keeps those that still fail the same way."""

    def __init__(self, properties: Sequence[Property], failure: Failure, run: Callable[[Inputs], Observation]):
        self.properties = properties
        self.failure = failure
        self.run = run
        self.runs = 0

    def fails(self, candidate: Inputs) -> bool:
        if self.runs >= SHRINK_RUNS:
            return False
        self.runs += 1
        found = first_failure(self.properties, self.run(candidate))
        if found is None or found.key != self.failure.key:
            return False
        self.failure = found
        return True

    def fewer_rows(self, inputs: Inputs) -> Inputs:
        """Remove chunks of rows, halving the chunk size down to one row, source by source."""
        current = {s: list(rows) for s, rows in inputs.items()}
        for source in current:
            chunk = max(len(current[source]) // 2, 1)
            while chunk >= 1 and current[source]:
                start = 0
                while start < len(current[source]):
                    rows = current[source]
                    candidate = {**current, source: rows[:start] + rows[start + chunk :]}
                    if self.fails(candidate):
                        current = candidate
                    else:
                        start += chunk
                chunk //= 2
        return current

    def simpler_values(self, inputs: Inputs) -> Inputs:
        """Replace each cell by the smallest value of its column among the rows (values the generator made)."""
        current = {s: [dict(row) for row in rows] for s, rows in inputs.items()}
        for source, rows in current.items():
            for column in list(rows[0]) if rows else []:
                for index in range(len(rows)):
                    smallest = _smallest([row[column] for row in current[source]])
                    if smallest is None or current[source][index][column] == smallest:
                        continue
                    changed = [dict(row) for row in current[source]]
                    changed[index][column] = smallest
                    candidate = {**current, source: changed}
                    if self.fails(candidate):
                        current = candidate
        return current


def _smallest(values: Sequence[Any]) -> Any:
    present = [v for v in values if v is not None]
    try:
        return min(present) if present else None
    except TypeError:
        return None
