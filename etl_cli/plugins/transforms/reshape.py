"""Reshaping: ``pivot`` (values of one column become columns) and ``unpivot`` (columns become rows).

The pivot takes its ``values`` from the pipeline, never from the data: Spark's pivot without
values first runs a job to collect the distinct values, and the output's columns then depend
on the data (a new value is a new column, a missing one a missing column), which no contract,
lineage or sink schema can rely on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single, string_list, user_sql
from etl_cli.plugins.transforms.aggregate import AGGREGATE_FUNCTIONS, aggregate_column

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: written as anyOf so the reference lists it as an array (it prints a list of types as Python would)
_PIVOT_VALUE = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}
_PIVOT_AGGREGATION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["function"],
    "description": "{function, column}: the aggregate computed for each pivot value.",
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
    },
}


def literal(value: Any) -> str:
    """A YAML scalar as a Spark SQL literal (strings quoted, with Spark's backslash escapes)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def value_name(value: Any) -> str:
    """How a pivot value names its column: as Spark prints it (``true``, ``2024``, ``FR``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def pivot_columns(options: Mapping[str, Any]) -> list[str]:
    """The pivoted columns, value by value: ``<value>`` with one aggregation, else ``<value>_<aggregation>``."""
    aggregations = list(options["aggregations"])
    if len(aggregations) == 1:
        return [value_name(v) for v in options["values"]]
    return [f"{value_name(v)}_{output}" for v in options["values"] for output in aggregations]


@register
class PivotTransform(Transform):
    type = "pivot"
    description = (
        "Turn the values of one column into columns: one row per group_by combination, one column per listed "
        "value (and aggregation). The values are listed, never read from the data (see docs/transforms.md)."
    )
    required_options = ("group_by", "pivot", "values", "aggregations")
    options_schema = {
        "group_by": string_list("Columns that identify an output row (one row per distinct combination).", 1),
        "pivot": {"type": "string", "minLength": 1, "description": "The column whose values become columns."},
        "values": {
            "type": "array",
            "items": _PIVOT_VALUE,
            "minItems": 1,
            "description": "The values of the pivot column that become columns, in order; rows with other values "
            "are left out. Required: without it Spark runs an extra job to find them and the output's columns "
            "would depend on the data.",
        },
        "aggregations": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _PIVOT_AGGREGATION,
            "description": "name: {function, column}. One aggregation names each column after its value "
            "(FR); several name them <value>_<name> (FR_revenue).",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        values, aggregations = options.get("values"), options.get("aggregations")
        if not isinstance(values, Sequence) or not isinstance(aggregations, Mapping) or not aggregations:
            return []
        problems = [
            OptionProblem(("aggregations", output), f"{spec['function']} needs a column", "only count may leave it out")
            for output, spec in aggregations.items()
            if isinstance(spec, Mapping) and spec.get("function", "count") != "count" and "column" not in spec
        ]
        return problems + _duplicate_problems(options)

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return [
            OptionProblem(
                (),
                "a pivot does not run on a stream (Spark cannot pivot a streaming DataFrame)",
                "pivot the files the stream writes in a batch pipeline",
            )
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """The pivot as the conditional aggregation it is: ``sum(CASE WHEN pivot = value THEN column END)``.

        sqlglot parses Spark's ``PIVOT`` clause, but the lineage engine cannot follow its columns (it
        reports them as names of no table), so the equivalent GROUP BY query is given instead.
        """
        (name,) = inputs
        keys = list(stage.options["group_by"])
        pivot, items = quote(stage.options["pivot"]), [quote(k) for k in keys]
        names = iter(pivot_columns(stage.options))
        for value in stage.options["values"]:
            for spec in stage.options["aggregations"].values():
                target = f"CASE WHEN {pivot} = {literal(value)} THEN {spec.get('column', '1')} END"
                function = spec["function"]
                call = f"count(DISTINCT {target})" if function == "count_distinct" else f"{function}({target})"
                items.append(f"{call} AS {quote(next(names))}")
        group_by = ", ".join(str(i + 1) for i in range(len(keys)))
        return StageLineage(f"SELECT {', '.join(items)} FROM {quote(name)} GROUP BY {group_by}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        options = stage.options
        keys = list(options["group_by"])
        with user_sql(stage, "pivot"):
            columns = [aggregate_column(output, spec) for output, spec in options["aggregations"].items()]
            grouped = single(inputs).groupBy(*[F.col(quote(k)) for k in keys])
            pivoted = grouped.pivot(options["pivot"], list(options["values"])).agg(*columns)
            # named here, not by Spark, so they are exactly the names validate and lineage worked out
            return pivoted.toDF(*keys, *pivot_columns(options))


def _duplicate_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """Two output columns of one name (a listed value twice, or a value named like a group_by column)."""
    problems, seen = [], {str(k).lower() for k in options.get("group_by") or ()}
    for index, name in enumerate(pivot_columns(options)):
        if name.lower() in seen:
            where = ("values", index // max(len(options["aggregations"]), 1))
            problems.append(
                OptionProblem(
                    where,
                    f"the output would have two columns named '{name}'",
                    "list each value once, and none named like a group_by column",
                )
            )
        seen.add(name.lower())
    return problems


@register
class UnpivotTransform(Transform):
    type = "unpivot"
    description = (
        "Turn columns into rows: each input row becomes one row per listed column, with the ids kept, the "
        "column's name in the variable column and its value in the value column (Spark's unpivot)."
    )
    required_options = ("ids", "values")
    options_schema = {
        "ids": string_list("Columns kept on every output row (identify the input row).", 1),
        "values": string_list(
            "Columns that become rows, in order; they need one common type (Spark widens numbers, "
            "otherwise cast them first).",
            1,
        ),
        "variable_column": {
            "type": "string",
            "minLength": 1,
            "default": "variable",
            "description": "Name of the output column holding the unpivoted column's name.",
        },
        "value_column": {
            "type": "string",
            "minLength": 1,
            "default": "value",
            "description": "Name of the output column holding the unpivoted column's value.",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        ids, values = options.get("ids"), options.get("values")
        if not isinstance(ids, Sequence) or not isinstance(values, Sequence):
            return []
        seen = {str(i).lower() for i in ids}
        problems = [
            OptionProblem(("values", index), f"'{value}' is an id column too", "list a column in ids or in values")
            for index, value in enumerate(values)
            if str(value).lower() in seen
        ]
        for key, default in (("variable_column", "variable"), ("value_column", "value")):
            name = str(options.get(key, default))
            if name.lower() in seen:
                problems.append(
                    OptionProblem(
                        (key,),
                        f"'{name}' is already an output column (an id or the other name)",
                        f"choose another {key}",
                    )
                )
            seen.add(name.lower())
        return problems

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """One SELECT per unpivoted column, under UNION ALL (what Spark's unpivot does).

        sqlglot parses Spark's ``UNPIVOT`` clause, but the lineage engine does not see where its value
        column comes from, so the equivalent UNION ALL is given instead.
        """
        (name,) = inputs
        ids = ", ".join(quote(i) for i in stage.options["ids"])
        variable = quote(stage.option("variable_column", "variable"))
        value = quote(stage.option("value_column", "value"))
        branches = [
            f"SELECT {ids}, {literal(column)} AS {variable}, {quote(column)} AS {value} FROM {quote(name)}"
            for column in stage.options["values"]
        ]
        return StageLineage(" UNION ALL ".join(branches))

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        options = stage.options
        with user_sql(stage, "unpivot"):
            return single(inputs).unpivot(
                [F.col(quote(i)) for i in options["ids"]],
                [F.col(quote(v)).alias(v) for v in options["values"]],
                options.get("variable_column", "variable"),
                options.get("value_column", "value"),
            )
