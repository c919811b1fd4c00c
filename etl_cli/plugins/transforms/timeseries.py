"""Time-series transforms: ``resample`` (fixed-interval buckets, gaps filled) and ``trend`` (up/down/flat flags).

``resample`` runs entirely on Spark, never collecting rows: it aggregates the rows of each
bucket, then (unless ``fill: none``) builds each series' grid of buckets from its first to
its last one with ``sequence``/``explode``, left-joins the aggregates onto it and fills the
buckets that had no row with window functions over the series, ordered by bucket.

Buckets are aligned on whole multiples of the interval since 1970-01-01 00:00:00 UTC (as
Spark's ``window`` aligns them), computed on epoch seconds so a day is always 86,400 s
whatever the session time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single, string_list, user_sql
from etl_cli.plugins.transforms.aggregate import _AGGREGATION, aggregate_column, aggregate_sql, aggregation_problems

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, WindowSpec

#: seconds in one of each unit an interval may be written in (fixed lengths: no months, no years)
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_INTERVAL = re.compile(r"^\s*(\d+)\s*(second|minute|hour|day|week)s?\s*$", re.IGNORECASE)
FILLS = ("none", "null", "previous", "linear")
#: helper columns while resampling (the bucket as epoch seconds, whether the bucket had rows)
_BUCKET = "__etl_cli_bucket"
_PRESENT = "__etl_cli_present"


def interval_seconds(text: Any) -> int | None:
    """The length of ``text`` ("15 minutes", "1 day") in seconds; None when it is not such an interval."""
    match = _INTERVAL.match(text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) == 0:
        return None
    return int(match.group(1)) * UNIT_SECONDS[match.group(2).lower()]


def fixed_length(stage: StageSpec, key: str) -> int:
    """The stage's ``key`` in seconds; validate reports a bad one at its line, a stage built otherwise fails here."""
    seconds = interval_seconds(stage.options[key])
    if seconds is None:
        raise ConfigError(
            f"{stage.label}: {key} {stage.options[key]!r} is not a fixed length",
            location=stage.location,
            hint='write a whole number and a unit: "15 minutes", "1 hour", "7 days"',
        )
    return seconds


def bucket_sql(time_column: str, seconds: int) -> str:
    """The start of the bucket of ``time_column`` as epoch seconds (Spark SQL)."""
    return f"floor(unix_seconds(CAST({quote(time_column)} AS TIMESTAMP)) / {seconds}) * {seconds}"


def _list(value: Any) -> list[Any]:
    """``value`` when it is a list (check_options also sees values the JSON Schema refuses), else nothing."""
    return list(value) if isinstance(value, (list, tuple)) else []


def _clashes(options: Mapping[str, Any]) -> list[OptionProblem]:
    """Output columns named twice: a key, the time column and each aggregation name one output column."""
    keys = [k for k in _list(options.get("keys")) if isinstance(k, str)]
    time_column = options.get("time_column")
    found = []
    if time_column in keys:
        found.append(OptionProblem(("keys",), f"'{time_column}' is the time_column: it cannot also be a key"))
    taken = {name.lower() for name in [*keys, time_column] if isinstance(name, str)}
    aggregations = options.get("aggregations")
    for output in aggregations if isinstance(aggregations, Mapping) else ():
        if not isinstance(output, str):
            continue  # the JSON Schema reports a name that is not a string
        if output.lower() in taken:
            found.append(
                OptionProblem(
                    ("aggregations", output),
                    f"aggregation '{output}' is named like a key or the time_column: the output would have it twice",
                    "give the aggregation another name",
                )
            )
    return found


@register
class ResampleTransform(Transform):
    type = "resample"
    description = (
        "Aggregate a time series into buckets of a fixed interval (one series per key), filling the buckets "
        "that have no rows between a series' first and last bucket: none, null, previous or linear."
    )
    required_options = ("time_column", "interval", "aggregations")
    options_schema = {
        "time_column": {
            "type": "string",
            "minLength": 1,
            "description": "The TIMESTAMP (or DATE) column; in the output it holds each bucket's start. "
            "Rows where it is null are left out.",
        },
        "interval": {
            "type": "string",
            "minLength": 1,
            "description": "The bucket length: a whole number of seconds, minutes, hours, days or weeks "
            '("15 minutes", "1 hour", "1 day"). Buckets start at multiples of it since 1970-01-01 00:00 UTC.',
        },
        "keys": string_list("Columns naming each series (one grid of buckets per combination); none: one series."),
        "aggregations": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _AGGREGATION,
            "description": "Output columns per bucket, as in aggregate: name: {function: avg, column: temp}.",
        },
        "fill": {
            "enum": list(FILLS),
            "default": "none",
            "description": "Buckets with no rows between a series' first and last bucket: none leaves them out; "
            "null adds them with null aggregations; previous carries the last non-null value forward; linear "
            "interpolates numeric aggregations between the nearest non-null values (as DOUBLE).",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = []
        if "interval" in options and interval_seconds(options["interval"]) is None:
            problems.append(
                OptionProblem(
                    ("interval",),
                    f"interval {options['interval']!r} is not a fixed length",
                    'write a whole number and a unit: "30 seconds", "15 minutes", "1 hour", "1 day", "1 week"',
                )
            )
        aggregations = options.get("aggregations")
        if isinstance(aggregations, Mapping):
            problems += [p for output, spec in aggregations.items() for p in aggregation_problems(output, spec)]
        return problems + _clashes(options)

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return [
            OptionProblem(
                (),
                "resample fills gaps over each whole series, which a stream never completes",
                'aggregate by time window instead (aggregate with window: {column, duration: "15 minutes"} and '
                "a watermark), or read the source in mode batch",
            )
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """A GROUP BY of the keys and the bucket, as the output's columns: keys, bucket start, aggregations."""
        (name,) = inputs
        seconds = interval_seconds(stage.options["interval"]) or 1
        time_column = stage.options["time_column"]
        keys = [quote(k) for k in stage.option("keys") or ()]
        bucket = f"timestamp_seconds({bucket_sql(time_column, seconds)}) AS {quote(time_column)}"
        aggregations = [f"{aggregate_sql(s)} AS {quote(o)}" for o, s in stage.options["aggregations"].items()]
        group_by = ", ".join(str(i + 1) for i in range(len(keys) + 1))
        items = ", ".join([*keys, bucket, *aggregations])
        return StageLineage(f"SELECT {items} FROM {quote(name)} GROUP BY {group_by}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        options = stage.options
        seconds = fixed_length(stage, "interval")
        keys = list(options.get("keys") or ())
        outputs = list(options["aggregations"])
        with user_sql(stage, "resample option"):
            df = single(inputs).where(F.col(quote(options["time_column"])).isNotNull())
            columns = [aggregate_column(output, spec) for output, spec in options["aggregations"].items()]
            buckets = df.groupBy(*[F.col(quote(k)) for k in keys], F.expr(bucket_sql(options["time_column"], seconds))
                                 .cast("long").alias(_BUCKET)).agg(*columns)  # fmt: skip
            fill = options.get("fill", "none")
            if fill != "none":
                buckets = _filled(_on_grid(buckets, keys, seconds), keys, outputs, fill)
            bucket_start = F.timestamp_seconds(F.col(_BUCKET)).alias(options["time_column"])
            return buckets.select(*[F.col(quote(k)) for k in keys], bucket_start, *[F.col(quote(o)) for o in outputs])


def _on_grid(buckets: DataFrame, keys: list[str], seconds: int) -> DataFrame:
    """Every bucket of each series from its first to its last, those without rows having ``_PRESENT`` null.

    The grid's key columns are renamed before the join so the condition cannot resolve both
    sides to one column (the grid derives from ``buckets``); keys match null-safely.
    """
    from pyspark.sql import functions as F

    renamed = {k: f"__etl_cli_key{i}" for i, k in enumerate(keys)}
    span = buckets.groupBy(*[F.col(quote(k)).alias(renamed[k]) for k in keys]).agg(
        F.min(_BUCKET).alias("__first"), F.max(_BUCKET).alias("__last")
    )
    grid = span.select(
        *[F.col(c) for c in renamed.values()],
        F.explode(F.sequence("__first", "__last", F.lit(seconds).cast("long"))).alias("__grid_bucket"),
    )
    present = buckets.withColumn(_PRESENT, F.lit(True))
    condition = [F.col("__grid_bucket") == F.col(_BUCKET)]
    condition += [F.col(renamed[k]).eqNullSafe(F.col(quote(k))) for k in keys]
    joined = grid.join(present, condition, "left")
    restored = [F.col(renamed[k]).alias(k) for k in keys]
    others = [F.col(quote(c)) for c in present.columns if c not in keys and c != _BUCKET]
    return joined.select(*restored, F.col("__grid_bucket").alias(_BUCKET), *others)


def _filled(grid: DataFrame, keys: list[str], outputs: list[str], fill: str) -> DataFrame:
    """The aggregations of the buckets without rows filled as ``fill`` says (those with rows kept as they are)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if fill == "null":
        return grid
    series = Window.partitionBy(*[F.col(quote(k)) for k in keys]).orderBy(_BUCKET)
    numeric = {f.name for f in grid.schema.fields if f.dataType.typeName() in _NUMERIC_TYPE_NAMES}
    filled = {}
    for output in outputs:
        value = F.col(quote(output))
        if fill == "previous":
            estimate = F.last(value, ignorenulls=True).over(series.rowsBetween(Window.unboundedPreceding, -1))
        elif output in numeric:
            value = value.cast("double")
            estimate = _interpolated(value, series)
        else:
            estimate = F.lit(None)
        filled[output] = F.when(F.col(_PRESENT).isNull(), estimate).otherwise(value)
    return grid.withColumns(filled)


_NUMERIC_TYPE_NAMES = {"byte", "short", "integer", "long", "float", "double", "decimal"}


def _interpolated(value: Column, series: WindowSpec) -> Column:
    """``value`` on the straight line between the nearest earlier and later non-null values of the series."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    before = series.rowsBetween(Window.unboundedPreceding, -1)
    after = series.rowsBetween(1, Window.unboundedFollowing)
    known_at = F.when(value.isNotNull(), F.col(_BUCKET))
    previous, previous_at = F.last(value, True).over(before), F.last(known_at, True).over(before)
    following, following_at = F.first(value, True).over(after), F.first(known_at, True).over(after)
    share = (F.col(_BUCKET) - previous_at) / (following_at - previous_at)
    return previous + (following - previous) * share


ROLLING_FUNCTIONS = ("avg", "sum", "min", "max", "count")
_ROLLING_COLUMN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["function"],
    "description": "One computed column: {function, column?} over the rows of the last `over` of time.",
    "properties": {
        "function": {"enum": list(ROLLING_FUNCTIONS), "description": "Aggregate over the time range."},
        "column": {
            "type": "string",
            "minLength": 1,
            "description": "Column or SQL expression it reads (count without it counts rows).",
        },
    },
}


def time_order_sql(time_column: str) -> str:
    """The time as microseconds since the epoch: a number, which a range frame needs (Spark SQL)."""
    return f"unix_micros(CAST({quote(time_column)} AS TIMESTAMP))"


@register
class RollingTransform(Transform):
    type = "rolling"
    description = (
        "Add aggregates over a time range ending at each row (the last 7 days per key, say): every row of its "
        "series whose time is after the row's time minus `over` and not after the row's time."
    )
    required_options = ("time_column", "over", "columns")
    options_schema = {
        "time_column": {"type": "string", "minLength": 1, "description": "The TIMESTAMP (or DATE) column."},
        "over": {
            "type": "string",
            "minLength": 1,
            "description": 'The length of the range: a whole number of seconds, minutes, hours, days or weeks ("7 '
            'days"). A row at time t sees the rows of its series in (t - over, t], rows at t included.',
        },
        "keys": string_list("Columns naming each series (rolling windows never mix series); none: one series."),
        "columns": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _ROLLING_COLUMN,
            "description": "Columns to add: name: {function: avg, column: amount}.",
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True  # adds columns to every row, never rows

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = []
        if "over" in options and interval_seconds(options["over"]) is None:
            problems.append(
                OptionProblem(
                    ("over",),
                    f"over {options['over']!r} is not a fixed length",
                    'write a whole number and a unit: "30 seconds", "15 minutes", "1 hour", "7 days", "1 week"',
                )
            )
        columns = options.get("columns")
        for output, spec in columns.items() if isinstance(columns, Mapping) else ():
            if isinstance(spec, Mapping) and spec.get("function") in ROLLING_FUNCTIONS[:-1] and "column" not in spec:
                problems.append(OptionProblem(("columns", output), f"{spec['function']} needs a column"))
        return problems

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return [
            OptionProblem(
                (),
                "rolling windows over rows do not run on a stream",
                'aggregate by sliding time window instead (aggregate with window: {column, duration: "7 days", '
                'slide: "1 day"}), or read the source in mode batch',
            )
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """The input's columns, those named again replaced, then each ``f(...) OVER (... RANGE ...)``."""
        ((name, columns),) = inputs.items()
        keys = stage.option("keys") or ()
        partition = f"PARTITION BY {', '.join(quote(k) for k in keys)} " if keys else ""
        reach = interval_seconds(stage.options["over"]) or 1
        over = (f"{partition}ORDER BY {time_order_sql(stage.options['time_column'])} "
                f"RANGE BETWEEN {reach * 1_000_000 - 1} PRECEDING AND CURRENT ROW")  # fmt: skip
        added = {output: f"{_rolling_sql(spec)} OVER ({over})" for output, spec in stage.options["columns"].items()}
        return StageLineage(_adding(name, columns, added))

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        options = stage.options
        reach = fixed_length(stage, "over") * 1_000_000 - 1  # microseconds, so the frame is (t - over, t]
        with user_sql(stage, "rolling column"):
            frame = (
                Window.partitionBy(*[F.col(quote(k)) for k in options.get("keys") or ()])
                .orderBy(F.expr(time_order_sql(options["time_column"])))
                .rangeBetween(-reach, Window.currentRow)
            )
            return single(inputs).withColumns(
                {output: F.expr(_rolling_sql(spec)).over(frame) for output, spec in options["columns"].items()}
            )


def _rolling_sql(spec: Mapping[str, Any]) -> str:
    return f"{spec['function']}({spec.get('column', '1')})"


def _adding(name: str, columns: Sequence[str] | None, added: Mapping[str, str]) -> str:
    """``SELECT`` of the input's columns, those named again replaced by their new value, then the new ones."""
    known = {c.lower() for c in columns or ()}
    replaced = [f"{sql} AS {quote(o)}" for o, sql in added.items() if o.lower() in known]
    new = [f"{sql} AS {quote(o)}" for o, sql in added.items() if o.lower() not in known]
    star = f"* REPLACE ({', '.join(replaced)})" if replaced else "*"
    return f"SELECT {', '.join([star, *new])} FROM {quote(name)}"


TRENDS = ("up", "down", "flat")


@register
class TrendTransform(Transform):
    type = "trend"
    description = (
        "Add a column saying whether each row's value is up, down or flat against the mean of the previous "
        "`points` values of its series, in time order."
    )
    required_options = ("time_column", "value")
    options_schema = {
        "time_column": {"type": "string", "minLength": 1, "description": "The column ordering each series (time)."},
        "value": {"type": "string", "minLength": 1, "description": "The numeric column or SQL expression compared."},
        "keys": string_list("Columns naming each series (trends never mix series); none: one series."),
        "points": {
            "type": "integer",
            "minimum": 1,
            "default": 3,
            "description": "How many previous rows of the series make the mean (their null values left out).",
        },
        "tolerance": {
            "type": "number",
            "minimum": 0,
            "default": 0,
            "description": "up when value > mean + tolerance, down when value < mean - tolerance, else flat.",
        },
        "output": {
            "type": "string",
            "minLength": 1,
            "default": "trend",
            "description": "Name of the added column: up, down, flat, or null without a value or a mean.",
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True  # adds a column to every row, never rows

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return [
            OptionProblem(
                (),
                "trend compares rows with earlier rows of their series, which does not run on a stream",
                "read the source in mode batch",
            )
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """The input's columns, then the flag: a CASE over the value and its mean over the previous rows."""
        ((name, columns),) = inputs.items()
        options = stage.options
        keys = options.get("keys") or ()
        partition = f"PARTITION BY {', '.join(quote(k) for k in keys)} " if keys else ""
        value, tolerance = f"({options['value']})", options.get("tolerance", 0)
        mean = (f"avg({value}) OVER ({partition}ORDER BY {quote(options['time_column'])} "
                f"ROWS BETWEEN {options.get('points', 3)} PRECEDING AND 1 PRECEDING)")  # fmt: skip
        flag = (f"CASE WHEN {value} > {mean} + {tolerance} THEN 'up' WHEN {value} < {mean} - {tolerance} THEN 'down' "
                f"WHEN {value} IS NOT NULL AND {mean} IS NOT NULL THEN 'flat' END")  # fmt: skip
        return StageLineage(_adding(name, columns, {options.get("output", "trend"): flag}))

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        options = stage.options
        points, tolerance = options.get("points", 3), options.get("tolerance", 0)
        with user_sql(stage, "trend option"):
            series = Window.partitionBy(*[F.col(quote(k)) for k in options.get("keys") or ()])
            before = series.orderBy(F.col(quote(options["time_column"]))).rowsBetween(-points, -1)
            value = F.expr(options["value"])
            mean = F.avg(value).over(before)
            flag = (
                F.when(value > mean + tolerance, "up")
                .when(value < mean - tolerance, "down")
                .when(value.isNotNull() & mean.isNotNull(), "flat")
            )
            return single(inputs).withColumn(options.get("output", "trend"), flag)
