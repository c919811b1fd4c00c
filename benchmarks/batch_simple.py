"""Benchmark 1 — batch, simple: orders CSV → filter + derived columns → Parquet.

The etl-cli side is ``benchmarks/pipelines/batch_simple/pipeline.yaml``; :func:`handwritten`
is the same job written directly in PySpark.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.batch import BatchBenchmark, Count, no_count
from benchmarks.datagen import ORDERS_DDL, Dataset

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PIPELINE = Path(__file__).resolve().parent / "pipelines" / "batch_simple"


def handwritten(spark: SparkSession, dataset: Dataset, output: str, count: Count = no_count) -> None:
    """What a PySpark developer writes for the pipeline's job (FAILFAST: etl-cli's default on_malformed).

    ``count`` marks where etl-cli counts rows: the source (its reader, a filter, changes the
    count) and what the sink writes (the derive before it keeps the count).
    """
    from pyspark.sql import functions as F

    reader = spark.read.options(header=True, mode="FAILFAST")
    orders = count(reader.schema(ORDERS_DDL).csv(str(dataset.orders_csv)), "orders")
    valid = orders.filter("status IN ('paid', 'shipped') AND amount > 1.00")
    enriched = valid.withColumns(
        {
            "order_date": F.to_date("order_ts"),
            "order_hour": F.hour("order_ts"),
            "gross": F.expr("amount * quantity"),
            "vat": F.expr("round(amount * quantity * 0.21, 2)"),
            "channel_code": F.upper("channel"),
        }
    )
    count(enriched, "enriched_orders_out").write.mode("overwrite").parquet(output)


def _sets(dataset: Dataset, output: str) -> list[str]:
    return [f"vars.orders_csv={dataset.orders_csv}", f"vars.output_dir={output}"]


BENCHMARK = BatchBenchmark(
    name="batch_simple",
    title="Batch, simple: CSV → filter + derived columns → Parquet",
    pipeline=PIPELINE,
    sets=_sets,
    handwritten=handwritten,
    sources=("orders",),
    target_records_per_s=1_000_000,
)
