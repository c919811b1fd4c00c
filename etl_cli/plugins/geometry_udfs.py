"""The geometry work of the geo plug-ins that plain Spark SQL cannot do exactly, on pandas batches with shapely 2.

Spark calls these as Arrow-based pandas UDFs (:mod:`etl_cli.plugins.geometry` registers them in the
session under the names it lists), in its Python workers: one call per Arrow batch, each vectorised
with shapely's array functions (GEOS underneath). This module imports shapely and pandas when it is
imported, which only a running geo stage does, after checking that they are installed.

Nulls: an Arrow null reaches a pandas float column as NaN, so a null or NaN coordinate is "no point";
every function answers null (NaN or None, which Spark writes as null) for a row without its inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely

#: longest part of an input quoted in an error message
_QUOTED = 80


def _parse(texts: pd.Series, parser: str) -> np.ndarray:
    """The geometries of a batch of WKT (``parser`` "wkt") or GeoJSON ("geojson") texts, None for a null text.

    Each distinct text is parsed once per batch (a geo_join's candidate pairs repeat the same polygon):
    the geometries of distinct texts are shapely objects shared by the rows holding that text.
    """
    codes, uniques = pd.factorize(texts, use_na_sentinel=True)
    parse = shapely.from_wkt if parser == "wkt" else shapely.from_geojson
    values = np.asarray(uniques, dtype=object)
    try:
        parsed = parse(values)
    except shapely.errors.ShapelyError:
        for text in values:  # name the first text that does not parse
            try:
                parse(text)
            except shapely.errors.ShapelyError as exc:
                raise ValueError(f"not valid {parser.upper()}: {str(text)[:_QUOTED]!r} ({exc})") from None
        raise
    geometries = np.full(len(texts), None, dtype=object)
    present = codes >= 0
    geometries[present] = parsed[codes[present]]
    return geometries


def point_lon_lat(wkt: pd.Series) -> pd.DataFrame:
    """Longitude and latitude of WKT ``POINT (lon lat)`` texts; both null for a null text or ``POINT EMPTY``.

    Text that is not WKT, or WKT of another geometry than a point, fails the batch, quoting it.
    """
    points = _parse(wkt, "wkt")
    kinds = shapely.get_type_id(points)  # -1 for None, 0 for a point
    wrong = np.flatnonzero((kinds != -1) & (kinds != 0))
    if len(wrong):
        raise ValueError(f"not a WKT POINT: {str(wkt.iloc[wrong[0]])[:_QUOTED]!r}")
    points[shapely.is_empty(points)] = None  # GEOS has no coordinates to give for POINT EMPTY
    return pd.DataFrame({"lon": shapely.get_x(points), "lat": shapely.get_y(points)})


def _point_test(predicate: str, polygons: pd.Series, lon: pd.Series, lat: pd.Series) -> pd.Series:
    """``predicate`` ("contains" or "intersects") of each row's polygon and point; null without either."""
    geometries = _parse(polygons, "wkt")
    x, y = lon.to_numpy(dtype="float64"), lat.to_numpy(dtype="float64")
    shapely.prepare(geometries)  # the polygon of a geo_within (or a polygon repeated in a join) is tested many times
    test = shapely.contains_xy if predicate == "contains" else shapely.intersects_xy
    answers = test(geometries, x, y)
    unknown = pd.isna(geometries) | np.isnan(x) | np.isnan(y)
    return pd.Series(pd.array(np.where(unknown, None, answers), dtype="boolean"))


def contains(polygons: pd.Series, lon: pd.Series, lat: pd.Series) -> pd.Series:
    """Whether each polygon (WKT) contains its point, a point on the boundary not counting (DE-9IM contains)."""
    return _point_test("contains", polygons, lon, lat)


def intersects(polygons: pd.Series, lon: pd.Series, lat: pd.Series) -> pd.Series:
    """Whether each polygon (WKT) and its point have a point in common: inside or on the boundary."""
    return _point_test("intersects", polygons, lon, lat)


def point_test_in(polygon_wkt: str, boundary: str) -> Callable[[pd.Series, pd.Series], pd.Series]:
    """The test of points against one polygon (a geo_within's): contains, or intersects with ``boundary`` include.

    The polygon is parsed here, on the driver, and travels inside the function to the workers (a
    shapely geometry pickles as WKB), rather than as a column repeating its text on every row.
    """
    polygon = shapely.from_wkt(polygon_wkt)
    test = shapely.intersects_xy if boundary == "include" else shapely.contains_xy

    def within(lon: pd.Series, lat: pd.Series) -> pd.Series:
        shapely.prepare(polygon)  # once per worker: preparing a prepared geometry does nothing
        x, y = lon.to_numpy(dtype="float64"), lat.to_numpy(dtype="float64")
        answers = test(polygon, x, y)
        return pd.Series(pd.array(np.where(np.isnan(x) | np.isnan(y), None, answers), dtype="boolean"))

    return within


def bounds(polygons: pd.Series) -> pd.DataFrame:
    """The bounding box of each WKT geometry: min_lon, min_lat, max_lon, max_lat; null for null or empty."""
    boxes = shapely.bounds(_parse(polygons, "wkt"))  # NaN for None and for an empty geometry
    return pd.DataFrame(boxes, columns=["min_lon", "min_lat", "max_lon", "max_lat"])


def geojson_to_wkt(geojson: pd.Series) -> pd.Series:
    """GeoJSON geometry objects (text) as WKT, coordinates written in full (shortest exact decimals)."""
    geometries = _parse(geojson, "geojson")
    return pd.Series(shapely.to_wkt(geometries, rounding_precision=-1, trim=True), dtype=object)
