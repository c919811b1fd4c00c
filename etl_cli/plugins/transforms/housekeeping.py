"""Column housekeeping: ``cast``, ``rename`` and ``drop``, each touching only the columns it names.

``select`` can do the same in one stage, but it lists what it keeps; these three name only
what they change, so a column an upstream source adds later passes through untouched, in
its place (schema evolution). A name that is not a column is an error, never silently
ignored: offline where the input's columns are known (``validate`` resolves the names, and
the lineage queries below read each one, so ``etl-cli lineage`` reports it too), when the
stage is built otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import TYPE_NAMES, quote, single, string_list, string_map, type_problem, user_sql

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_TYPES_HINT = f"Spark SQL types: {', '.join(sorted(TYPE_NAMES))}"


def missing_column(stage: StageSpec, df: DataFrame, key: str, name: str) -> ConfigError:
    """The error for ``name`` under ``key`` naming no column of the stage's input."""
    hint = did_you_mean(name, df.columns) or f"columns: {', '.join(df.columns)}"
    return ConfigError(f"{stage.label}: {key} names no column '{name}'", location=stage.location, hint=hint)


def require(stage: StageSpec, df: DataFrame, key: str, names: Iterable[str]) -> None:
    """Fail on the first name that is not a column of ``df`` (names match exactly, case included)."""
    for name in names:
        if name not in df.columns:
            raise missing_column(stage, df, key, name)


def _projection(name: str, columns: Sequence[str], replaced: Mapping[str, str]) -> str:
    """``SELECT`` of every column of ``columns`` in place, the ones in ``replaced`` by their expression."""
    items = ", ".join(replaced.get(c, quote(c)) for c in columns)
    extra = [expression for column, expression in replaced.items() if column not in columns]
    # a replaced column the input does not have is still read, so the lineage engine reports it
    return f"SELECT {', '.join([items, *extra]) if items else ', '.join(extra)} FROM {quote(name)}"


@register
class CastTransform(Transform):
    type = "cast"
    description = (
        "Convert columns to other Spark SQL types, each in its place; every other column passes through as it is."
    )
    required_options = ("columns",)
    options_schema = {
        "columns": string_map("Columns to convert: column: Spark SQL type (INT, DECIMAL(10,2), DATE...)."),
        "on_error": {
            "enum": ["fail", "null"],
            "default": "fail",
            "description": 'A value that does not convert ("abc" to INT): fail (default) stops the run naming '
            "the column and the value; null makes it null (try_cast). A null value stays null either way.",
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        columns = options.get("columns")
        if not isinstance(columns, Mapping):
            return []
        return [
            OptionProblem(("columns", column), problem, _TYPES_HINT)
            for column, type_text in columns.items()
            if isinstance(type_text, str) and (problem := type_problem(type_text))
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        ((name, columns),) = inputs.items()
        function = "TRY_CAST" if stage.option("on_error") == "null" else "CAST"
        casts = {c: f"{function}({quote(c)} AS {kind}) AS {quote(c)}" for c, kind in stage.options["columns"].items()}
        if columns is None:
            return StageLineage(f"SELECT * REPLACE ({', '.join(casts.values())}) FROM {quote(name)}")
        return StageLineage(_projection(name, columns, casts))

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        df = single(inputs)
        casts: Mapping[str, str] = stage.options["columns"]
        require(stage, df, "columns", casts)
        null_on_error = stage.option("on_error") == "null"
        with user_sql(stage, "cast"):
            return df.withColumns({c: converted(stage, c, kind, null_on_error) for c, kind in casts.items()})


def converted(stage: StageSpec, column: str, type_text: str, null_on_error: bool) -> Column:
    """``column`` as ``type_text``: try_cast, failing on a value that does not convert unless ``null_on_error``.

    Built on try_cast in both cases so the outcome does not depend on ``spark.sql.ansi.enabled``
    (with ANSI off, a plain CAST turns bad values into nulls without a word).
    """
    from pyspark.sql import functions as F

    source = F.col(quote(column))
    value = F.expr(f"try_cast({quote(column)} AS {type_text})")
    if null_on_error:
        return value
    message = F.concat(
        F.lit(f"{stage.label}: column '{column}' has a value that is not a {type_text}: '"),
        source.cast("string"),
        F.lit("' (set on_error: null to make such values null)"),
    )
    return F.when(source.isNotNull() & value.isNull(), F.raise_error(message)).otherwise(value)


@register
class RenameTransform(Transform):
    type = "rename"
    description = "Rename columns, each in its place; every other column passes through as it is."
    required_options = ("columns",)
    options_schema = {
        "columns": string_map("Columns to rename: old_name: new_name (names match exactly, case included)."),
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        columns = options.get("columns")
        if not isinstance(columns, Mapping):
            return []
        seen: dict[str, str] = {}
        problems = []
        for old, new in columns.items():
            if not isinstance(new, str):
                continue
            if new.lower() in seen:
                problems.append(
                    OptionProblem(
                        ("columns", old),
                        f"'{old}' and '{seen[new.lower()]}' are both renamed to '{new}'",
                        "give each column its own new name",
                    )
                )
            seen.setdefault(new.lower(), old)
        return problems

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        ((name, columns),) = inputs.items()
        renames = {old: f"{quote(old)} AS {quote(new)}" for old, new in stage.options["columns"].items()}
        if columns is None:
            return StageLineage(f"SELECT * RENAME ({', '.join(renames.values())}) FROM {quote(name)}")
        return StageLineage(_projection(name, columns, renames))

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        df = single(inputs)
        renames: Mapping[str, str] = stage.options["columns"]
        require(stage, df, "columns", renames)
        kept = {c.lower() for c in df.columns if c not in renames}
        for old, new in renames.items():
            if new.lower() in kept:
                raise ConfigError(
                    f"{stage.label}: renaming '{old}' to '{new}' would make two columns named '{new}'",
                    location=stage.location,
                    hint=f"drop or rename the existing '{new}' first",
                )
        with user_sql(stage, "rename"):
            return df.withColumnsRenamed(dict(renames))


@register
class DropTransform(Transform):
    type = "drop"
    description = "Remove columns; every other column passes through as it is, in its order."
    required_options = ("columns",)
    options_schema = {
        "columns": string_list("Columns to remove (names match exactly, case included).", min_items=1),
        "if_exists": {
            "type": "boolean",
            "default": False,
            "description": "true: a listed column the input does not have is skipped; false (default): it is an "
            "error, so a misspelt name does not silently keep the column.",
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        ((name, columns),) = inputs.items()
        dropped: list[str] = list(stage.options["columns"])
        if columns is None:
            return StageLineage(f"SELECT * EXCEPT ({', '.join(quote(c) for c in dropped)}) FROM {quote(name)}")
        kept = [c for c in columns if c not in dropped]
        read = list(columns) if stage.option("if_exists") else [*columns, *(c for c in dropped if c not in columns)]
        # the inner query reads each dropped column, so the lineage engine reports one the input lacks
        inner = f"SELECT {', '.join(quote(c) for c in read)} FROM {quote(name)}"
        return StageLineage(f"SELECT {', '.join(quote(c) for c in kept)} FROM ({inner}) AS {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        df = single(inputs)
        dropped: list[str] = list(stage.options["columns"])
        if not stage.option("if_exists"):
            require(stage, df, "columns", dropped)
        with user_sql(stage, "drop"):
            return df.select(*[quote(c) for c in df.columns if c not in dropped])
