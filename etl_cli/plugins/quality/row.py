"""Row-level checks: not_null, range, regex, accepted_values, expression.

A null value passes range, regex and accepted_values (only not_null looks for nulls), as
in SQL constraints; an expression passes only when it is true.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem
from etl_cli.plugins.checks import CheckSpec
from etl_cli.plugins.quality.base import RowCheck, not_null
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_session import jvm_of
from etl_cli.plugins.spark_types import quote, string_list

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_COLUMN = {"type": "string", "minLength": 1, "description": "The column to check."}
_BOUND_TYPES = ["number", "string"]
_BOUND_TEXT = "A number, or a date/timestamp/text value compared as Spark does."


def col(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(quote(name))


@register
class NotNullCheck(RowCheck):
    type = "not_null"
    description = "Every listed column has a value (a row fails when any of them is null)."
    required_options = ("columns",)
    options_schema: ClassVar[dict[str, Any]] = {"columns": string_list("The columns that must not be null.", 1)}

    def failing(self, check: CheckSpec, df: DataFrame) -> Column:
        from functools import reduce

        return reduce(lambda a, b: a | b, [col(c).isNull() for c in check.options["columns"]])


@register
class RangeCheck(RowCheck):
    type = "range"
    description = "The column's value lies between min and max (inclusive unless told otherwise); nulls pass."
    required_options = ("column",)
    options_schema: ClassVar[dict[str, Any]] = {
        "column": _COLUMN,
        "min": {"type": _BOUND_TYPES, "description": f"Lowest allowed value. {_BOUND_TEXT}"},
        "max": {"type": _BOUND_TYPES, "description": f"Highest allowed value. {_BOUND_TEXT}"},
        "min_inclusive": {"type": "boolean", "default": True, "description": "Whether min itself is allowed."},
        "max_inclusive": {"type": "boolean", "default": True, "description": "Whether max itself is allowed."},
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        low, high = options.get("min"), options.get("max")
        if low is None and high is None:
            return [OptionProblem(("column",), "a range check needs min, max or both", "add min: or max:")]
        if isinstance(low, numbers.Real) and isinstance(high, numbers.Real) and low > high:
            return [OptionProblem(("min",), f"min {low} is greater than max {high}", "swap them")]
        return []

    def failing(self, check: CheckSpec, df: DataFrame) -> Column:
        from pyspark.sql import functions as F

        value = col(check.options["column"])
        inside = F.lit(True)
        if (low := check.option("min")) is not None:
            inside = inside & (value >= F.lit(low) if check.option("min_inclusive", True) else value > F.lit(low))
        if (high := check.option("max")) is not None:
            inside = inside & (value <= F.lit(high) if check.option("max_inclusive", True) else value < F.lit(high))
        return value.isNotNull() & not_null(~inside)


@register
class RegexCheck(RowCheck):
    type = "regex"
    description = (
        "The column's text matches a Java regular expression somewhere (anchor with ^...$ for the whole value); "
        "nulls pass."
    )
    required_options = ("column", "pattern")
    options_schema: ClassVar[dict[str, Any]] = {
        "column": _COLUMN,
        "pattern": {"type": "string", "minLength": 1, "description": "A Java regular expression, e.g. ^[A-Z]{2}$."},
    }

    def failing(self, check: CheckSpec, df: DataFrame) -> Column:
        _compile_in_java(check, df)
        value = col(check.options["column"]).cast("string")
        return value.isNotNull() & not_null(~value.rlike(check.options["pattern"]))


def _compile_in_java(check: CheckSpec, df: DataFrame) -> None:
    """Spark would only reject a bad pattern inside the job; Java's own parser says so now, naming the check."""
    jvm = jvm_of(df.sparkSession)
    if jvm is None:  # Spark Connect: Spark reports a bad pattern when the check runs
        return
    try:
        jvm.java.util.regex.Pattern.compile(check.options["pattern"])
    except Exception as exc:
        java = getattr(exc, "java_exception", None)
        detail = str(java.getMessage()).splitlines()[0] if java is not None else str(exc)
        raise ConfigError(
            f"{check.label}: invalid regular expression: {detail}",
            location=check.location,
            hint="patterns are Java regular expressions (java.util.regex)",
        ) from None


@register
class AcceptedValuesCheck(RowCheck):
    type = "accepted_values"
    description = "The column's value is one of a list; nulls pass."
    required_options = ("column", "values")
    options_schema: ClassVar[dict[str, Any]] = {
        "column": _COLUMN,
        "values": {
            "type": "array",
            "minItems": 1,
            "items": {"type": ["string", "number", "boolean"]},
            "description": "The allowed values.",
        },
        "weights": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "number", "minimum": 0},
            "description": (
                "How often etl-cli generate makes each value, relative to the others: one weight per value, "
                "in the same order (default: all equal). The check itself ignores them."
            ),
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        weights, values = options.get("weights"), options.get("values")
        if not isinstance(weights, list) or not isinstance(values, list):
            return []
        if len(weights) != len(values):
            return [
                OptionProblem(
                    ("weights",),
                    f"{len(weights)} weights for {len(values)} values",
                    "give one weight per value, in the order of values",
                )
            ]
        if all(isinstance(w, numbers.Real) for w in weights) and not any(w > 0 for w in weights):
            return [OptionProblem(("weights",), "every weight is 0", "give at least one value a weight above 0")]
        return []

    def failing(self, check: CheckSpec, df: DataFrame) -> Column:
        value = col(check.options["column"])
        return value.isNotNull() & not_null(~value.isin(list(check.options["values"])))


@register
class ExpressionCheck(RowCheck):
    type = "expression"
    description = (
        "A Spark SQL boolean expression over the row, e.g. shipped_at >= ordered_at; a row passes only when it "
        "is true (false and null fail: write 'x IS NULL OR ...' to let nulls pass)."
    )
    required_options = ("expression",)
    options_schema: ClassVar[dict[str, Any]] = {
        "expression": {"type": "string", "minLength": 1, "description": "The SQL condition every row must meet."}
    }

    def failing(self, check: CheckSpec, df: DataFrame) -> Column:
        from pyspark.sql import functions as F

        return ~not_null(F.expr(check.options["expression"]).cast("boolean"))
