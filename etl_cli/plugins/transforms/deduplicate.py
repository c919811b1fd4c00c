"""The ``deduplicate`` transform: one row per key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.api import Influence, OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import (
    order_by_schema,
    quote,
    single,
    sort_columns,
    sort_key_problems,
    string_list,
    user_sql,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: the helper column numbering the rows of each key (dropped before the result is returned)
ROW_NUMBER_COLUMN = "__etl_cli_row_number"


@register
class DeduplicateTransform(Transform):
    type = "deduplicate"
    description = "Keep one row per key: the first by order_by when given (e.g. the latest), otherwise any one of them."
    required_options = ("keys",)
    options_schema = {
        "keys": string_list("Columns that identify a row; one row is kept per distinct combination.", min_items=1),
        "order_by": order_by_schema("Which row to keep per key: the first in this order (updated_at desc: latest)."),
        "within_watermark": {
            "type": "boolean",
            "default": False,
            "description": "On a stream: drop a row when a row with the same keys arrived less than the streaming "
            "source's watermark delay before it (Spark's dropDuplicatesWithinWatermark); the keys need no event "
            "time and the state stays bounded. A batch input is deduplicated as without it.",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = sort_key_problems(options.get("order_by"))
        if options.get("within_watermark") and options.get("order_by"):
            problems.append(
                OptionProblem(
                    ("within_watermark",),
                    "within_watermark keeps the first row to arrive per key, not the first in an order",
                    "leave out order_by or within_watermark",
                )
            )
        return problems

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        if not options.get("order_by"):
            return []
        return [
            OptionProblem(
                ("order_by",),
                "keeping the first row per key in an order does not run on a stream (later rows cannot replace "
                "rows already written)",
                "leave out order_by to keep the first row seen per key",
            )
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """Every column as it is; the keys group the rows, order_by chooses the one kept."""
        (name,) = inputs
        keys = [Influence(key, "group_by") for key in stage.options["keys"]]
        order = [Influence(entry, "order") for entry in stage.option("order_by") or ()]
        return StageLineage(f"SELECT * FROM {quote(name)}", rows=(*keys, *order))

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        df = single(inputs)
        keys = list(stage.options["keys"])
        order_by = stage.option("order_by")
        with user_sql(stage, "deduplicate"):
            if stage.option("within_watermark") and df.isStreaming:
                return df.dropDuplicatesWithinWatermark(keys)
            if not order_by:
                return df.dropDuplicates(keys)
            return keep_first(df, keys, order_by)


def keep_first(df: DataFrame, keys: list[str], order_by: list[str]) -> DataFrame:
    """The first row of each key by ``order_by`` (ties: any one of the tied rows)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy(*[F.col(quote(key)) for key in keys]).orderBy(*sort_columns(order_by))
    numbered = df.withColumn(ROW_NUMBER_COLUMN, F.row_number().over(window))
    return numbered.filter(F.col(ROW_NUMBER_COLUMN) == 1).drop(ROW_NUMBER_COLUMN)
