"""The geo transforms and the geojson source on the tests' shared Spark session: values, edges, nulls, errors.

Expected values are written by hand (polygons drawn on squared paper: which points are inside, on an
edge, in a hole) or computed by a second method in plain Python (the haversine formula, numpy's
shortest decimal of a double), never read back from the code under test.
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import ConfigError, Location
from etl_cli.plugins import geometry
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.registry import REGISTRY

#: the mean Earth radius in metres (Sedona's ST_DistanceSphere default, which geo_distance keeps)
RADIUS = 6371008.0


def stage_of(kind: str, type_: str, options: Mapping[str, Any], inputs: tuple[str, ...] = ()) -> StageSpec:
    return StageSpec("t", kind, type_, inputs, options, location=Location(Path("p/pipeline.yaml"), 12, 5))  # type: ignore[arg-type]


def apply(spark: Any, tmp_path: Path, type_: str, options: Mapping[str, Any], inputs: Mapping[str, Any]) -> Any:
    transform = REGISTRY.get("transform", type_)()
    ctx = RunContext(spark=spark, project_root=tmp_path, run_id="r")
    return transform.apply(ctx, stage_of("transform", type_, options, tuple(inputs)), inputs)


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * RADIUS * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def stores(spark: Any) -> Any:
    return spark.createDataFrame([(1, -0.14, 51.54)], "store_id INT, lon DOUBLE, lat DOUBLE")


# ---------------------------------------------------------------------------
# Checks on the real input, and the missing extra
# ---------------------------------------------------------------------------


def test_without_the_geo_extra_the_run_stops_at_the_stage_naming_the_extra(
    spark: Any, tmp_path: Path, stores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interpreter without shapely: find_spec answers None for it, as it does when it is not installed."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        geometry.importlib.util, "find_spec", lambda name, *a: None if name == "shapely" else real(name, *a)
    )
    with pytest.raises(ConfigError) as raised:
        apply(spark, tmp_path, "geo_point", {"lon": "lon", "lat": "lat", "as": "location"}, {"stores": stores})
    assert "transform 't' (geo_point): the geo stages need shapely (the geo extra)" in str(raised.value)
    assert raised.value.hint == "pip install 'etl-cli[geo]'"
    assert raised.value.location is not None and raised.value.location.line == 12
    source = REGISTRY.get("source", "geojson")()
    options = {"path": "z.geojson", "schema": {"geometry": "STRING"}}
    with pytest.raises(ConfigError, match=r"source 't' \(geojson\): the geo stages need shapely"):
        source.read(RunContext(spark=spark, project_root=tmp_path, run_id="r"), stage_of("source", "geojson", options))


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


# ---------------------------------------------------------------------------
# geo_point: the text of a point
# ---------------------------------------------------------------------------


def points_of(spark: Any, tmp_path: Path, pairs: list[tuple[float | None, float | None]], fmt: str) -> list[Any]:
    df = spark.createDataFrame([(i, *p) for i, p in enumerate(pairs)], "i INT, lon DOUBLE, lat DOUBLE")
    out = apply(spark, tmp_path, "geo_point", {"lon": "lon", "lat": "lat", "as": "p", "format": fmt}, {"d": df})
    assert out.columns == ["i", "lon", "lat", "p"]
    return [r["p"] for r in out.orderBy("i").collect()]


def test_geo_point_writes_each_number_in_its_shortest_plain_decimal(spark: Any, tmp_path: Path) -> None:
    pairs = [(-0.14, 51.54), (1.0, 2.0), (0.00001, -0.000123), (123.456, -89.9999999), (0.002, 0.0), (-180.0, 90.0)]
    assert points_of(spark, tmp_path, pairs, "wkt") == [
        "POINT (-0.14 51.54)", "POINT (1 2)", "POINT (0.00001 -0.000123)", "POINT (123.456 -89.9999999)",
        "POINT (0.002 0)", "POINT (-180 90)",
    ]  # fmt: skip
    assert points_of(spark, tmp_path, pairs[:2], "geojson") == [
        '{"type":"Point","coordinates":[-0.14,51.54]}', '{"type":"Point","coordinates":[1,2]}',
    ]  # fmt: skip
    assert [json.loads(p)["coordinates"] for p in points_of(spark, tmp_path, pairs, "geojson")] == [
        [lon, lat] for lon, lat in pairs
    ]


def test_geo_point_numbers_are_numpys_shortest_decimals(spark: Any, tmp_path: Path) -> None:
    """A second method: numpy's positional shortest repr, on random coordinates of every magnitude."""
    rng = random.Random(20261206)
    values = [rng.uniform(-180, 180) * 10 ** -rng.randint(0, 12) for _ in range(300)]
    values += [round(v, rng.randint(0, 9)) for v in values[:100]] + [
        1e7 + 0.5,
        123456789.0,
        1e-300,
        1.7976931348623157e308,
    ]
    pairs: list[tuple[float | None, float | None]] = [(v, -v) for v in values]
    expected = [
        f"POINT ({np.format_float_positional(v, trim='-')} {np.format_float_positional(-v, trim='-')})" for v in values
    ]
    assert points_of(spark, tmp_path, pairs, "wkt") == [e.replace("-0 ", "0 ").replace(" -0)", " 0)") for e in expected]


def test_geo_point_is_null_without_a_coordinate_or_with_nan(spark: Any, tmp_path: Path) -> None:
    pairs: list[tuple[float | None, float | None]] = [(None, 1.0), (1.0, None), (float("nan"), 1.0), (1.0, 2.0)]
    assert points_of(spark, tmp_path, pairs, "wkt") == [None, None, None, "POINT (1 2)"]


# ---------------------------------------------------------------------------
# geo_distance
# ---------------------------------------------------------------------------


def test_geo_distance_is_the_haversine_distance_from_lon_lat_or_wkt(spark: Any, tmp_path: Path) -> None:
    rows = [
        (1, 0.0, 0.0, "POINT (0 1)"),  # one degree of latitude: R x pi / 180
        (2, 0.0, 0.0, "POINT (180 0)"),  # half the equator
        (3, 0.0, 90.0, "POINT (0 -90)"),  # pole to pole
        (4, -0.1, 51.5, "POINT (-0.12 51.5)"),
        (5, 2.35, 48.86, "POINT (-0.13 51.51)"),  # Paris to London
        (6, None, 1.0, "POINT (0 0)"),
        (7, 0.0, 0.0, None),
        (8, 0.0, 0.0, "POINT EMPTY"),
    ]
    df = spark.createDataFrame(rows, "i INT, lon DOUBLE, lat DOUBLE, there STRING")
    options = {"from": {"lon": "lon", "lat": "lat"}, "to": {"wkt": "there"}, "as": "m"}
    out = apply(spark, tmp_path, "geo_distance", options, {"d": df})
    assert out.columns == ["i", "lon", "lat", "there", "m"]
    assert dict(out.dtypes)["m"] == "double"
    got = {r["i"]: r["m"] for r in out.collect()}
    assert got[1] == pytest.approx(RADIUS * math.pi / 180, abs=1e-6)
    assert got[1] == pytest.approx(111195.066, abs=0.001)  # 6371008 x 0.0174532925
    assert got[2] == pytest.approx(RADIUS * math.pi, abs=1e-6) and got[3] == pytest.approx(RADIUS * math.pi, abs=1e-6)
    assert got[4] == pytest.approx(haversine(-0.1, 51.5, -0.12, 51.5), abs=1e-6)
    assert got[5] == pytest.approx(haversine(2.35, 48.86, -0.13, 51.51), abs=1e-6)
    assert 340_000 < got[5] < 345_000  # Paris to London, about 343 km
    assert (got[6], got[7], got[8]) == (None, None, None)


def test_geo_distance_stops_the_run_on_wkt_that_is_not_a_point(spark: Any, tmp_path: Path) -> None:
    df = spark.createDataFrame([(0.0, 0.0, "LINESTRING (0 0, 1 1)")], "lon DOUBLE, lat DOUBLE, there STRING")
    options = {"from": {"lon": "lon", "lat": "lat"}, "to": {"wkt": "there"}, "as": "m"}
    with pytest.raises(Exception, match=r"not a WKT POINT: 'LINESTRING \(0 0, 1 1\)'"):
        apply(spark, tmp_path, "geo_distance", options, {"d": df}).collect()


# ---------------------------------------------------------------------------
# geo_within: edges, holes, multipolygons, nulls
# ---------------------------------------------------------------------------

#: the square 0..10 x 0..10 with the hole 2..4 x 2..4
HOLED = "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))"
#: point: (inside with boundary exclude, inside with boundary include), drawn by hand
HOLED_POINTS = {
    "centre": ((7.0, 7.0), (True, True)),
    "in the hole": ((3.0, 3.0), (False, False)),
    "on the hole's edge": ((2.0, 3.0), (False, True)),
    "on the outer edge": ((0.0, 5.0), (False, True)),
    "on a corner": ((10.0, 10.0), (False, True)),
    "outside": ((11.0, 5.0), (False, False)),
    "no longitude": ((None, 5.0), (None, None)),
}


@pytest.fixture(scope="module")
def holed_points(spark: Any) -> Any:
    rows = [
        (name, lon, lat, None if lon is None else f"POINT ({lon} {lat})")
        for name, ((lon, lat), _) in HOLED_POINTS.items()
    ]
    return spark.createDataFrame(rows, "name STRING, lon DOUBLE, lat DOUBLE, wkt STRING")


@pytest.mark.parametrize("boundary", ["exclude", "include"])
@pytest.mark.parametrize("point", [{"lon": "lon", "lat": "lat"}, {"wkt": "wkt"}])
def test_geo_within_flags_a_polygon_with_a_hole_edges_as_documented(
    spark: Any, tmp_path: Path, holed_points: Any, boundary: str, point: dict[str, str]
) -> None:
    options = {"point": point, "polygon": HOLED, "boundary": boundary, "flag": "inside"}
    out = apply(spark, tmp_path, "geo_within", options, {"d": holed_points})
    assert out.columns == ["name", "lon", "lat", "wkt", "inside"]
    expected = {name: flags[boundary == "include"] for name, (_, flags) in HOLED_POINTS.items()}
    assert {r["name"]: r["inside"] for r in out.collect()} == expected


@pytest.mark.parametrize("boundary", ["exclude", "include"])
def test_geo_within_without_flag_keeps_the_rows_inside(
    spark: Any, tmp_path: Path, holed_points: Any, boundary: str
) -> None:
    options = {"point": {"lon": "lon", "lat": "lat"}, "polygon": HOLED, "boundary": boundary}
    out = apply(spark, tmp_path, "geo_within", options, {"d": holed_points})
    assert out.columns == ["name", "lon", "lat", "wkt"]
    expected = {name for name, (_, flags) in HOLED_POINTS.items() if flags[boundary == "include"]}
    assert {r["name"] for r in out.collect()} == expected


def test_geo_within_a_multipolygon(spark: Any, tmp_path: Path) -> None:
    multi = "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 1, 0 0)), ((5 5, 6 5, 6 6, 5 6, 5 5)))"
    rows = [("first", 0.5, 0.5), ("second", 5.5, 5.9), ("between", 3.0, 3.0), ("second's edge", 6.0, 5.5)]
    df = spark.createDataFrame(rows, "name STRING, lon DOUBLE, lat DOUBLE")
    options = {"point": {"lon": "lon", "lat": "lat"}, "polygon": multi, "flag": "inside"}
    out = apply(spark, tmp_path, "geo_within", options, {"d": df})
    assert {r["name"]: r["inside"] for r in out.collect()} == {
        "first": True, "second": True, "between": False, "second's edge": False,
    }  # fmt: skip


# ---------------------------------------------------------------------------
# geo_join
# ---------------------------------------------------------------------------

ZONES = [
    ("a", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))"),
    ("b", "POLYGON ((5 5, 15 5, 15 15, 5 15, 5 5))"),  # overlaps a over 5..10 x 5..10
    ("far", "MULTIPOLYGON (((50 50, 51 50, 51 51, 50 50)), ((60 0, 61 0, 61 1, 60 1, 60 0)))"),
    ("holed", "POLYGON ((20 0, 30 0, 30 10, 20 10, 20 0), (24 4, 26 4, 26 6, 24 6, 24 4))"),
    ("none", None),
    ("empty", "POLYGON EMPTY"),
]
#: point: its zones with boundary exclude, with boundary include (drawn by hand)
JOIN_POINTS: dict[str, tuple[tuple[float | None, float | None], set[str], set[str]]] = {
    "in a and b": ((7.0, 7.0), {"a", "b"}, {"a", "b"}),
    "in a only": ((1.0, 1.0), {"a"}, {"a"}),
    "on b's corner, in a": ((5.0, 5.0), {"a"}, {"a", "b"}),
    "on a's edge, in b": ((10.0, 8.0), {"b"}, {"a", "b"}),
    "in far's second part": ((60.5, 0.5), {"far"}, {"far"}),
    "in holed's hole": ((25.0, 5.0), set(), set()),
    "on holed's hole edge": ((24.0, 5.0), set(), {"holed"}),
    "in holed": ((21.0, 1.0), {"holed"}, {"holed"}),
    "nowhere": ((40.0, 40.0), set(), set()),
    "no point": ((None, None), set(), set()),
}


@pytest.mark.parametrize("boundary", ["exclude", "include"])
@pytest.mark.parametrize("point", [{"lon": "lon", "lat": "lat"}, {"wkt": "wkt"}])
def test_geo_join_pairs_each_point_with_every_polygon_holding_it(
    spark: Any, tmp_path: Path, boundary: str, point: dict[str, str]
) -> None:
    rows = [
        (name, lon, lat, None if lon is None else f"POINT ({lon} {lat})")
        for name, ((lon, lat), _, _) in JOIN_POINTS.items()
    ]
    points = spark.createDataFrame(rows, "name STRING, lon DOUBLE, lat DOUBLE, wkt STRING")
    zones = spark.createDataFrame(ZONES, "zone STRING, area STRING")
    options = {"point": point, "polygon": "area", "boundary": boundary}
    out = apply(spark, tmp_path, "geo_join", options, {"points": points, "zones": zones})
    assert out.columns == ["name", "lon", "lat", "wkt", "zone", "area"]
    got = sorted((r["name"], r["zone"]) for r in out.collect())
    column = 1 if boundary == "exclude" else 2
    expected = sorted((name, zone) for name, spec in JOIN_POINTS.items() for zone in spec[column])  # type: ignore[attr-defined]
    assert got == expected


def test_geo_join_matches_points_to_the_broadcast_polygons_bounding_boxes(spark: Any, tmp_path: Path) -> None:
    points = spark.createDataFrame([("p", 1.0, 1.0)], "name STRING, lon DOUBLE, lat DOUBLE")
    zones = spark.createDataFrame(ZONES[:2], "zone STRING, area STRING")
    options = {"point": {"lon": "lon", "lat": "lat"}, "polygon": "area"}
    out = apply(spark, tmp_path, "geo_join", options, {"points": points, "zones": zones})
    plan = out._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastNestedLoopJoin" in plan and "BuildRight" in plan, plan
    assert "CartesianProduct" not in plan


# ---------------------------------------------------------------------------
# the geojson source
# ---------------------------------------------------------------------------


def test_geojson_geometries_become_wkt(spark: Any, tmp_path: Path) -> None:
    features = [
        ({"id": 1}, {"type": "Polygon", "coordinates": [[[0, 0], [1.5, 0], [1.5, 1], [0, 0]]]}),
        ({"id": 2}, {"type": "MultiPolygon", "coordinates": [
            [[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[5, 5], [6, 5], [6, 6], [5, 5]]]]}),
        ({"id": 3}, {"type": "Point", "coordinates": [-0.14, 51.54]}),
        ({"id": 4}, None),
        ({"id": 5, "name": "holed"}, {"type": "Polygon", "coordinates": [
            [[0, 0], [10, 0], [10, 10], [0, 0]], [[5, 2], [6, 2], [6, 3], [5, 2]]]}),
    ]  # fmt: skip
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": p, "geometry": g} for p, g in features]}  # fmt: skip
    (tmp_path / "z.geojson").write_text(json.dumps(collection, indent=2))
    source = REGISTRY.get("source", "geojson")()
    options = {"path": "z.geojson", "schema": {"id": "INT", "name": "STRING", "shape": "STRING"}, "geometry": "shape"}
    df = source.read(RunContext(spark=spark, project_root=tmp_path, run_id="r"), stage_of("source", "geojson", options))
    assert df.dtypes == [("id", "int"), ("name", "string"), ("shape", "string")]
    assert sorted(tuple(r) for r in df.collect()) == [
        (1, None, "POLYGON ((0 0, 1.5 0, 1.5 1, 0 0))"),
        (2, None, "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))"),
        (3, None, "POINT (-0.14 51.54)"),
        (4, None, None),
        (5, "holed", "POLYGON ((0 0, 10 0, 10 10, 0 0), (5 2, 6 2, 6 3, 5 2))"),
    ]
