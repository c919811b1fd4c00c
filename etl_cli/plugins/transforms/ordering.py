"""Row order and row subsets: ``sort`` (with a top-N ``limit``), ``limit`` and ``sample``.

``sort`` with ``limit`` is ``orderBy(...).limit(n)``, which Spark plans as a top-K
(``TakeOrderedAndProject``: each partition keeps its own n best rows, then one task merges
those), so a top-N never moves every row into one partition. A ``sort`` without ``limit``
is a global sort: Spark range-partitions the rows by the sort keys, then sorts each
partition. None of the three runs on a stream (Spark refuses them, or their result
would depend on when each micro-batch arrived).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.api import Influence, OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import order_by_schema, quote, single, sort_columns, sort_key_problems, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def _limit_schema(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "description": description}


def _not_on_a_stream(what: str, hint: str) -> list[OptionProblem]:
    return [OptionProblem((), f"{what} does not run on a stream", hint)]


@register
class SortTransform(Transform):
    type = "sort"
    description = (
        "Order the rows by order_by; with limit, keep only the first n rows in that order (a top-N, which "
        "Spark computes per partition then merges, never in one partition)."
    )
    required_options = ("order_by",)
    options_schema = {
        "order_by": {
            **order_by_schema("The sort keys, most significant first (ties: any order)."),
            "minItems": 1,
        },
        "limit": _limit_schema("Keep only the first n rows in this order (a top-N)."),
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return sort_key_problems(options.get("order_by"))

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return _not_on_a_stream("sorting", "sort in a batch run: read the source in mode batch")

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return "limit" not in options

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """Every column as it is; the sort keys decide the order and, with a limit, which rows are kept."""
        (name,) = inputs
        limit = stage.option("limit")
        query = f"SELECT * FROM {quote(name)}" + (f" LIMIT {int(limit)}" if limit is not None else "")
        return StageLineage(query, rows=tuple(Influence(entry, "order") for entry in stage.options["order_by"]))

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        limit = stage.option("limit")
        with user_sql(stage, "sort"):
            ordered = single(inputs).orderBy(*sort_columns(stage.options["order_by"]))
            return ordered if limit is None else ordered.limit(int(limit))


@register
class LimitTransform(Transform):
    type = "limit"
    description = (
        "Keep at most n rows. Without an order these are any n rows, and may differ between runs: "
        "use sort with limit for the first n in an order."
    )
    required_options = ("n",)
    options_schema = {"n": _limit_schema("How many rows to keep at most (any n rows of the input).")}

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return _not_on_a_stream("limit", "read the source in mode batch")

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        (name,) = inputs
        return StageLineage(f"SELECT * FROM {quote(name)} LIMIT {int(stage.options['n'])}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        return single(inputs).limit(int(stage.options["n"]))


@register
class SampleTransform(Transform):
    type = "sample"
    description = (
        "Keep a random sample of the rows: each row independently with probability fraction (so about, "
        "not exactly, fraction of the rows). With a seed, the same input in the same partitions gives the "
        "same sample."
    )
    required_options = ("fraction",)
    options_schema = {
        "fraction": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Without replacement: the probability of keeping each row (0 < fraction <= 1). "
            "With replacement: the expected number of times each row is picked (may exceed 1).",
        },
        "seed": {
            "type": "integer",
            "description": "Seed of the random choice: the same seed over the same input, partitioned the "
            "same way, keeps the same rows (default: a new random seed each run).",
        },
        "with_replacement": {
            "type": "boolean",
            "default": False,
            "description": "Pick rows with replacement, so a row may appear several times (default false).",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        fraction = options.get("fraction")
        if options.get("with_replacement") or not isinstance(fraction, (int, float)) or fraction <= 1:
            return []
        return [
            OptionProblem(
                ("fraction",),
                f"fraction {fraction} is a probability without replacement: it must be at most 1",
                "write a fraction between 0 and 1, or set with_replacement: true to pick rows several times",
            )
        ]

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return _not_on_a_stream("sampling", "read the source in mode batch")

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        (name,) = inputs
        return StageLineage(f"SELECT * FROM {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        replacement = bool(stage.option("with_replacement", False))
        seed = stage.option("seed")
        return single(inputs).sample(replacement, float(stage.options["fraction"]), None if seed is None else int(seed))
