"""What the Delta Lake source and sink share: the connector package, the session settings, the table at a path.

A Delta table is a folder holding Parquet files and a transaction log, ``_delta_log/``: each
commit is one numbered JSON file there, created atomically, so a reader sees a whole commit or
none of it. The connector is ``io.delta:delta-spark_2.13`` (4.3.0, built for Spark 4.1; 4.1.0 fails
on Spark 4.1.3, and 4.2.0 uses the same missing class); its SQL extension and catalog must be set
when the session starts (:func:`delta_session_settings`).
Tables are reached through the JVM API (``io.delta.tables.DeltaTable``) and Delta's SQL, so no
Python package beyond pyspark is needed. Nothing here imports pyspark at module level.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from etl_cli.errors import RunError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Delta Lake for Spark 4.1 / Scala 2.13 (``ETL_DELTA_VERSION`` picks another release of the same line)
DELTA_VERSION = os.environ.get("ETL_DELTA_VERSION", "4.3.0")
DELTA_LOG = "_delta_log"
#: the table property saying how long files a commit removed stay on disk (what VACUUM may delete after)
DELETED_FILE_RETENTION = "delta.deletedFileRetentionDuration"
#: Delta's default for :data:`DELETED_FILE_RETENTION`: seven days
DEFAULT_RETENTION_HOURS = 168.0

PATH_OPTION: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "Folder of the Delta table (file:, s3a:, hdfs: or a local path; relative paths are relative "
    "to the project root).",
}


def delta_package() -> str:
    return f"io.delta:delta-spark_2.13:{DELTA_VERSION}"


def delta_session_settings() -> Mapping[str, str]:
    """The settings a session needs for Delta's SQL (MERGE, OPTIMIZE, VACUUM, ``delta.`path```)."""
    return {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    }


def table_sql(path: str) -> str:
    """``path`` as Delta's SQL names a table by its folder: ``delta.`path```."""
    return "delta.`" + path.replace("`", "``") + "`"


def is_delta_table(spark: SparkSession, path: str) -> bool:
    """Whether ``path`` holds a Delta table (its transaction log)."""
    jvm = spark._jvm
    assert jvm is not None, "Delta tables need a classic (non-Connect) Spark session"
    return bool(jvm.io.delta.tables.DeltaTable.isDeltaTable(spark._jsparkSession, path))


def java_table(spark: SparkSession, path: str) -> Any:
    """The JVM ``DeltaTable`` at ``path`` (py4j object)."""
    jvm = spark._jvm
    assert jvm is not None, "Delta tables need a classic (non-Connect) Spark session"
    return jvm.io.delta.tables.DeltaTable.forPath(spark._jsparkSession, path)


def table_version(spark: SparkSession, path: str) -> int | None:
    """The table's latest version, or None when ``path`` holds no Delta table."""
    if not is_delta_table(spark, path):
        return None
    row = spark.sql(f"DESCRIBE HISTORY {table_sql(path)} LIMIT 1").select("version").head()
    return None if row is None else int(row[0])


def table_properties(spark: SparkSession, path: str) -> dict[str, str]:
    rows = spark.sql(f"SHOW TBLPROPERTIES {table_sql(path)}").collect()
    return {str(r["key"]): str(r["value"]) for r in rows}


def interval_hours(text: str) -> float:
    """Hours in a Delta interval property (``interval 7 days``, ``168 hours``, ``interval 30 minutes``)."""
    parts = text.lower().replace("interval", "").split()
    units = {"week": 168.0, "day": 24.0, "hour": 1.0, "minute": 1 / 60, "second": 1 / 3600}
    total, i = 0.0, 0
    while i + 1 < len(parts):
        number, unit = parts[i], parts[i + 1].rstrip("s")
        factor = units.get(unit)
        if factor is None:
            raise RunError(f"cannot read the interval {text!r} (a Delta table property)")
        total += float(number) * factor
        i += 2
    if i != len(parts):
        raise RunError(f"cannot read the interval {text!r} (a Delta table property)")
    return total
