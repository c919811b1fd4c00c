"""Benchmark 2 — batch, complex: orders ⋈ customers → revenue per customer and day → rank → Parquet.

The etl-cli side is ``benchmarks/pipelines/batch_complex/pipeline.yaml``; :func:`handwritten`
is the same job written directly in PySpark.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.batch import BatchBenchmark, Count, no_count
from benchmarks.datagen import CUSTOMERS_DDL, ORDERS_DDL, Dataset

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PIPELINE = Path(__file__).resolve().parent / "pipelines" / "batch_complex"


def handwritten(spark: SparkSession, dataset: Dataset, output: str, count: Count = no_count) -> None:
    """What a PySpark developer writes for the pipeline's job.

    ``count`` marks where etl-cli counts rows: both sources, the filter, the join (each read
    by a stage that changes the count) and what the sink writes (the aggregate's and the
    window's counts are the rows written).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    reader = spark.read.options(header=True, mode="FAILFAST")
    orders = count(reader.schema(ORDERS_DDL).csv(str(dataset.orders_csv)), "orders")
    customers = count(reader.schema(CUSTOMERS_DDL).csv(str(dataset.customers_csv)), "customers")
    valid = count(orders.filter("status <> 'cancelled'"), "valid_orders")
    daily = (
        count(valid.join(customers, "customer_id"), "customer_orders")
        .groupBy("customer_id", "country", F.to_date("order_ts").alias("order_date"))
        .agg(
            F.count(F.lit(1)).alias("orders"),
            F.sum("quantity").alias("items"),
            F.expr("sum(amount * quantity)").alias("revenue"),
        )
    )
    by_day = Window.partitionBy("order_date", "country").orderBy(F.col("revenue").desc())
    ranked = daily.withColumn("rank_in_day", F.rank().over(by_day))
    count(ranked, "ranked_out").write.mode("overwrite").parquet(output)


def _sets(dataset: Dataset, output: str) -> list[str]:
    return [
        f"vars.orders_csv={dataset.orders_csv}",
        f"vars.customers_csv={dataset.customers_csv}",
        f"vars.output_dir={output}",
    ]


BENCHMARK = BatchBenchmark(
    name="batch_complex",
    title="Batch, complex: join customers → aggregate per customer and day → window rank → Parquet",
    pipeline=PIPELINE,
    sets=_sets,
    handwritten=handwritten,
    sources=("orders", "customers"),
)
