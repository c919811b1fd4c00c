"""The ``union`` transform: stack the rows of two or more inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@register
class UnionTransform(Transform):
    type = "union"
    description = "Stack the rows of two or more inputs, matching columns by name (or by position)."
    single_input = False
    min_inputs = 2
    options_schema = {
        "by_name": {
            "type": "boolean",
            "default": True,
            "description": "Match columns by name (default); false matches them by position.",
        },
        "allow_missing_columns": {
            "type": "boolean",
            "default": False,
            "description": "With by_name: a column missing from an input is filled with nulls instead of failing.",
        },
        "distinct": {
            "type": "boolean",
            "default": False,
            "description": "Remove duplicate rows from the result (SQL UNION instead of UNION ALL).",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        if options.get("allow_missing_columns") is True and options.get("by_name") is False:
            return [OptionProblem(("allow_missing_columns",), "allow_missing_columns needs by_name: true")]
        return []

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """A UNION of one SELECT per input; by name, each lists the output's columns (NULL where it lacks one)."""
        operator = " UNION " if stage.option("distinct", False) else " UNION ALL "
        known = [columns for columns in inputs.values() if columns is not None]
        if not stage.option("by_name", True) or len(known) < len(inputs):
            return StageLineage(operator.join(f"SELECT * FROM {quote(name)}" for name in stage.inputs))
        output: dict[str, str] = {}
        for columns in known:
            for column in columns:
                output.setdefault(column.lower(), column)
        branches = []
        for name in stage.inputs:
            spelled = {c.lower(): c for c in inputs[name] or ()}
            items = [
                quote(spelled.get(key, c)) if key in spelled else f"NULL AS {quote(c)}" for key, c in output.items()
            ]
            branches.append(f"SELECT {', '.join(items)} FROM {quote(name)}")
        return StageLineage(operator.join(branches))

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        result, *others = [inputs[name] for name in stage.inputs]
        by_name = stage.option("by_name", True)
        allow_missing = stage.option("allow_missing_columns", False)
        with user_sql(stage, "union"):
            for other in others:
                if by_name:
                    result = result.unionByName(other, allowMissingColumns=allow_missing)
                else:
                    result = result.union(other)
        return result.distinct() if stage.option("distinct", False) else result
