"""The ``geojson`` source: the features of GeoJSON FeatureCollection files, one row each, geometry as WKT.

Spark's JSON reader reads each file as one document under a schema built from the declared
columns (so nothing is inferred, and a feature's ``geometry`` object is kept as its JSON
text); shapely 2 turns that text into WKT (``from_geojson``, ``to_wkt`` with every digit kept) in an
Arrow-based pandas UDF, the form the geo transforms take. Like them, it needs the ``geo`` extra
(shapely, pandas, pyarrow) and outputs only plain Spark types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.geometry import CONNECT_REASON, extra_problems, register_functions
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import declared_schema_problems, quote, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

DEFAULT_GEOMETRY = "geometry"
_FEATURE = "__etl_cli_feature"


@register
class GeoJsonSource(Source):
    type = "geojson"
    needs_driver_jvm = CONNECT_REASON
    description = (
        "Read GeoJSON FeatureCollection files: one row per feature, with the declared properties and the "
        "feature's geometry as WKT text (converted by shapely: the geo extra)."
    )
    required_options = ("path", "schema")
    options_schema = {
        "path": {
            "type": ["string", "array"],
            "minLength": 1,
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "description": "GeoJSON file (one FeatureCollection document), folder or glob, or a list of them; "
            "relative paths are relative to the project root.",
        },
        "schema": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "string", "minLength": 1},
            "description": "The output columns, in order, column: Spark type. Each is the feature's property of "
            "that name (null where a feature lacks it), except the geometry column (see geometry), declared "
            "STRING, which holds the feature's geometry as WKT.",
        },
        "geometry": {
            "type": "string",
            "minLength": 1,
            "default": DEFAULT_GEOMETRY,
            "description": "The column of schema that receives the geometry as WKT (null for a null geometry).",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        schema = options.get("schema")
        if not isinstance(schema, Mapping) or not schema:
            return extra_problems()
        problems = declared_schema_problems(schema) + extra_problems()
        geometry = options.get("geometry", DEFAULT_GEOMETRY)
        if geometry not in schema:
            key: tuple[str | int, ...] = ("geometry",) if "geometry" in options else ("schema",)
            problems.append(
                OptionProblem(key, f"schema has no column '{geometry}' for the geometry",
                              f"add {geometry}: STRING to schema, or name the geometry column in geometry")
            )  # fmt: skip
        elif str(schema[geometry]).strip().upper() != "STRING":
            problems.append(
                OptionProblem(("schema", geometry), "the geometry column holds WKT text: declare it STRING")
            )
        return problems

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        from pyspark.sql import functions as F

        schema: Mapping[str, str] = stage.options["schema"]
        geometry = stage.option("geometry", DEFAULT_GEOMETRY)
        properties = ", ".join(f"{quote(c)}: {t}" for c, t in schema.items() if c != geometry) or "`_`: STRING"
        ddl = f"type STRING, features ARRAY<STRUCT<geometry: STRING, properties: STRUCT<{properties}>>>"
        paths = stage.options["path"]
        resolved = [ctx.path(p) for p in paths] if isinstance(paths, (list, tuple)) else [ctx.path(paths)]
        register_functions(ctx.spark, stage)
        with user_sql(stage, "schema"):
            documents = ctx.spark.read.options(multiLine=True, mode="FAILFAST").schema(ddl).json(resolved)
        not_a_collection = F.raise_error(
            F.lit(f"{stage.label}: a file is not a GeoJSON FeatureCollection (its type is not FeatureCollection)")
        )
        features = documents.select(
            F.explode(
                F.when(F.col("type") == "FeatureCollection", F.col("features")).otherwise(not_a_collection)
            ).alias(_FEATURE)
        )
        wkt = F.expr(f"etl_geo_geojson_to_wkt({_FEATURE}.geometry)")  # "geometry": null gives null
        return features.select(
            *[wkt.alias(c) if c == geometry else F.col(f"{_FEATURE}.properties.{quote(c)}").alias(c) for c in schema]
        )
