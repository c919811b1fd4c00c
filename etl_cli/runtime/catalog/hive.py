"""The Hive metastore: Spark's own catalog with Hive support, its database an embedded Derby under the state folder.

A run whose sinks register in a ``hive_metastore`` catalog starts its Spark session with Hive support
(``spark.sql.catalogImplementation=hive``, what ``enableHiveSupport()`` sets), the metastore database
``jdbc:derby:;databaseName=<state>/metastore_db;create=true`` and the warehouse under the state folder,
unless the catalog names one; other sessions stay as they were. Tables are external Spark data-source
tables over the published folder: dropping or replacing one never touches its files.

Embedded Derby admits one process at a time: two processes of the project using the metastore at the
same moment (two runs registering, a run and ``etl-cli catalog``) make the second one fail, saying so.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.errors import RunError
from etl_cli.model.catalog import HiveCatalog
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.spark_types import quote
from etl_cli.runtime.catalog.entry import Column, TableEntry, is_ours, read_entry, registered_by_project
from etl_cli.runtime.spark.session import build_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DRIVER_OPTIONS = "spark.driver.extraJavaOptions"
#: how a column's tags are written in its comment, the one place a Hive column has for them
TAGS_COMMENT = "tags: "
#: what Spark says when another process holds the embedded metastore
_DERBY_BUSY = "Another instance of Derby may have already booted the database"


def metastore_folder(state_dir: Path) -> Path:
    return state_dir / "metastore_db"


def hive_catalog_of(spec: PipelineSpec) -> HiveCatalog | None:
    """The Hive catalog a sink of ``spec`` registers in, if one does."""
    return next((r.catalog for r in spec.registrations.values() if isinstance(r.catalog, HiveCatalog)), None)


def with_hive_support(spec: PipelineSpec, conf: Mapping[str, Any]) -> dict[str, Any]:
    """``conf`` (a pipeline's ``spark.conf``), with Hive support when a sink registers in a Hive catalog."""
    catalog = hive_catalog_of(spec)
    return dict(conf) if catalog is None else hive_settings(catalog, spec.state_dir, conf)


def hive_settings(catalog: HiveCatalog, state_dir: Path, conf: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Spark settings of a session with the project's metastore, over ``conf``; Derby's log goes to the state folder."""
    settings = dict(conf or {})
    derby_log = f"-Dderby.stream.error.file={state_dir / 'logs' / 'derby.log'}"
    settings.update(
        {
            "spark.sql.catalogImplementation": "hive",
            "spark.hadoop.javax.jdo.option.ConnectionURL": (
                f"jdbc:derby:;databaseName={metastore_folder(state_dir)};create=true"
            ),
            "spark.sql.warehouse.dir": str(catalog.warehouse or state_dir / "warehouse"),
            DRIVER_OPTIONS: f"{settings.get(DRIVER_OPTIONS, '')} {shlex.quote(derby_log)}".strip(),
        }
    )
    return settings


@contextmanager
def open_metastore(catalog: HiveCatalog, state_dir: Path) -> Iterator[HiveMetastore]:
    """A short-lived local Spark session on the project's metastore, to read it (``etl-cli catalog``)."""
    session = build_session(
        app_name="etl-cli:catalog",
        master="local[1]",
        conf=hive_settings(catalog, state_dir),
        jvm_log=state_dir / "logs" / "catalog.jvm.log",
        analysis=True,
    )
    try:
        yield HiveMetastore(session, catalog)
    finally:
        session.stop()


class HiveMetastore:
    """The Hive metastore of a Spark session with Hive support."""

    def __init__(self, session: SparkSession, catalog: HiveCatalog):
        self.session = session
        self.catalog = catalog

    def register(self, entry: TableEntry, read_options: Mapping[str, str]) -> dict[str, Any]:
        """Create the table of ``entry`` (re-create it when etl-cli registered it before) and its partitions."""
        self._require_hive()
        table = f"{quote(entry.database)}.{quote(entry.name)}"
        self._sql(f"CREATE DATABASE IF NOT EXISTS {quote(entry.database)}")
        replaced = self._replaceable(entry)
        if replaced:
            self._sql(f"DROP TABLE {table}")  # an external table: its files stay
        self._sql(create_table_sql(entry, read_options))
        if entry.owner:
            self._set_owner(entry)
        if entry.partition_keys:
            self._sql(f"MSCK REPAIR TABLE {table}")
        return {"action": "updated" if replaced else "created", "partitions": len(entry.partitions)}

    def tables(self, project: str) -> list[TableEntry]:
        """Every table of every database that a sink of ``project`` registered."""
        found = []
        for database in self._sql("SHOW DATABASES").collect():
            name = database[0]
            for table in self._sql(f"SHOW TABLES IN {quote(name)}").collect():
                if table.isTemporary:
                    continue
                properties = self._properties(name, table.tableName)
                if registered_by_project(properties, project):
                    found.append(self._entry(name, table.tableName, properties))
        return found

    def _require_hive(self) -> None:
        if self.session.conf.get("spark.sql.catalogImplementation", "in-memory") != "hive":
            raise RunError(
                f"catalog '{self.catalog.name}': this Spark session was started without Hive support",
                hint="etl-cli run starts it with Hive support when a sink registers in a hive_metastore catalog; "
                "a session passed in must be started so (see docs/catalog.md)",
            )

    def _replaceable(self, entry: TableEntry) -> bool:
        """Whether the table exists; raises when it does but etl-cli did not register it, or it owns its files."""
        if not self.session.catalog.tableExists(f"{quote(entry.database)}.{quote(entry.name)}"):
            return False
        details = self._details(entry.database, entry.name)
        if not is_ours(self._properties(entry.database, entry.name)) or details.get("Type") != "EXTERNAL":
            raise RunError(
                f"table {entry.qualified_name} exists in the Hive metastore and etl-cli did not register it: "
                "it is not replaced",
                hint="register under another catalog.table, or drop that table yourself if it may go",
            )
        return True

    def _set_owner(self, entry: TableEntry) -> None:
        """Spark SQL cannot set a table's owner (it is reserved to the creating user): the catalog API can."""
        jvm_session = getattr(self.session, "_jsparkSession", None)
        if jvm_session is None:
            raise RunError(f"catalog '{self.catalog.name}': the owner of a table needs a classic Spark session")
        jvm = self.session._jvm
        assert jvm is not None
        catalog = jvm_session.sessionState().catalog()
        identifier = jvm.org.apache.spark.sql.catalyst.TableIdentifier(entry.name, jvm.scala.Some(entry.database))
        table = catalog.getTableMetadata(identifier)
        fields = [table.productElementName(i) for i in range(table.productArity())]
        arguments = [getattr(table, f"copy$default${i + 1}")() for i in range(len(fields))]
        arguments[fields.index("owner")] = entry.owner
        catalog.alterTable(table.copy(*arguments))

    def _entry(self, database: str, name: str, properties: Mapping[str, str]) -> TableEntry:
        details = self._details(database, name)
        columns = self.session.catalog.listColumns(f"{quote(database)}.{quote(name)}")
        keys = [_column(c) for c in columns if c.isPartition]
        described = {
            "location": details.get("Location", ""),
            "format": details.get("Provider", "unknown"),
            "columns": [_column(c) for c in columns if not c.isPartition],
            "partition_keys": keys,
            "partitions": self._partitions(database, name) if keys else [],
            "owner": details.get("Owner"),
            "description": details.get("Comment"),
        }
        return read_entry(self.catalog.name, database, name, described, properties)

    def _details(self, database: str, name: str) -> dict[str, str]:
        """The '# Detailed Table Information' rows of DESCRIBE TABLE EXTENDED: Owner, Type, Location..."""
        rows = self._sql(f"DESCRIBE TABLE EXTENDED {quote(database)}.{quote(name)}").collect()
        return {row[0]: row[1] for row in rows if row[0] and not row[0].startswith("#")}

    def _properties(self, database: str, name: str) -> dict[str, str]:
        rows = self._sql(f"SHOW TBLPROPERTIES {quote(database)}.{quote(name)}").collect()
        return {row[0]: row[1] for row in rows}

    def _partitions(self, database: str, name: str) -> list[str]:
        return sorted(row[0] for row in self._sql(f"SHOW PARTITIONS {quote(database)}.{quote(name)}").collect())

    def _sql(self, statement: str) -> Any:
        try:
            return self.session.sql(statement)
        except Exception as exc:
            if _DERBY_BUSY in str(exc):
                raise RunError(
                    "the Hive metastore is in use by another process (its embedded database admits one at a time)",
                    hint="wait for the run or catalog command using it to end, then try again",
                ) from exc
            raise


def create_table_sql(entry: TableEntry, read_options: Mapping[str, str]) -> str:
    """The CREATE TABLE statement of ``entry``: an external data-source table over its location."""
    columns = ", ".join(_column_sql(c) for c in (*entry.columns, *entry.partition_keys))
    lines = [f"CREATE TABLE {quote(entry.database)}.{quote(entry.name)} ({columns})", f"USING {entry.format}"]
    if read_options:
        lines.append(f"OPTIONS ({', '.join(f'{_string(k)} {_string(v)}' for k, v in read_options.items())})")
    if entry.partition_keys:
        lines.append(f"PARTITIONED BY ({', '.join(quote(c.name) for c in entry.partition_keys)})")
    lines.append(f"LOCATION {_string(entry.location)}")
    if entry.description:
        lines.append(f"COMMENT {_string(entry.description)}")
    properties = entry.properties()
    if properties:
        lines.append(f"TBLPROPERTIES ({', '.join(f'{_string(k)} = {_string(v)}' for k, v in properties.items())})")
    return "\n".join(lines)


def _column_sql(column: Column) -> str:
    comment = f" COMMENT {_string(TAGS_COMMENT + ', '.join(column.tags))}" if column.tags else ""
    return f"{quote(column.name)} {column.type}{comment}"


def _string(text: str) -> str:
    """A Spark SQL string literal (backslash escapes, Spark's default)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _column(column: Any) -> Column:
    """A column of ``spark.catalog.listColumns``, its tags read back from its comment."""
    comment = column.description or ""
    tags = tuple(comment.removeprefix(TAGS_COMMENT).split(", ")) if comment.startswith(TAGS_COMMENT) else ()
    return Column(column.name, column.dataType, tags)
