"""The ``aggregate`` transform: group rows and compute aggregates per group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single, string_list, user_sql

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: the aggregate functions ``function`` may name (each is the pyspark.sql.functions function of that name)
AGGREGATE_FUNCTIONS = (
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "first",
    "last",
    "collect_list",
    "collect_set",
    "stddev",
    "variance",
    "approx_count_distinct",
)

_AGGREGATION = {
    "type": "object",
    "additionalProperties": False,
    "description": "Either {function, column} or {expr}.",
    "properties": {
        "function": {
            "enum": list(AGGREGATE_FUNCTIONS),
            "description": "Aggregate function (first and last take any row of the group: order is not kept).",
        },
        "column": {
            "type": "string",
            "minLength": 1,
            "description": "Column or SQL expression to aggregate; leave it out of count to count rows.",
        },
        "expr": {
            "type": "string",
            "minLength": 1,
            "description": 'A whole SQL aggregate expression instead, e.g. "sum(price * quantity)".',
        },
    },
}


_WINDOW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["column"],
    "description": "Also group by time window of a timestamp column, fixed (duration, and slide for overlapping "
    "windows) or a session (gap); the output starts with window_start and window_end. Needed to aggregate a "
    "stream (with a watermark on the streaming source).",
    "properties": {
        "column": {"type": "string", "minLength": 1, "description": "The timestamp column (event time)."},
        "duration": {"type": "string", "minLength": 1, "description": 'Window length, e.g. "1 minute".'},
        "gap": {
            "type": "string",
            "minLength": 1,
            "description": "Session windows instead of duration: a session of a group ends when no row comes for "
            'this long, e.g. "5 minutes" (Spark session_window); on a stream, append output only.',
        },
        "slide": {
            "type": "string",
            "minLength": 1,
            "description": "How often a window starts, for overlapping (sliding) windows; default: duration.",
        },
    },
}
#: the helper column holding the time window while grouping
WINDOW_COLUMN = "__etl_cli_window"


def aggregation_problems(output: str, spec: Any) -> list[OptionProblem]:
    """What is wrong with one entry of ``aggregations`` (beyond what the JSON Schema checks)."""
    if not isinstance(spec, Mapping):
        return []
    if spec.get("function", "count") not in AGGREGATE_FUNCTIONS:
        return []  # the JSON Schema reports the unknown function; anything more would be noise
    path = ("aggregations", output)
    hint = 'e.g. {function: sum, column: amount} or {expr: "sum(price * quantity)"}'
    if ("function" in spec) == ("expr" in spec):
        return [OptionProblem(path, "give either function (with column) or expr", hint)]
    if "expr" in spec and "column" in spec:
        return [OptionProblem((*path, "column"), "column goes with function, not with expr")]
    if "function" in spec and spec["function"] != "count" and "column" not in spec:
        return [OptionProblem(path, f"{spec['function']} needs a column", "only count may leave it out (rows)")]
    return []


def window_problems(window: Any) -> list[OptionProblem]:
    """A window is fixed (duration, maybe slide) or a session (gap), never both."""
    if not isinstance(window, Mapping):
        return []
    hint = 'window: {column: event_time, duration: "1 minute"} or {column: event_time, gap: "5 minutes"}'
    if ("duration" in window) == ("gap" in window):
        return [OptionProblem(("window",), "give either duration (fixed windows) or gap (session windows)", hint)]
    if "gap" in window and "slide" in window:
        return [OptionProblem(("window", "slide"), "slide goes with duration; session windows do not slide", hint)]
    return []


def aggregate_sql(spec: Mapping[str, Any]) -> str:
    """One aggregation as Spark SQL (``count_distinct`` is SQL's ``count(DISTINCT ...)``)."""
    if "expr" in spec:
        return str(spec["expr"])
    function, column = spec["function"], spec.get("column", "1")
    return f"count(DISTINCT {column})" if function == "count_distinct" else f"{function}({column})"


def aggregate_column(output: str, spec: Mapping[str, Any]) -> Column:
    """The Spark column computing one aggregation, named ``output``."""
    from pyspark.sql import functions as F

    if "expr" in spec:
        return F.expr(spec["expr"]).alias(output)
    target = F.expr(spec["column"]) if "column" in spec else F.lit(1)
    return getattr(F, spec["function"])(target).alias(output)


@register
class AggregateTransform(Transform):
    type = "aggregate"
    description = "Group rows by columns and compute aggregates per group (no group_by: one row of totals)."
    required_options = ("aggregations",)
    options_schema = {
        "group_by": string_list(
            'Columns (or SQL expressions, "year(ts) AS year") to group by; empty or left out for a grand total.'
        ),
        "aggregations": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _AGGREGATION,
            "description": 'Output columns: name: {function: sum, column: amount} or name: {expr: "sum(a * b)"}.',
        },
        "window": _WINDOW,
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = window_problems(options.get("window"))
        aggregations = options.get("aggregations")
        if not isinstance(aggregations, Mapping):
            return problems
        return problems + [
            problem for output, spec in aggregations.items() for problem in aggregation_problems(output, spec)
        ]

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        if "window" in options:
            return []
        return [
            OptionProblem(
                (),
                "an aggregate on a stream needs a time window: a group is written once its window is over",
                'add window: {column: event_time, duration: "1 minute"} (and a watermark on the streaming source)',
            )
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """A GROUP BY query with the output's columns in its order: window bounds, groups, aggregations.

        The time window is written ```window`(column, duration)``: sqlglot reads ``window`` unquoted
        as the WINDOW clause.
        """
        (name,) = inputs
        keys = list(stage.option("group_by") or ())
        if (window := stage.option("window")) is not None:
            if "gap" in window:
                time_window = f"session_window({quote(window['column'])}, '{window['gap']}')"
            else:
                bounds = ", ".join(f"'{part}'" for part in (window["duration"], window.get("slide")) if part)
                time_window = f"`window`({quote(window['column'])}, {bounds})"
            keys = [f"{time_window}.start AS window_start", f"{time_window}.end AS window_end", *keys]
        aggregations = [
            f"{aggregate_sql(spec)} AS {quote(output)}" for output, spec in stage.options["aggregations"].items()
        ]
        group_by = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
        return StageLineage(f"SELECT {', '.join(keys + aggregations)} FROM {quote(name)}{group_by}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        with user_sql(stage, "aggregation"):
            groups = [F.expr(g) for g in stage.option("group_by") or ()]
            columns = [aggregate_column(output, spec) for output, spec in stage.options["aggregations"].items()]
            if (window := stage.option("window")) is None:
                return single(inputs).groupBy(*groups).agg(*columns)
            return _by_window(single(inputs), window, groups, columns)


def _by_window(df: DataFrame, window: Mapping[str, str], groups: list[Column], columns: list[Column]) -> DataFrame:
    """Group by time window too; the window becomes the columns window_start and window_end, first."""
    from pyspark.sql import functions as F

    if "gap" in window:
        time_window = F.session_window(F.col(quote(window["column"])), window["gap"])
    else:
        time_window = F.window(F.col(quote(window["column"])), window["duration"], window.get("slide"))
    grouped = df.groupBy(time_window.alias(WINDOW_COLUMN), *groups).agg(*columns)
    bounds = [F.col(f"{WINDOW_COLUMN}.start").alias("window_start"), F.col(f"{WINDOW_COLUMN}.end").alias("window_end")]
    return grouped.select(*bounds, *[F.col(quote(c)) for c in grouped.columns if c != WINDOW_COLUMN])
