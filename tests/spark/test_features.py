"""The ``features`` transform on four hand-made rows: one-hot slots and buckets worked out by hand, scaled values
computed here with the statistics module."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import ConfigError, RunError
from etl_cli.plugins.api import RunContext, StageSpec, Transform
from etl_cli.plugins.registry import REGISTRY
from tests.support import frozen

ROWS = [(1, "fr", 10.0, 1.0, 10.0), (2, "de", 30.0, 2.0, 25.0), (3, "fr", 70.0, 3.0, 30.0), (4, None, None, 6.0, 40.0)]


def run(spark: SparkSession, df: DataFrame, **options: Any) -> DataFrame:
    plugin = REGISTRY.get("transform", "features")()
    assert isinstance(plugin, Transform)
    stage = StageSpec(name="t", kind="transform", type="features", inputs=("src",), options=frozen(options))
    return plugin.apply(RunContext(spark=spark, project_root=Path("."), run_id="test"), stage, {"src": df})


@pytest.fixture
def people(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(ROWS, "id INT, country STRING, age DOUBLE, a DOUBLE, b DOUBLE")


def standard(values: list[float]) -> list[float]:
    mean, sd = statistics.mean(values), statistics.stdev(values)  # the sample standard deviation
    return [(v - mean) / sd for v in values]


def test_features_one_hot_bucketize_and_standard_scale(spark: SparkSession, people: DataFrame) -> None:
    result = run(
        spark,
        people,
        one_hot={"country": "country_vec"},
        bucketize={"age": {"splits": ["-inf", 18, 65, "inf"], "output": "age_band"}},
        scale={"columns": ["a", "b"], "output": "ab"},
    )
    assert result.columns == ["id", "country", "age", "a", "b", "country_vec", "age_band", "ab"]
    got = {
        r["id"]: (list(r["country_vec"].toArray()), r["age_band"], list(r["ab"].toArray())) for r in result.collect()
    }
    # slots: de, fr (alphabetical), then null; buckets: [-inf, 18), [18, 65), [65, inf]; a null age has none
    a, b = standard([1.0, 2.0, 3.0, 6.0]), standard([10.0, 25.0, 30.0, 40.0])
    expected = {
        1: ([0.0, 1.0, 0.0], 0.0, [a[0], b[0]]),
        2: ([1.0, 0.0, 0.0], 1.0, [a[1], b[1]]),
        3: ([0.0, 1.0, 0.0], 2.0, [a[2], b[2]]),
        4: ([0.0, 0.0, 1.0], None, [a[3], b[3]]),
    }
    assert got.keys() == expected.keys()
    for key, (slots, band, scaled) in expected.items():
        assert got[key][:2] == (slots, band)
        assert got[key][2] == pytest.approx(scaled, abs=1e-12)


def test_features_min_max_scale_maps_each_column_into_zero_to_one(spark: SparkSession, people: DataFrame) -> None:
    result = run(spark, people, scale={"columns": ["a"], "output": "a01", "method": "min_max"})
    got = {r["id"]: float(r["a01"][0]) for r in result.collect()}
    assert got == pytest.approx({1: 0.0, 2: 0.2, 3: 0.4, 4: 1.0}, abs=1e-12)  # (a - 1) / (6 - 1)


def test_features_refuses_an_output_named_like_an_input_column(spark: SparkSession, people: DataFrame) -> None:
    with pytest.raises(ConfigError, match="age already a column of the input"):
        run(spark, people, one_hot={"country": "age"})


def test_features_a_null_to_scale_stops_the_run_saying_why(spark: SparkSession, people: DataFrame) -> None:
    with pytest.raises(RunError, match="fitting the features failed: Encountered null while assembling a row"):
        run(spark, people, scale={"columns": ["age"], "output": "v"})
