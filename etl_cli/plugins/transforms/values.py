"""Replacing values: ``fill_nulls`` (a value where there is none) and ``case`` (a mapping table)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import SCALAR_TYPES, quote, single, user_sql
from etl_cli.plugins.transforms.columns import require_columns
from etl_cli.plugins.transforms.reshape import literal

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType


def family_of(value: Any) -> str:
    """The family of columns a YAML scalar may fill: string, number or boolean."""
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "string"


def column_family(data_type: DataType) -> str | None:
    """The family of a Spark column type (None: a type no scalar fills, a date or a struct...)."""
    from pyspark.sql.types import BooleanType, NumericType, StringType

    if isinstance(data_type, StringType):
        return "string"
    if isinstance(data_type, NumericType):
        return "number"
    return "boolean" if isinstance(data_type, BooleanType) else None


@register
class FillNullsTransform(Transform):
    type = "fill_nulls"
    description = (
        "Replace nulls: a value per column (values), or one value for every column of a type (by_type); "
        "a column named in values is filled only by that value."
    )
    options_schema = {
        "values": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": SCALAR_TYPES},
            "description": 'column: value, e.g. {country: "unknown", amount: 0}; the value must suit the '
            "column's type (text for strings, a number for numbers, true/false for booleans).",
        },
        "by_type": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "description": "One value for every column of a type not named in values.",
            "properties": {
                "string": {"type": "string", "description": "Fills every string column."},
                "number": {
                    "type": "number",
                    "description": "Fills every numeric column (a fraction such as 1.5 only "
                    "the decimal and floating-point ones).",
                },
                "boolean": {"type": "boolean", "description": "Fills every boolean column."},
            },
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        if "values" in options or "by_type" in options:
            return []
        return [OptionProblem((), "fill_nulls needs values, by_type or both", "e.g. values: {country: unknown}")]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """``coalesce(column, value)`` for each column of ``values``.

        Which columns ``by_type`` fills depends on their types, which lineage does not get: those keep the
        identity relation of ``SELECT *`` (each is still made from its own input column only).
        """
        (name,) = inputs
        filled = stage.option("values") or {}
        if not filled:
            return StageLineage(f"SELECT * FROM {quote(name)}")
        items = ", ".join(f"coalesce({quote(c)}, {literal(v)}) AS {quote(c)}" for c, v in filled.items())
        return StageLineage(f"SELECT * REPLACE ({items}) FROM {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        df = single(inputs)
        values = dict(stage.option("values") or {})
        require_columns(stage, df, "values", values)
        by_type = stage.option("by_type") or {}
        fills: dict[str, Any] = {}
        for field in df.schema.fields:
            family = column_family(field.dataType)
            if field.name in values:
                fills[field.name] = _checked(stage, field.name, field.dataType, family, values[field.name])
            elif family in by_type and _fits(field.dataType, by_type[family]):
                fills[field.name] = by_type[family]
        with user_sql(stage, "fill_nulls"):
            return df.withColumns({name: _filled(name, value, df) for name, value in fills.items()})


def _fits(data_type: DataType, value: Any) -> bool:
    """Whether a number can fill a column of this type without losing its fraction (1.5 in an INT column)."""
    from pyspark.sql.types import DecimalType, FractionalType

    return not isinstance(value, float) or value.is_integer() or isinstance(data_type, FractionalType | DecimalType)


def _checked(stage: StageSpec, column: str, data_type: DataType, family: str | None, value: Any) -> Any:
    """``value`` when it suits the column; a ConfigError saying why not (Spark would ignore it, or cast it)."""
    if family == family_of(value) and _fits(data_type, value):
        return value
    raise ConfigError(
        f"{stage.label}: values.{column} is {value!r}, which cannot fill column '{column}' of type "
        f"{data_type.simpleString()}",
        location=stage.location,
        hint="give a value of the column's type, or cast the column first (select: cast)",
    )


def _filled(name: str, value: Any, df: DataFrame) -> Column:
    """The column with its nulls replaced; the value cast to the column's type so the type does not change."""
    from pyspark.sql import functions as F

    column = F.col(quote(name))
    return F.coalesce(column, F.lit(value).cast(df.schema[name].dataType))


_MAPPED_VALUE = {"type": [*SCALAR_TYPES, "null"]}


@register
class CaseTransform(Transform):
    type = "case"
    description = (
        "Map the values of a column through a table (mapping: {from: to}), compiled to a CASE expression; "
        "values not in the table become default (null when not given)."
    )
    required_options = ("column", "mapping")
    options_schema = {
        "column": {"type": "string", "minLength": 1, "description": "The column whose values are looked up."},
        "mapping": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _MAPPED_VALUE,
            "description": 'from: to, e.g. {FR: Europe, US: "North America"}; keys are text, written in the '
            "column's type (a number for a numeric column, true/false for a boolean one).",
        },
        "default": {**_MAPPED_VALUE, "description": "The value for anything not in mapping (null when left out)."},
        "output": {
            "type": "string",
            "minLength": 1,
            "description": "Column to write (added at the end, or replaced where it is); default: column itself.",
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        mapping = options.get("mapping")
        if not isinstance(mapping, Mapping):
            return []
        results = [*mapping.values(), *([options["default"]] if "default" in options else [])]
        families = {family_of(value) for value in results if value is not None}
        if len(families) < 2:
            return []
        return [
            OptionProblem(
                ("mapping",),
                f"the mapped values mix {' and '.join(sorted(families))}",
                "give every value (and default) one type: a column has one",
            )
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """The CASE expression with its keys as text (their type, which lineage does not need, is the column's)."""
        (name,) = inputs
        expression = f"{case_sql(stage.options, literal)} AS {quote(output_of(stage.options))}"
        columns = inputs[name]
        if columns is not None and output_of(stage.options).lower() in {c.lower() for c in columns}:
            return StageLineage(f"SELECT * REPLACE ({expression}) FROM {quote(name)}")
        return StageLineage(f"SELECT *, {expression} FROM {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        df = single(inputs)
        column = stage.options["column"]
        require_columns(stage, df, "column", [column])
        family = column_family(df.schema[column].dataType)
        render = _key_renderer(stage, family, df.schema[column].dataType.simpleString())
        with user_sql(stage, "case"):
            return df.withColumn(output_of(stage.options), F.expr(case_sql(stage.options, render)))


def output_of(options: Mapping[str, Any]) -> str:
    """The column the mapped value goes to: ``output``, else the looked-up column itself."""
    return str(options.get("output") or options["column"])


def case_sql(options: Mapping[str, Any], key: Callable[[Any], str]) -> str:
    """``CASE column WHEN from THEN to ... ELSE default END``, each key written by ``key``."""
    whens = " ".join(f"WHEN {key(k)} THEN {_value(value)}" for k, value in options["mapping"].items())
    return f"CASE {quote(options['column'])} {whens} ELSE {_value(options.get('default'))} END"


def _key_renderer(stage: StageSpec, family: str | None, type_text: str) -> Callable[[Any], str]:
    """How to write a key (YAML keys arrive as text) for a column of this family: a number for a numeric
    column, TRUE/FALSE for a boolean one, text otherwise (Spark casts text to dates and timestamps).

    A key that is no value of the column's type is a ConfigError: Spark would fail the cast in the middle
    of the job (ANSI mode), or never match it.
    """

    def render(key: Any) -> str:
        text = str(key).strip()
        if family == "number" and _is_number(text):
            return text
        if family == "boolean" and text.lower() in ("true", "false"):
            return text.upper()
        if family in ("number", "boolean"):
            raise ConfigError(
                f"{stage.label}: mapping key '{key}' is not a {family}, but column '{stage.options['column']}' "
                f"is {type_text}",
                location=stage.location,
                hint="write keys of the column's type, or cast the column first",
            )
        return literal(str(key))

    return render


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _value(value: Any) -> str:
    """A mapped value (or default) as SQL: null when YAML gives none."""
    return "NULL" if value is None else literal(value)
