"""``etl-cli generate`` on its Spark path: Parquet, and the same rows as the Python path for the same seed.

One ``etl-cli generate`` subprocess starts the only extra JVM: it writes both sources with Spark
(``--engine spark``); the Python path writes the CSV again without Spark, and the shared session
reads everything back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from etl_cli import app
from etl_cli.plugins.spark_types import schema_ddl
from etl_cli.testing.generate import GenSource, columns_for_source, generate_rows
from etl_cli.testing.generate_spark import generated_frame
from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

PIPELINE = """
    sources:
      - name: customers
        type: parquet
        path: data/customers
        schema: {customer_id: BIGINT, signed_up: DATE, score: DOUBLE}
      - name: orders
        type: csv
        path: data/orders.csv
        schema: "order_id BIGINT, customer_id BIGINT, amount DECIMAL(10,2), status STRING, at TIMESTAMP, paid BOOLEAN"
      - name: payments
        type: json
        path: data/payments.json
        schema: {payment_id: BIGINT, at: TIMESTAMP, day: DATE, amount: "DECIMAL(12,3)", ok: BOOLEAN, note: STRING}
    checks:
      - {name: one_customer, stage: customers, type: unique, columns: [customer_id]}
      - {name: one_order, stage: orders, type: unique, columns: [order_id]}
      - {name: known, stage: orders, type: relationships, column: customer_id, to: customers}
      - {name: amounts, stage: orders, type: range, column: amount, min: 0, max: 1000}
      - {name: codes, stage: orders, type: regex, column: status, pattern: "^[A-Z]{3}-[0-9]{2}$"}
    sinks:
      - {name: out, type: parquet, input: orders, path: out/orders}
"""
ROWS, SEED = 300, 11


def collected(frame: Any) -> list[dict[str, Any]]:
    return sorted((row.asDict() for row in frame.collect()), key=repr)


def test_the_spark_path_writes_the_rows_the_python_path_makes(tmp_path: Path, spark: SparkSession) -> None:
    root = make_project(tmp_path, {"p/pipeline.yaml": PIPELINE})
    by_spark = etl_cli("generate", "p", "-n", str(ROWS), "--seed", str(SEED), "--engine", "spark", "-o", "s", cwd=root)
    assert by_spark.returncode == 0, by_spark.stderr
    by_python = etl_cli(
        "generate",
        "p",
        "-n",
        str(ROWS),
        "--seed",
        str(SEED),
        "--source",
        "orders",
        "--source",
        "payments",
        "-o",
        "p",
        cwd=root,
    )
    assert by_python.returncode == 0, by_python.stderr
    assert "(csv, python)" in by_python.stdout

    spec = app.load_spec(root / "p", None)[1]
    customer_columns = columns_for_source(spec, "customers")
    parents = {"customers": GenSource(customer_columns, ROWS, SEED)}
    expected_orders = generate_rows(columns_for_source(spec, "orders"), ROWS, SEED, parents)
    orders_schema = spec.stage("orders").options["schema"]
    spark_csv = collected(spark.read.schema(orders_schema).option("header", True).csv(str(root / "s/orders.csv")))
    python_csv = collected(spark.read.schema(orders_schema).option("header", True).csv(str(root / "p/orders.csv")))
    assert spark_csv == python_csv == sorted(expected_orders, key=repr)

    payments_schema = schema_ddl(spec.stage("payments").options["schema"])
    spark_json = collected(spark.read.schema(payments_schema).json(str(root / "s/payments.json")))
    python_json = collected(spark.read.schema(payments_schema).json(str(root / "p/payments.json")))
    expected_payments = generate_rows(columns_for_source(spec, "payments"), ROWS, SEED)
    assert spark_json == python_json == sorted(expected_payments, key=repr)

    customers = collected(spark.read.parquet(str(root / "s/customers.parquet")))
    assert customers == sorted(generate_rows(customer_columns, ROWS, SEED), key=repr)
    assert sorted(c["customer_id"] for c in customers) == list(range(1, ROWS + 1))
    assert {o["customer_id"] for o in spark_csv} - {None} <= set(range(1, ROWS + 1))


def test_the_spark_frame_does_not_depend_on_its_partitioning(tmp_path: Path, spark: SparkSession) -> None:
    spec = app.load_spec(make_project(tmp_path, {"p/pipeline.yaml": PIPELINE}) / "p", None)[1]
    columns = columns_for_source(spec, "orders")
    parents = {"customers": GenSource(columns_for_source(spec, "customers"), 50, 2)}
    one = generated_frame(spark, columns, 500, 2, parents, partitions=1).collect()
    five = generated_frame(spark, columns, 500, 2, parents, partitions=5).collect()
    assert [r.asDict() for r in one] == [r.asDict() for r in five] == generate_rows(columns, 500, 2, parents)
