"""DataFrames described as plain data: schema fields, display cells, null counts.

``dry-run`` and ``debug`` hand these to the CLI, which renders them; nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from etl_cli.secrets.redaction import MASK

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class SchemaField:
    """One column (or nested field): its name, Spark SQL type and nullability, and nested fields."""

    name: str
    type: str
    nullable: bool
    fields: tuple[SchemaField, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type, "nullable": self.nullable}
        if self.fields:
            data["fields"] = [f.to_json() for f in self.fields]
        return data


def schema_fields(df: DataFrame) -> tuple[SchemaField, ...]:
    """The columns of ``df`` with Spark SQL type names; structs (also in arrays and maps) carry their fields."""
    return tuple(_field(f.name, f.dataType, f.nullable) for f in df.schema.fields)


def _field(name: str, kind: Any, nullable: bool) -> SchemaField:
    return SchemaField(name, _type_text(kind), bool(nullable), _nested(kind))


def _nested(kind: Any) -> tuple[SchemaField, ...]:
    from pyspark.sql.types import ArrayType, MapType, StructType

    if isinstance(kind, StructType):
        return tuple(_field(f.name, f.dataType, f.nullable) for f in kind.fields)
    if isinstance(kind, ArrayType):
        return _nested(kind.elementType)
    if isinstance(kind, MapType):
        return _nested(kind.valueType)
    return ()


def _type_text(kind: Any) -> str:
    from pyspark.sql.types import ArrayType, MapType, StructType

    if isinstance(kind, StructType):
        return "struct"
    if isinstance(kind, ArrayType):
        return f"array<{_type_text(kind.elementType)}>"
    if isinstance(kind, MapType):
        return f"map<{_type_text(kind.keyType)}, {_type_text(kind.valueType)}>"
    return str(kind.simpleString())


class Masker:
    """Turns values into display text, hiding sensitive columns and resolved secret values."""

    def __init__(self, sensitive: Iterable[str] = (), mask_text: Callable[[str], str] = lambda text: text):
        self.sensitive = frozenset(name.lower() for name in sensitive)
        self.mask_text = mask_text

    def is_sensitive(self, column: str) -> bool:
        return column.lower() in self.sensitive

    def cells(self, columns: Sequence[str], values: Sequence[Any]) -> tuple[str, ...]:
        """One row as display text, column by column."""
        return tuple(
            MASK if value is not None and self.is_sensitive(column) else self.mask_text(cell_text(value))
            for column, value in zip(columns, values, strict=True)
        )


def cell_text(value: Any) -> str:
    """How one value is shown: ``null``, ISO dates and times, plain decimals, JSON for nested values."""
    if value is None:
        return "null"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, Decimal, bool, int, float, str)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return json.dumps(_plain(value), default=str)


def _plain(value: Any) -> Any:
    if hasattr(value, "asDict"):
        return {k: _plain(v) for k, v in value.asDict().items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    return value


def positional(df: DataFrame) -> DataFrame:
    """``df`` with columns renamed ``c0, c1...``: a join on a condition keeps two columns of one name."""
    return df.toDF(*[f"c{i}" for i in range(len(df.columns))])


def rows_and_nulls(df: DataFrame) -> tuple[int, dict[str, int]]:
    """Row count and per-column null counts, in one aggregation (one Spark job)."""
    from pyspark.sql import functions as F

    renamed = positional(df)
    aggregates = [F.count(F.lit(1)).alias("rows")]
    aggregates += [F.count_if(F.col(c).isNull()).alias(c) for c in renamed.columns]
    (row,) = renamed.agg(*aggregates).collect()
    nulls = {name: int(row[f"c{i}"]) for i, name in enumerate(df.columns)}
    return int(row["rows"]), nulls


def first_rows(df: DataFrame, masker: Masker, limit: int, offset: int = 0) -> tuple[tuple[str, ...], ...]:
    """Up to ``limit`` rows after the first ``offset``, as masked display text."""
    renamed = positional(df)
    page = renamed.offset(offset).limit(limit) if offset else renamed.limit(limit)
    return tuple(masker.cells(df.columns, tuple(row)) for row in page.collect())
