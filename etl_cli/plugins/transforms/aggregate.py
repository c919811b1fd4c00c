"""The ``aggregate`` transform: group rows and compute aggregates per group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.api import OptionProblem, RunContext, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import single, string_list, user_sql

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
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        aggregations = options.get("aggregations")
        if not isinstance(aggregations, Mapping):
            return []
        return [problem for output, spec in aggregations.items() for problem in aggregation_problems(output, spec)]

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        with user_sql(stage, "aggregation"):
            groups = [F.expr(g) for g in stage.option("group_by") or ()]
            columns = [aggregate_column(output, spec) for output, spec in stage.options["aggregations"].items()]
            return single(inputs).groupBy(*groups).agg(*columns)
