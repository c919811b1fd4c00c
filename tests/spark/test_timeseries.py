"""``resample`` on a small hand-written series; every expected bucket worked out by hand in the comments.

The example pipeline is compared with the same computation done in plain Python over its CSV.

Sensor a: readings at 00:10 (10.0) and 00:50 (12.0), then 03:20 (20.0): hourly buckets 00:00 and
03:00, 01:00 and 02:00 empty. Sensor b: 01:05 (5.0), 02:30 (a null reading), 04:00 (9.0): buckets
01:00, 02:00 (rows, but a null average) and 04:00, 03:00 empty. A row without a time is left out.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import etl_cli.plugins.builtin  # registers the built-in plug-ins
from etl_cli.plugins.api import RunContext, StageSpec, Transform
from etl_cli.plugins.registry import REGISTRY
from tests.clihelp import REPO, etl_cli
from tests.support import frozen, rows

EXAMPLE = REPO / "pipelines" / "sensor_resample"

READINGS = [
    ("a", "2026-01-01 00:10:00", 10.0, "ok"),
    ("a", "2026-01-01 00:50:00", 12.0, "ok"),
    ("a", "2026-01-01 03:20:00", 20.0, "hot"),
    ("b", "2026-01-01 01:05:00", 5.0, "ok"),
    ("b", "2026-01-01 02:30:00", None, "ok"),
    ("b", "2026-01-01 04:00:00", 9.0, "ok"),
    ("b", None, 99.0, "ok"),
]
AGGREGATIONS = {"temp": {"function": "avg", "column": "reading"}, "n": {"function": "count"}}


@pytest.fixture(scope="module")
def readings(spark: SparkSession) -> DataFrame:
    df = spark.createDataFrame(READINGS, "sensor STRING, at STRING, reading DOUBLE, status STRING")
    return df.withColumn("at", F.to_timestamp("at"))  # the session runs in UTC


def apply(spark: SparkSession, type_name: str, df: DataFrame, **options: Any) -> DataFrame:
    """The registered transform ``type_name`` applied to ``df`` (a stage named ``t``)."""
    plugin = REGISTRY.get("transform", type_name)()
    assert isinstance(plugin, Transform)
    stage = StageSpec(name="t", kind="transform", type=type_name, inputs=("r",), options=frozen(options))
    return plugin.apply(RunContext(spark=spark, project_root=Path("."), run_id="test"), stage, {"r": df})


def resample(spark: SparkSession, df: DataFrame, **options: Any) -> list[tuple[Any, ...]]:
    """The rows of ``resample`` over ``df`` by sensor, hourly, each bucket start written HH:mm (UTC)."""
    options = {"time_column": "at", "interval": "1 hour", "keys": ["sensor"], "aggregations": AGGREGATIONS, **options}
    result = apply(spark, "resample", df, **options)
    assert result.columns == ["sensor", "at", *options["aggregations"]]
    return rows(result.withColumn("at", F.date_format("at", "HH:mm")))


def test_fill_none_gives_only_the_buckets_that_have_rows(spark: SparkSession, readings: DataFrame) -> None:
    assert resample(spark, readings) == [
        ("a", "00:00", 11.0, 2),  # (10 + 12) / 2
        ("a", "03:00", 20.0, 1),
        ("b", "01:00", 5.0, 1),
        ("b", "02:00", None, 1),  # one row, its reading null
        ("b", "04:00", 9.0, 1),
    ]


def test_fill_null_adds_the_empty_buckets_between_each_series_first_and_last(
    spark: SparkSession, readings: DataFrame
) -> None:
    assert resample(spark, readings, fill="null") == [
        ("a", "00:00", 11.0, 2),
        ("a", "01:00", None, None),
        ("a", "02:00", None, None),
        ("a", "03:00", 20.0, 1),
        ("b", "01:00", 5.0, 1),
        ("b", "02:00", None, 1),
        ("b", "03:00", None, None),  # b has no 00:00 bucket: its series starts at 01:00
        ("b", "04:00", 9.0, 1),
    ]


def test_fill_previous_carries_the_last_non_null_value_into_empty_buckets_only(
    spark: SparkSession, readings: DataFrame
) -> None:
    assert resample(spark, readings, fill="previous") == [
        ("a", "00:00", 11.0, 2),
        ("a", "01:00", 11.0, 2),
        ("a", "02:00", 11.0, 2),
        ("a", "03:00", 20.0, 1),
        ("b", "01:00", 5.0, 1),
        ("b", "02:00", None, 1),  # had a row: kept as it is
        ("b", "03:00", 5.0, 1),  # 02:00's average is null: the last non-null one is 01:00's
        ("b", "04:00", 9.0, 1),
    ]


def test_fill_linear_interpolates_numbers_between_the_nearest_known_values(
    spark: SparkSession, readings: DataFrame
) -> None:
    aggregations = {**AGGREGATIONS, "last_status": {"function": "max", "column": "status"}}
    assert resample(spark, readings, fill="linear", aggregations=aggregations) == [
        ("a", "00:00", 11.0, 2.0, "ok"),
        ("a", "01:00", 14.0, pytest.approx(5 / 3), None),  # 11 + (20 - 11) * 1/3; 2 + (1 - 2) * 1/3
        ("a", "02:00", 17.0, pytest.approx(4 / 3), None),  # 11 + 9 * 2/3; text is not interpolated
        ("a", "03:00", 20.0, 1.0, "hot"),
        ("b", "01:00", 5.0, 1.0, "ok"),
        ("b", "02:00", None, 1.0, "ok"),
        ("b", "03:00", pytest.approx(23 / 3), 1.0, None),  # 5 (at 01:00) + (9 - 5) * 2/3; n between 1 and 1
        ("b", "04:00", 9.0, 1.0, "ok"),
    ]


def expected_example_rows() -> list[tuple[str, datetime, float | None]]:
    """pipelines/sensor_resample in plain Python: hourly averages, empty hours on the line between known ones."""
    hourly: dict[str, dict[int, list[float]]] = {}
    with (EXAMPLE / "data" / "readings.csv").open() as fh:
        for r in csv.DictReader(fh):
            hour = int(datetime.fromisoformat(r["read_at"]).replace(tzinfo=UTC).timestamp()) // 3600
            values = hourly.setdefault(r["sensor"], {}).setdefault(hour, [])
            values += [float(r["temperature"])] if r["temperature"] else []
    expected = []
    for sensor, hours in hourly.items():
        known = {h: sum(v) / len(v) for h, v in hours.items() if v}
        for hour in range(min(hours), max(hours) + 1):
            value = known.get(hour)
            if hour not in hours:
                before, after = max(h for h in known if h < hour), min(h for h in known if h > hour)
                value = known[before] + (known[after] - known[before]) * (hour - before) / (after - before)
            expected.append((sensor, datetime.fromtimestamp(hour * 3600, UTC), value))
    return sorted(expected, key=lambda r: (r[0], r[1]))


def test_the_sensor_resample_example_writes_hourly_rows_with_empty_hours_interpolated(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = etl_cli("run", "pipelines/sensor_resample", "--set", f"vars.output_dir={out}",
                   "--results-dir", str(tmp_path), env={"ETL_STATE_DIR": str(tmp_path / "state")})  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out)
    assert table.column_names == ["sensor", "read_at", "avg_temperature"]
    actual = sorted(((r["sensor"], r["read_at"].astimezone(UTC), r["avg_temperature"]) for r in table.to_pylist()),
                    key=lambda r: (r[0], r[1]))  # fmt: skip
    assert actual == [(s, t, pytest.approx(v) if v is not None else None) for s, t, v in expected_example_rows()]


def test_rolling_sums_the_rows_of_its_series_in_the_range_ending_at_each_row(spark: SparkSession) -> None:
    data = [
        ("a", "2026-01-01 00:00:00", 1),
        ("a", "2026-01-01 01:00:00", 2),
        ("a", "2026-01-01 01:59:59", 4),
        ("a", "2026-01-01 02:00:00", 8),
        ("a", "2026-01-01 05:00:00", 16),
        ("b", "2026-01-01 00:30:00", 100),
        ("b", "2026-01-01 00:30:00", 200),
        ("b", None, 1000),
    ]
    df = spark.createDataFrame(data, "k STRING, at STRING, v INT").withColumn("at", F.to_timestamp("at"))
    columns = {"total": {"function": "sum", "column": "v"}, "n": {"function": "count"}}
    result = apply(spark, "rolling", df, time_column="at", over="2 hours", keys=["k"], columns=columns)
    assert result.columns == ["k", "at", "v", "total", "n"]
    assert rows(result.withColumn("at", F.date_format("at", "HH:mm:ss"))) == [
        ("a", "00:00:00", 1, 1, 1),
        ("a", "01:00:00", 2, 3, 2),
        ("a", "01:59:59", 4, 7, 3),  # 00:00 is within (23:59:59, 01:59:59]
        ("a", "02:00:00", 8, 14, 3),  # (00:00, 02:00]: 00:00 is out
        ("a", "05:00:00", 16, 16, 1),  # nothing in (03:00, 05:00] but itself
        ("b", None, 1000, 1000, 1),  # a null time sees only the rows of its series without a time
        ("b", "00:30:00", 100, 300, 2),  # rows at the same time see each other
        ("b", "00:30:00", 200, 300, 2),
    ]


def test_trend_compares_each_value_with_the_mean_of_the_previous_points_of_its_series(spark: SparkSession) -> None:
    data = [("a", 1, 10.0), ("a", 2, 12.0), ("a", 3, 11.0), ("a", 4, 11.2), ("a", 5, None), ("a", 6, 20.0),
            ("b", 1, 5.0), ("b", 2, 3.0)]  # fmt: skip
    df = spark.createDataFrame(data, "k STRING, t INT, v DOUBLE")
    result = apply(spark, "trend", df, time_column="t", value="v", keys=["k"], points=2, tolerance=0.5)
    assert result.columns == ["k", "t", "v", "trend"]
    assert rows(result) == [
        ("a", 1, 10.0, None),  # no earlier point
        ("a", 2, 12.0, "up"),  # mean 10: 12 > 10.5
        ("a", 3, 11.0, "flat"),  # mean (10 + 12) / 2 = 11
        ("a", 4, 11.2, "flat"),  # mean (12 + 11) / 2 = 11.5: within 11.0 .. 12.0
        ("a", 5, None, None),  # no value
        ("a", 6, 20.0, "up"),  # the previous two are 11.2 and null: mean 11.2
        ("b", 1, 5.0, None),
        ("b", 2, 3.0, "down"),  # mean 5: 3 < 4.5
    ]
