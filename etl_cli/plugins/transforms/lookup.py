"""The ``lookup`` transform: enrich a stage from a small table, as a broadcast left join.

Every executor gets a whole copy of the lookup side, so no row of the main side moves
(no shuffle); the price is that the lookup side must fit in the driver's and each
executor's memory. ``max_rows`` guards that: the job that builds the broadcast counts the
lookup side first and fails with a clear error rather than letting a big broadcast kill
executors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import reduce
from typing import TYPE_CHECKING, Any

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import SCALAR_TYPES, quote, string_list, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

DEFAULT_MAX_ROWS = 1_000_000
#: the lookup side's key columns are renamed to this prefix + position while joining
_KEY_PREFIX = "__etl_cli_lookup_key_"
#: the helper columns of the max_rows guard (never in the output)
_COUNT, _MATCHABLE, _DISTINCT = "__etl_cli_lookup_rows", "__etl_cli_lookup_keyed", "__etl_cli_lookup_keys"
_GUARD = "__etl_cli_lookup_guard"


@register
class LookupTransform(Transform):
    type = "lookup"
    description = (
        "Add columns from a small table (the second input) to each row of the first input, matched by keys: "
        "a broadcast left join that keeps every row and column of the first input in place."
    )
    single_input = False
    min_inputs = 2
    required_options = ("on",)
    options_schema = {
        "on": string_list(
            "Key columns both inputs have; a row takes the values of the lookup row with equal keys "
            "(a null key matches nothing).",
            min_items=1,
        ),
        "columns": string_list(
            "Columns of the lookup side to add, in this order (default: all of its columns but the keys).", min_items=1
        ),
        "default": {
            "type": "object",
            "additionalProperties": {"type": SCALAR_TYPES},
            "description": "Values for rows without a match (or whose match has a null there): column: value. "
            "Columns left out are null on a miss.",
        },
        "max_rows": {
            "type": "integer",
            "minimum": 1,
            "default": DEFAULT_MAX_ROWS,
            "description": "The run stops when the lookup side has more rows than this, checked by the job that "
            "builds the broadcast (every executor holds a copy of the lookup side). A key on several lookup rows "
            "stops the run too.",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        # The validator passes the whole stage item, so ``inputs`` is here to count them.
        problems = []
        inputs = options.get("inputs")
        if isinstance(inputs, list) and len(inputs) != 2:
            problems.append(
                OptionProblem(
                    ("inputs",),
                    f"lookup takes exactly 2 inputs, not {len(inputs)}",
                    "inputs: [the stage to enrich, the lookup table]",
                )
            )
        keys, columns = _strings(options.get("on")), _strings(options.get("columns"))
        problems += [
            OptionProblem(("columns", index), f"'{column}' is a key (in on): it is not added again")
            for index, column in enumerate(columns or ())
            if column in (keys or ())
        ]
        default = options.get("default")
        if columns is not None and isinstance(default, Mapping):
            problems += [
                OptionProblem(
                    ("default", column),
                    f"'{column}' is not one of the columns taken",
                    did_you_mean(str(column), columns) or f"columns: {', '.join(columns)}",
                )
                for column in default
                if column not in columns
            ]
        return problems

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """The left join with each taken column, defaulted by coalesce (``table.*`` while those are unknown)."""
        main, table = stage.inputs
        known = inputs[main]
        kept = ", ".join(f"{quote(main)}.{quote(c)}" for c in known) if known is not None else f"{quote(main)}.*"
        taken = taken_columns(stage, inputs[table])
        added = (
            [f"{looked_up(stage, quote(table) + '.' + quote(c), c)} AS {quote(c)}" for c in taken]
            if taken is not None
            else [f"{quote(table)}.*"]  # the lookup side's columns are unknown: so are the output's
        )
        condition = " AND ".join(f"{quote(main)}.{quote(k)} = {quote(table)}.{quote(k)}" for k in stage.options["on"])
        return StageLineage(
            f"SELECT {', '.join([kept, *added])} FROM {quote(main)} LEFT OUTER JOIN {quote(table)} ON {condition}"
        )

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        main_name, table_name = stage.inputs
        main, table = inputs[main_name], inputs[table_name]
        keys: list[str] = list(stage.options["on"])
        taken = taken_columns(stage, table.columns) or []
        self._check_columns(stage, main, table, keys, taken)
        with user_sql(stage, "lookup"):
            side = table.select(
                *[F.col(quote(k)).alias(f"{_KEY_PREFIX}{i}") for i, k in enumerate(keys)],
                *[F.col(quote(c)) for c in taken],
            )
            side = guarded(stage, side, table_name, [f"{_KEY_PREFIX}{i}" for i in range(len(keys))])
            condition = [F.col(quote(k)) == F.col(f"{_KEY_PREFIX}{i}") for i, k in enumerate(keys)]
            joined = main.join(F.broadcast(side), on=condition, how="left")
            return joined.select(
                *[F.col(quote(c)) for c in main.columns],
                *[F.expr(looked_up(stage, quote(c), c)).alias(c) for c in taken],
            )

    @staticmethod
    def _check_columns(stage: StageSpec, main: DataFrame, table: DataFrame, keys: list[str], taken: list[str]) -> None:
        """Keys on both sides, taken columns on the lookup side and not already on the main side."""
        for side, df, names in (("first input", main, keys), ("lookup side", table, [*keys, *taken])):
            for name in names:
                if name not in df.columns:
                    hint = did_you_mean(name, df.columns) or f"its columns: {', '.join(df.columns)}"
                    raise ConfigError(
                        f"{stage.label}: the {side} has no column '{name}'", location=stage.location, hint=hint
                    )
        clashes = [c for c in taken if c.lower() in {m.lower() for m in main.columns}]
        if clashes:
            raise ConfigError(
                f"{stage.label}: the first input already has column(s) {', '.join(clashes)}",
                location=stage.location,
                hint="list the lookup columns to add in columns, or rename them first (rename transform)",
            )


def guarded(stage: StageSpec, side: DataFrame, table_name: str, keys: Sequence[str]) -> DataFrame:
    """``side``, failing the job that builds the broadcast when it has more than ``max_rows`` rows, or a key
    (its columns ``keys``, all non-null) on several rows, which would repeat the matching rows of the first input.

    The guard is part of the plan, not an action of its own: the run counts the lookup side
    (one more pass over it) just before broadcasting it, and ``dry-run`` without ``--sample``
    runs no job for it.
    """
    from pyspark.sql import functions as F

    if side.isStreaming:
        raise ConfigError(
            f"{stage.label}: the lookup side '{table_name}' is a stream; it must be a batch table",
            location=stage.location,
            hint="read the lookup table with a batch source",
        )
    limit = int(stage.option("max_rows", DEFAULT_MAX_ROWS))
    too_big = (
        f"{stage.label}: the lookup side '{table_name}' has more than {limit:,} rows (max_rows); broadcasting it "
        "to every executor could run them out of memory: raise max_rows if they have the memory, or use a join"
    )
    matchable = reduce(lambda a, b: a & b, [F.col(k).isNotNull() for k in keys])
    counts = side.agg(
        F.count(F.lit(1)).alias(_COUNT),
        F.count(F.when(matchable, F.lit(1))).alias(_MATCHABLE),
        F.count_distinct(*[F.col(k) for k in keys]).alias(_DISTINCT),
    )
    repeated = F.col(_MATCHABLE) - F.col(_DISTINCT)
    duplicated = F.concat(
        F.lit(f"{stage.label}: the lookup side '{table_name}' has "),
        repeated.cast("string"),
        F.lit(" key(s) with several rows, which would repeat rows of the first input: keep one row per key "
              "(deduplicate the lookup table first)"),
    )  # fmt: skip
    guard = counts.select(
        F.when(F.col(_COUNT) > limit, F.raise_error(F.lit(too_big)))
        .when(repeated > 0, F.raise_error(duplicated))
        .alias(_GUARD)
    )
    return side.crossJoin(guard).filter(F.col(_GUARD).isNull()).drop(_GUARD)


def _strings(value: object) -> list[str] | None:
    """``value`` when it is a list of strings (the JSON Schema reports anything else), else None."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def taken_columns(stage: StageSpec, table_columns: Sequence[str] | None) -> list[str] | None:
    """The lookup side's columns to add: ``columns``, or all but the keys (None when those are unknown)."""
    if columns := stage.option("columns"):
        return list(columns)
    if table_columns is None:
        return None
    keys = set(stage.options["on"])
    return [c for c in table_columns if c not in keys]


def looked_up(stage: StageSpec, reference: str, column: str) -> str:
    """Spark SQL for a taken column: ``reference``, or its ``default`` where that is null."""
    default = (stage.option("default") or {}).get(column)
    return reference if default is None else f"coalesce({reference}, {sql_literal(default)})"


def sql_literal(value: object) -> str:
    """A YAML scalar as a Spark SQL literal."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
