"""Built-in file sources reading small files written in each test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import RunContext, Source, StageSpec
from etl_cli.plugins.registry import REGISTRY
from tests.support import frozen, rows

ORDERS_CSV = "id,customer,amount\n1,alice,10.5\n2,bob,20\n3,carol,7.25\n"
MALFORMED_CSV = "id,customer,amount\n1,alice,10.5\nnot-a-number,bob,twenty\n3,carol,7.25\n"


def read(spark: SparkSession, root: Path, type_name: str, **options: Any) -> DataFrame:
    """Read with the registered source ``type_name``; relative paths resolve against ``root``."""
    plugin = REGISTRY.get("source", type_name)()
    assert isinstance(plugin, Source)
    stage = StageSpec(name="orders", kind="source", type=type_name, inputs=(), options=frozen(options))
    return plugin.read(RunContext(spark=spark, project_root=root, run_id="test"), stage)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_csv_reads_the_header_and_infers_types(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "orders.csv", ORDERS_CSV)
    df = read(spark, tmp_path, "csv", path="orders.csv")
    assert df.dtypes == [("id", "int"), ("customer", "string"), ("amount", "double")]
    assert rows(df) == [(1, "alice", 10.5), (2, "bob", 20.0), (3, "carol", 7.25)]


def test_csv_with_a_declared_ddl_schema_uses_its_types_and_still_skips_the_header(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "orders.csv", ORDERS_CSV)
    df = read(spark, tmp_path, "csv", path="orders.csv", schema="id STRING, customer STRING, amount DECIMAL(6,2)")
    assert df.dtypes == [("id", "string"), ("customer", "string"), ("amount", "decimal(6,2)")]
    assert [r.id for r in df.collect()] == ["1", "2", "3"]


def test_a_declared_schema_mapping_keeps_its_column_order(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "orders.csv", ORDERS_CSV)
    df = read(
        spark, tmp_path, "csv", path="orders.csv", schema={"order id": "BIGINT", "who": "STRING", "amount": "FLOAT"}
    )
    assert df.dtypes == [("order id", "bigint"), ("who", "string"), ("amount", "float")]
    assert rows(df) == [(1, "alice", 10.5), (2, "bob", 20.0), (3, "carol", 7.25)]


def test_csv_reader_options_are_passed_through(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "orders.csv", "id;customer\n1;alice\n")
    df = read(spark, tmp_path, "csv", path="orders.csv", options={"sep": ";"})
    assert rows(df) == [(1, "alice")]


def test_csv_fails_on_a_malformed_row_by_default(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "orders.csv", MALFORMED_CSV)
    df = read(spark, tmp_path, "csv", path="orders.csv", schema="id INT, customer STRING, amount DOUBLE")
    with pytest.raises(Exception, match="MALFORMED_RECORD"):
        df.collect()


def test_csv_drops_malformed_rows_when_asked(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "orders.csv", MALFORMED_CSV)
    schema = "id INT, customer STRING, amount DOUBLE"
    df = read(spark, tmp_path, "csv", path="orders.csv", schema=schema, on_malformed="drop")
    assert rows(df) == [(1, "alice", 10.5), (3, "carol", 7.25)]


def test_csv_keeps_malformed_rows_with_nulls_when_asked(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "orders.csv", MALFORMED_CSV)
    schema = "id INT, customer STRING, amount DOUBLE"
    df = read(spark, tmp_path, "csv", path="orders.csv", schema=schema, on_malformed="keep")
    assert rows(df) == [(None, "bob", None), (1, "alice", 10.5), (3, "carol", 7.25)]


def test_a_list_of_paths_and_globs_reads_every_file(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "in" / "2024-01" / "a.csv", "id,customer\n1,alice\n")
    write(tmp_path / "in" / "2024-02" / "b.csv", "id,customer\n2,bob\n")
    write(tmp_path / "extra" / "c.csv", "id,customer\n3,carol\n")
    df = read(spark, tmp_path, "csv", path=["in/2024-*/*.csv", str(tmp_path / "extra" / "c.csv")])
    assert rows(df) == [(1, "alice"), (2, "bob"), (3, "carol")]


def test_an_invalid_declared_schema_is_a_config_error_naming_the_stage(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "orders.csv", ORDERS_CSV)
    with pytest.raises(ConfigError, match=r"invalid schema in source 'orders' \(csv\)"):
        read(spark, tmp_path, "csv", path="orders.csv", schema="id INT, customer")


def test_json_infers_the_schema_of_json_lines(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "events.json", '{"id": 1, "kind": "click"}\n{"id": 2, "kind": "view", "ms": 12.5}\n')
    df = read(spark, tmp_path, "json", path="events.json")
    assert df.dtypes == [("id", "bigint"), ("kind", "string"), ("ms", "double")]
    assert rows(df) == [(1, "click", None), (2, "view", 12.5)]


def test_json_drops_lines_that_are_not_json_when_asked(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "events.json", '{"id": 1, "kind": "click"}\n{"id": 2, "kind\n{"id": 3, "kind": "view"}\n')
    df = read(spark, tmp_path, "json", path="events.json", schema={"id": "INT", "kind": "STRING"}, on_malformed="drop")
    assert rows(df) == [(1, "click"), (3, "view")]


def test_json_fails_on_a_line_that_is_not_json_by_default(spark: SparkSession, tmp_path: Path):
    write(tmp_path / "events.json", '{"id": 1, "kind": "click"}\n{"id": 2, "kind\n')
    df = read(spark, tmp_path, "json", path="events.json", schema="id INT, kind STRING")
    with pytest.raises(Exception, match="MALFORMED_RECORD"):
        df.collect()


@pytest.mark.parametrize("file_format", ["parquet", "orc"])
def test_columnar_sources_read_the_schema_from_the_files(spark: SparkSession, tmp_path: Path, file_format: str):
    spark.createDataFrame([(1, "alice"), (2, "bob")], "id INT, customer STRING").write.format(file_format).save(
        str(tmp_path / "orders")
    )
    df = read(spark, tmp_path, file_format, path="orders")
    assert df.dtypes == [("id", "int"), ("customer", "string")]
    assert rows(df) == [(1, "alice"), (2, "bob")]


@pytest.mark.parametrize("file_format", ["parquet", "orc"])
def test_columnar_sources_read_only_declared_columns(spark: SparkSession, tmp_path: Path, file_format: str):
    spark.createDataFrame([(1, "alice", 3.5)], "id INT, customer STRING, amount DOUBLE").write.format(file_format).save(
        str(tmp_path / "orders")
    )
    df = read(spark, tmp_path, file_format, path="orders", schema="customer STRING, id INT")
    assert rows(df) == [("alice", 1)]


@pytest.mark.parametrize("on_malformed", ["fail", "drop", "keep"])
def test_kafka_json_values_are_parsed_once_under_a_later_filter(spark: SparkSession, on_malformed: str):
    # the optimizer pushes a filter on parsed fields below the parse; a parse given options (FAILFAST, a
    # corrupt-record column) is not pruned, so each record would be parsed twice in full
    from pyspark.sql import functions as F

    from etl_cli.plugins.sources.kafka import KafkaSource

    raw = spark.createDataFrame([(b'{"id": 1, "sensor": "s1"}',), (b'{"id": 2, "sensor": "s15"}',)], "value BINARY")
    options = {"topic": "t", "bootstrap_servers": "b:9092", "schema": "id INT, sensor STRING", "metadata": []}
    options |= {"on_malformed": on_malformed}
    stage = StageSpec(name="events", kind="source", type="kafka", inputs=(), options=frozen(options))
    ctx = RunContext(spark=spark, project_root=Path("."), run_id="test")
    kept = KafkaSource()._rows(ctx, stage, raw).where(F.col("sensor") != "s15")
    plan = kept._jdf.queryExecution().optimizedPlan().toString()
    assert plan.count("from_json(") == 1, plan
    assert [(r.id, r.sensor) for r in kept.collect()] == [(1, "s1")]
