"""Row and column shaping: ``select``, ``filter`` and ``derive``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single, string_list, string_map, type_problem, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_SELECT_KEYS = ("columns", "drop", "rename", "cast")


def require_columns(stage: StageSpec, df: DataFrame, key: str, names: Iterable[str]) -> None:
    """Fail on a name that is not a column: Spark would silently ignore it in drop and rename."""
    for name in names:
        if name not in df.columns:
            hint = did_you_mean(name, df.columns) or f"columns: {', '.join(df.columns)}"
            raise ConfigError(f"{stage.label}: {key} names no column '{name}'", location=stage.location, hint=hint)


@register
class SelectTransform(Transform):
    type = "select"
    description = (
        "Keep, compute, drop, rename and cast columns. Applied in this order: columns, then drop, "
        "then rename, then cast (so rename and cast use the names produced by the steps before)."
    )
    options_schema = {
        "columns": string_list(
            'Columns to keep, in order: names, "*" or SQL expressions such as "amount * 2 AS double_amount".',
            min_items=1,
        ),
        "drop": string_list("Columns to remove.", min_items=1),
        "rename": string_map("Columns to rename: old_name: new_name."),
        "cast": string_map("Columns to convert: column: Spark SQL type (INT, DECIMAL(10,2), DATE...)."),
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return "columns" not in options  # drop, rename and cast only; expressions may aggregate or explode

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        if not any(key in options for key in _SELECT_KEYS):
            return [OptionProblem((), "select needs at least one of columns, drop, rename, cast")]
        casts = options.get("cast")
        if not isinstance(casts, Mapping):
            return []
        return [
            OptionProblem(("cast", column), problem)
            for column, type_text in casts.items()
            if isinstance(type_text, str) and (problem := type_problem(type_text))
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """The four steps as nested queries: columns, then ``* EXCEPT``, ``* RENAME``, ``* REPLACE`` (casts)."""
        (name,) = inputs
        query = f"SELECT {', '.join(stage.option('columns') or ['*'])} FROM {quote(name)}"
        if drop := stage.option("drop"):
            query = f"SELECT * EXCEPT ({', '.join(quote(c) for c in drop)}) FROM ({query}) AS {quote(name)}"
        if rename := stage.option("rename"):
            renamed = ", ".join(f"{quote(old)} AS {quote(new)}" for old, new in rename.items())
            query = f"SELECT * RENAME ({renamed}) FROM ({query}) AS {quote(name)}"
        if cast := stage.option("cast"):
            casts = ", ".join(f"CAST({quote(c)} AS {kind}) AS {quote(c)}" for c, kind in cast.items())
            query = f"SELECT * REPLACE ({casts}) FROM ({query}) AS {quote(name)}"
        return StageLineage(query)

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        df = single(inputs)
        with user_sql(stage, "select"):
            if columns := stage.option("columns"):
                df = df.selectExpr(*columns)
            if drop := stage.option("drop"):
                require_columns(stage, df, "drop", drop)
                df = df.drop(*drop)
            if rename := stage.option("rename"):
                require_columns(stage, df, "rename", rename)
                df = df.withColumnsRenamed(dict(rename))
            if cast := stage.option("cast"):
                require_columns(stage, df, "cast", cast)
                df = df.withColumns({name: F.col(quote(name)).cast(type_text) for name, type_text in cast.items()})
        return df


@register
class FilterTransform(Transform):
    type = "filter"
    description = "Keep the rows for which a SQL condition is true (rows where it is null are dropped too)."
    required_options = ("condition",)
    options_schema = {
        "condition": {
            "type": "string",
            "minLength": 1,
            "description": "A Spark SQL boolean expression, e.g. \"status = 'paid' AND amount > 0\".",
        },
    }

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        (name,) = inputs
        return StageLineage(f"SELECT * FROM {quote(name)} WHERE {stage.options['condition']}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        with user_sql(stage, "condition"):
            return single(inputs).filter(F.expr(stage.options["condition"]))


@register
class DeriveTransform(Transform):
    type = "derive"
    description = (
        "Add or replace columns computed by SQL expressions, in the order written, so a later column "
        "can use an earlier one."
    )
    required_options = ("columns",)
    options_schema = {
        "columns": string_map('New columns: name: SQL expression, e.g. total: "price * quantity".'),
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        columns = options.get("columns")
        return isinstance(columns, Mapping) and not any(_GENERATOR.search(str(e)) for e in columns.values())

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """One query per column, each over the one before: a column sees the columns derived before it."""
        ((name, columns),) = inputs.items()
        known = {c.lower() for c in columns} if columns is not None else set()
        query = f"SELECT * FROM {quote(name)}"
        for output, expression in stage.options["columns"].items():
            if output.lower() in known:
                query = f"SELECT * REPLACE ({expression} AS {quote(output)}) FROM ({query}) AS {quote(name)}"
            else:
                query = f"SELECT *, {expression} AS {quote(output)} FROM ({query}) AS {quote(name)}"
                known.add(output.lower())
        return StageLineage(query)

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        df = single(inputs)
        with user_sql(stage, "derived column"):
            for batch in independent_batches(stage.options["columns"]):
                df = df.withColumns({name: F.expr(expression) for name, expression in batch.items()})
        return df


#: the functions that turn one row into several (explode...): only these change the row count in a derive
_GENERATOR = re.compile(r"\b(?:pos)?explode(?:_outer)?\s*\(|\binline(?:_outer)?\s*\(|\b(?:stack|json_tuple)\s*\(", re.I)
_IDENTIFIER = re.compile(r"`((?:[^`]|``)+)`|(\w+)")
#: ``*`` as "every column" (``struct(*)``, ``t.*``), not as multiplication
_STAR = re.compile(r"(?:^|[(,.])\s*\*\s*(?:$|[),])")


def independent_batches(columns: Mapping[str, str]) -> list[dict[str, str]]:
    """The derived columns in written order, cut into runs that can be added in one step.

    A column starts a new run when its expression names a column defined earlier in the run
    (or uses ``*``), so it sees that column's new value, as in one-by-one derivation. One
    ``withColumns`` per run instead of one ``withColumn`` per column: Spark analyses every
    DataFrame step on its own, which for small and medium jobs costs more than the columns.
    """
    batches: list[dict[str, str]] = [{}]
    for name, expression in columns.items():
        defined = {column.lower() for column in batches[-1]}
        reads_defined = bool(defined & _names_in(expression)) or bool(_STAR.search(expression))
        if defined and (reads_defined or name.lower() in defined):
            batches.append({})
        batches[-1][name] = expression
    return batches


def _names_in(expression: str) -> set[str]:
    """Every identifier-like word of a SQL expression, lower-cased (string literals too: harmless)."""
    return {(quoted.replace("``", "`") or bare).lower() for quoted, bare in _IDENTIFIER.findall(expression)}
