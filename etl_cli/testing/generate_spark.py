"""Generated rows as a Spark DataFrame: the path for outputs too large for one Python process.

The row indexes come from ``sparkContext.range`` and each task makes its rows with the very
function :func:`etl_cli.testing.generate.generate_rows` applies (every cell depends only on the
seed, its column and its row index), so the frame holds the same rows as the Python path for the
same seed, whatever the number of partitions. Python workers run that function: the session's
``PYSPARK_PYTHON`` must be an interpreter where etl_cli is installed (the caller sets it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.spark_types import quote
from etl_cli.testing.generate import GenColumn, Parent, RowGenerator, row_generator

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: rows per partition when the caller does not choose the partitioning
ROWS_PER_PARTITION = 200_000


def generated_frame(
    spark: SparkSession,
    columns: Sequence[GenColumn],
    count: int,
    seed: int,
    parents: Mapping[str, Parent] | None = None,
    partitions: int | None = None,
) -> DataFrame:
    """``count`` generated rows with the columns' declared types (lazy: nothing runs until it is written)."""
    from pyspark.sql import functions as F

    slices = partitions or max(spark.sparkContext.defaultParallelism, -(-count // ROWS_PER_PARTITION))
    indexes = spark.sparkContext.range(0, count, numSlices=slices)
    carried = indexes.mapPartitions(_Rows(row_generator(columns, count, seed, parents), tuple(c.name for c in columns)))
    frame = spark.createDataFrame(carried, ", ".join(_carrier_ddl(c) for c in columns), verifySchema=False)
    return frame.select(
        *(
            F.col(quote(c.name)).cast(c.type).alias(c.name) if _is_timestamp(c) else F.col(quote(c.name))
            for c in columns
        )
    )


@dataclass(frozen=True)
class _Rows:
    """A partition of row indexes → their rows as tuples (picklable: shipped to the Python workers)."""

    row_at: RowGenerator
    names: tuple[str, ...]

    def __call__(self, indexes: Iterable[int]) -> Iterator[tuple[Any, ...]]:
        for index in indexes:
            row = self.row_at(index)
            yield tuple(_carried(row[name]) for name in self.names)


def _carried(value: Any) -> Any:
    """Timestamps travel as text and are cast by Spark in the session's time zone, as its file readers parse them."""
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def _is_timestamp(column: GenColumn) -> bool:
    return column.type.strip().lower().startswith("timestamp")


def _carrier_ddl(column: GenColumn) -> str:
    return f"{quote(column.name)} {'STRING' if _is_timestamp(column) else column.type}"
