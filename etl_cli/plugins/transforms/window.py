"""The ``window`` transform: ranks, offsets and running aggregates over partitions of rows.

An aggregate (sum, avg, min, max, count, first, last) over an ordered window defaults to
the frame ``rows`` from the partition's start to the current row: a running total that
adds tied rows one by one. (Spark's own default is ``range``, which gives every row of a
tie the same total, the total after the whole tie, which surprises more than it helps.)
Without ``order_by`` an aggregate covers the whole partition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import (
    SCALAR_TYPES,
    order_by_schema,
    quote,
    single,
    sort_columns,
    sort_key_problems,
    string_list,
    user_sql,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, WindowSpec

RANKING_FUNCTIONS = ("row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile")
OFFSET_FUNCTIONS = ("lag", "lead")
AGGREGATE_FUNCTIONS = ("first", "last", "sum", "avg", "min", "max", "count")
WINDOW_FUNCTIONS = RANKING_FUNCTIONS + OFFSET_FUNCTIONS + AGGREGATE_FUNCTIONS
#: the ranks a top-N is written with (row_number, then a filter on it)
TOP_N_FUNCTIONS = ("row_number", "rank", "dense_rank")

_BOUND = {
    "anyOf": [{"enum": ["unbounded", "current"]}, {"type": "integer"}],
}
_FRAME = {
    "type": "object",
    "additionalProperties": False,
    "required": ["start", "end"],
    "description": "The rows an aggregate covers, relative to the current row (default: rows from "
    "unbounded to current with order_by, the whole partition without).",
    "properties": {
        "type": {
            "enum": ["rows", "range"],
            "default": "rows",
            "description": "rows counts rows; range compares order_by values (one numeric order_by column).",
        },
        "start": {**_BOUND, "description": "First row: unbounded, current, or an offset (-2: two before)."},
        "end": {**_BOUND, "description": "Last row: unbounded, current, or an offset (1: the next one)."},
    },
}
_WINDOW_COLUMN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["function"],
    "description": "One computed column: {function, column?, offset?, default?, n?, frame?}.",
    "properties": {
        "function": {
            "enum": list(WINDOW_FUNCTIONS),
            "description": "Window function. Over an ordered window, last is the current row's value "
            "unless the frame ends at unbounded.",
        },
        "column": {
            "type": "string",
            "minLength": 1,
            "description": "Column or SQL expression the function reads (lag, lead and aggregates; "
            "count without it counts rows).",
        },
        "offset": {"type": "integer", "minimum": 1, "description": "lag/lead: how many rows back or ahead (1)."},
        "default": {"type": SCALAR_TYPES, "description": "lag/lead: value when there is no such row (null)."},
        "n": {"type": "integer", "minimum": 1, "description": "ntile: the number of buckets."},
        "frame": _FRAME,
    },
}


def column_problems(output: str, spec: Mapping[str, Any], ordered: bool) -> list[OptionProblem]:
    """What is wrong with one entry of ``columns`` given whether the window has an order_by."""
    path = ("columns", output)
    function = spec.get("function")
    if function not in WINDOW_FUNCTIONS:
        return []  # the JSON Schema reports the unknown function; anything more would be noise
    found = []
    if function in RANKING_FUNCTIONS + OFFSET_FUNCTIONS and not ordered:
        found.append(OptionProblem(path, f"{function} needs order_by", 'add order_by: ["event_time"]'))
    if function == "ntile" and "n" not in spec:
        found.append(OptionProblem(path, "ntile needs n, the number of buckets"))
    reads_column = function in OFFSET_FUNCTIONS or (function in AGGREGATE_FUNCTIONS and function != "count")
    if reads_column and "column" not in spec:
        found.append(OptionProblem(path, f"{function} needs a column"))
    found += _misplaced_keys(path, function, spec)
    if "frame" in spec and function in AGGREGATE_FUNCTIONS and not ordered:
        found.append(OptionProblem((*path, "frame"), "a frame needs order_by (rows have no order without it)"))
    return found


def _misplaced_keys(path: tuple[str, str], function: Any, spec: Mapping[str, Any]) -> list[OptionProblem]:
    allowed = {"function", "column"} if function in OFFSET_FUNCTIONS + AGGREGATE_FUNCTIONS else {"function"}
    allowed |= {"offset", "default"} if function in OFFSET_FUNCTIONS else set()
    allowed |= {"n"} if function == "ntile" else set()
    allowed |= {"frame"} if function in AGGREGATE_FUNCTIONS else set()
    return [OptionProblem((*path, key), f"{function} takes no {key}") for key in spec if key not in allowed]


def top_n_trap(options: Mapping[str, Any], columns: Mapping[str, Any]) -> list[OptionProblem]:
    """A warning for a ranking over every row (no ``partition_by``): Spark computes it in one partition.

    That is how a top-N is often written (``row_number`` then a filter); ``sort`` with ``limit``
    gives the same rows as a top-K that each partition computes for itself.
    """
    if options.get("partition_by"):
        return []
    ranks = [f"{output} ({spec['function']})" for output, spec in columns.items()
             if isinstance(spec, Mapping) and spec.get("function") in TOP_N_FUNCTIONS]  # fmt: skip
    if not ranks:
        return []
    message = (
        f"{', '.join(ranks)} ranks every row without partition_by: Spark moves all the rows into one "
        "partition, one task, to number them"
    )
    hint = (
        "for the first n rows in an order, use type: sort with order_by and limit: n (a top-N each partition "
        "computes, then merged); or add partition_by to rank within groups"
    )
    return [OptionProblem((), message, hint, warning_code="top-n-one-partition")]


def function_column(spec: Mapping[str, Any]) -> Column:
    """The window function of one ``columns`` entry, before ``over``."""
    from pyspark.sql import functions as F

    function = spec["function"]
    if function == "ntile":
        return F.ntile(spec["n"])
    if function in RANKING_FUNCTIONS:
        return getattr(F, function)()
    if function in OFFSET_FUNCTIONS:
        return getattr(F, function)(F.expr(spec["column"]), spec.get("offset", 1), spec.get("default"))
    target = F.expr(spec["column"]) if "column" in spec else F.lit(1)
    return getattr(F, function)(target)


def function_sql(spec: Mapping[str, Any]) -> str:
    """The window function of one ``columns`` entry as Spark SQL, before ``OVER`` (lag's default left out)."""
    function = spec["function"]
    if function == "ntile":
        return f"ntile({spec['n']})"
    if function in RANKING_FUNCTIONS:
        return f"{function}()"
    if function in OFFSET_FUNCTIONS:
        return f"{function}({spec['column']}, {spec.get('offset', 1)})"
    return f"{function}({spec.get('column', '1')})"


def window_for(spec: Mapping[str, Any], partition_by: Sequence[str], order_by: Sequence[str]) -> WindowSpec:
    """The window one column is computed over: partition, order and, for aggregates, the frame."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy(*[F.expr(p) for p in partition_by])
    if not order_by:
        return window
    window = window.orderBy(*sort_columns(order_by))
    if spec["function"] not in AGGREGATE_FUNCTIONS:
        return window
    frame = spec.get("frame", {"type": "rows", "start": "unbounded", "end": "current"})
    start, end = _bound(frame["start"], is_start=True), _bound(frame["end"], is_start=False)
    return window.rangeBetween(start, end) if frame.get("type") == "range" else window.rowsBetween(start, end)


def _bound(value: str | int, is_start: bool) -> int:
    from pyspark.sql import Window

    if value == "unbounded":
        return Window.unboundedPreceding if is_start else Window.unboundedFollowing
    if value == "current":
        return Window.currentRow
    return int(value)


@register
class WindowTransform(Transform):
    type = "window"
    description = (
        "Add columns computed over a window of related rows: ranks, previous/next values, running totals. "
        "Aggregates over an ordered window run from the partition's start to the current row, row by row "
        "(tied rows get successive totals)."
    )
    required_options = ("columns",)
    options_schema = {
        "partition_by": string_list("Columns whose values split the rows into independent windows."),
        "order_by": order_by_schema("Order of the rows inside each window (needed by ranks, lag and lead)."),
        "columns": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _WINDOW_COLUMN,
            "description": "Columns to add: name: {function: rank} or name: {function: sum, column: amount}.",
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True  # window functions add columns to every row, never rows

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        columns = options.get("columns")
        problems = sort_key_problems(options.get("order_by"))
        if not isinstance(columns, Mapping):
            return problems
        ordered = bool(options.get("order_by"))
        for output, spec in columns.items():
            if isinstance(spec, Mapping):
                problems += column_problems(output, spec, ordered)
        return problems + top_n_trap(options, columns)

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return [
            OptionProblem(
                (),
                "window functions over rows (rank, lag, running sums) do not run on a stream",
                "aggregate by time window instead (aggregate with window: {column, duration}), or read the "
                "source in mode batch",
            )
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """The input's columns, those named again replaced, then the new ones: each ``f(...) OVER (...)``."""
        ((name, columns),) = inputs.items()
        clauses = [f"PARTITION BY {', '.join(p)}" if (p := stage.option("partition_by")) else "",
                   f"ORDER BY {', '.join(o)}" if (o := stage.option("order_by")) else ""]  # fmt: skip
        over = " ".join(clause for clause in clauses if clause)
        known = {c.lower() for c in columns or ()}
        replaced: list[str] = []
        added: list[str] = []
        for output, spec in stage.options["columns"].items():
            item = f"{function_sql(spec)} OVER ({over}) AS {quote(output)}"
            (replaced if output.lower() in known else added).append(item)
        star = f"* REPLACE ({', '.join(replaced)})" if replaced else "*"
        return StageLineage(f"SELECT {', '.join([star, *added])} FROM {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        partition_by = stage.option("partition_by") or ()
        order_by = stage.option("order_by") or ()
        with user_sql(stage, "window column"):
            columns = {
                output: function_column(spec).over(window_for(spec, partition_by, order_by))
                for output, spec in stage.options["columns"].items()
            }
            return single(inputs).withColumns(columns)
