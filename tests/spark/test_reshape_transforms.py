"""pivot, unpivot, explode, flatten, fill_nulls and case on small DataFrames; expected rows worked out by hand."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import RunContext, StageSpec, Transform
from etl_cli.plugins.registry import REGISTRY
from tests.support import frozen, rows

SALES_SCHEMA = "shop STRING, month STRING, amount INT"
SALES = [("a", "jan", 10), ("a", "jan", 5), ("a", "feb", 7), ("b", "feb", 1), ("b", "mar", 100)]


def run(spark: SparkSession, type_name: str, df: DataFrame, **options: Any) -> DataFrame:
    """Apply the registered transform ``type_name`` to ``df`` (a stage ``t`` reading ``src``)."""
    plugin = REGISTRY.get("transform", type_name)()
    assert isinstance(plugin, Transform)
    stage = StageSpec(name="t", kind="transform", type=type_name, inputs=("src",), options=frozen(options))
    inputs: Mapping[str, DataFrame] = {"src": df}
    return plugin.apply(RunContext(spark=spark, project_root=Path("."), run_id="test"), stage, inputs)


@pytest.fixture
def sales(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(SALES, SALES_SCHEMA)


# --- pivot -------------------------------------------------------------------------------------


def test_pivot_makes_one_column_per_listed_value_and_leaves_other_values_out(sales: DataFrame, spark: SparkSession):
    result = run(
        spark,
        "pivot",
        sales,
        group_by=["shop"],
        pivot="month",
        values=["jan", "feb"],
        aggregations={"total": {"function": "sum", "column": "amount"}},
    )
    assert result.columns == ["shop", "jan", "feb"]
    # a: jan 10+5, feb 7; b: no jan, feb 1 (its mar row is not a listed value)
    assert rows(result) == [("a", 15, 7), ("b", None, 1)]


def test_pivot_with_two_aggregations_names_columns_value_then_aggregation(sales: DataFrame, spark: SparkSession):
    result = run(
        spark,
        "pivot",
        sales,
        group_by=["shop"],
        pivot="month",
        values=["jan", "mar"],
        aggregations={"total": {"function": "sum", "column": "amount"}, "n": {"function": "count"}},
    )
    assert result.columns == ["shop", "jan_total", "jan_n", "mar_total", "mar_n"]
    # a group with no row of a value gets null there, count included (Spark's pivot: no row, no aggregate)
    assert rows(result) == [("a", 15, 2, None, None), ("b", None, None, 100, 1)]


# --- unpivot -----------------------------------------------------------------------------------


def test_unpivot_makes_one_row_per_listed_column(spark: SparkSession):
    wide = spark.createDataFrame([("a", 1, 2, "x"), ("b", 3, None, "y")], "shop STRING, q1 INT, q2 INT, note STRING")
    result = run(
        spark, "unpivot", wide, ids=["shop"], values=["q1", "q2"], variable_column="quarter", value_column="sales"
    )
    assert result.columns == ["shop", "quarter", "sales"]
    assert rows(result) == [("a", "q1", 1), ("a", "q2", 2), ("b", "q1", 3), ("b", "q2", None)]


# --- explode -----------------------------------------------------------------------------------


@pytest.fixture
def baskets(spark: SparkSession) -> DataFrame:
    data = [(1, ["x", "y"], {"k": 1}), (2, [], {}), (3, None, None)]
    return spark.createDataFrame(data, "id INT, items ARRAY<STRING>, tags MAP<STRING, INT>")


def test_explode_makes_a_row_per_element_and_drops_empty_and_null_arrays(baskets: DataFrame, spark: SparkSession):
    result = run(spark, "explode", baskets, column="items", **{"as": "item"})
    assert result.columns == ["id", "tags", "item"]
    assert rows(result.select("id", "item")) == [(1, "x"), (1, "y")]


def test_explode_outer_with_position_keeps_empty_and_null_arrays(baskets: DataFrame, spark: SparkSession):
    result = run(spark, "explode", baskets.drop("tags"), column="items", outer=True, position="pos")
    assert result.columns == ["id", "pos", "items"]
    assert rows(result) == [(1, 0, "x"), (1, 1, "y"), (2, None, None), (3, None, None)]


def test_explode_of_a_map_makes_key_and_value_columns(baskets: DataFrame, spark: SparkSession):
    result = run(spark, "explode", baskets.drop("items"), column="tags", position="i", **{"as": ["tag", "weight"]})
    assert result.columns == ["id", "i", "tag", "weight"]
    assert rows(result) == [(1, 0, "k", 1)]


def test_explode_of_a_map_without_two_names_is_a_config_error(baskets: DataFrame, spark: SparkSession):
    with pytest.raises(ConfigError, match=r"column 'tags' is a map"):
        run(spark, "explode", baskets, column="tags")


# --- flatten -----------------------------------------------------------------------------------


@pytest.fixture
def nested(spark: SparkSession) -> DataFrame:
    schema = "id INT, customer STRUCT<name: STRING, address: STRUCT<city: STRING, zip: STRING>>, lines ARRAY<INT>"
    return spark.createDataFrame([(1, ("ann", ("Paris", "75001")), [1, 2]), (2, None, None)], schema)


def test_flatten_opens_every_struct_level_and_leaves_arrays(nested: DataFrame, spark: SparkSession):
    result = run(spark, "flatten", nested)
    assert result.columns == ["id", "customer_name", "customer_address_city", "customer_address_zip", "lines"]
    assert rows(result) == [(1, "ann", "Paris", "75001", [1, 2]), (2, None, None, None, None)]


def test_flatten_to_a_depth_with_a_separator_keeps_deeper_structs(nested: DataFrame, spark: SparkSession):
    result = run(spark, "flatten", nested, depth=1, separator="__")
    assert result.columns == ["id", "customer__name", "customer__address", "lines"]
    assert result.collect()[0]["customer__address"]["city"] == "Paris"


# --- fill_nulls --------------------------------------------------------------------------------


@pytest.fixture
def gaps(spark: SparkSession) -> DataFrame:
    data = [(1, None, None, None, None), (2, "FR", 2.5, 7, True)]
    return spark.createDataFrame(data, "id INT, country STRING, amount DOUBLE, qty INT, paid BOOLEAN")


def test_fill_nulls_by_column_then_by_type(gaps: DataFrame, spark: SparkSession):
    result = run(spark, "fill_nulls", gaps, values={"qty": 0}, by_type={"string": "??", "number": 1.5})
    # qty takes its own value; amount (double) takes 1.5; id has no null; paid (boolean) is not filled
    assert result.columns == ["id", "country", "amount", "qty", "paid"]
    assert rows(result) == [(1, "??", 1.5, 0, None), (2, "FR", 2.5, 7, True)]


def test_fill_nulls_refuses_a_value_of_another_type(gaps: DataFrame, spark: SparkSession):
    with pytest.raises(ConfigError, match=r"values\.amount is 'none'.*type double"):
        run(spark, "fill_nulls", gaps, values={"amount": "none"})


# --- case --------------------------------------------------------------------------------------


def test_case_maps_through_the_table_with_a_default(gaps: DataFrame, spark: SparkSession):
    more = gaps.union(spark.createDataFrame([(3, "US", None, None, None), (4, "it's", None, None, None)], gaps.schema))
    result = run(
        spark,
        "case",
        more.select("id", "country"),
        column="country",
        mapping={"FR": "Europe", "it's": "quoted", "US": "America"},
        default="other",
        output="region",
    )
    assert result.columns == ["id", "country", "region"]
    assert rows(result) == [(1, None, "other"), (2, "FR", "Europe"), (3, "US", "America"), (4, "it's", "quoted")]


def test_case_without_output_replaces_the_column_and_defaults_to_null(gaps: DataFrame, spark: SparkSession):
    result = run(spark, "case", gaps.select("id", "qty"), column="qty", mapping={7: "seven"})
    assert result.columns == ["id", "qty"]
    assert rows(result) == [(1, None), (2, "seven")]


def test_explode_into_the_name_of_another_column_is_a_config_error(baskets: DataFrame, spark: SparkSession):
    with pytest.raises(ConfigError, match=r"'id' is already a column"):
        run(spark, "explode", baskets, column="items", **{"as": "id"})


def test_case_keys_written_as_text_are_compared_as_the_column_s_type(gaps: DataFrame, spark: SparkSession):
    # keys arrive from YAML as text: "7.0" matches 7 in an INT column, "true" the boolean true
    result = run(spark, "case", gaps.select("id", "qty"), column="qty", mapping={"7.0": "seven"})
    assert rows(result) == [(1, None), (2, "seven")]
    paid = run(spark, "case", gaps.select("id", "paid"), column="paid", mapping={"true": "yes"}, default="no")
    assert rows(paid) == [(1, "no"), (2, "yes")]


def test_case_key_that_is_no_number_for_a_numeric_column_is_a_config_error(gaps: DataFrame, spark: SparkSession):
    with pytest.raises(ConfigError, match=r"mapping key 'FR' is not a number, but column 'qty' is int"):
        run(spark, "case", gaps, column="qty", mapping={"FR": "seven"})


def test_fill_nulls_by_type_leaves_integer_columns_a_fraction_does_not_fit(gaps: DataFrame, spark: SparkSession):
    result = run(spark, "fill_nulls", gaps.select("id", "amount", "qty"), by_type={"number": 1.5})
    assert rows(result) == [(1, 1.5, None), (2, 2.5, 7)]


def test_flatten_of_a_listed_column_that_is_no_struct_is_a_config_error(nested: DataFrame, spark: SparkSession):
    with pytest.raises(ConfigError, match=r"columns lists 'lines', which is array<int>, not a struct"):
        run(spark, "flatten", nested, columns=["customer", "lines"])
