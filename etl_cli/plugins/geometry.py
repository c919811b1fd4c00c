"""What the geo plug-ins (the geo transforms, the geojson source) share: the geo extra, and their SQL functions.

The work is plain Spark SQL where that is exact (a point's WKT or GeoJSON text, the haversine
distance) and shapely 2 elsewhere (parsing WKT and GeoJSON, point-in-polygon tests, bounding
boxes): the vectorised functions of :mod:`etl_cli.plugins.geometry_udfs`, registered in the session
as Arrow-based pandas UDFs under the names of :data:`FUNCTIONS`, so a stage's Spark SQL calls them by
name, and its column lineage is that same SQL.

shapely, numpy, pandas and pyarrow come with the ``geo`` extra; they are needed on the driver and the
executors. This module imports none of them (``validate`` imports it): :func:`extra_problems`
and :func:`require_extra` only look for them.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, StageSpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: what to install for the geo plug-ins
GEO_INSTALL = "pip install 'etl-cli[geo]'"
#: the modules of the geo extra, needed where Spark runs the stages (driver and executors)
GEO_MODULES = ("shapely", "numpy", "pandas", "pyarrow")

#: why the geo stages are refused over Spark Connect (the plug-ins' ``needs_driver_jvm``): not tried there
CONNECT_REASON = (
    "its shapely functions are pandas UDFs of etl-cli's own module (etl_cli.plugins.geometry_udfs), which the "
    "Spark Connect server's Python workers must import; etl-cli does not check that"
)

#: SQL function name: (function of etl_cli.plugins.geometry_udfs, Spark type it returns)
FUNCTIONS = {
    "etl_geo_point_lon_lat": ("point_lon_lat", "lon DOUBLE, lat DOUBLE"),
    "etl_geo_contains": ("contains", "BOOLEAN"),
    "etl_geo_intersects": ("intersects", "BOOLEAN"),
    "etl_geo_bounds": ("bounds", "min_lon DOUBLE, min_lat DOUBLE, max_lon DOUBLE, max_lat DOUBLE"),
    "etl_geo_geojson_to_wkt": ("geojson_to_wkt", "STRING"),
}


def missing_modules() -> list[str]:
    """The modules of the geo extra that this Python cannot import (looked up, not imported)."""
    return [name for name in GEO_MODULES if importlib.util.find_spec(name) is None]


def _missing_message(missing: list[str]) -> str:
    return f"the geo stages need {', '.join(missing)} (the geo extra), which this Python does not have"


def extra_problems() -> list[OptionProblem]:
    """For ``validate``: the geo extra missing, reported at the stage's type."""
    missing = missing_modules()
    return [OptionProblem(("type",), _missing_message(missing), GEO_INSTALL)] if missing else []


def require_extra(stage: StageSpec) -> None:
    """Stop a run of ``stage`` without the geo extra, at the stage's location, naming what to install."""
    if missing := missing_modules():
        raise ConfigError(f"{stage.label}: {_missing_message(missing)}", location=stage.location, hint=GEO_INSTALL)


def register_functions(spark: SparkSession, stage: StageSpec) -> None:
    """Make the SQL functions of :data:`FUNCTIONS` callable in ``spark`` (temporary, replaced each time)."""
    require_extra(stage)
    from pyspark.sql.functions import pandas_udf

    from etl_cli.plugins import geometry_udfs

    for name, (function, returns) in FUNCTIONS.items():
        spark.udf.register(name, pandas_udf(getattr(geometry_udfs, function), returns))  # type: ignore[call-overload]


# ---------------------------------------------------------------------------
# Plain Spark SQL
# ---------------------------------------------------------------------------


def finite_sql(value: str) -> str:
    """``value`` as a DOUBLE, null where it is NaN or infinite (no point, as where it is null)."""
    double = f"CAST({value} AS DOUBLE)"
    return f"CASE WHEN isnan({double}) OR abs({double}) = double('Infinity') THEN NULL ELSE {double} END"


def number_sql(value: str) -> str:
    """A DOUBLE ``value`` as the shortest decimal that reads back as it, never in exponent form (WKT, GeoJSON).

    ``1.0`` is written ``1``, ``-0.14`` ``-0.14``, ``1.0E-5`` ``0.00001``: Spark writes a double as
    Java does, digits that read back as it (with a trailing zero at times), in exponent form below
    0.001 and from 10 million; this drops the trailing zeros and expands the exponent. A null is null.
    """
    text = f"CAST(abs({value}) AS STRING)"
    mantissa = f"substring_index({text}, 'E', 1)"
    exponent = f"CAST(substring_index({text}, 'E', -1) AS INT)"
    digits = f"regexp_replace(replace({mantissa}, '.', ''), '0+$', '')"
    expanded = (
        f"CASE WHEN {exponent} < 0 THEN concat('0.', repeat('0', -{exponent} - 1), {digits}) "
        f"WHEN length({digits}) <= {exponent} + 1 THEN rpad({digits}, {exponent} + 1, '0') "
        f"ELSE concat(substr({digits}, 1, {exponent} + 1), '.', substr({digits}, {exponent} + 2)) END"
    )
    plain = f"regexp_replace(regexp_replace({text}, '0+$', ''), '[.]$', '')"  # Java writes 1.0 and 0.0020
    magnitude = f"CASE WHEN instr({text}, 'E') > 0 THEN {expanded} ELSE {plain} END"
    return f"concat(CASE WHEN {value} < 0 THEN '-' ELSE '' END, {magnitude})"
