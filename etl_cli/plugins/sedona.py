"""Apache Sedona for the plug-ins that use it (the geo transforms, the geojson source).

Sedona's SQL functions live in JVM jars: a plug-in names :data:`SEDONA_PACKAGES` as its Maven
packages, so the run starts Spark with them, and calls :func:`ensure_sedona` before using them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import StageSpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Sedona for Spark 4.0 / Scala 2.13 and the GeoTools build it is released with (both on Maven Central)
SEDONA_PACKAGES = (
    "org.apache.sedona:sedona-spark-shaded-4.0_2.13:1.8.0",
    "org.datasyslab:geotools-wrapper:1.8.0-33.1",
)


def ensure_sedona(spark: SparkSession, stage: StageSpec) -> None:
    """Register Sedona's SQL functions and spatial-join planner in ``spark`` (once per session).

    Done here rather than through ``spark.sql.extensions``, so a session started before the stage
    (dry-run's, a test's) gets them too, as long as its JVM has Sedona's jars.
    """
    if spark.catalog.functionExists("ST_Point"):
        return
    context = spark._jvm.org.apache.sedona.spark.SedonaContext  # type: ignore[union-attr]
    if type(context).__name__ != "JavaClass":  # py4j answers a JavaPackage for a class it cannot load
        raise ConfigError(
            f"{stage.label}: Apache Sedona is not on this Spark session's classpath",
            location=stage.location,
            hint=f"Spark must start with {' and '.join(SEDONA_PACKAGES)}: etl-cli run, dry-run and debug add them "
            "when the pipeline uses Sedona, but a session already started without them (shared with other "
            "pipelines) cannot load them; run the pipeline on its own",
        )
    context.create(spark._jsparkSession, "python")
