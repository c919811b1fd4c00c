"""Tidy text columns (``trim_strings``) and require a value that is more than whitespace (``not_blank``).

Like every plug-in module, this one imports pyspark only inside the methods that run on Spark:
``etl-cli validate`` loads it to build the pipeline schema without a JVM.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import RunContext, StageSpec, Transform
from etl_cli.plugins.checks import CheckSpec
from etl_cli.plugins.quality.base import RowCheck

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: leading or trailing whitespace, Unicode's included ((?U): tabs, line breaks, non-breaking spaces), which
#: Spark's own trim() leaves in place (it removes the space character only)
EDGE_WHITESPACE = r"(?U)^\s+|\s+$"
BLANK = r"(?U)^\s*$"


def _columns_schema(description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": 1,
        "uniqueItems": True,
        "description": description,
    }


def _column(name: str) -> Column:
    """The column ``name`` taken literally (dots and spaces in names are not paths or expressions)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


class TrimStrings(Transform):
    type = "trim_strings"
    description = (
        "Remove leading and trailing whitespace (spaces, tabs, line breaks, non-breaking spaces) from text "
        "columns: the listed ones, or every STRING column; optionally make values left empty null."
    )
    options_schema: ClassVar[dict[str, Any]] = {
        "columns": _columns_schema("The STRING columns to trim (default: every STRING column of the input)."),
        "empty_as_null": {
            "type": "boolean",
            "default": False,
            "description": "Make values that are empty once trimmed null, so not_null checks catch them.",
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        (df,) = inputs.values()
        trimmed = {name: F.regexp_replace(_column(name), EDGE_WHITESPACE, "") for name in text_columns(stage, df)}
        if stage.option("empty_as_null", False):
            trimmed = {name: F.nullif(value, F.lit("")) for name, value in trimmed.items()}
        return df.withColumns(trimmed)


def text_columns(stage: StageSpec, df: DataFrame) -> list[str]:
    """The columns to trim; a listed one that is missing or not text is an error (trimming would cast it)."""
    types = {field.name: field.dataType.simpleString() for field in df.schema.fields}
    strings = [name for name, type_name in types.items() if type_name == "string"]
    listed = stage.option("columns")
    if not listed:
        return strings
    for name in listed:
        if name not in types:
            hint = did_you_mean(name, types) or f"columns: {', '.join(types)}"
            raise ConfigError(f"{stage.label}: no column '{name}'", location=stage.location, hint=hint)
        if name not in strings:
            raise ConfigError(
                f"{stage.label}: column '{name}' is {types[name].upper()}, not STRING",
                location=stage.location,
                hint="list only text columns, or cast this one first (a select with cast:)",
            )
    return list(listed)


class NotBlank(RowCheck):
    type = "not_blank"
    description = "Every listed column has a value that is not only whitespace (null, empty or blank fails the row)."
    required_options = ("columns",)
    options_schema: ClassVar[dict[str, Any]] = {"columns": _columns_schema("The text columns that must not be blank.")}

    def failing(self, check: CheckSpec, df: DataFrame) -> Column:
        blank = [_column(name).isNull() | _column(name).rlike(BLANK) for name in check.options["columns"]]
        return reduce(lambda a, b: a | b, blank)
