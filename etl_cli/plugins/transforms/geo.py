"""Geospatial transforms on Apache Sedona: ``geo_point``, ``geo_distance``, ``geo_within`` and ``geo_join``.

Sedona's SQL functions (``ST_Point``, ``ST_DistanceSphere``, ``ST_Contains``...) live in JVM
jars, not in pyspark: each transform declares them as Maven packages, so a run whose
pipeline uses one starts Spark with Sedona on its classpath (the way the Kafka connector
is added for a kafka source), and registers Sedona's functions and join planner in the
session before its first use. No Python package is needed: every output column is a
plain Spark type (WKT or GeoJSON text, a distance in metres, a flag), never Sedona's
geometry type, so any sink can write it and nothing needs Sedona's Python classes.

Points are given as longitude/latitude columns (degrees, WGS84) or as a column of WKT
``POINT`` text; polygons as WKT in the same degrees. ``validate`` parses a polygon written
in the YAML, so a typo there is reported at its line before Spark starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.sedona import SEDONA_PACKAGES, ensure_sedona
from etl_cli.plugins.spark_types import quote, single, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: the radius ST_DistanceSphere uses by default (metres): the mean Earth radius
EARTH_RADIUS_M = 6371008.0

_COLUMN = {"type": "string", "minLength": 1}
POINT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "lon": {**_COLUMN, "description": "Column of longitudes, in degrees (WGS84)."},
                "lat": {**_COLUMN, "description": "Column of latitudes, in degrees (WGS84)."},
            },
            "required": ["lon", "lat"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"wkt": {**_COLUMN, "description": "Column of WKT points: POINT (lon lat)."}},
            "required": ["wkt"],
            "additionalProperties": False,
        },
    ],
    "description": "A point: {lon: column, lat: column} in degrees, or {wkt: column} holding POINT (lon lat) text.",
}
_BOUNDARY = {
    "type": "string",
    "enum": ["exclude", "include"],
    "default": "exclude",
    "description": "Whether a point exactly on a polygon's edge counts as inside: exclude (ST_Contains) or "
    "include (ST_Intersects).",
}


def point_sql(point: Mapping[str, str], table: str | None = None) -> str:
    """Spark SQL making the Sedona point of a point option (columns qualified by ``table`` when given)."""
    prefix = f"{quote(table)}." if table else ""
    if "wkt" in point:
        return f"ST_GeomFromWKT({prefix}{quote(point['wkt'])})"
    lon, lat = (f"CAST({prefix}{quote(point[k])} AS DOUBLE)" for k in ("lon", "lat"))
    return f"ST_Point({lon}, {lat})"


def point_columns(point: Any) -> list[str]:
    """The columns a point option reads (none when it is malformed: JSON Schema reports that)."""
    if not isinstance(point, Mapping):
        return []
    return [str(point[k]) for k in ("lon", "lat", "wkt") if isinstance(point.get(k), str)]


def predicate_sql(boundary: str, polygon: str, point: str) -> str:
    """``polygon`` contains ``point``; with ``include`` a point on the edge counts too."""
    function = "ST_Intersects" if boundary == "include" else "ST_Contains"
    return f"{function}({polygon}, {point})"


def sql_string(text: str) -> str:
    """``text`` as a Spark SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# ---------------------------------------------------------------------------
# Offline checks of a WKT polygon written in the YAML
# ---------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\()|(\))|(,)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))")


def polygon_problem(text: str) -> str | None:
    """Why ``text`` is not a WKT POLYGON or MULTIPOLYGON of closed lon/lat rings; None when it is one."""
    stripped = text.strip()
    head = stripped.partition("(")[0]
    kind = head.strip().upper()
    if kind not in ("POLYGON", "MULTIPOLYGON"):
        return f"expected WKT starting with POLYGON or MULTIPOLYGON, got '{head.strip()[:30]}'"
    try:
        tree, end = _parse_list(stripped, len(head))
    except ValueError as exc:
        return f"malformed WKT: {exc}"
    if stripped[end:].strip():
        return "malformed WKT: text after the closing parenthesis"
    polygons = tree if kind == "MULTIPOLYGON" else [tree]
    for polygon in polygons:
        if problem := _polygon_rings_problem(polygon):
            return problem
    return None


def _parse_list(text: str, at: int) -> tuple[list[Any], int]:
    """Parse ``( item, item... )`` from ``at``: items are lists or positions (numbers separated by spaces)."""
    match = _TOKEN.match(text, at)
    if not match or not match.group(1):
        raise ValueError("expected '('")
    at, items = match.end(), []
    while True:
        if text[at:].lstrip().startswith("("):
            item, at = _parse_list(text, at)
            items.append(item)
        else:
            position: list[float] = []
            while (match := _TOKEN.match(text, at)) and match.group(4):
                position.append(float(match.group(4)))
                at = match.end()
            if not position:
                raise ValueError(f"expected a coordinate at character {at + 1}")
            items.append(position)
        match = _TOKEN.match(text, at)
        if match and match.group(3):
            at = match.end()
        elif match and match.group(2):
            return items, match.end()
        else:
            raise ValueError(f"expected ',' or ')' at character {at + 1}")


def _polygon_rings_problem(polygon: Any) -> str | None:
    """Why a parsed polygon is not a list of closed rings of at least 4 lon/lat positions."""
    if not isinstance(polygon, list) or not polygon or not all(_is_ring(ring) for ring in polygon):
        return "a polygon is a list of rings, each a list of 'lon lat' positions: POLYGON ((0 0, 1 0, 1 1, 0 0))"
    for ring in polygon:
        if len(ring) < 4:
            return f"a ring needs at least 4 positions (the first repeated last), this one has {len(ring)}"
        if ring[0] != ring[-1]:
            return "a ring must end where it starts (repeat its first position last)"
        for lon, lat in ring:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                return f"position '{lon:g} {lat:g}' is not longitude latitude in degrees (lon -180..180, lat -90..90)"
    return None


def _is_ring(ring: Any) -> bool:
    return isinstance(ring, list) and all(isinstance(p, list) and len(p) == 2 for p in ring)


class GeoTransform(Transform):
    """What the geo transforms share: Sedona's jars."""

    maven_packages = SEDONA_PACKAGES
    needs_driver_jvm = "Apache Sedona registers its functions in Spark's driver JVM"


def _new_column_problems(options: Mapping[str, Any], key: str, read: Sequence[str]) -> list[OptionProblem]:
    """The output column ``options[key]`` named like a column the transform reads (it would be there twice)."""
    name = options.get(key)
    if isinstance(name, str) and name.lower() in {c.lower() for c in read}:
        return [
            OptionProblem(
                (key,),
                f"'{name}' is a column the transform reads: the output would have it twice",
                "give the new column another name",
            )
        ]
    return []


def _add_column(ctx: RunContext, stage: StageSpec, df: DataFrame, name: str, sql: str) -> DataFrame:
    """``df`` with a new column ``name`` = ``sql`` (refused when ``df`` has a column of that name, before Sedona)."""
    from pyspark.sql import functions as F

    _refuse_existing(stage, df.columns, name)
    ensure_sedona(ctx.spark, stage)
    with user_sql(stage, stage.type):
        return df.withColumn(name, F.expr(sql))


def _refuse_existing(stage: StageSpec, columns: Sequence[str], name: str) -> None:
    if name.lower() in {c.lower() for c in columns}:
        raise ConfigError(
            f"{stage.label}: the input already has a column '{name}', so the output would have two",
            location=stage.location,
            hint="give the new column another name",
        )


def _require(stage: StageSpec, columns: Sequence[str], names: Sequence[str], side: str = "input") -> None:
    for name in names:
        if name not in columns:
            hint = did_you_mean(name, columns) or f"its columns: {', '.join(columns)}"
            raise ConfigError(f"{stage.label}: the {side} has no column '{name}'", location=stage.location, hint=hint)


def _select_adding(stage: StageSpec, inputs: Mapping[str, Sequence[str] | None], sql: str, name: str) -> str:
    """Lineage: the input's columns, then ``sql AS name``."""
    (table,) = inputs
    known = inputs[table]
    kept = ", ".join(quote(c) for c in known) if known is not None else "*"
    return f"SELECT {kept}, {sql} AS {quote(name)} FROM {quote(table)}"


class _ColumnAdding(GeoTransform):
    """A geo transform that adds one column (``as``) computed by one SQL expression from the point columns it reads."""

    @classmethod
    def _reads(cls, options: Mapping[str, Any]) -> list[str]:
        raise NotImplementedError

    @classmethod
    def _sql(cls, options: Mapping[str, Any]) -> str:
        raise NotImplementedError

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return _new_column_problems(options, "as", cls._reads(options))

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        return StageLineage(_select_adding(stage, inputs, cls._sql(stage.options), stage.options["as"]))

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        df = single(inputs)
        _require(stage, df.columns, self._reads(stage.options))
        return _add_column(ctx, stage, df, stage.options["as"], self._sql(stage.options))


@register
class GeoPointTransform(_ColumnAdding):
    type = "geo_point"
    description = (
        "Add a point made from longitude and latitude columns (degrees, WGS84), as WKT text (POINT (lon lat)) "
        "or GeoJSON, for geo_distance, geo_within and geo_join, or for sinks and tools that read WKT."
    )
    required_options = ("lon", "lat", "as")
    options_schema = {
        "lon": {**_COLUMN, "description": "Column of longitudes, in degrees."},
        "lat": {**_COLUMN, "description": "Column of latitudes, in degrees."},
        "as": {**_COLUMN, "description": "Name of the new column (not a column the input has)."},
        "format": {
            "type": "string",
            "enum": ["wkt", "geojson"],
            "default": "wkt",
            "description": 'wkt: POINT (lon lat) text; geojson: {"type":"Point","coordinates":[lon,lat]}.',
        },
    }

    @classmethod
    def _reads(cls, options: Mapping[str, Any]) -> list[str]:
        return [str(options[k]) for k in ("lon", "lat") if isinstance(options.get(k), str)]

    @classmethod
    def _sql(cls, options: Mapping[str, Any]) -> str:
        function = "ST_AsGeoJSON" if options.get("format") == "geojson" else "ST_AsText"
        return f"{function}({point_sql({'lon': options['lon'], 'lat': options['lat']})})"


@register
class GeoDistanceTransform(_ColumnAdding):
    type = "geo_distance"
    description = (
        "Add the great-circle distance in metres between two points of each row (Sedona's ST_DistanceSphere, "
        f"on a sphere of radius {EARTH_RADIUS_M:.0f} m); null when a coordinate is null."
    )
    required_options = ("from", "to", "as")
    options_schema = {
        "from": {**POINT_SCHEMA, "description": "The first point. " + POINT_SCHEMA["description"]},
        "to": {**POINT_SCHEMA, "description": "The second point. " + POINT_SCHEMA["description"]},
        "as": {**_COLUMN, "description": "Name of the new column of distances in metres (DOUBLE)."},
    }

    @classmethod
    def _reads(cls, options: Mapping[str, Any]) -> list[str]:
        return point_columns(options.get("from")) + point_columns(options.get("to"))

    @classmethod
    def _sql(cls, options: Mapping[str, Any]) -> str:
        return f"ST_DistanceSphere({point_sql(options['from'])}, {point_sql(options['to'])})"


@register
class GeoWithinTransform(GeoTransform):
    type = "geo_within"
    description = (
        "Keep the rows whose point lies inside a polygon written as WKT (or, with flag, keep every row and add "
        "a boolean column saying so). Edges are straight lines in longitude/latitude."
    )
    required_options = ("point", "polygon")
    options_schema = {
        "point": POINT_SCHEMA,
        "polygon": {
            "type": "string",
            "minLength": 1,
            "description": "The area, as WKT POLYGON or MULTIPOLYGON in longitude latitude degrees: "
            "POLYGON ((lon lat, lon lat, ..., first position again)); holes as further rings.",
        },
        "boundary": _BOUNDARY,
        "flag": {
            **_COLUMN,
            "description": "Keep every row and add a BOOLEAN column of this name (null where the point is null) "
            "instead of keeping only the rows inside.",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = _new_column_problems(options, "flag", point_columns(options.get("point")))
        polygon = options.get("polygon")
        if isinstance(polygon, str) and (problem := polygon_problem(polygon)):
            problems.append(OptionProblem(("polygon",), problem, "POLYGON ((lon lat, lon lat, lon lat, lon lat))"))
        return problems

    @classmethod
    def _sql(cls, options: Mapping[str, Any]) -> str:
        polygon = f"ST_GeomFromWKT({sql_string(options['polygon'])})"
        return predicate_sql(options.get("boundary", "exclude"), polygon, point_sql(options["point"]))

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        sql = cls._sql(stage.options)
        if "flag" in stage.options:
            return StageLineage(_select_adding(stage, inputs, sql, stage.options["flag"]))
        (table,) = inputs
        known = inputs[table]
        kept = ", ".join(quote(c) for c in known) if known is not None else "*"
        return StageLineage(f"SELECT {kept} FROM {quote(table)} WHERE {sql}")

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return "flag" in options

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        df = single(inputs)
        _require(stage, df.columns, point_columns(stage.options["point"]))
        if "flag" in stage.options:
            return _add_column(ctx, stage, df, stage.options["flag"], self._sql(stage.options))
        ensure_sedona(ctx.spark, stage)
        with user_sql(stage, stage.type):
            return df.filter(F.expr(self._sql(stage.options)))


@register
class GeoJoinTransform(GeoTransform):
    type = "geo_join"
    description = (
        "Spatial join: each point of the first input with every polygon of the second that contains it (an inner "
        "join; Sedona plans it as an indexed spatial join rather than comparing every pair)."
    )
    single_input = False
    min_inputs = 2
    required_options = ("point", "polygon")
    options_schema = {
        "point": {
            **POINT_SCHEMA,
            "description": "The point of each row of the first input. " + POINT_SCHEMA["description"],
        },
        "polygon": {
            **_COLUMN,
            "description": "Column of the second input holding each area as WKT POLYGON or "
            "MULTIPOLYGON, in longitude latitude degrees.",
        },
        "boundary": _BOUNDARY,
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        # The validator passes the whole stage item, so ``inputs`` is here to count them.
        inputs = options.get("inputs")
        if isinstance(inputs, list) and len(inputs) != 2:
            return [
                OptionProblem(
                    ("inputs",),
                    f"geo_join takes exactly 2 inputs, not {len(inputs)}",
                    "inputs: [the stage with the points, the stage with the polygons]",
                )
            ]
        return []

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return [
            OptionProblem(
                ("type",),
                "geo_join does not run on a stream (Sedona's spatial join is batch only)",
                "read the points with a batch source, or use geo_within against one polygon",
            )
        ]

    @classmethod
    def _condition(cls, stage: StageSpec) -> str:
        points, polygons = stage.inputs
        polygon = f"ST_GeomFromWKT({quote(polygons)}.{quote(stage.options['polygon'])})"
        return predicate_sql(
            stage.options.get("boundary", "exclude"), polygon, point_sql(stage.options["point"], points)
        )

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        items = []
        for table in stage.inputs:
            known = inputs[table]
            items += [f"{quote(table)}.{quote(c)}" for c in known] if known is not None else [f"{quote(table)}.*"]
        points, polygons = stage.inputs
        return StageLineage(
            f"SELECT {', '.join(items)} FROM {quote(points)} JOIN {quote(polygons)} ON {cls._condition(stage)}"
        )

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        points_name, polygons_name = stage.inputs
        points, polygons = inputs[points_name], inputs[polygons_name]
        _require(stage, points.columns, point_columns(stage.options["point"]), "first input")
        _require(stage, polygons.columns, [stage.options["polygon"]], "second input")
        for column in polygons.columns:
            _refuse_existing(stage, points.columns, column)
        ensure_sedona(ctx.spark, stage)
        # Sedona's range join fails on a null geometry; such a row matches nothing anyway
        points = points.dropna(subset=point_columns(stage.options["point"]))
        polygons = polygons.dropna(subset=[stage.options["polygon"]])
        with user_sql(stage, stage.type):
            joined = points.alias(points_name).join(
                polygons.alias(polygons_name), on=F.expr(self._condition(stage)), how="inner"
            )
            return joined.select(
                *[F.col(f"{quote(points_name)}.{quote(c)}") for c in points.columns],
                *[F.col(f"{quote(polygons_name)}.{quote(c)}") for c in polygons.columns],
            )
