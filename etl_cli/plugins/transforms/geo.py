"""Geospatial transforms: ``geo_point``, ``geo_distance``, ``geo_within`` and ``geo_join``.

What computes what (no JVM packages; shapely, pandas and pyarrow from the ``geo`` extra):

- ``geo_point``: plain Spark SQL writes ``POINT (lon lat)`` or the GeoJSON text, each number as the
  shortest decimal that reads back as it (``1`` for 1.0, never an exponent).
- ``geo_distance``: plain Spark SQL, the haversine formula on a sphere of radius
  :data:`EARTH_RADIUS_M` (the one Apache Sedona's ``ST_DistanceSphere`` used, the mean Earth radius).
- ``geo_within``: shapely 2's ``contains_xy`` (``boundary: exclude``: a point on an edge is outside,
  as in DE-9IM *contains*) or ``intersects_xy`` (``include``), vectorised in an Arrow-based pandas UDF;
  the polygon is parsed once on the driver and travels inside the function.
- ``geo_join``: Spark joins each point with the polygons whose bounding box holds it (the boxes
  computed by shapely; the polygon side broadcast, as polygons are usually the small side: a
  ``BroadcastNestedLoopJoin`` whose condition is four compiled comparisons per pair, with no
  Python), then shapely tests each candidate pair exactly, as geo_within does (each distinct
  polygon text parsed once per Arrow batch). Chosen over a grid-cell equi-join because no fixed
  cell size suits both city blocks and whole countries (too many candidates per cell, or too many
  cells per polygon) and an adaptive one needs a pass over the data before planning; the cost is
  one cheap comparison per point and polygon, so it suits polygon sides of up to some thousands of
  rows. A point's row and the polygon's text travel to the Python worker for each candidate pair.

WKT in a column (points given as ``{wkt: column}``, a geo_join's polygons) is parsed by shapely in
the workers; text that does not parse, or a point column holding another geometry, fails the run
quoting it. Points are given as longitude/latitude columns (degrees, WGS84) or as a column of WKT
``POINT`` text; polygons as WKT in the same degrees, edges straight lines in longitude/latitude.
``validate`` parses a polygon written in the YAML (with its own small parser, no shapely), so a
typo there is reported at its line before Spark starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.geometry import CONNECT_REASON, extra_problems, finite_sql, number_sql, register_functions
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: the radius of the haversine distance (metres): the mean Earth radius, the default of Sedona's ST_DistanceSphere
EARTH_RADIUS_M = 6371008.0
#: hidden columns a transform adds while it works (removed before its output)
_HIDDEN = "__etl_cli_geo_"

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
    "description": "Whether a point exactly on a polygon's edge (a hole's too) counts as inside: exclude (the "
    "polygon contains the point) or include (they intersect).",
}


def point_sql(point: Mapping[str, str], table: str | None = None) -> tuple[str, str]:
    """Spark SQL of a point option's longitude and latitude, for lineage (columns qualified by ``table``).

    A ``{wkt: column}`` point is parsed by shapely (``etl_geo_point_lon_lat``). The run computes the
    same values once per row in hidden columns (:func:`_parse_points`), a NaN coordinate made null.
    """
    prefix = f"{quote(table)}." if table else ""
    if "wkt" in point:
        parsed = f"etl_geo_point_lon_lat({prefix}{quote(point['wkt'])})"
        return f"{parsed}.lon", f"{parsed}.lat"
    return f"{prefix}{quote(point['lon'])}", f"{prefix}{quote(point['lat'])}"


def point_columns(point: Any) -> list[str]:
    """The columns a point option reads (none when it is malformed: JSON Schema reports that)."""
    if not isinstance(point, Mapping):
        return []
    return [str(point[k]) for k in ("lon", "lat", "wkt") if isinstance(point.get(k), str)]


def predicate_function(boundary: str) -> str:
    """The SQL function testing a polygon against a point: contains, or intersects with ``include``."""
    return "etl_geo_intersects" if boundary == "include" else "etl_geo_contains"


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
    """What the geo transforms share: shapely, pandas and pyarrow (the geo extra), checked by validate and the run."""

    needs_driver_jvm = CONNECT_REASON

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return extra_problems()


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


def _parse_points(df: DataFrame, points: Sequence[Mapping[str, str]]) -> tuple[DataFrame, list[tuple[str, str]]]:
    """``df`` with hidden DOUBLE columns of each point's longitude and latitude (null without a point), and their names.

    A ``{wkt: column}`` point is parsed once per row, into a hidden struct both columns read.
    """
    from pyspark.sql import functions as F

    names: list[tuple[str, str]] = []
    for number, point in enumerate(points):
        lon, lat = f"{_HIDDEN}lon{number}", f"{_HIDDEN}lat{number}"
        if "wkt" in point:
            parsed = f"{_HIDDEN}point{number}"
            df = df.withColumn(parsed, F.expr(f"etl_geo_point_lon_lat({quote(point['wkt'])})"))
            df = df.withColumns({lon: F.col(f"{parsed}.lon"), lat: F.col(f"{parsed}.lat")})
        else:
            df = df.withColumns(
                {lon: F.expr(finite_sql(quote(point["lon"]))), lat: F.expr(finite_sql(quote(point["lat"])))}
            )
        names.append((lon, lat))
    return df, names


def _select_adding(stage: StageSpec, inputs: Mapping[str, Sequence[str] | None], sql: str, name: str) -> str:
    """Lineage: the input's columns, then ``sql AS name``."""
    (table,) = inputs
    known = inputs[table]
    kept = ", ".join(quote(c) for c in known) if known is not None else "*"
    return f"SELECT {kept}, {sql} AS {quote(name)} FROM {quote(table)}"


class _ColumnAdding(GeoTransform):
    """A geo transform that adds one column (``as``) computed by one SQL expression from the points it reads."""

    @classmethod
    def _points(cls, options: Mapping[str, Any]) -> list[Mapping[str, str]]:
        raise NotImplementedError

    @classmethod
    def _sql(cls, options: Mapping[str, Any], points: Sequence[tuple[str, str]]) -> str:
        """The new column from the points' longitude and latitude (SQL of DOUBLE columns, null without a point)."""
        raise NotImplementedError

    @classmethod
    def _reads(cls, options: Mapping[str, Any]) -> list[str]:
        return [c for point in cls._points(options) for c in point_columns(point)]

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return _new_column_problems(options, "as", cls._reads(options)) + extra_problems()

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        # the values the run computes from these columns, named rather than spelt out (lineage shows it)
        points = ", ".join(c for point in cls._points(stage.options) for c in point_sql(point))
        return StageLineage(_select_adding(stage, inputs, f"{cls.type}({points})", stage.options["as"]))

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        df = single(inputs)
        _require(stage, df.columns, self._reads(stage.options))
        name = stage.options["as"]
        _refuse_existing(stage, df.columns, name)
        register_functions(ctx.spark, stage)
        with user_sql(stage, stage.type):
            parsed, points = _parse_points(df, self._points(stage.options))
            quoted = [(quote(lon), quote(lat)) for lon, lat in points]
            added = parsed.withColumn(name, F.expr(self._sql(stage.options, quoted)))
            return added.select(*[F.col(quote(c)) for c in df.columns], F.col(quote(name)))


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
    def _points(cls, options: Mapping[str, Any]) -> list[Mapping[str, str]]:
        return [{k: str(options[k]) for k in ("lon", "lat") if isinstance(options.get(k), str)}]

    @classmethod
    def _sql(cls, options: Mapping[str, Any], points: Sequence[tuple[str, str]]) -> str:
        lon, lat = (number_sql(c) for c in points[0])
        if options.get("format") == "geojson":
            return f"""concat('{{"type":"Point","coordinates":[', {lon}, ',', {lat}, ']}}')"""
        return f"concat('POINT (', {lon}, ' ', {lat}, ')')"


@register
class GeoDistanceTransform(_ColumnAdding):
    type = "geo_distance"
    description = (
        "Add the great-circle distance in metres between two points of each row (the haversine formula on a "
        f"sphere of radius {EARTH_RADIUS_M:.0f} m, in Spark SQL); null when a point is null."
    )
    required_options = ("from", "to", "as")
    options_schema = {
        "from": {**POINT_SCHEMA, "description": "The first point. " + POINT_SCHEMA["description"]},
        "to": {**POINT_SCHEMA, "description": "The second point. " + POINT_SCHEMA["description"]},
        "as": {**_COLUMN, "description": "Name of the new column of distances in metres (DOUBLE)."},
    }

    @classmethod
    def _points(cls, options: Mapping[str, Any]) -> list[Mapping[str, str]]:
        return [options[k] for k in ("from", "to") if isinstance(options.get(k), Mapping)]

    @classmethod
    def _sql(cls, options: Mapping[str, Any], points: Sequence[tuple[str, str]]) -> str:
        (lon1, lat1), (lon2, lat2) = points
        half_chord = (
            f"power(sin(radians({lat2} - {lat1}) / 2), 2) + "
            f"cos(radians({lat1})) * cos(radians({lat2})) * power(sin(radians({lon2} - {lon1}) / 2), 2)"
        )
        return f"2 * {EARTH_RADIUS_M!r} * atan2(sqrt({half_chord}), sqrt(1 - ({half_chord})))"


@register
class GeoWithinTransform(GeoTransform):
    type = "geo_within"
    description = (
        "Keep the rows whose point lies inside a polygon written as WKT (or, with flag, keep every row and add "
        "a boolean column saying so). Edges are straight lines in longitude/latitude; the test is shapely's."
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
        return problems + extra_problems()

    @classmethod
    def _sql(cls, options: Mapping[str, Any]) -> str:
        """The test as SQL (lineage); the run calls the same test with the polygon parsed once instead."""
        lon, lat = point_sql(options["point"])
        function = predicate_function(options.get("boundary", "exclude"))
        return f"{function}({sql_string(options['polygon'])}, {lon}, {lat})"

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
        point = stage.options["point"]
        _require(stage, df.columns, point_columns(point))
        flag = stage.options.get("flag")
        if flag is not None:
            _refuse_existing(stage, df.columns, flag)
        register_functions(ctx.spark, stage)
        from etl_cli.plugins.geometry_udfs import point_test_in

        test = point_test_in(stage.options["polygon"], stage.option("boundary", "exclude"))
        within = F.pandas_udf(test, "boolean")  # type: ignore[call-overload]
        with user_sql(stage, stage.type):
            parsed, ((lon, lat),) = _parse_points(df, [point])
            inside = within(F.col(lon), F.col(lat))
            if flag is not None:
                return parsed.withColumn(flag, inside).select(
                    *[F.col(quote(c)) for c in df.columns], F.col(quote(flag))
                )
            return parsed.filter(inside).select(*[F.col(quote(c)) for c in df.columns])


@register
class GeoJoinTransform(GeoTransform):
    type = "geo_join"
    description = (
        "Spatial join: each point of the first input with every polygon of the second that contains it (an inner "
        "join: points are matched to the broadcast polygons' bounding boxes, then tested exactly with shapely)."
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
        return extra_problems()

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return [
            OptionProblem(
                ("type",),
                "geo_join does not run on a stream (it is a batch join of two inputs)",
                "read the points with a batch source, or use geo_within against one polygon",
            )
        ]

    @classmethod
    def _condition(cls, stage: StageSpec) -> str:
        points, polygons = stage.inputs
        lon, lat = point_sql(stage.options["point"], points)
        function = predicate_function(stage.options.get("boundary", "exclude"))
        return f"{function}({quote(polygons)}.{quote(stage.options['polygon'])}, {lon}, {lat})"

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
        point, polygon = stage.options["point"], stage.options["polygon"]
        _require(stage, points.columns, point_columns(point), "first input")
        _require(stage, polygons.columns, [polygon], "second input")
        for column in polygons.columns:
            _refuse_existing(stage, points.columns, column)
        register_functions(ctx.spark, stage)
        box = f"{_HIDDEN}box"
        with user_sql(stage, stage.type):
            parsed, ((lon, lat),) = _parse_points(points, [point])
            located = parsed.filter(
                F.col(lon).isNotNull() & F.col(lat).isNotNull()  # no point: no polygon contains it
            )
            # a null or empty polygon has no bounding box and contains nothing
            boxed = polygons.withColumn(box, F.expr(f"etl_geo_bounds({quote(polygon)})")).filter(
                F.col(f"{box}.min_lon").isNotNull()
            )
            in_box = (
                (F.col(lon) >= F.col(f"{box}.min_lon")) & (F.col(lon) <= F.col(f"{box}.max_lon"))
                & (F.col(lat) >= F.col(f"{box}.min_lat")) & (F.col(lat) <= F.col(f"{box}.max_lat"))
            )  # fmt: skip
            candidates = located.join(F.broadcast(boxed), on=in_box, how="inner")
            function = predicate_function(stage.options.get("boundary", "exclude"))
            matched = candidates.filter(F.expr(f"{function}({quote(polygon)}, {quote(lon)}, {quote(lat)})"))
            return matched.select(
                *[F.col(quote(c)) for c in points.columns], *[F.col(quote(c)) for c in polygons.columns]
            )
