"""``sort`` (and its top-N ``limit``), ``limit`` and ``sample`` on small hand-written DataFrames.

Expected rows are written by hand or computed with plain Python over the same rows; the plan tests
read Spark's physical plan to show that a top-N never gathers every row into one partition.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from etl_cli import app
from etl_cli.events import Reporter
from etl_cli.runtime.execution.run import execute_run
from tests.clihelp import REPO
from tests.spark.test_transforms import run

SCORES_SCHEMA = "player STRING, team STRING, points INT"
SCORES = [("ann", "red", 7), ("bob", "blue", None), ("cid", "red", 12), ("dan", "blue", 7), ("eve", "red", 3)]


def scores(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(SCORES, SCORES_SCHEMA)


def physical_plan(df: DataFrame) -> str:
    return str(df._jdf.queryExecution().executedPlan().toString())


def test_sort_orders_by_each_key_in_turn_with_its_direction_and_nulls(spark: SparkSession) -> None:
    result = run(spark, "sort", {"scores": scores(spark)}, order_by=["points desc nulls last", "player"])
    assert [r.player for r in result.collect()] == ["cid", "ann", "dan", "eve", "bob"]


def test_nulls_come_first_in_ascending_order_unless_told_otherwise(spark: SparkSession) -> None:
    first = run(spark, "sort", {"scores": scores(spark)}, order_by=["points", "player"])
    last = run(spark, "sort", {"scores": scores(spark)}, order_by=["points asc nulls last", "player"])
    assert [r.player for r in first.collect()] == ["bob", "eve", "ann", "dan", "cid"]
    assert [r.player for r in last.collect()] == ["eve", "ann", "dan", "cid", "bob"]


def test_sort_with_limit_keeps_the_top_n_rows_in_order(spark: SparkSession) -> None:
    rows = [(i, (i * 7919) % 1000) for i in range(1, 201)]
    df = spark.createDataFrame(rows, "id INT, score INT").repartition(4)
    result = run(spark, "sort", {"df": df}, order_by=["score desc", "id"], limit=5)
    expected = sorted(rows, key=lambda r: (-r[1], r[0]))[:5]
    assert [(r.id, r.score) for r in result.collect()] == expected


def test_a_top_n_over_ten_million_rows_is_planned_as_a_top_k_without_a_single_partition_exchange(
    spark: SparkSession,
) -> None:
    df = spark.range(10_000_000).selectExpr("id", "id * 7919 % 10000019 AS score")
    top = run(spark, "sort", {"df": df}, order_by=["score desc"], limit=10)
    written = top.selectExpr("id", "score")  # what a sink writes: the top-K stays a top-K below a projection
    for plan in (physical_plan(top), physical_plan(written)):
        assert "TakeOrderedAndProject(limit=10" in plan
        assert "SinglePartition" not in plan
        assert "Sort [" not in plan  # no full sort of the ten million rows


def test_a_sort_without_limit_range_partitions_the_rows(spark: SparkSession) -> None:
    df = spark.range(1000)
    plan = physical_plan(run(spark, "sort", {"df": df}, order_by=["id desc"]))
    assert "Exchange rangepartitioning(id#" in plan
    assert "TakeOrderedAndProject" not in plan


def test_limit_keeps_n_of_the_input_rows(spark: SparkSession) -> None:
    result = run(spark, "limit", {"scores": scores(spark)}, n=2).collect()
    assert len(result) == 2
    assert {tuple(r) for r in result} <= set(SCORES)


def test_limit_above_the_row_count_keeps_every_row(spark: SparkSession) -> None:
    result = run(spark, "limit", {"scores": scores(spark)}, n=100)
    assert sorted(map(tuple, result.collect()), key=str) == sorted(SCORES, key=str)


def test_sample_with_a_seed_keeps_the_same_rows_of_the_same_input(spark: SparkSession) -> None:
    df = spark.range(0, 2000, numPartitions=4)
    first = {r.id for r in run(spark, "sample", {"df": df}, fraction=0.1, seed=42).collect()}
    again = {r.id for r in run(spark, "sample", {"df": df}, fraction=0.1, seed=42).collect()}
    other = {r.id for r in run(spark, "sample", {"df": df}, fraction=0.1, seed=43).collect()}
    assert first == again
    assert first != other
    assert first <= set(range(2000))


def test_sample_keeps_each_row_with_the_fraction_as_probability(spark: SparkSession) -> None:
    df = spark.range(0, 10_000, numPartitions=4)
    kept = run(spark, "sample", {"df": df}, fraction=0.25, seed=7).count()
    # binomial(10000, 0.25): mean 2500, standard deviation 43.3; five deviations either side
    assert 2500 - 217 <= kept <= 2500 + 217


def test_sample_without_replacement_keeps_each_row_at_most_once(spark: SparkSession) -> None:
    ids = [r.id for r in run(spark, "sample", {"df": spark.range(1000)}, fraction=1.0, seed=1).collect()]
    assert sorted(ids) == list(range(1000))


def test_sample_with_replacement_may_pick_a_row_several_times(spark: SparkSession) -> None:
    df = spark.range(0, 1000, numPartitions=2)
    ids = [r.id for r in run(spark, "sample", {"df": df}, fraction=2.0, seed=5, with_replacement=True).collect()]
    # Poisson(2) picks per row: 2000 expected, standard deviation 44.7
    assert 2000 - 224 <= len(ids) <= 2000 + 224
    assert len(set(ids)) < len(ids)


def test_the_top_customers_example_writes_the_three_biggest_spenders_highest_first(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    out = tmp_path / "top"
    _, spec = app.load_spec(REPO / "pipelines" / "top_customers", None, [f"vars.output_dir={out}"])
    execute_run(spec, app.registry(), Reporter(), app.new_run_id(), results_dir=tmp_path / "results", session=spark)

    [part] = out.glob("part-*.csv")
    # totals of pipelines/top_customers/data/orders.csv by hand: dave 200+5, bob 80+95.10, alice 120.50+30,
    # carol 45.25+60, erin 15+10
    assert part.read_text().splitlines() == [
        "customer,total_spent,orders,last_order",
        "dave,205.00,2,2026-11-08",
        "bob,175.10,2,2026-11-06",
        "alice,150.50,2,2026-11-05",
    ]
