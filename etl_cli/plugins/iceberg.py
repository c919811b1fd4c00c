"""What the Iceberg source and sink share: the runtime package, the catalog's Spark settings, table names.

An ``iceberg`` stage names a catalog of the project (``catalogs:`` in etl-project.yaml, ``type: iceberg``)
and a table in it. The model hands the stage its catalog resolved (:data:`RESOLVED_CATALOG`), and
:func:`catalog_settings` turns it into the settings the Spark session starts with: Iceberg's SQL
extensions and ``spark.sql.catalog.<name>=org.apache.iceberg.spark.SparkCatalog`` with its type, warehouse
and URI. The Hive catalog without a ``uri`` uses the project's embedded metastore database
(``<state folder>/metastore_db``, Derby: one process at a time).

Maintenance (``etl-cli table``, :mod:`etl_cli.plugins.maintenance`) goes through Iceberg's stored
procedures: :func:`maintain`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.maintenance import Action, MaintenanceRequest, MaintenanceResult
from etl_cli.plugins.spark_types import quote

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: the key under which an iceberg stage receives its catalog, resolved by the model from etl-project.yaml
RESOLVED_CATALOG = "_catalog"
ICEBERG_VERSION = "1.12.0"
VERSION_VARIABLE = "ETL_ICEBERG_VERSION"
RUNTIME_ARTIFACT = "org.apache.iceberg:iceberg-spark-runtime-4.1_2.13"
EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
SPARK_CATALOG = "org.apache.iceberg.spark.SparkCatalog"
#: the snapshot summary property a streaming micro-batch's commit carries (``<pipeline>/<sink>:<batch id>``)
BATCH_PROPERTY = "etl-cli.stream-batch"
#: ``remove_orphan_files`` keeps files younger than this unless forced (files of commits in flight)
ORPHAN_SAFETY_HOURS = 72
#: the ``etl-cli table`` actions iceberg tables know
MAINTENANCE_ACTIONS: tuple[Action, ...] = ("optimize", "vacuum", "expire-snapshots")

CATALOG_OPTION: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "The Iceberg catalog, as named under catalogs: in etl-project.yaml (type: iceberg).",
}
TABLE_OPTION: dict[str, Any] = {
    "type": "string",
    "pattern": "^([A-Za-z_][A-Za-z0-9_]*[.])?[A-Za-z_][A-Za-z0-9_]*$",
    "patternErrorMessage": "not a table name: database.table or table (letters, digits, underscores)",
    "description": "database.table, or table in the catalog's database.",
}


def runtime_package(environ: Mapping[str, str] | None = None) -> str:
    """The Maven coordinate of Iceberg's Spark runtime (``$ETL_ICEBERG_VERSION`` picks another version)."""
    chosen = (environ if environ is not None else os.environ).get(VERSION_VARIABLE, "").strip()
    return f"{RUNTIME_ARTIFACT}:{chosen or ICEBERG_VERSION}"


def resolved_catalog(options: Mapping[str, Any]) -> Mapping[str, Any]:
    """The stage's catalog as the model resolved it (a stage built outside the model has none)."""
    catalog = options.get(RESOLVED_CATALOG)
    if not isinstance(catalog, Mapping):
        raise ConfigError(
            f"iceberg catalog '{options.get('catalog')}' is not declared as an iceberg catalog",
            hint="declare it under catalogs: in etl-project.yaml with type: iceberg",
        )
    return catalog


def catalog_settings(catalog: Mapping[str, Any]) -> dict[str, str]:
    """The Spark settings of a session reaching ``catalog`` (a resolved iceberg catalog)."""
    prefix = f"spark.sql.catalog.{catalog['name']}"
    settings = {"spark.sql.extensions": EXTENSIONS, prefix: SPARK_CATALOG, f"{prefix}.type": catalog["catalog_type"]}
    if catalog.get("warehouse"):
        settings[f"{prefix}.warehouse"] = str(catalog["warehouse"])
    if catalog.get("uri"):
        settings[f"{prefix}.uri"] = str(catalog["uri"])
    if catalog.get("metastore"):
        # Iceberg's Hive client reads the Hadoop configuration: an embedded metastore on the project's Derby
        settings["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={catalog['metastore']};create=true"
        )
        settings["spark.hadoop.datanucleus.schema.autoCreateAll"] = "true"
        settings["spark.hadoop.hive.metastore.schema.verification"] = "false"
    for key, value in (catalog.get("properties") or {}).items():
        settings[f"{prefix}.{key}"] = str(value)
    return settings


def session_settings(options: Mapping[str, Any]) -> dict[str, str]:
    """:meth:`Plugin.session_settings_for` of both plug-ins; nothing for a stage without a resolved catalog."""
    catalog = options.get(RESOLVED_CATALOG)
    return catalog_settings(catalog) if isinstance(catalog, Mapping) else {}


def table_parts(options: Mapping[str, Any]) -> tuple[str, str, str]:
    """(catalog, database, table) of the stage's ``table`` (its database defaults to the catalog's)."""
    catalog = resolved_catalog(options)
    database, _, table = str(options["table"]).rpartition(".")
    return str(catalog["name"]), database or str(catalog.get("database") or "default"), table


def table_identifier(options: Mapping[str, Any]) -> str:
    """The table as Spark SQL names it: `` `catalog`.`database`.`table` ``."""
    return ".".join(quote(part) for part in table_parts(options))


def display_name(options: Mapping[str, Any]) -> str:
    """``catalog.database.table``, unquoted, as messages and dry-run name the table."""
    if not isinstance(options.get(RESOLVED_CATALOG), Mapping):
        return f"{options.get('catalog')}.{options.get('table')}"
    return ".".join(table_parts(options))


def table_exists(spark: SparkSession, options: Mapping[str, Any]) -> bool:
    return bool(spark.catalog.tableExists(display_name(options)))


def sql_string(text: str) -> str:
    """A Spark SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --------------------------------------------------------------------------- maintenance


def maintain(spark: SparkSession, stage: StageSpec, request: MaintenanceRequest) -> MaintenanceResult:
    """Run one maintenance action on the table of an iceberg ``stage`` with Iceberg's stored procedures.

    - ``expire-snapshots``: ``expire_snapshots`` of the snapshots older than ``older_than`` (ISO 8601;
      default: the table's ``history.expire.max-snapshot-age-ms``, 5 days), keeping ``retain_last`` (default 1);
    - ``optimize``: ``rewrite_data_files`` (bin-packing; ``zorder_by``: sorted by those columns, z-order);
    - ``vacuum``: ``remove_orphan_files`` of files no snapshot references, older than ``retain_hours``
      (default 72: files of a commit in flight are younger); below 72 hours only with ``force``.
    """
    from datetime import UTC, datetime, timedelta

    catalog, database, table = table_parts(stage.options)
    name = sql_string(f"{database}.{table}")
    call = f"CALL {quote(catalog)}.system"
    arguments = [f"table => {name}"]
    if request.action == "expire-snapshots":
        if request.older_than:
            arguments.append(f"older_than => TIMESTAMP {sql_string(_instant(request.older_than))}")
        arguments.append(f"retain_last => {int(request.retain_last or 1)}")
        statement = f"{call}.expire_snapshots({', '.join(arguments)})"
    elif request.action == "optimize":
        if request.zorder_by:
            order = ", ".join(quote(column) for column in request.zorder_by)
            arguments += ["strategy => 'sort'", f"sort_order => {sql_string(f'zorder({order})')}"]
        statement = f"{call}.rewrite_data_files({', '.join(arguments)})"
    else:
        hours = ORPHAN_SAFETY_HOURS if request.retain_hours is None else request.retain_hours
        if hours < ORPHAN_SAFETY_HOURS and not request.force:
            raise ConfigError(
                f"vacuum of iceberg table {catalog}.{database}.{table}: {hours:g} hours is below the "
                f"{ORPHAN_SAFETY_HOURS}-hour safety margin (files of a commit still in flight would go)",
                hint="keep the default, or add --force when no write can be running",
            )
        moment = datetime.now(UTC) - timedelta(hours=hours)
        arguments.append(f"older_than => TIMESTAMP {sql_string(moment.strftime('%Y-%m-%d %H:%M:%SZ'))}")
        statement = f"{call}.remove_orphan_files({', '.join(arguments)})"
    rows = spark.sql(statement).collect()
    target = f"iceberg {catalog}.{database}.{table}"
    if request.action == "vacuum":
        return MaintenanceResult(target, request.action, {"orphan_files_removed": sorted(str(r[0]) for r in rows)})
    details = {key: value for key, value in (rows[0].asDict() if rows else {}).items()}
    return MaintenanceResult(target, request.action, details)


def _instant(text: str) -> str:
    """An ISO 8601 instant as the UTC timestamp literal Spark reads (an instant without zone is taken as UTC)."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"not an ISO 8601 instant: '{text}'", hint="e.g. 2026-05-01T00:00:00Z") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")
