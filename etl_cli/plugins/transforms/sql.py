"""The ``sql`` transform: a Spark SQL query over the stage's inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from etl_cli.plugins.api import RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def register_views(inputs: Mapping[str, DataFrame]) -> None:
    """Make every input readable in SQL under its stage name.

    Users write the stage names in their SQL, so the views get exactly those names; a
    session belongs to one run and stage names are unique in a pipeline, so they cannot clash.
    """
    for name, df in inputs.items():
        df.createOrReplaceTempView(name)


@register
class SqlTransform(Transform):
    type = "sql"
    description = "Run a Spark SQL query; every input is a table named after its stage."
    single_input = False
    min_inputs = 1
    required_options = ("query",)
    options_schema = {
        "query": {
            "type": "string",
            "minLength": 1,
            "description": "A Spark SQL SELECT over the inputs, which are tables named after their stages.",
        },
    }

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        return StageLineage(stage.options["query"])

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        register_views(inputs)
        with user_sql(stage, "query"):
            return ctx.spark.sql(stage.options["query"])
