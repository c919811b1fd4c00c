"""Nested data (JSON): ``explode`` (an array or map into rows) and ``flatten`` (structs into columns)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single, user_sql
from etl_cli.plugins.transforms.columns import require_columns

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import StructType

_NAME = {"type": "string", "minLength": 1}


@register
class ExplodeTransform(Transform):
    type = "explode"
    description = (
        "One row per element of an array column, or per entry of a map column; the other columns are repeated "
        "and come first, then the position (when asked), then the element (or key and value)."
    )
    required_options = ("column",)
    options_schema = {
        "column": {"type": "string", "minLength": 1, "description": "The array or map column to explode."},
        "as": {
            "anyOf": [_NAME, {"type": "array", "items": _NAME, "minItems": 2, "maxItems": 2}],
            "description": "Output name of an array's element (default: the column's name), or [key, value] "
            "for a map (required for a map).",
        },
        "outer": {
            "type": "boolean",
            "default": False,
            "description": "Keep rows whose array or map is empty or null, with a null element (and position).",
        },
        "position": {
            "type": "string",
            "minLength": 1,
            "description": "Also output each element's position (from 0) in a column of this name.",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        names = _output_names(options)
        if len({n.lower() for n in names}) < len(names):
            return [
                OptionProblem(
                    ("position",) if "position" in options else ("as",),
                    f"two output columns named alike: {', '.join(names)}",
                )
            ]
        return []

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """The other columns, then the generator's columns, as Spark's ``explode`` in a SELECT.

        Spark writes a map's explode or a position as ``posexplode(c) AS (pos, element)``, which sqlglot
        reads as one unnamed column, so each output column is given as its own projection of the column.
        """
        (name,) = inputs
        column, options = quote(stage.options["column"]), stage.options
        items = [f"* EXCEPT ({column})"]
        if "position" in options:
            items.append(f"posexplode({column}) AS {quote(options['position'])}")
        as_ = options.get("as")
        if isinstance(as_, Sequence) and not isinstance(as_, str):
            items += [
                f"explode(map_keys({column})) AS {quote(as_[0])}",
                f"explode(map_values({column})) AS {quote(as_[1])}",
            ]
        else:
            items.append(f"explode({column}) AS {quote(as_ or stage.options['column'])}")
        return StageLineage(f"SELECT {', '.join(items)} FROM {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        df, options = single(inputs), stage.options
        column = options["column"]
        require_columns(stage, df, "column", [column])
        _check_type(stage, df)
        names = _output_names(options)
        kept = [c for c in df.columns if c != column]
        _refuse_clash(stage, kept, names)
        outer = bool(options.get("outer", False))
        source = F.col(quote(column))
        if "position" in options:
            generator = F.posexplode_outer(source) if outer else F.posexplode(source)
        else:
            generator = F.explode_outer(source) if outer else F.explode(source)
        with user_sql(stage, "explode"):
            return df.select(*[F.col(quote(c)) for c in kept], generator.alias(*names))


def _output_names(options: Mapping[str, Any]) -> list[str]:
    """The columns the generator makes: [position], then the element or key and value."""
    as_ = options.get("as")
    names = [str(options["position"])] if "position" in options else []
    if isinstance(as_, Sequence) and not isinstance(as_, str):
        return names + [str(n) for n in as_]
    return [*names, str(as_ or options.get("column", ""))]


def _refuse_clash(stage: StageSpec, kept: list[str], names: list[str]) -> None:
    """A ConfigError when a generated column is named like a kept one: the sink would fail on the duplicate."""
    taken = {c.lower(): c for c in kept}
    if clash := next((taken[n.lower()] for n in names if n.lower() in taken), None):
        raise ConfigError(
            f"{stage.label}: '{clash}' is already a column, so the output would have two",
            location=stage.location,
            hint="give the element (as) or position another name",
        )


def _check_type(stage: StageSpec, df: DataFrame) -> None:
    """A ConfigError when ``as`` does not suit the column's type (so the offline lineage is right)."""
    from pyspark.sql.types import ArrayType, MapType

    column = stage.options["column"]
    data_type = df.schema[column].dataType
    as_ = stage.option("as")
    two_names = isinstance(as_, Sequence) and not isinstance(as_, str)
    if isinstance(data_type, MapType) and not two_names:
        raise ConfigError(
            f"{stage.label}: column '{column}' is a map, which explodes into a key and a value",
            location=stage.location,
            hint="name both: as: [key, value]",
        )
    if isinstance(data_type, ArrayType) and two_names:
        raise ConfigError(
            f"{stage.label}: column '{column}' is an array, which explodes into one column",
            location=stage.location,
            hint="give as one name, e.g. as: item",
        )
    if not isinstance(data_type, ArrayType | MapType):
        raise ConfigError(
            f"{stage.label}: column '{column}' is {data_type.simpleString()}, not an array or map",
            location=stage.location,
            hint="explode an array or map column",
        )


@register
class FlattenTransform(Transform):
    type = "flatten"
    description = (
        "Replace struct columns by their fields, named parent_child, down to a depth; arrays and maps are "
        "left as they are (explode them)."
    )
    options_schema = {
        "columns": {
            "type": "array",
            "items": _NAME,
            "minItems": 1,
            "description": "The struct columns to flatten (default: every struct column).",
        },
        "separator": {
            "type": "string",
            "default": "_",
            "description": "Joins a parent's name and its field's: customer_address_city.",
        },
        "depth": {
            "type": "integer",
            "minimum": 1,
            "description": "How many levels of structs to open (1: only the top level's fields); default: all.",
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage | None:
        """Not known offline: the new columns are the structs' fields, and lineage is given column names only.

        ``etl-cli lineage --analyze`` gives the stage's columns from Spark's analysis.
        """
        return None

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        df = single(inputs)
        chosen = stage.option("columns")
        if chosen is not None:
            require_columns(stage, df, "columns", chosen)
            _refuse_non_structs(stage, df, chosen)
        depth = stage.option("depth")
        columns = flat_columns(df.schema, stage.option("separator", "_"), depth, set(chosen or df.columns))
        names = [name for _, name in columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                f"{stage.label}: flattening makes several columns named {', '.join(duplicates)}",
                location=stage.location,
                hint="choose another separator, or rename first",
            )
        with user_sql(stage, "flatten"):
            return df.select(*[column.alias(name) for column, name in columns])


def flat_columns(schema: StructType, separator: str, depth: int | None, chosen: set[str]) -> list[tuple[Column, str]]:
    """Each output column and its name: struct fields opened (parent_child) to ``depth``, in schema order."""
    from pyspark.sql import functions as F

    found: list[tuple[Column, str]] = []
    for field in schema.fields:
        column = F.col(quote(field.name))
        if field.name in chosen:
            found += _opened(column, field.name, field.dataType, separator, depth)
        else:
            found.append((column, field.name))
    return found


def _opened(column: Column, name: str, data_type: Any, separator: str, depth: int | None) -> list[tuple[Column, str]]:
    from pyspark.sql.types import StructType

    if not isinstance(data_type, StructType) or depth == 0:
        return [(column, name)]
    return [
        pair
        for field in data_type.fields
        for pair in _opened(
            column.getField(field.name),
            f"{name}{separator}{field.name}",
            field.dataType,
            separator,
            None if depth is None else depth - 1,
        )
    ]


def _refuse_non_structs(stage: StageSpec, df: DataFrame, chosen: Sequence[str]) -> None:
    """A ConfigError for a listed column that is no struct (flattening it would silently do nothing)."""
    from pyspark.sql.types import StructType

    for name in chosen:
        data_type = df.schema[name].dataType
        if not isinstance(data_type, StructType):
            raise ConfigError(
                f"{stage.label}: columns lists '{name}', which is {data_type.simpleString()}, not a struct",
                location=stage.location,
                hint="list struct columns only (explode arrays and maps)",
            )
