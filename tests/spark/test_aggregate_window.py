"""``aggregate`` with ``window:``: groups by time window too, in batch runs as in streams."""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import SparkSession

from tests.spark.test_transforms import run
from tests.support import rows

BASE = datetime(2024, 5, 1, 10, 0)
# (page, seconds after 10:00): clicks on two pages over three minutes
CLICKS = [("/a", 5), ("/a", 50), ("/b", 59), ("/a", 61), ("/b", 119), ("/b", 120), ("/a", 179)]


def test_tumbling_windows_come_first_as_window_start_and_window_end(spark: SparkSession) -> None:
    df = spark.createDataFrame([(p, BASE + timedelta(seconds=s)) for p, s in CLICKS], "page STRING, ts TIMESTAMP")

    result = run(
        spark,
        "aggregate",
        {"clicks": df},
        window={"column": "ts", "duration": "1 minute"},
        group_by=["page"],
        aggregations={"clicks": {"function": "count"}},
    )

    assert result.columns == ["window_start", "window_end", "page", "clicks"]
    minute = timedelta(minutes=1)
    expected: dict[tuple[datetime, str], int] = {}
    for page, seconds in CLICKS:
        start = BASE + minute * (seconds // 60)
        expected[(start, page)] = expected.get((start, page), 0) + 1
    assert rows(result) == sorted((start, start + minute, page, n) for (start, page), n in expected.items())


def test_sliding_windows_count_a_row_in_every_window_it_falls_in(spark: SparkSession) -> None:
    df = spark.createDataFrame([(BASE + timedelta(seconds=s),) for _, s in CLICKS], "ts TIMESTAMP")

    result = run(
        spark,
        "aggregate",
        {"clicks": df},
        window={"column": "ts", "duration": "2 minutes", "slide": "1 minute"},
        aggregations={"clicks": {"function": "count"}},
    )

    counts = {start: n for start, _end, n in rows(result)}
    in_window = {
        BASE + timedelta(minutes=m): sum(1 for _, s in CLICKS if 60 * m <= s < 60 * (m + 2)) for m in range(-1, 3)
    }
    assert counts == {start: n for start, n in in_window.items() if n}
