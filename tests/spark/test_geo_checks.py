"""What the geo transforms check on the real input before Sedona is needed, and the error when it is missing.

These use the tests' shared Spark session, which is started without Sedona's jars (a pipeline run
adds them; tests/spark/test_geo.py covers that): so the column checks are shown to come first.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import ConfigError, Location
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.registry import REGISTRY


def apply(spark: Any, tmp_path: Path, type_: str, options: Mapping[str, Any], inputs: Mapping[str, Any]) -> Any:
    stage = StageSpec(
        "t", "transform", type_, tuple(inputs), options, location=Location(Path("p/pipeline.yaml"), 12, 5)
    )
    transform = REGISTRY.get("transform", type_)()
    return transform.apply(RunContext(spark=spark, project_root=tmp_path, run_id="r"), stage, inputs)


@pytest.fixture(scope="module")
def stores(spark: Any) -> Any:
    return spark.createDataFrame([(1, -0.14, 51.54)], "store_id INT, lon DOUBLE, lat DOUBLE")


def test_a_session_without_sedona_is_told_how_to_get_it(spark: Any, tmp_path: Path, stores: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        apply(spark, tmp_path, "geo_point", {"lon": "lon", "lat": "lat", "as": "location"}, {"stores": stores})
    assert "transform 't' (geo_point): Apache Sedona is not on this Spark session's classpath" in str(raised.value)
    assert "org.apache.sedona:sedona-spark-shaded-4.0_2.13:1.8.0" in (raised.value.hint or "")
    assert raised.value.location is not None and raised.value.location.line == 12


def test_a_misspelt_point_column_is_named_with_a_suggestion(spark: Any, tmp_path: Path, stores: Any) -> None:
    options = {"from": {"lon": "lon", "lat": "lattitude"}, "to": {"lon": "lon", "lat": "lat"}, "as": "m"}
    with pytest.raises(ConfigError) as raised:
        apply(spark, tmp_path, "geo_distance", options, {"stores": stores})
    assert "the input has no column 'lattitude'" in str(raised.value)
    assert "lat" in (raised.value.hint or "")


def test_a_new_column_named_like_an_input_column_is_refused(spark: Any, tmp_path: Path, stores: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        apply(spark, tmp_path, "geo_point", {"lon": "lon", "lat": "lat", "as": "store_id"}, {"stores": stores})
    assert "the input already has a column 'store_id'" in str(raised.value)


def test_geo_join_refuses_a_column_on_both_sides(spark: Any, tmp_path: Path, stores: Any) -> None:
    zones = spark.createDataFrame(
        [("north", 1, "POLYGON ((0 0, 1 0, 1 1, 0 0))")], "zone STRING, store_id INT, area STRING"
    )
    options = {"point": {"lon": "lon", "lat": "lat"}, "polygon": "area"}
    with pytest.raises(ConfigError) as raised:
        apply(spark, tmp_path, "geo_join", options, {"stores": stores, "zones": zones})
    assert "'store_id'" in str(raised.value) and "two" in str(raised.value)
