"""The Iceberg sink: append, overwrite, dynamic partition overwrite and merge, each one atomic Iceberg commit.

The rows are computed, counted and kept (persisted in memory, spilling to disk) by one Spark job while
staging, so they are fixed before anything changes; :meth:`IcebergWrite.commit` then writes them in one
table commit, after every sink of the run has staged:

- ``append``: ``writeTo(table).append()``;
- ``overwrite``: every row of the table replaced (``overwrite(true)``);
- ``overwrite_partitions``: the partitions the rows fall in replaced, the others kept (dynamic overwrite);
- ``merge``: ``MERGE INTO table t USING rows s ON t.k = s.k`` with, in order, ``WHEN MATCHED AND
  (delete_when) THEN DELETE``, ``WHEN MATCHED AND (update_when) THEN UPDATE SET *`` and ``WHEN NOT MATCHED
  AND (insert_when) THEN INSERT *``: one snapshot whatever it deletes, updates and inserts.

A missing table is created (``CREATE TABLE ... USING iceberg PARTITIONED BY ... TBLPROPERTIES ... AS
SELECT``: created and filled by one commit). ``properties`` are set on an existing table when they differ
(a metadata commit before the data commit). ``merge_schema: true`` lets an append or overwrite add the
rows' new columns to the table (``mergeSchema``, with ``write.spark.accept-any-schema``).

In a streaming pipeline each micro-batch is one commit (an append or a merge) carrying the snapshot
property ``etl-cli.stream-batch = <pipeline>/<sink>/<query id>:<batch id>`` (the query's id is kept in the
checkpoint); a micro-batch Spark replays after a crash is not written again when the table already has a
commit of that query with that batch id or a later one (exactly once). A merge gets the property through
Iceberg's ``CommitMetadata.withCommitProperties`` (SQL has no write options).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlglot
from sqlglot.errors import ParseError

from etl_cli.errors import RunError
from etl_cli.plugins import iceberg
from etl_cli.plugins.api import Effect, OptionProblem, PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.maintenance import MaintenanceRequest, MaintenanceResult
from etl_cli.plugins.registry import register
from etl_cli.plugins.sinks.micro_batch import query_id
from etl_cli.plugins.sinks.on_commit import held
from etl_cli.plugins.sinks.staging import OneShotWrite
from etl_cli.plugins.spark_types import quote

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_NAME = "[A-Za-z_][A-Za-z0-9_]*"
_PARTITION = re.compile(
    rf"^\s*(?:(?P<column>{_NAME})|(?P<time>years|months|days|hours)\(\s*(?P<tcol>{_NAME})\s*\)"
    rf"|(?P<fn>bucket|truncate)\(\s*(?P<n>[0-9]+)\s*,\s*(?P<ncol>{_NAME})\s*\))\s*$"
)
_CONDITION = {
    "type": ["string", "boolean"],
    "description": "",
}


def _condition(text: str) -> dict[str, Any]:
    return {**_CONDITION, "description": text}


#: what ``etl-cli table`` can do to the tables of this sink (:func:`maintain`)
MAINTENANCE_ACTIONS = iceberg.MAINTENANCE_ACTIONS


def maintain(ctx: RunContext, stage: StageSpec, request: MaintenanceRequest) -> MaintenanceResult:
    """``etl-cli table ACTION`` on the sink's table: :func:`etl_cli.plugins.iceberg.maintain`."""
    return iceberg.maintain(ctx.spark, stage, request)


@register
class IcebergSink(Sink):
    type = "iceberg"
    catalog_kind = "iceberg"
    description = (
        "Write an Apache Iceberg table of a project catalog: append, overwrite, overwrite_partitions (dynamic) or "
        "merge by keys (conditional update, insert and delete), each as one atomic Iceberg commit; the table is "
        "created, partitioned, when missing."
    )
    modes = ("append", "overwrite", "overwrite_partitions", "merge")
    default_mode = "append"
    #: each micro-batch is one commit tagged with its batch id; a replayed batch already committed is skipped
    micro_batch_modes: ClassVar[tuple[str, ...]] = ("append", "merge")
    required_options = ("catalog", "table")
    options_schema: ClassVar[dict[str, Any]] = {
        "catalog": iceberg.CATALOG_OPTION,
        "table": iceberg.TABLE_OPTION,
        "keys": {
            "type": "array",
            "items": {"type": "string", "pattern": f"^{_NAME}$"},
            "minItems": 1,
            "uniqueItems": True,
            "description": "merge: the columns identifying a row (t.key = s.key for each).",
        },
        "delete_when": {
            "type": "string",
            "minLength": 1,
            "description": "merge: delete the matched target rows for which this holds (Spark SQL over t. and s. "
            "columns, e.g. s.deleted). Checked before update_when.",
        },
        "update_when": _condition(
            "merge: update matched rows (every column from the source) when this holds; true (default): always, "
            "false: never."
        ),
        "insert_when": _condition(
            "merge: insert source rows matching no target row when this holds (over s. columns); true "
            "(default): always, false: never."
        ),
        "partition_by": {
            "type": "array",
            "items": {
                "type": "string",
                "pattern": f"^\\s*({_NAME}|(years|months|days|hours)\\(\\s*{_NAME}\\s*\\)"
                f"|(bucket|truncate)\\(\\s*[0-9]+\\s*,\\s*{_NAME}\\s*\\))\\s*$",
                "patternErrorMessage": "a column or a transform: days(ts), bucket(16, id), truncate(4, code)",
            },
            "description": "The partitioning of a table created by this sink: columns and transforms (years, "
            "months, days, hours, bucket(n, col), truncate(n, col)). An existing table keeps its own.",
        },
        "properties": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "Table properties (format-version, write.merge.mode, ...): set when the table is "
            "created, and on an existing table when they differ.",
        },
        "merge_schema": {
            "type": "boolean",
            "description": "append, overwrite: add the rows' new columns to the table (schema evolution); "
            "default false (a row with a column the table lacks fails the run).",
        },
    }

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return (iceberg.runtime_package(),)

    @classmethod
    def session_settings_for(cls, options: Mapping[str, Any]) -> Mapping[str, str]:
        return iceberg.session_settings(options)

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        return f"iceberg:{stage.option('catalog')}"

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        mode = options.get("mode", cls.default_mode)
        problems = []
        merge_keys = ("keys", "delete_when", "update_when", "insert_when")
        if mode == "merge" and not options.get("keys"):
            problems.append(OptionProblem(("mode",), "merge needs keys", "keys: [id]"))
        if mode != "merge":
            for key in merge_keys:
                if key in options:
                    problems.append(OptionProblem((key,), f"{key} applies to mode: merge only"))
        if mode == "merge" and options.get("merge_schema"):
            problems.append(OptionProblem(("merge_schema",), "merge does not evolve the schema: append or overwrite"))
        for key in ("delete_when", "update_when", "insert_when"):
            value = options.get(key)
            if isinstance(value, str):
                try:
                    sqlglot.parse_one(value, dialect="spark")
                except ParseError as exc:
                    problems.append(OptionProblem((key,), f"not a Spark SQL condition: {exc.errors[0]['description']}"))
        return problems

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        mode = str(stage.option("mode", self.default_mode))
        details: dict[str, Any] = {}
        if mode == "merge":
            details["keys"] = list(stage.option("keys") or ())
        if stage.option("partition_by"):
            details["partition_by"] = list(stage.option("partition_by"))
        action = "merge" if mode == "merge" else "write"
        return [Effect(stage.name, action, f"iceberg {iceberg.display_name(stage.options)}", mode, details)]

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        mode = str(stage.option("mode", self.default_mode))
        batch, query = None, None
        if ctx.micro_batch is not None:
            query = query_id(df)  # None over Spark Connect: the batches are told apart by pipeline and sink only
            batch = f"{ctx.pipeline or 'pipeline'}/{stage.name}{f'/{query}' if query else ''}:{ctx.micro_batch}"
        rows, count = held(df)  # one job: computed, counted and kept for the commit
        # the rows' own session: a micro-batch's is its query's (a clone of ctx.spark), where its views are
        write = IcebergWrite(rows.sparkSession, stage, mode, rows, batch)
        write.per_query = query is not None
        write.rows = count
        return write


class IcebergWrite(OneShotWrite):
    """Rows kept by Spark, written into the table by one Iceberg commit."""

    def __init__(self, spark: SparkSession, stage: StageSpec, mode: str, rows: DataFrame, batch: str | None):
        super().__init__(iceberg.display_name(stage.options), mode)
        self.spark = spark
        self.stage = stage
        self.frame = rows
        self.batch = batch
        #: whether ``batch`` names the streaming query (whose batch ids only grow)
        self.per_query = False
        self.identifier = iceberg.table_identifier(stage.options)

    def _publish(self) -> None:
        try:
            self._write()
        except RunError:
            raise
        except Exception as exc:
            message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise RunError(f"{self.stage.label}: writing iceberg table {self.target} failed: {message}") from exc
        finally:
            self.frame.unpersist()

    def _discard(self) -> None:
        self.frame.unpersist()

    def _write(self) -> None:
        stage, spark = self.stage, self.spark
        catalog, database, _ = iceberg.table_parts(stage.options)
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {quote(catalog)}.{quote(database)}")
        properties = {str(k): _text(v) for k, v in (stage.option("properties") or {}).items()}
        if stage.option("merge_schema"):
            properties["write.spark.accept-any-schema"] = "true"
        if not iceberg.table_exists(spark, stage.options):
            self.details["created"] = True
            if self.batch is None:
                self._create(properties, with_rows=True)  # created and filled by one commit
                self.details["snapshot_id"] = self._current_snapshot()
                return
            self._create(properties, with_rows=False)  # the micro-batch's commit must carry its id
        elif self.batch is not None and self._already_committed():
            self.details["skipped"] = f"micro-batch {self.batch} already committed"
            return
        else:
            self._set_properties(properties)
        if self.mode == "merge":
            self._merge()
        else:
            writer = self.frame.writeTo(self.identifier)
            if stage.option("merge_schema"):
                writer = writer.option("mergeSchema", "true")
            if self.batch is not None:
                writer = writer.option("snapshot-property." + iceberg.BATCH_PROPERTY, self.batch)
            if self.mode == "append":
                writer.append()
            elif self.mode == "overwrite":
                from pyspark.sql import functions as F

                writer.overwrite(F.lit(True))
            else:
                writer.overwritePartitions()
        self.details["snapshot_id"] = self._current_snapshot()

    def _create(self, properties: Mapping[str, str], with_rows: bool) -> None:
        """Create the table: with the rows (CREATE TABLE AS SELECT, one commit), or empty with their columns."""
        view = self._view()
        columns = ", ".join(f"{quote(f.name)} {f.dataType.simpleString()}" for f in self.frame.schema.fields)
        lines = [f"CREATE TABLE {self.identifier}{'' if with_rows else f' ({columns})'} USING iceberg"]
        partitions = [_partition_sql(p) for p in self.stage.option("partition_by") or ()]
        if partitions:
            lines.append(f"PARTITIONED BY ({', '.join(partitions)})")
        if properties:
            pairs = ", ".join(f"{iceberg.sql_string(k)} = {iceberg.sql_string(v)}" for k, v in properties.items())
            lines.append(f"TBLPROPERTIES ({pairs})")
        if with_rows:
            lines.append(f"AS SELECT * FROM {quote(view)}")
        try:
            self.spark.sql("\n".join(lines))
        finally:
            self.spark.catalog.dropTempView(view)

    def _set_properties(self, wanted: Mapping[str, str]) -> None:
        if not wanted:
            return
        rows = self.spark.sql(f"SHOW TBLPROPERTIES {self.identifier}").collect()
        current = {row[0]: row[1] for row in rows}
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        if changed:
            pairs = ", ".join(f"{iceberg.sql_string(k)} = {iceberg.sql_string(v)}" for k, v in changed.items())
            self.spark.sql(f"ALTER TABLE {self.identifier} SET TBLPROPERTIES ({pairs})")
            self.details["properties_set"] = sorted(changed)

    def _merge(self) -> None:
        stage = self.stage
        keys = [str(k) for k in stage.option("keys")]
        view = self._view()
        on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in keys)
        clauses = []
        if stage.option("delete_when"):
            clauses.append(f"WHEN MATCHED AND ({stage.option('delete_when')}) THEN DELETE")
        update = stage.option("update_when", True)
        if update is not False:
            clauses.append(f"WHEN MATCHED{_and(update)} THEN UPDATE SET *")
        insert = stage.option("insert_when", True)
        if insert is not False:
            clauses.append(f"WHEN NOT MATCHED{_and(insert)} THEN INSERT *")
        statement = f"MERGE INTO {self.identifier} t USING {quote(view)} s ON {on}\n" + "\n".join(clauses)
        self.details["keys"] = keys
        try:
            if self.batch is not None and self.spark._jvm is not None:
                _with_commit_property(self.spark, iceberg.BATCH_PROPERTY, self.batch, lambda: self.spark.sql(statement))
            else:
                self.spark.sql(statement)
        finally:
            self.spark.catalog.dropTempView(view)

    def _view(self) -> str:
        view = f"etl_iceberg_{self.stage.name}_{uuid.uuid4().hex[:8]}"
        self.frame.createOrReplaceTempView(view)
        return view

    def _already_committed(self) -> bool:
        """Whether the table has a commit of this query with this micro-batch's id or a later one (Spark replays
        the last micro-batch after a crash, committed or not). Without the query's id (Spark Connect, a write
        outside a query's thread): whether the last commit of this sink is this batch."""
        assert self.batch is not None
        key, _, number = self.batch.rpartition(":")
        tag = f"summary[{iceberg.sql_string(iceberg.BATCH_PROPERTY)}]"
        mine = f"startswith({tag}, {iceberg.sql_string(key + ':')})"
        row = self.spark.sql(
            f"SELECT max(n), max_by(n, committed_at) FROM (SELECT CAST(substring_index({tag}, ':', -1) AS BIGINT) "
            f"AS n, committed_at FROM {self.identifier}.snapshots WHERE {mine})"
        ).head()
        if row is None or row[0] is None:
            return False
        if self.per_query:
            return int(row[0]) >= int(number)
        return int(row[1]) == int(number)

    def _current_snapshot(self) -> int | None:
        rows = self.spark.sql(f"SELECT snapshot_id FROM {self.identifier}.refs WHERE name = 'main'").collect()
        return int(rows[0][0]) if rows else None


class _Call:
    """A ``java.util.concurrent.Callable`` running a Python function (py4j calls it back on this thread)."""

    def __init__(self, function: Callable[[], Any]):
        self.function = function
        self.error: BaseException | None = None

    def call(self) -> None:
        try:
            self.function()
        except BaseException as exc:
            self.error = exc  # raised again as itself in Python, not as the JVM's wrapping of it
            raise

    class Java:
        implements: ClassVar[list[str]] = ["java.util.concurrent.Callable"]


def _with_commit_property(spark: SparkSession, key: str, value: str, action: Callable[[], Any]) -> None:
    """Run ``action`` with ``key = value`` added to the summary of every Iceberg commit it makes.

    ``CommitMetadata`` keeps the properties in a thread-local of the driver's JVM thread; py4j runs the
    callback on the Python thread that made the call, whose JVM calls go to that same JVM thread.
    """
    jvm = spark._jvm
    assert jvm is not None
    properties = jvm.java.util.HashMap()
    properties.put(key, value)
    call = _Call(action)
    try:
        jvm.org.apache.iceberg.spark.CommitMetadata.withCommitProperties(
            properties, call, jvm.java.lang.RuntimeException._java_lang_class
        )
    except Exception:
        if call.error is not None:
            raise call.error from None
        raise


def _and(condition: Any) -> str:
    return "" if condition is True else f" AND ({condition})"


def _partition_sql(text: str) -> str:
    match = _PARTITION.match(text)
    if match is None:
        raise RunError(f"not a partition column or transform: {text}")
    if match.group("column"):
        return quote(match.group("column"))
    if match.group("time"):
        return f"{match.group('time')}({quote(match.group('tcol'))})"
    return f"{match.group('fn')}({int(match.group('n'))}, {quote(match.group('ncol'))})"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
