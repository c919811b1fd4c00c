"""Built-in transforms on small hand-written DataFrames; expected rows are worked out by hand."""

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

ORDERS_SCHEMA = "id INT, customer STRING, country STRING, amount DOUBLE"
ORDERS = [
    (1, "alice", "FR", 10.0),
    (2, "bob", "DE", 20.0),
    (3, "alice", "FR", 5.0),
    (4, "carol", "US", 7.5),
    (5, "bob", "DE", 2.5),
]
CUSTOMERS_SCHEMA = "customer STRING, tier STRING"
CUSTOMERS = [("alice", "gold"), ("bob", "silver"), ("dave", "bronze")]


def run(spark: SparkSession, type_name: str, inputs: Mapping[str, DataFrame], **options: Any) -> DataFrame:
    """Apply the registered transform ``type_name`` to ``inputs`` (a stage named ``t``)."""
    plugin = REGISTRY.get("transform", type_name)()
    assert isinstance(plugin, Transform)
    stage = StageSpec(name="t", kind="transform", type=type_name, inputs=tuple(inputs), options=frozen(options))
    return plugin.apply(RunContext(spark=spark, project_root=Path("."), run_id="test"), stage, inputs)


@pytest.fixture
def orders(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(ORDERS, ORDERS_SCHEMA)


@pytest.fixture
def customers(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(CUSTOMERS, CUSTOMERS_SCHEMA)


# --- sql -------------------------------------------------------------------------------------


def test_sql_reads_every_input_under_its_stage_name(spark: SparkSession, orders: DataFrame, customers: DataFrame):
    query = """
        SELECT customers.tier, sum(orders.amount) AS total
        FROM orders JOIN customers ON orders.customer = customers.customer
        GROUP BY customers.tier
    """
    result = run(spark, "sql", {"orders": orders, "customers": customers}, query=query)
    assert rows(result) == [("gold", 15.0), ("silver", 22.5)]


def test_sql_with_an_unknown_column_is_a_config_error_naming_the_stage(spark: SparkSession, orders: DataFrame):
    with pytest.raises(ConfigError, match=r"invalid query in transform 't' \(sql\).*amout"):
        run(spark, "sql", {"orders": orders}, query="SELECT amout FROM orders")


# --- select, filter, derive ------------------------------------------------------------------


def test_select_keeps_names_and_computes_expressions(spark: SparkSession, orders: DataFrame):
    result = run(spark, "select", {"orders": orders}, columns=["id", "amount * 2 AS double_amount"])
    assert result.columns == ["id", "double_amount"]
    assert rows(result) == [(1, 20.0), (2, 40.0), (3, 10.0), (4, 15.0), (5, 5.0)]


def test_select_applies_columns_then_drop_then_rename_then_cast(spark: SparkSession, orders: DataFrame):
    result = run(
        spark,
        "select",
        {"orders": orders},
        columns=["id", "customer", "amount"],
        drop=["customer"],
        rename={"amount": "total"},
        cast={"total": "INT", "id": "STRING"},
    )
    assert result.dtypes == [("id", "string"), ("total", "int")]
    assert rows(result) == [("1", 10), ("2", 20), ("3", 5), ("4", 7), ("5", 2)]


def test_select_rejects_renaming_a_missing_column_with_a_suggestion(spark: SparkSession, orders: DataFrame):
    with pytest.raises(ConfigError, match="rename names no column 'amout'") as raised:
        run(spark, "select", {"orders": orders}, rename={"amout": "total"})
    assert raised.value.hint == "did you mean 'amount'?"


def test_filter_keeps_rows_where_the_condition_holds(spark: SparkSession, orders: DataFrame):
    result = run(spark, "filter", {"orders": orders}, condition="amount >= 10 OR customer = 'carol'")
    assert [r[0] for r in rows(result)] == [1, 2, 4]


def test_filter_with_a_syntax_error_is_a_config_error(spark: SparkSession, orders: DataFrame):
    with pytest.raises(ConfigError, match="invalid condition"):
        run(spark, "filter", {"orders": orders}, condition="amount >")


def test_derive_computes_columns_in_order_so_later_ones_use_earlier_ones(spark: SparkSession, orders: DataFrame):
    result = run(spark, "derive", {"orders": orders}, columns={"half": "amount / 2", "half_plus_one": "half + 1"})
    assert [(r.id, r.half, r.half_plus_one) for r in result.orderBy("id").collect()] == [
        (1, 5.0, 6.0),
        (2, 10.0, 11.0),
        (3, 2.5, 3.5),
        (4, 3.75, 4.75),
        (5, 1.25, 2.25),
    ]


def test_derive_replaces_an_existing_column(spark: SparkSession, orders: DataFrame):
    result = run(spark, "derive", {"orders": orders}, columns={"customer": "upper(customer)"})
    assert result.columns == ["id", "customer", "country", "amount"]
    assert sorted({r.customer for r in result.collect()}) == ["ALICE", "BOB", "CAROL"]


# --- aggregate -------------------------------------------------------------------------------


def test_aggregate_groups_and_computes_functions(spark: SparkSession, orders: DataFrame):
    result = run(
        spark,
        "aggregate",
        {"orders": orders},
        group_by=["customer"],
        aggregations={
            "orders": {"function": "count"},
            "total": {"function": "sum", "column": "amount"},
            "average": {"function": "avg", "column": "amount"},
            "smallest": {"function": "min", "column": "amount"},
            "largest": {"function": "max", "column": "amount"},
            "doubled": {"expr": "sum(amount * 2)"},
        },
    )
    assert result.columns == ["customer", "orders", "total", "average", "smallest", "largest", "doubled"]
    assert rows(result) == [
        ("alice", 2, 15.0, 7.5, 5.0, 10.0, 30.0),
        ("bob", 2, 22.5, 11.25, 2.5, 20.0, 45.0),
        ("carol", 1, 7.5, 7.5, 7.5, 7.5, 15.0),
    ]


def test_aggregate_without_group_by_gives_one_row_of_totals(spark: SparkSession, orders: DataFrame):
    result = run(
        spark,
        "aggregate",
        {"orders": orders},
        aggregations={
            "rows": {"function": "count"},
            "customers": {"function": "count_distinct", "column": "customer"},
            "approx_customers": {"function": "approx_count_distinct", "column": "customer"},
            "total": {"function": "sum", "column": "amount"},
        },
    )
    assert rows(result) == [(5, 3, 3, 45.0)]


def test_aggregate_collects_values_and_computes_spread(spark: SparkSession, orders: DataFrame):
    result = run(
        spark,
        "aggregate",
        {"orders": orders},
        group_by=["country"],
        aggregations={
            "customers": {"function": "collect_set", "column": "customer"},
            "amounts": {"function": "collect_list", "column": "amount"},
            "variance": {"function": "variance", "column": "amount"},
            "stddev": {"function": "stddev", "column": "amount"},
        },
    )
    germany = result.filter("country = 'DE'").first()
    assert germany is not None
    assert germany.customers == ["bob"]
    assert sorted(germany.amounts) == [2.5, 20.0]
    # sample variance of 20 and 2.5: mean 11.25, ((8.75)^2 + (8.75)^2) / 1 = 153.125
    assert germany.variance == pytest.approx(153.125)
    assert germany.stddev == pytest.approx(12.3743686)


def test_aggregate_first_and_last_take_a_value_of_the_group(spark: SparkSession, orders: DataFrame):
    result = run(
        spark,
        "aggregate",
        {"orders": orders},
        group_by=["customer"],
        aggregations={
            "first_country": {"function": "first", "column": "country"},
            "last_country": {"function": "last", "column": "country"},
        },
    )
    assert rows(result) == [("alice", "FR", "FR"), ("bob", "DE", "DE"), ("carol", "US", "US")]


# --- join ------------------------------------------------------------------------------------


def _join(spark: SparkSession, orders: DataFrame, customers: DataFrame, **options: Any) -> DataFrame:
    return run(spark, "join", {"orders": orders, "customers": customers}, **options)


def test_inner_join_on_a_shared_column_keeps_one_key_column(
    spark: SparkSession, orders: DataFrame, customers: DataFrame
):
    result = _join(spark, orders, customers, on=["customer"])
    assert result.columns == ["customer", "id", "country", "amount", "tier"]
    assert rows(result) == [
        ("alice", 1, "FR", 10.0, "gold"),
        ("alice", 3, "FR", 5.0, "gold"),
        ("bob", 2, "DE", 20.0, "silver"),
        ("bob", 5, "DE", 2.5, "silver"),
    ]


def test_left_join_keeps_unmatched_left_rows(spark: SparkSession, orders: DataFrame, customers: DataFrame):
    result = _join(spark, orders, customers, on=["customer"], how="left")
    assert [(r.id, r.tier) for r in result.orderBy("id").collect()] == [
        (1, "gold"),
        (2, "silver"),
        (3, "gold"),
        (4, None),
        (5, "silver"),
    ]


def test_right_join_keeps_unmatched_right_rows(spark: SparkSession, orders: DataFrame, customers: DataFrame):
    result = _join(spark, orders, customers, on=["customer"], how="right")
    assert rows(result.select("customer", "id")) == [("alice", 1), ("alice", 3), ("bob", 2), ("bob", 5), ("dave", None)]


def test_full_join_keeps_both_sides_and_merges_the_key(spark: SparkSession, orders: DataFrame, customers: DataFrame):
    result = _join(spark, orders, customers, on=["customer"], how="full")
    assert rows(result.select("customer", "id", "tier")) == [
        ("alice", 1, "gold"),
        ("alice", 3, "gold"),
        ("bob", 2, "silver"),
        ("bob", 5, "silver"),
        ("carol", 4, None),
        ("dave", None, "bronze"),
    ]


def test_left_semi_join_keeps_left_rows_with_a_match_and_only_left_columns(
    spark: SparkSession, orders: DataFrame, customers: DataFrame
):
    result = _join(spark, orders, customers, on=["customer"], how="left_semi")
    assert result.columns == ["customer", "id", "country", "amount"]
    assert sorted(r.id for r in result.collect()) == [1, 2, 3, 5]


def test_left_anti_join_keeps_left_rows_without_a_match(spark: SparkSession, orders: DataFrame, customers: DataFrame):
    result = _join(spark, orders, customers, on=["customer"], how="left_anti")
    assert rows(result) == [("carol", 4, "US", 7.5)]


def test_cross_join_pairs_every_row(spark: SparkSession):
    sizes = spark.createDataFrame([("S",), ("M",)], "size STRING")
    colours = spark.createDataFrame([("red",), ("blue",)], "colour STRING")
    result = run(spark, "join", {"sizes": sizes, "colours": colours}, how="cross")
    assert rows(result) == [("M", "blue"), ("M", "red"), ("S", "blue"), ("S", "red")]


def test_join_condition_names_inputs_by_stage_and_keeps_both_sides(
    spark: SparkSession, orders: DataFrame, customers: DataFrame
):
    condition = "orders.customer = customers.customer AND orders.amount > 6"
    result = _join(spark, orders, customers, condition=condition)
    assert result.columns == ["id", "customer", "country", "amount", "customer", "tier"]
    assert [(r[0], r[5]) for r in rows(result)] == [(1, "gold"), (2, "silver")]


def test_join_of_three_inputs_uses_each_steps_settings(spark: SparkSession, orders: DataFrame, customers: DataFrame):
    notes = spark.createDataFrame([("alice", "vip"), ("dave", "new")], "name STRING, note STRING")
    result = run(
        spark,
        "join",
        {"orders": orders, "customers": customers, "notes": notes},
        how="full",
        on=["customer"],
        joins=[{}, {"how": "left", "condition": "customers.customer = notes.name"}],
    )
    assert rows(result.select("customer", "id", "tier", "note")) == [
        ("alice", 1, "gold", "vip"),
        ("alice", 3, "gold", "vip"),
        ("bob", 2, "silver", None),
        ("bob", 5, "silver", None),
        ("carol", 4, None, None),
        ("dave", None, "bronze", "new"),
    ]


def test_join_with_a_joins_list_of_the_wrong_length_is_a_config_error(
    spark: SparkSession, orders: DataFrame, customers: DataFrame
):
    with pytest.raises(ConfigError, match="joins has 2 entries for 2 inputs"):
        _join(spark, orders, customers, on=["customer"], joins=[{}, {}])


def test_join_on_a_key_one_side_lacks_is_a_config_error_naming_the_stage(
    spark: SparkSession, orders: DataFrame, customers: DataFrame
):
    with pytest.raises(ConfigError, match=r"invalid join in transform 't'.*`region`"):
        _join(spark, orders, customers, on=["region"])


def test_single_key_join_gives_the_columns_and_rows_of_its_sql_using_join(
    spark: SparkSession, orders: DataFrame, customers: DataFrame
):
    orders.createOrReplaceTempView("o")
    customers.createOrReplaceTempView("c")
    for how, keywords in (("inner", "JOIN"), ("full", "FULL OUTER JOIN"), ("left_anti", "LEFT ANTI JOIN")):
        expected = spark.sql(f"SELECT * FROM o {keywords} c USING (customer)")
        result = _join(spark, orders, customers, on=["customer"], how=how)
        assert result.columns == expected.columns, how
        assert rows(result) == rows(expected), how


# --- union -----------------------------------------------------------------------------------


def test_union_matches_columns_by_name(spark: SparkSession):
    first = spark.createDataFrame([(1, "a")], "id INT, name STRING")
    second = spark.createDataFrame([("b", 2)], "name STRING, id INT")
    result = run(spark, "union", {"first": first, "second": second})
    assert result.columns == ["id", "name"]
    assert rows(result) == [(1, "a"), (2, "b")]


def test_union_by_name_fills_missing_columns_with_nulls_when_allowed(spark: SparkSession):
    first = spark.createDataFrame([(1, "a")], "id INT, name STRING")
    second = spark.createDataFrame([(2, 9.5)], "id INT, score DOUBLE")
    result = run(spark, "union", {"first": first, "second": second}, allow_missing_columns=True)
    assert result.columns == ["id", "name", "score"]
    assert rows(result) == [(1, "a", None), (2, None, 9.5)]


def test_union_by_name_with_a_missing_column_fails_unless_allowed(spark: SparkSession):
    first = spark.createDataFrame([(1, "a")], "id INT, name STRING")
    second = spark.createDataFrame([(2,)], "id INT")
    with pytest.raises(ConfigError, match="invalid union"):
        run(spark, "union", {"first": first, "second": second})


def test_union_by_position_ignores_names_and_keeps_duplicates(spark: SparkSession):
    first = spark.createDataFrame([(1, "a")], "id INT, name STRING")
    second = spark.createDataFrame([(1, "a"), (2, "b")], "number INT, label STRING")
    third = spark.createDataFrame([(3, "c")], "x INT, y STRING")
    result = run(spark, "union", {"first": first, "second": second, "third": third}, by_name=False)
    assert result.columns == ["id", "name"]
    assert rows(result) == [(1, "a"), (1, "a"), (2, "b"), (3, "c")]


def test_union_distinct_removes_duplicate_rows(spark: SparkSession):
    first = spark.createDataFrame([(1, "a"), (2, "b")], "id INT, name STRING")
    second = spark.createDataFrame([(2, "b"), (3, "c")], "id INT, name STRING")
    result = run(spark, "union", {"first": first, "second": second}, distinct=True)
    assert rows(result) == [(1, "a"), (2, "b"), (3, "c")]


# --- deduplicate -----------------------------------------------------------------------------

UPDATES_SCHEMA = "id INT, status STRING, updated_at INT"
UPDATES = [(1, "new", 1), (1, "paid", 3), (1, "sent", 2), (2, "new", 5), (2, "void", None), (3, "new", 1)]


def test_deduplicate_keeps_the_latest_row_per_key(spark: SparkSession):
    updates = spark.createDataFrame(UPDATES, UPDATES_SCHEMA)
    result = run(spark, "deduplicate", {"updates": updates}, keys=["id"], order_by=["updated_at desc nulls last"])
    assert result.columns == ["id", "status", "updated_at"]
    assert rows(result) == [(1, "paid", 3), (2, "new", 5), (3, "new", 1)]


def test_deduplicate_order_by_decides_where_nulls_go(spark: SparkSession):
    updates = spark.createDataFrame(UPDATES, UPDATES_SCHEMA)
    result = run(spark, "deduplicate", {"updates": updates}, keys=["id"], order_by=["updated_at desc nulls first"])
    assert rows(result) == [(1, "paid", 3), (2, "void", None), (3, "new", 1)]


def test_deduplicate_without_order_by_keeps_one_row_per_key(spark: SparkSession):
    updates = spark.createDataFrame(UPDATES, UPDATES_SCHEMA)
    result = run(spark, "deduplicate", {"updates": updates}, keys=["id"])
    kept = result.collect()
    assert sorted(r.id for r in kept) == [1, 2, 3]
    assert {(r.id, r.status, r.updated_at) for r in kept} <= set(UPDATES)


def test_deduplicate_on_several_keys(spark: SparkSession, orders: DataFrame):
    result = run(spark, "deduplicate", {"orders": orders}, keys=["customer", "country"], order_by=["amount"])
    assert rows(result) == [(3, "alice", "FR", 5.0), (4, "carol", "US", 7.5), (5, "bob", "DE", 2.5)]


# --- window ----------------------------------------------------------------------------------

SCORES_SCHEMA = "team STRING, player STRING, score INT"
SCORES = [("a", "ann", 10), ("a", "abe", 20), ("a", "amy", 20), ("a", "al", 30), ("b", "bo", 5)]


def test_window_ranks_with_ties(spark: SparkSession):
    scores = spark.createDataFrame(SCORES, SCORES_SCHEMA)
    result = run(
        spark,
        "window",
        {"scores": scores},
        partition_by=["team"],
        order_by=["score desc"],
        columns={"rank": {"function": "rank"}, "dense": {"function": "dense_rank"}},
    )
    assert rows(result) == [
        ("a", "abe", 20, 2, 2),
        ("a", "al", 30, 1, 1),
        ("a", "amy", 20, 2, 2),
        ("a", "ann", 10, 4, 3),
        ("b", "bo", 5, 1, 1),
    ]


def test_window_row_number_and_ntile_number_rows_in_order(spark: SparkSession):
    scores = spark.createDataFrame(SCORES, SCORES_SCHEMA)
    result = run(
        spark,
        "window",
        {"scores": scores},
        partition_by=["team"],
        order_by=["score", "player"],
        columns={"n": {"function": "row_number"}, "half": {"function": "ntile", "n": 2}},
    )
    assert [(r.player, r.n, r.half) for r in result.orderBy("team", "n").collect()] == [
        ("ann", 1, 1),
        ("abe", 2, 1),
        ("amy", 3, 2),
        ("al", 4, 2),
        ("bo", 1, 1),
    ]


def test_window_lag_and_lead_read_neighbouring_rows_with_a_default(spark: SparkSession):
    days = spark.createDataFrame([(1, 10), (2, 15), (3, 12)], "day INT, amount INT")
    result = run(
        spark,
        "window",
        {"days": days},
        order_by=["day"],
        columns={
            "previous": {"function": "lag", "column": "amount", "default": 0},
            "two_ahead": {"function": "lead", "column": "amount", "offset": 2},
        },
    )
    assert rows(result) == [(1, 10, 0, 12), (2, 15, 10, None), (3, 12, 15, None)]


def test_window_running_total_adds_tied_rows_one_by_one(spark: SparkSession):
    sales = spark.createDataFrame([(1, 10), (2, 5), (2, 5), (3, 20)], "day INT, amount INT")
    result = run(
        spark,
        "window",
        {"sales": sales},
        order_by=["day"],
        columns={"running": {"function": "sum", "column": "amount"}},
    )
    assert sorted((r.day, r.running) for r in result.collect()) == [(1, 10), (2, 15), (2, 20), (3, 40)]


def test_window_range_frame_gives_tied_rows_the_same_total(spark: SparkSession):
    sales = spark.createDataFrame([(1, 10), (2, 5), (2, 5), (3, 20)], "day INT, amount INT")
    frame = {"type": "range", "start": "unbounded", "end": "current"}
    result = run(
        spark,
        "window",
        {"sales": sales},
        order_by=["day"],
        columns={"running": {"function": "sum", "column": "amount", "frame": frame}},
    )
    assert sorted((r.day, r.running) for r in result.collect()) == [(1, 10), (2, 20), (2, 20), (3, 40)]


def test_window_rows_frame_computes_a_moving_average(spark: SparkSession):
    days = spark.createDataFrame([(1, 10), (2, 20), (3, 60), (4, 0)], "day INT, amount INT")
    result = run(
        spark,
        "window",
        {"days": days},
        order_by=["day"],
        columns={"avg2": {"function": "avg", "column": "amount", "frame": {"start": -1, "end": "current"}}},
    )
    assert rows(result) == [(1, 10, 10.0), (2, 20, 15.0), (3, 60, 40.0), (4, 0, 30.0)]


def test_window_aggregate_without_order_by_covers_the_whole_partition(spark: SparkSession):
    scores = spark.createDataFrame(SCORES, SCORES_SCHEMA)
    result = run(
        spark,
        "window",
        {"scores": scores},
        partition_by=["team"],
        columns={"team_total": {"function": "sum", "column": "score"}, "players": {"function": "count"}},
    )
    assert sorted((r.player, r.team_total, r.players) for r in result.collect()) == [
        ("abe", 80, 4),
        ("al", 80, 4),
        ("amy", 80, 4),
        ("ann", 80, 4),
        ("bo", 5, 1),
    ]
