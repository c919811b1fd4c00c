"""Each check type on hand-written rows; expected failures are counted by hand in the comments.

The evaluator is driven directly (no pipeline file): a DataFrame, a few checks, the verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import ConfigError
from etl_cli.model.quality import check_from_item
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.quality.base import Check
from etl_cli.plugins.registry import REGISTRY
from etl_cli.runtime.safeguards.quality.evaluate import CheckedStage, quality_job_group, quality_samples_job_group
from etl_cli.runtime.safeguards.quality.report import CheckResult, StageQuality

SCHEMA = "id INT, email STRING, amount DOUBLE, status STRING, customer_id INT"
ROWS = [
    (1, "a@x.com", 10.0, "paid", 10),
    (2, None, -1.0, "paid", 11),
    (3, "bad", 100.0, "new", 99),
    (3, "c@x.com", None, "lost", None),
    (None, "d@x.com", 50.0, None, 10),
]


@pytest.fixture
def orders(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(ROWS, SCHEMA)


def checked(df: DataFrame, *items: dict[str, Any], sensitive: frozenset[str] = frozenset()) -> CheckedStage:
    checks = []
    for item in items:
        check = check_from_item({"stage": "orders", **item})
        plugin = REGISTRY.get("check", check.type)()
        assert isinstance(plugin, Check)
        checks.append((check, plugin))
    return CheckedStage(StageSpec("orders", "source", "csv", (), {}), checks, sensitive)


def evaluate(
    df: DataFrame, *items: dict[str, Any], frames: Mapping[str, DataFrame] | None = None
) -> tuple[dict[str, CheckResult], StageQuality, DataFrame]:
    stage = checked(df, *items)
    output = stage.build(df)
    results, quality = stage.evaluate(frames or {"orders": df})
    return {r.name: r for r in results}, quality, output


def ids(df: DataFrame) -> list[int | None]:
    return sorted((r["id"] for r in df.collect()), key=lambda v: (v is not None, v))


def test_not_null_fails_rows_with_a_null_in_any_listed_column(orders: DataFrame) -> None:
    # id null: row 5; email null: row 2
    results, _, _ = evaluate(orders, {"name": "c", "type": "not_null", "columns": ["id", "email"]})
    assert (results["c"].rows_evaluated, results["c"].rows_failed) == (5, 2)
    assert results["c"].outcome == "warned"


def test_range_respects_inclusive_flags_and_lets_nulls_pass(orders: DataFrame) -> None:
    # amounts 10, -1, 100, null, 50 within [0, 100): -1 and 100 fail, null passes
    results, _, _ = evaluate(
        orders,
        {"name": "half_open", "type": "range", "column": "amount", "min": 0, "max": 100, "max_inclusive": False},
        {"name": "closed", "type": "range", "column": "amount", "min": 0, "max": 100},
        {"name": "above_ten", "type": "range", "column": "amount", "min": 10, "min_inclusive": False},
    )
    assert results["half_open"].rows_failed == 2
    assert results["closed"].rows_failed == 1  # only -1
    assert results["above_ten"].rows_failed == 2  # 10 (exclusive) and -1


def test_regex_searches_the_text_and_lets_nulls_pass(orders: DataFrame) -> None:
    # a@x.com, null, bad, c@x.com, d@x.com: only "bad" fails
    results, _, _ = evaluate(orders, {"name": "c", "type": "regex", "column": "email", "pattern": "^[^@]+@[^@]+$"})
    assert results["c"].rows_failed == 1
    assert results["c"].samples == [{"id": 3, "email": "bad", "amount": 100.0, "status": "new", "customer_id": 99}]


def test_an_invalid_regex_is_blamed_on_its_check(orders: DataFrame) -> None:
    stage = checked(orders, {"name": "broken", "type": "regex", "column": "email", "pattern": "(unclosed"})
    with pytest.raises(
        ConfigError, match="check 'broken' \\(regex\\) on stage 'orders': invalid regular expression: Unclosed group"
    ):
        stage.build(orders)


def test_accepted_values(orders: DataFrame) -> None:
    # paid, paid, new, lost, null: "lost" fails
    results, _, _ = evaluate(
        orders, {"name": "c", "type": "accepted_values", "column": "status", "values": ["paid", "new"]}
    )
    assert results["c"].rows_failed == 1


def test_expression_fails_false_and_null(orders: DataFrame) -> None:
    # amount * 2 < 150: 20 yes, -2 yes, 200 no, null -> null (fails), 100 yes
    results, _, _ = evaluate(orders, {"name": "c", "type": "expression", "expression": "amount * 2 < 150"})
    assert results["c"].rows_failed == 2


def test_a_check_on_an_unknown_column_is_a_config_error_naming_the_check(orders: DataFrame) -> None:
    with pytest.raises(ConfigError, match="check 'c' \\(not_null\\) on stage 'orders' cannot be evaluated"):
        checked(orders, {"name": "c", "type": "not_null", "columns": ["nope"]}).build(orders)


def test_unique_counts_the_rows_beyond_the_first_of_each_key(orders: DataFrame) -> None:
    # ids 1, 2, 3, 3, null: keys {1, 2, 3, null}, so one extra row; (id, status) has no duplicate
    results, _, _ = evaluate(
        orders,
        {"name": "ids", "type": "unique", "columns": ["id"]},
        {"name": "pairs", "type": "unique", "columns": ["id", "status"]},
    )
    assert (results["ids"].rows_failed, results["ids"].observed) == (1, {"distinct_keys": 4})
    assert results["ids"].outcome == "warned"
    assert (results["pairs"].rows_failed, results["pairs"].outcome) == (0, "passed")


def test_row_count_bounds(orders: DataFrame) -> None:
    results, _, _ = evaluate(
        orders,
        {"name": "enough", "type": "row_count", "min": 5, "max": 5},
        {"name": "too_few", "type": "row_count", "min": 6, "action": "fail"},
    )
    assert results["enough"].outcome == "passed"
    assert results["too_few"].outcome == "failed"
    assert results["too_few"].observed == {"rows": 5}
    assert results["too_few"].rows_failed is None


def test_freshness_compares_the_newest_timestamp_with_max_age(spark: SparkSession) -> None:
    newest = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=25)  # the session's time zone is UTC
    df = spark.createDataFrame([(1, newest - timedelta(days=3)), (2, newest)], "id INT, ts TIMESTAMP")
    results, _, _ = evaluate(
        df,
        {"name": "fresh", "type": "freshness", "column": "ts", "max_age": "2 days"},
        {"name": "stale", "type": "freshness", "column": "ts", "max_age": "1 day"},
    )
    assert results["fresh"].outcome == "passed"
    assert results["stale"].outcome == "warned"
    assert 25 * 3600 - 5 <= results["stale"].observed["age_s"] <= 25 * 3600 + 120


def test_an_empty_stage_is_not_fresh(spark: SparkSession) -> None:
    df = spark.createDataFrame([], "id INT, ts TIMESTAMP")
    results, _, _ = evaluate(df, {"name": "fresh", "type": "freshness", "column": "ts", "max_age": "2 days"})
    assert results["fresh"].outcome == "warned"


def test_relationships_count_rows_whose_key_is_missing_in_the_other_stage(
    spark: SparkSession, orders: DataFrame
) -> None:
    # customer ids 10, 11, 99, null, 10 against customers 10, 11 (10 listed twice): only 99 is an orphan
    customers = spark.createDataFrame([(10,), (11,), (10,)], "id INT")
    results, quality, _ = evaluate(
        orders,
        {"name": "known", "type": "relationships", "column": "customer_id", "to": "customers", "to_column": "id"},
        frames={"orders": orders, "customers": customers},
    )
    assert (results["known"].rows_failed, results["known"].samples) == (1, ["99"])
    assert quality.rows_evaluated == 5, "the join to the other stage adds no rows"


def test_drop_and_quarantine_remove_failing_rows_from_the_output(orders: DataFrame) -> None:
    stage = checked(
        orders,
        {"name": "emails", "type": "regex", "column": "email", "pattern": "@", "action": "drop"},  # drops id 3 "bad"
        {"name": "amounts", "type": "range", "column": "amount", "min": 0, "action": "quarantine"},  # id 2
        {"name": "known", "type": "accepted_values", "column": "status", "values": ["paid"], "action": "quarantine"},
        {"name": "noted", "type": "not_null", "columns": ["id"]},  # warn: row 5 stays
    )
    output = stage.build(orders)
    assert ids(output) == [None, 1], "kept: row 1 and the null-id row (status null passes accepted_values)"
    assert stage.persisted
    quarantined = stage.quarantined()
    assert quarantined is not None
    letters = sorted((r["check"], r["reason"]) for r in quarantined.collect())
    # id 2 fails amounts; id 3 "bad" (status new) and id 3 "lost" fail known
    assert letters == [
        ("amounts", "failed check(s): amounts"),
        ("known", "failed check(s): known"),
        ("known", "failed check(s): known"),
    ]
    results, quality = stage.evaluate({"orders": orders})
    assert (quality.rows_evaluated, quality.rows_removed, quality.rows_quarantined) == (5, 3, 3)
    by_name = {r.name: r for r in results}
    assert by_name["emails"].rows_removed == 1 and by_name["noted"].rows_removed == 0
    stage.flagged.unpersist()  # type: ignore[union-attr]


def test_a_row_failing_two_quarantine_checks_is_one_dead_letter_naming_both(orders: DataFrame) -> None:
    stage = checked(
        orders,
        {"name": "amounts", "type": "range", "column": "amount", "max": 60, "action": "quarantine"},  # id 3 bad (100)
        {"name": "emails", "type": "regex", "column": "email", "pattern": "@", "action": "quarantine"},  # id 3 bad
    )
    stage.build(orders)
    quarantined = stage.quarantined()
    assert quarantined is not None
    assert [r["check"] for r in quarantined.collect()] == ["amounts, emails"]
    stage.flagged.unpersist()  # type: ignore[union-attr]


def test_warn_and_fail_checks_leave_the_output_alone_and_do_not_persist(orders: DataFrame) -> None:
    stage = checked(orders, {"name": "c", "type": "not_null", "columns": ["email"], "action": "fail"})
    assert stage.build(orders) is orders
    assert not stage.persisted


@pytest.mark.parametrize(("limit", "outcome"), [({"max_count": 2}, "tolerated"), ({"max_count": 1}, "failed")])
def test_a_fail_check_fails_only_above_its_threshold(orders: DataFrame, limit: dict[str, int], outcome: str) -> None:
    # not_null(id, email) fails 2 rows
    item = {"name": "c", "type": "not_null", "columns": ["id", "email"], "action": "fail", "threshold": limit}
    results, _, _ = evaluate(orders, item)
    assert results["c"].outcome == outcome


def test_samples_mask_sensitive_columns(orders: DataFrame) -> None:
    stage = checked(orders, {"name": "c", "type": "not_null", "columns": ["id"]}, sensitive=frozenset({"email"}))
    stage.build(orders)
    results, _ = stage.evaluate({"orders": orders})
    assert results[0].samples == [{"id": None, "email": "***", "amount": 50.0, "status": None, "customer_id": 10}]


def test_every_check_of_a_stage_is_counted_in_one_spark_job(spark: SparkSession) -> None:
    """Ten checks, row- and dataset-level, are counted by one job: the status tracker sees one in the stage's
    group (sample rows are picked by LIMIT queries in a group of their own)."""
    df = spark.range(0, 10_000, numPartitions=4).selectExpr(
        "id", "id % 7 AS bucket", "CAST(id AS STRING) AS code", "IF(id % 100 = 0, NULL, id * 1.5) AS amount"
    )
    items: list[dict[str, Any]] = [
        {"name": "n1", "type": "not_null", "columns": ["amount"]},
        {"name": "r1", "type": "range", "column": "amount", "min": 0, "max": 10_000},
        {"name": "r2", "type": "range", "column": "bucket", "max": 5},
        {"name": "x1", "type": "regex", "column": "code", "pattern": "^[0-9]+$"},
        {"name": "a1", "type": "accepted_values", "column": "bucket", "values": [0, 1, 2, 3]},
        {"name": "e1", "type": "expression", "expression": "amount > id"},
        {"name": "e2", "type": "expression", "expression": "length(code) < 4"},
        {"name": "u1", "type": "unique", "columns": ["id"]},
        {"name": "u2", "type": "unique", "columns": ["bucket"]},
        {"name": "c1", "type": "row_count", "min": 1},
    ]
    stage = checked(df, *items)
    stage.stage = StageSpec("one_pass", "source", "csv", (), {})
    stage.build(df)
    tracker = spark.sparkContext.statusTracker()
    previous = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")  # adaptive execution splits a query into several jobs
    try:
        results, _ = stage.evaluate({"one_pass": df})
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", previous or "true")
    assert len(tracker.getJobIdsForGroup(quality_job_group("one_pass"))) == 1
    assert tracker.getJobIdsForGroup(quality_samples_job_group("one_pass"))
    by_name = {r.name: r.rows_failed for r in results}
    samples = {r.name: r.samples for r in results}
    assert [s["amount"] for s in samples["n1"]] == [None] * 3
    assert all(float(s["amount"]) > 10_000 for s in samples["r1"]) and len(samples["r1"]) == 3  # decimals as text
    assert all(len(s["code"]) >= 4 for s in samples["e2"]) and len(samples["e2"]) == 3
    assert samples["x1"] == [] and samples["u2"] == []
    # counted here in plain Python over ids 0..9999 (amount is null when id % 100 == 0)
    assert by_name["n1"] == 100
    assert by_name["r1"] == sum(1 for i in range(10_000) if i % 100 and i * 1.5 > 10_000)
    assert by_name["u2"] == 10_000 - 7
    assert by_name["a1"] == sum(1 for i in range(10_000) if i % 7 > 3)
    assert by_name["e2"] == 9000  # codes of 4 or 5 digits: 1000..9999
