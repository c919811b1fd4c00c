"""The geo transforms and the geojson source, through the ``pipelines/stores_geo`` example run by ``etl-cli run``.

One run (its own JVM; the work is Spark SQL and shapely in pandas UDFs, no JVM package) is shared by
the assertions. Expected values are written by hand from the example's CSV files, distances with
the haversine formula in plain Python.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.clihelp import etl_cli

#: the mean Earth radius in metres, the one Sedona's ST_DistanceSphere used and geo_distance keeps
RADIUS = 6371008.0


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * RADIUS * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    tmp = tmp_path_factory.mktemp("stores_geo")
    out = tmp / "warehouse"
    result = etl_cli(
        "run", "pipelines/stores_geo", "--set", f"vars.output_dir={out}", "--results-dir", str(tmp),
        env={"ETL_STATE_DIR": str(tmp / "state")},
    )  # fmt: skip
    return result, out


def rows(out: Path, sink: str) -> dict[int, dict[str, Any]]:
    return {row["store_id"]: row for row in pq.read_table(out / sink).to_pylist()}


def test_the_run_succeeds(run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, _ = run
    assert result.returncode == 0, result.stderr


def test_geo_point_writes_wkt_and_geojson_and_null_without_coordinates(
    run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    stores = rows(run[1], "stores")
    assert {k: r["location"] for k, r in stores.items()} == {
        1: "POINT (-0.14 51.54)", 2: "POINT (-0.11 51.46)", 3: "POINT (-0.1 51.5)", 4: "POINT (0.01 51.48)", 5: None,
    }  # fmt: skip
    assert stores[1]["location_geojson"] == '{"type":"Point","coordinates":[-0.14,51.54]}'
    assert stores[5]["location_geojson"] is None


def test_geo_distance_is_the_haversine_distance_in_metres(run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    stores = rows(run[1], "stores")
    expected = {
        1: haversine(-0.14, 51.54, -0.12, 51.5),
        2: haversine(-0.11, 51.46, -0.12, 51.5),
        3: haversine(-0.1, 51.5, -0.12, 51.5),
        4: haversine(0.01, 51.48, 0.05, 51.52),
    }
    for store, metres in expected.items():
        assert stores[store]["warehouse_metres"] == pytest.approx(metres, abs=0.01)
    assert stores[5]["warehouse_metres"] is None
    # along the parallel at 51.5° north a degree of longitude is 111195 m x cos 51.5° = 69221 m: 0.02° is 1384 m
    assert stores[3]["warehouse_metres"] == pytest.approx(1384.4, abs=1)


def test_geo_within_flags_points_inside_the_square(run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    # the square spans lon -0.15..-0.05, lat 51.45..51.5: Camden is north of it, Greenwich east, and
    # Kennington (lat 51.5) on its edge, outside with the default boundary: exclude
    assert {k: r["central"] for k, r in rows(run[1], "stores").items()} == {
        1: False, 2: True, 3: False, 4: False, 5: None,
    }  # fmt: skip


def test_geo_within_without_flag_keeps_only_the_rows_inside(run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    central = rows(run[1], "central")
    assert sorted(central) == [2, 3]  # boundary: include keeps Kennington, on the edge
    assert list(central[2]) == ["store_id", "name", "lon", "lat", "warehouse_lon", "warehouse_lat"]


def test_geo_join_pairs_each_point_with_the_zone_containing_it(
    run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # north is lat 51.5..51.6, south 51.4..51.5, both lon -0.2..0: Kennington lies on their shared
    # edge (lat 51.5), which neither contains; Greenwich is east of both; the pop-up store has no point
    zoned = rows(run[1], "zoned")
    assert {k: r["zone"] for k, r in zoned.items()} == {1: "north", 2: "south"}
    assert list(zoned[1])[-4:] == ["central", "zone", "couriers", "area"]


def test_geojson_features_become_rows_with_their_properties_and_wkt(
    run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # zones.geojson: north has couriers 4, south lacks the property (null); the planned zone's null
    # geometry is a null area, which the spatial join leaves out
    zoned = rows(run[1], "zoned")
    assert (zoned[1]["couriers"], zoned[2]["couriers"]) == (4, None)
    assert zoned[1]["area"] == "POLYGON ((-0.2 51.5, 0 51.5, 0 51.6, -0.2 51.6, -0.2 51.5))"


def test_dry_run_shows_the_join_on_the_broadcast_polygons_bounding_boxes() -> None:
    """The join compares each point with the broadcast polygons' boxes, then shapely tests the candidates."""
    result = etl_cli("dry-run", "pipelines/stores_geo", "--explain")
    assert result.returncode == 0, result.stderr
    zoned = result.stdout.split("transform zoned (geo_join)")[1].split("\nsink ")[0]
    assert "BroadcastNestedLoopJoin" in zoned and "BuildRight" in zoned
    assert "etl_geo_contains" in zoned and "etl_geo_bounds" in zoned
    assert "CartesianProduct" not in zoned
