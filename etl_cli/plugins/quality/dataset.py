"""Dataset-level checks: unique, row_count, freshness, relationships.

Each contributes aggregate expressions to the stage's single check pass; relationships
also joins the distinct keys of the stage it points to.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import OptionProblem
from etl_cli.plugins.checks import DURATION_HINT, CheckSpec, parse_duration
from etl_cli.plugins.quality.base import DatasetCheck, Measurement
from etl_cli.plugins.quality.row import col
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, string_list

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_COLUMN = {"type": "string", "minLength": 1, "description": "The column to check."}


def _rows_failed(check: CheckSpec, failed: int, evaluated: int, observed: dict[str, Any]) -> Measurement:
    return Measurement(failed, check.threshold.breached(failed, evaluated), observed)


@register
class UniqueCheck(DatasetCheck):
    type = "unique"
    description = (
        "No two rows share the same values in the listed columns. Failing rows: every row beyond the first "
        "of its key (nulls form a key like any value)."
    )
    required_options = ("columns",)
    options_schema: ClassVar[dict[str, Any]] = {"columns": string_list("The columns that together identify a row.", 1)}

    def measures(self, check: CheckSpec, prefix: str) -> list[Column]:
        from pyspark.sql import functions as F

        key = F.struct(*[col(c) for c in check.options["columns"]])
        return [F.count_distinct(key).alias(f"{prefix}_keys")]

    def judge(self, check: CheckSpec, values: Mapping[str, Any], evaluated: int) -> Measurement:
        keys = int(values["keys"] or 0)
        return _rows_failed(check, evaluated - keys, evaluated, {"distinct_keys": keys})


@register
class RowCountCheck(DatasetCheck):
    type = "row_count"
    description = "The stage has at least min and at most max rows."
    takes_threshold = False
    options_schema: ClassVar[dict[str, Any]] = {
        "min": {"type": "integer", "minimum": 0, "description": "Fewest rows allowed."},
        "max": {"type": "integer", "minimum": 0, "description": "Most rows allowed."},
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        low, high = options.get("min"), options.get("max")
        if low is None and high is None:
            return [OptionProblem(("type",), "a row_count check needs min, max or both", "add min: or max:")]
        if isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral) and low > high:
            return [OptionProblem(("min",), f"min {low} is greater than max {high}", "swap them")]
        return []

    def measures(self, check: CheckSpec, prefix: str) -> list[Column]:
        return []

    def judge(self, check: CheckSpec, values: Mapping[str, Any], evaluated: int) -> Measurement:
        low, high = check.option("min"), check.option("max")
        breached = (low is not None and evaluated < low) or (high is not None and evaluated > high)
        return Measurement(None, bool(breached), {"rows": evaluated})


@register
class FreshnessCheck(DatasetCheck):
    type = "freshness"
    description = (
        "The newest value of a date or timestamp column is at most max_age old when the check runs "
        "(an empty stage is not fresh)."
    )
    takes_threshold = False
    required_options = ("column", "max_age")
    options_schema: ClassVar[dict[str, Any]] = {
        "column": {**_COLUMN, "description": "A date or timestamp column."},
        "max_age": {"type": "string", "minLength": 1, "description": 'Oldest acceptable newest value: "2 days".'},
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        max_age = options.get("max_age")
        if isinstance(max_age, str):
            try:
                parse_duration(max_age)
            except ValueError as exc:
                return [OptionProblem(("max_age",), str(exc), DURATION_HINT)]
        return []

    def measures(self, check: CheckSpec, prefix: str) -> list[Column]:
        from pyspark.sql import functions as F

        newest = F.max(col(check.options["column"]).cast("timestamp"))
        return [
            newest.cast("string").alias(f"{prefix}_newest"),
            (F.unix_timestamp(F.current_timestamp()) - F.unix_timestamp(newest)).alias(f"{prefix}_age_s"),
        ]

    def judge(self, check: CheckSpec, values: Mapping[str, Any], evaluated: int) -> Measurement:
        limit = parse_duration(check.options["max_age"])
        age = values["age_s"]
        observed = {"newest": values["newest"], "age_s": age, "max_age_s": limit}
        return Measurement(None, age is None or age > limit, observed)


@register
class RelationshipsCheck(DatasetCheck):
    type = "relationships"
    description = (
        "Every non-null value of the column exists in a column of another stage (a foreign key). "
        "Failing rows: rows whose value is missing there."
    )
    required_options = ("column", "to")
    options_schema: ClassVar[dict[str, Any]] = {
        "column": _COLUMN,
        "to": {"type": "string", "minLength": 1, "description": "The source or transform holding the keys."},
        "to_column": {"type": "string", "minLength": 1, "description": "The key column there (default: column)."},
    }

    def prepare(self, check: CheckSpec, df: DataFrame, frames: Mapping[str, DataFrame], prefix: str) -> DataFrame:
        from pyspark.sql import functions as F

        target = frames[check.options["to"]]
        to_column = check.option("to_column") or check.options["column"]
        keys = target.select(F.col(quote(to_column)).alias(f"{prefix}_key")).distinct()
        keys = keys.withColumn(f"{prefix}_found", F.lit(True))
        joined = df.join(keys, col(check.options["column"]) == F.col(f"{prefix}_key"), "left")
        orphan = col(check.options["column"]).isNotNull() & F.col(f"{prefix}_found").isNull()
        return joined.withColumn(f"{prefix}_orphan", orphan).drop(f"{prefix}_key", f"{prefix}_found")

    def measures(self, check: CheckSpec, prefix: str) -> list[Column]:
        from pyspark.sql import functions as F

        return [F.sum(F.col(f"{prefix}_orphan").cast("long")).alias(f"{prefix}_orphans")]

    def sample(self, check: CheckSpec, prefix: str) -> tuple[Column, Column] | None:
        from pyspark.sql import functions as F

        return F.col(f"{prefix}_orphan"), col(check.options["column"]).cast("string")

    def judge(self, check: CheckSpec, values: Mapping[str, Any], evaluated: int) -> Measurement:
        return _rows_failed(check, int(values["orphans"] or 0), evaluated, {"to": check.options["to"]})
