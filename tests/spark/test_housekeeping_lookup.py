"""``cast``, ``rename``, ``drop`` and ``lookup`` on small hand-written DataFrames; expected rows worked out by hand."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import RunContext, StageSpec, Transform
from etl_cli.plugins.registry import REGISTRY
from tests.support import frozen, rows

RAW_SCHEMA = "id STRING, amount STRING, note STRING, extra STRING"
RAW = [("1", "10.50", "a", "x"), ("2", "abc", "b", "y"), ("3", None, "c", "z")]
COUNTRIES = [("FR", "France", "EU"), ("DE", "Germany", "EU"), ("US", "United States", None)]


def run(spark: SparkSession, type_name: str, inputs: Mapping[str, DataFrame], **options: Any) -> DataFrame:
    """Apply the registered transform ``type_name`` to ``inputs`` (a stage named ``t``)."""
    plugin = REGISTRY.get("transform", type_name)()
    assert isinstance(plugin, Transform)
    stage = StageSpec(name="t", kind="transform", type=type_name, inputs=tuple(inputs), options=frozen(options))
    return plugin.apply(RunContext(spark=spark, project_root=Path("."), run_id="test"), stage, inputs)


@pytest.fixture
def raw(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(RAW, RAW_SCHEMA)


@pytest.fixture
def orders(spark: SparkSession) -> DataFrame:
    data = [(1, "FR", 10.0), (2, "US", 20.0), (3, "JP", 5.0), (4, None, 1.0)]
    return spark.createDataFrame(data, "order_id INT, country STRING, amount DOUBLE")


@pytest.fixture
def countries(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(COUNTRIES, "country STRING, country_name STRING, region STRING")


# --- cast ------------------------------------------------------------------------------------


def test_cast_on_error_null_makes_bad_values_null_and_keeps_columns_in_place(spark: SparkSession, raw: DataFrame):
    result = run(spark, "cast", {"raw": raw}, columns={"amount": "DECIMAL(10,2)", "id": "INT"}, on_error="null")
    assert result.columns == ["id", "amount", "note", "extra"]
    assert [(f.name, f.dataType.simpleString()) for f in result.schema.fields][:2] == [
        ("id", "int"),
        ("amount", "decimal(10,2)"),
    ]
    assert rows(result) == [(1, Decimal("10.50"), "a", "x"), (2, None, "b", "y"), (3, None, "c", "z")]


def test_cast_fails_by_default_naming_the_column_and_the_value(spark: SparkSession, raw: DataFrame):
    result = run(spark, "cast", {"raw": raw}, columns={"amount": "DECIMAL(10,2)"})
    with pytest.raises(Exception, match=r"column 'amount' has a value that is not a DECIMAL\(10,2\): 'abc'"):
        result.collect()


def test_cast_fails_even_with_ansi_mode_off(spark: SparkSession, raw: DataFrame):
    spark.conf.set("spark.sql.ansi.enabled", "false")
    try:
        result = run(spark, "cast", {"raw": raw}, columns={"amount": "INT"})
        with pytest.raises(Exception, match=r"column 'amount' has a value that is not a INT: '(10\.50|abc)'"):
            result.collect()
    finally:
        spark.conf.unset("spark.sql.ansi.enabled")


def test_cast_of_a_missing_column_is_an_error_naming_it(spark: SparkSession, raw: DataFrame):
    with pytest.raises(ConfigError, match="columns names no column 'amout'") as caught:
        run(spark, "cast", {"raw": raw}, columns={"amout": "INT"})
    assert caught.value.hint == "did you mean 'amount'?"


# --- rename and drop ---------------------------------------------------------------------------


def test_rename_keeps_every_column_in_its_place(spark: SparkSession, raw: DataFrame):
    result = run(spark, "rename", {"raw": raw}, columns={"note": "comment", "id": "raw_id"})
    assert result.columns == ["raw_id", "amount", "comment", "extra"]
    assert rows(result)[0] == ("1", "10.50", "a", "x")


def test_rename_of_a_missing_column_is_an_error_naming_it(spark: SparkSession, raw: DataFrame):
    with pytest.raises(ConfigError, match="columns names no column 'nots'") as caught:
        run(spark, "rename", {"raw": raw}, columns={"nots": "comment"})
    assert caught.value.hint == "did you mean 'note'?"


def test_rename_onto_an_existing_column_is_an_error(spark: SparkSession, raw: DataFrame):
    with pytest.raises(ConfigError, match="would make two columns named 'extra'"):
        run(spark, "rename", {"raw": raw}, columns={"note": "extra"})


def test_drop_passes_new_upstream_columns_through(spark: SparkSession, raw: DataFrame):
    evolved = raw.withColumn("added_later", raw["id"])
    result = run(spark, "drop", {"raw": evolved}, columns=["note"])
    assert result.columns == ["id", "amount", "extra", "added_later"]


def test_drop_of_a_missing_column_fails_unless_if_exists(spark: SparkSession, raw: DataFrame):
    with pytest.raises(ConfigError, match="columns names no column 'gone'"):
        run(spark, "drop", {"raw": raw}, columns=["gone", "note"])
    result = run(spark, "drop", {"raw": raw}, columns=["gone", "note"], if_exists=True)
    assert result.columns == ["id", "amount", "extra"]


# --- lookup ----------------------------------------------------------------------------------


def test_lookup_adds_columns_with_defaults_as_a_broadcast_join(
    spark: SparkSession, orders: DataFrame, countries: DataFrame
):
    result = run(
        spark,
        "lookup",
        {"orders": orders, "countries": countries},
        on=["country"],
        default={"country_name": "unknown", "region": "other"},
    )
    assert result.columns == ["order_id", "country", "amount", "country_name", "region"]
    # JP has no lookup row, a null country matches nothing, US's region is null: each takes the default
    assert rows(result) == [
        (1, "FR", 10.0, "France", "EU"),
        (2, "US", 20.0, "United States", "other"),
        (3, "JP", 5.0, "unknown", "other"),
        (4, None, 1.0, "unknown", "other"),
    ]
    plan = result._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastHashJoin" in plan and "LeftOuter" in plan


def test_lookup_takes_only_the_columns_listed(spark: SparkSession, orders: DataFrame, countries: DataFrame):
    result = run(spark, "lookup", {"orders": orders, "countries": countries}, on=["country"], columns=["region"])
    assert result.columns == ["order_id", "country", "amount", "region"]
    assert [r[-1] for r in rows(result)] == ["EU", None, None, None]


def test_lookup_side_over_max_rows_stops_the_run(spark: SparkSession, orders: DataFrame, countries: DataFrame):
    over = run(spark, "lookup", {"orders": orders, "countries": countries}, on=["country"], max_rows=2)
    with pytest.raises(Exception, match=r"the lookup side 'countries' has more than 2 rows \(max_rows\)"):
        over.collect()
    exactly = run(spark, "lookup", {"orders": orders, "countries": countries}, on=["country"], max_rows=3)
    assert exactly.count() == 4


def test_lookup_column_already_on_the_first_input_is_an_error(spark: SparkSession, orders: DataFrame):
    table = spark.createDataFrame([("FR", 1.5)], "country STRING, amount DOUBLE")
    with pytest.raises(ConfigError, match=r"the first input already has column\(s\) amount"):
        run(spark, "lookup", {"orders": orders, "countries": table}, on=["country"])


def test_a_streaming_lookup_side_is_an_error(spark: SparkSession, orders: DataFrame):
    stream = spark.readStream.format("rate").load().selectExpr("CAST(value AS STRING) AS country", "1 AS n")
    with pytest.raises(ConfigError, match="the lookup side 'countries' is a stream"):
        run(spark, "lookup", {"orders": orders, "countries": stream}, on=["country"])


def test_a_key_with_several_lookup_rows_stops_the_run(spark: SparkSession, orders: DataFrame):
    # FR twice would repeat order 1; the two null keys match nothing, so they are no duplicate
    table = spark.createDataFrame(
        [("FR", "France"), ("FR", "La France"), (None, "a"), (None, "b")], "country STRING, country_name STRING"
    )
    result = run(spark, "lookup", {"orders": orders, "countries": table}, on=["country"])
    with pytest.raises(Exception, match=r"the lookup side 'countries' has 1 key\(s\) with several rows"):
        result.collect()


def test_null_keys_on_the_lookup_side_are_no_duplicates(spark: SparkSession, orders: DataFrame):
    table = spark.createDataFrame([("FR", "France"), (None, "a"), (None, "b")], "country STRING, country_name STRING")
    result = run(spark, "lookup", {"orders": orders, "countries": table}, on=["country"])
    assert [r[-1] for r in rows(result)] == ["France", None, None, None]
