"""Session windows, time-range joins and ``within_watermark`` on batch inputs: the same transforms a stream
runs (tests/integration/test_kafka_streaming_state.py), here with expected rows computed by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import SparkSession

from tests.spark.test_transforms import run
from tests.support import rows

BASE = datetime(2024, 5, 1, 10, 0)
# (user, minutes after 10:00)
CLICKS = [("u1", 0), ("u1", 3), ("u1", 7), ("u1", 20), ("u2", 1), ("u2", 10)]


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def test_session_windows_close_after_the_gap_without_rows(spark: SparkSession) -> None:
    df = spark.createDataFrame([(u, at(m)) for u, m in CLICKS], "user STRING, ts TIMESTAMP")

    result = run(
        spark,
        "aggregate",
        {"clicks": df},
        window={"column": "ts", "gap": "5 minutes"},
        group_by=["user"],
        aggregations={"clicks": {"function": "count"}},
    )

    assert result.columns == ["window_start", "window_end", "user", "clicks"]
    # u1: 0, 3 and 7 are each less than 5 minutes apart; 20 starts a new session; u2: 1 and 10 are 9 apart
    assert sorted(rows(result)) == sorted(
        [(at(0), at(12), "u1", 3), (at(20), at(25), "u1", 1), (at(1), at(6), "u2", 1), (at(10), at(15), "u2", 1)]
    )


def test_within_joins_only_rows_in_the_time_range(spark: SparkSession) -> None:
    clicks = spark.createDataFrame(
        [(1, 1, at(5)), (2, 1, at(30)), (3, 2, at(5))], "click_id INT, ad INT, click_time TIMESTAMP"
    )
    views = spark.createDataFrame([(1, at(0)), (1, at(6)), (2, at(-20))], "ad INT, view_time TIMESTAMP")
    within = {"left": "click_time", "right": "view_time", "lower": "-10 minutes", "upper": "0 seconds"}

    left = run(spark, "join", {"clicks": clicks, "views": views}, on=["ad"], how="left", within=within)
    assert left.columns == ["ad", "click_id", "click_time", "view_time"]
    # click 1 (10:05): the view of 10:00 only (10:06 came after it); click 2 (10:30): none; click 3: 10:20 too early
    assert set(rows(left)) == {(1, 1, at(5), at(0)), (1, 2, at(30), None), (2, 3, at(5), None)}
    inner = run(spark, "join", {"clicks": clicks, "views": views}, condition="clicks.ad = views.ad", within=within)
    assert [(r[0], r[2], r[4]) for r in rows(inner)] == [(1, at(5), at(0))]


def test_within_watermark_on_a_batch_input_drops_duplicates(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "a"), (1, "a"), (2, "b")], "id INT, v STRING")
    result = run(spark, "deduplicate", {"events": df}, keys=["id"], within_watermark=True)
    assert sorted(rows(result)) == [(1, "a"), (2, "b")]
