"""geo_point, geo_distance, geo_within and geo_join without Spark: option checks at their YAML line and column,
column lineage, no JVM packages, and the geo extra (shapely, pandas, pyarrow) reported when it is missing."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.config.loader import load_pipeline
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.model import ColumnRef, LineageGraph
from etl_cli.model.check import check_pipeline
from etl_cli.plan.dag import compile_plan
from etl_cli.plugins import builtin, geometry  # noqa: F401 - builtin registers the built-in plug-ins
from etl_cli.plugins.registry import REGISTRY
from etl_cli.runtime.execution.workspace import plugin_packages
from tests.clihelp import etl_cli

from .helpers import make_project

SOURCES = """\
sources:
  - name: stores
    type: csv
    path: stores.csv
    schema: {store: STRING, lon: DOUBLE, lat: DOUBLE, home: STRING}
  - name: zones
    type: csv
    path: zones.csv
    schema: {zone: STRING, area: STRING}
transforms:
"""
SINK = "sinks:\n  - {name: out, type: csv, input: t, path: out}\n"


def problems(tmp_path: Path, transforms: str) -> list[tuple[int, int, str]]:
    """(line, column, message) of every error diagnostic with a location."""
    make_project(tmp_path, {"p/pipeline.yaml": SOURCES + transforms + SINK})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), app.registry())
    return [
        (d.location.line, d.location.column, d.message)
        for d in diagnostics
        if d.severity == "error" and d.location is not None
    ]


def lineage(tmp_path: Path, transforms: str) -> LineageGraph:
    make_project(tmp_path, {"p/pipeline.yaml": SOURCES + transforms + SINK})
    return pipeline_lineage(app.load_spec(tmp_path / "p", None)[1], REGISTRY)


def sources_of(graph: LineageGraph, column: str) -> set[tuple[str, str, str]]:
    """(stage, column, how) of each edge into ``column`` of stage ``t``."""
    return {(e.source.node, e.source.column, e.how) for e in graph.edges if e.target == ColumnRef("p.t", column)}


WITHIN = """\
  - name: t
    type: geo_within
    inputs: [stores]
    point: {{lon: lon, lat: lat}}
    polygon: "{polygon}"
"""


def test_a_ring_that_does_not_close_is_reported_at_the_polygon(tmp_path: Path) -> None:
    ((line, column, message),) = problems(tmp_path, WITHIN.format(polygon="POLYGON ((0 0, 10 0, 10 10, 0 10))"))
    assert (line, column) == (15, 14)
    assert "a ring must end where it starts" in message


def test_a_polygon_with_latitude_beyond_90_is_refused(tmp_path: Path) -> None:
    ((line, column, message),) = problems(tmp_path, WITHIN.format(polygon="POLYGON ((0 0, 10 0, 10 95, 0 0))"))
    assert (line, column) == (15, 14)
    assert "position '10 95' is not longitude latitude in degrees" in message


def test_text_that_is_not_a_polygon_is_refused(tmp_path: Path) -> None:
    ((_, _, message),) = problems(tmp_path, WITHIN.format(polygon="POINT (1 2)"))
    assert "expected WKT starting with POLYGON or MULTIPOLYGON, got 'POINT'" in message


def test_a_polygon_with_a_hole_and_a_multipolygon_pass(tmp_path: Path) -> None:
    hole = "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 3 2, 3 3, 2 2))"
    multi = "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))"
    assert problems(tmp_path, WITHIN.format(polygon=hole)) == []
    assert problems(tmp_path, WITHIN.format(polygon=multi)) == []


def test_a_point_given_both_ways_is_refused_at_the_point(tmp_path: Path) -> None:
    stage = "  - name: t\n    type: geo_distance\n    inputs: [stores]\n    as: metres\n"
    stage += "    from: {lon: lon, lat: lat, wkt: home}\n    to: {wkt: home}\n"
    assert problems(tmp_path, stage) == [(15, 32, "unknown key 'wkt' in transforms.t.from")]


def test_a_new_column_named_like_a_column_read_is_refused_at_it(tmp_path: Path) -> None:
    stage = "  - name: t\n    type: geo_point\n    inputs: [stores]\n    lon: lon\n    lat: lat\n    as: lat\n"
    ((line, column, message),) = problems(tmp_path, stage)
    assert (line, column) == (16, 9)
    assert "'lat' is a column the transform reads" in message


def test_geo_join_takes_exactly_two_inputs(tmp_path: Path) -> None:
    stage = "  - name: t\n    type: geo_join\n    inputs: [stores, zones, zones]\n"
    stage += "    point: {lon: lon, lat: lat}\n    polygon: area\n"
    ((line, column, message),) = problems(tmp_path, stage)
    assert (line, column) == (13, 13)
    assert "geo_join takes exactly 2 inputs, not 3" in message


def test_geo_join_is_refused_on_a_stream(tmp_path: Path) -> None:
    pipeline = """\
streaming: {checkpoint_location: ck}
sources:
  - {name: s, type: kafka, mode: stream, bootstrap_servers: "b:9092", topic: t, schema: {lon: DOUBLE, lat: DOUBLE}}
  - {name: zones, type: csv, path: zones.csv, schema: {zone: STRING, area: STRING}}
transforms:
  - {name: t, type: geo_join, inputs: [s, zones], point: {lon: lon, lat: lat}, polygon: area}
sinks:
  - {name: out, type: json, input: t, path: out}
"""
    make_project(tmp_path, {"p/pipeline.yaml": pipeline})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), app.registry())
    (found,) = [d for d in diagnostics if d.severity == "error"]
    assert "geo_join does not run on a stream" in found.message
    assert found.location is not None and found.location.line == 6


def test_distance_lineage_reads_both_points(tmp_path: Path) -> None:
    stage = "  - name: t\n    type: geo_distance\n    inputs: [stores]\n    as: metres\n"
    stage += "    from: {lon: lon, lat: lat}\n    to: {wkt: home}\n"
    graph = lineage(tmp_path, stage)
    made = {("p.stores", c, "expression") for c in ("lon", "lat", "home")}
    assert sources_of(graph, "metres") == made
    assert sources_of(graph, "store") == {("p.stores", "store", "identity")}


def test_point_lineage_makes_the_new_column_from_lon_and_lat(tmp_path: Path) -> None:
    stage = "  - name: t\n    type: geo_point\n    inputs: [stores]\n    lon: lon\n    lat: lat\n    as: wkt\n"
    made = {("p.stores", "lon", "expression"), ("p.stores", "lat", "expression")}
    assert sources_of(lineage(tmp_path, stage), "wkt") == made


def test_join_lineage_keeps_both_sides_columns(tmp_path: Path) -> None:
    stage = "  - name: t\n    type: geo_join\n    inputs: [stores, zones]\n"
    stage += "    point: {lon: lon, lat: lat}\n    polygon: area\n"
    graph = lineage(tmp_path, stage)
    condition = {("p.stores", "lon", "join_key"), ("p.stores", "lat", "join_key"), ("p.zones", "area", "join_key")}
    assert sources_of(graph, "zone") == {("p.zones", "zone", "identity"), *condition}
    assert sources_of(graph, "store") == {("p.stores", "store", "identity"), *condition}


def test_a_pipeline_with_geo_stages_asks_for_no_jvm_package(tmp_path: Path) -> None:
    stage = "  - name: t\n    type: geo_point\n    inputs: [stores]\n    lon: lon\n    lat: lat\n    as: wkt\n"
    make_project(tmp_path, {"p/pipeline.yaml": SOURCES + stage + SINK})
    plan = compile_plan(app.load_spec(tmp_path / "p", None)[1])
    assert set(plugin_packages(plan, REGISTRY)) == set()


def test_validate_imports_no_shapely_and_no_pyspark(tmp_path: Path) -> None:
    """validate of a pipeline using every geo plug-in stays offline: shapely, pandas and pyspark are not imported."""
    stage = "  - name: t\n    type: geo_within\n    inputs: [stores]\n    point: {lon: lon, lat: lat}\n"
    stage += '    polygon: "POLYGON ((0 0, 10 0, 10 10, 0 0))"\n    flag: inside\n'
    make_project(tmp_path, {"p/pipeline.yaml": SOURCES + stage + SINK})
    probe = (
        "import sys\n"
        "from etl_cli.cli.main import main\n"
        "try:\n"
        "    main(['validate', 'p', 'pipelines/stores_geo'])\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "heavy = ('shapely', 'pandas', 'pyarrow', 'numpy', 'pyspark', 'py4j')\n"
        "print('imported:', sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    (tmp_path / "pipelines").symlink_to(Path(__file__).resolve().parents[2] / "pipelines")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-2:] == ["exit 0", "imported: []"], done.stdout + done.stderr


def test_without_the_geo_extra_validate_names_the_extra_at_the_geo_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interpreter without shapely (find_spec answers None for it, as it does when it is not installed)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        geometry.importlib.util, "find_spec", lambda name, *a: None if name == "shapely" else real(name, *a)
    )
    stage = "  - name: t\n    type: geo_point\n    inputs: [stores]\n    lon: lon\n    lat: lat\n    as: wkt\n"
    make_project(tmp_path, {"p/pipeline.yaml": SOURCES + stage + SINK})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), app.registry())
    (found,) = [d for d in diagnostics if d.severity == "error"]
    assert found.message.endswith("the geo stages need shapely (the geo extra), which this Python does not have")
    assert found.hint == "pip install 'etl-cli[geo]'"
    assert found.location is not None and (found.location.line, found.location.column) == (12, 11)  # its type


def geojson_problems(tmp_path: Path, source: str) -> list[tuple[int, int, str]]:
    """(line, column, message) of the errors of a pipeline reading ``source`` (a geojson source named zones)."""
    pipeline = f"sources:\n{source}transforms:\n  - {{name: t, type: filter, inputs: [zones], condition: 'true'}}\n"
    make_project(tmp_path, {"p/pipeline.yaml": pipeline + SINK})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), app.registry())
    return [
        (d.location.line, d.location.column, d.message)
        for d in diagnostics
        if d.severity == "error" and d.location is not None
    ]


def test_a_geojson_schema_without_the_geometry_column_is_refused_at_the_schema(tmp_path: Path) -> None:
    source = "  - name: zones\n    type: geojson\n    path: zones.geojson\n    schema: {zone: STRING}\n"
    ((line, column, message),) = geojson_problems(tmp_path, source)
    assert (line, column) == (5, 13)
    assert "schema has no column 'geometry' for the geometry" in message


def test_a_geojson_geometry_column_must_be_declared_string(tmp_path: Path) -> None:
    source = "  - name: zones\n    type: geojson\n    path: zones.geojson\n    schema: {zone: STRING, area: BINARY}\n"
    source += "    geometry: area\n"
    ((line, column, message),) = geojson_problems(tmp_path, source)
    assert (line, column) == (5, 34)  # the type declared for area
    assert "the geometry column holds WKT text: declare it STRING" in message


def test_a_geojson_source_has_its_declared_columns_in_lineage_and_needs_no_jvm_package(tmp_path: Path) -> None:
    source = (
        "  - name: zones\n    type: geojson\n    path: zones.geojson\n    schema: {zone: STRING, geometry: STRING}\n"
    )
    pipeline = f"sources:\n{source}transforms:\n  - {{name: t, type: filter, inputs: [zones], condition: 'true'}}\n"
    make_project(tmp_path, {"p/pipeline.yaml": pipeline + SINK})
    spec = app.load_spec(tmp_path / "p", None)[1]
    graph = pipeline_lineage(spec, REGISTRY)
    assert sources_of(graph, "geometry") == {("p.zones", "geometry", "identity")}
    assert list(plugin_packages(compile_plan(spec), REGISTRY)) == []


def test_a_misspelt_point_column_is_reported_offline_with_a_suggestion(tmp_path: Path) -> None:
    stage = "  - name: t\n    type: geo_distance\n    inputs: [stores]\n    as: metres\n"
    stage += "    from: {lon: lon, lat: latt}\n    to: {wkt: home}\n"
    make_project(tmp_path, {"p/pipeline.yaml": SOURCES + stage + SINK})
    result = etl_cli("validate", "p", "--format", "json", cwd=tmp_path)
    (report,) = json.loads(result.stdout)["results"]
    (found,) = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert (found["code"], found["line"], found["column"]) == ("unknown-column", 15, 27)  # from's lat value
    assert "'latt'" in found["message"] and found["hint"] == "did you mean 'lat'?"


def test_a_geo_join_point_column_only_the_polygons_have_is_reported_offline(tmp_path: Path) -> None:
    stage = "  - name: t\n    type: geo_join\n    inputs: [stores, zones]\n"
    stage += "    point: {wkt: area}\n    polygon: area\n"
    make_project(tmp_path, {"p/pipeline.yaml": SOURCES + stage + SINK})
    result = etl_cli("validate", "p", "--format", "json", cwd=tmp_path)
    (report,) = json.loads(result.stdout)["results"]
    (found,) = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert (found["code"], found["line"], found["column"]) == ("unknown-column", 14, 18)  # point's wkt value
    assert "'area'" in found["message"] and "'stores'" in found["message"]
