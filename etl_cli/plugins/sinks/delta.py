"""The Delta Lake sink: append, overwrite (whole table, dynamic partitions, a ``replace_where``) and merge,
each one Delta commit; streaming appends exactly once; table maintenance (``etl-cli table``).

While staging, the rows are computed once and kept by Spark (memory, spilling to disk), so every
computation error surfaces before anything is committed, and a merge's keys and conditions are
checked against the rows and the table. The commit writes the new Parquet files and then one
entry of the table's transaction log (``_delta_log/<version>.json``, created atomically): a run
that fails anywhere, even inside the Delta write, leaves the table at its previous version (files
a failed write left are outside the log; ``etl-cli table vacuum`` removes them later).

- ``append`` adds the rows; ``merge_schema`` lets new columns in.
- ``overwrite`` replaces the whole table (the previous version stays readable by time travel
  until a VACUUM), or with ``overwrite_partitions`` only the partitions the rows have, or with
  ``replace_where`` only the rows matching a predicate (the new rows must match it too).
- ``merge`` upserts by ``keys`` (``MERGE INTO``, through the DeltaTable API): a key found in the table
  is updated (when ``when_matched`` holds) or deleted (when ``delete_when`` holds), a new key is
  inserted (when ``when_not_matched`` holds and ``delete_when`` does not). A key appearing twice
  in the rows is refused. A missing table is created with the rows that would be inserted.

A target folder that holds files but no Delta table is refused (any mode), unless an overwrite
says ``replace_foreign``: Delta would write its log beside those files, and a later VACUUM would
delete them. A streaming query appends natively (Delta's streaming sink records each micro-batch's
id in the log with the checkpoint's query id, so a batch replayed after a crash is committed once);
a streaming merge runs each micro-batch as one merge that records the same (Delta's idempotent
writes: ``txnAppId`` = the query's id, ``txnVersion`` = the batch id, in the commit itself), so a
batch replayed after a crash whose merge was committed is skipped by Delta.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlglot
from sqlglot.errors import ParseError

from etl_cli.errors import ConfigError, RunError
from etl_cli.plugins.api import Effect, OptionProblem, PendingWrite, RunContext, Sink, StageSpec, resolve_path
from etl_cli.plugins.delta_lake import (
    DEFAULT_RETENTION_HOURS,
    DELETED_FILE_RETENTION,
    DELTA_LOG,
    PATH_OPTION,
    delta_package,
    delta_session_settings,
    interval_hours,
    is_delta_table,
    java_table,
    table_properties,
    table_sql,
    table_version,
)
from etl_cli.plugins.maintenance import MaintenanceRequest, MaintenanceResult
from etl_cli.plugins.registry import register
from etl_cli.plugins.s3 import S3_OPTIONS_SCHEMA, configure_buckets, s3_option_problems, s3_packages
from etl_cli.plugins.sinks.micro_batch import query_id
from etl_cli.plugins.sinks.on_commit import held
from etl_cli.plugins.sinks.staging import HadoopFileSystem, OneShotWrite
from etl_cli.plugins.sinks.targets import (
    MARKER,
    REPLACE_FOREIGN,
    UNSAFE_TARGET_HINT,
    always_guarded,
    foreign_target_message,
    refusal,
)
from etl_cli.plugins.spark_types import quote, string_list, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import DataStreamWriter

#: what ``etl-cli table`` can do to a Delta table (:func:`maintain`)
MAINTENANCE_ACTIONS = ("optimize", "vacuum")
#: the session settings that make a merge idempotent (Delta's ``txnAppId``/``txnVersion`` for SQL commands)
TXN_APP_ID, TXN_VERSION = "spark.databricks.delta.write.txnAppId", "spark.databricks.delta.write.txnVersion"
#: the aliases merge conditions use: the table's row and the incoming row
TARGET_ALIAS, SOURCE_ALIAS = "t", "s"
_CONDITION = (
    "A Spark SQL condition over t (the table's row) and s (the incoming row), e.g. s.updated_at > t.updated_at."
)


@register
class DeltaSink(Sink):
    type = "delta"
    needs_driver_jvm = "it commits through Delta Lake's Java API in Spark's driver JVM (merges, the table's log)"
    description = (
        "Write a Delta Lake table: append, overwrite (whole table, dynamic partitions or replace_where) or merge "
        "(upsert and delete by keys), each one atomic Delta commit made when the whole run succeeded."
    )
    modes: ClassVar[tuple[str, ...]] = ("append", "overwrite", "merge")
    default_mode: ClassVar[str] = "append"
    streaming_modes: ClassVar[tuple[str, ...]] = ("append",)
    #: each micro-batch's merge records the query's id and the batch id: a replayed batch is skipped
    micro_batch_modes: ClassVar[tuple[str, ...]] = ("merge",)
    required_options = ("path",)
    options_schema: ClassVar[dict[str, Any]] = {
        "path": PATH_OPTION,
        "partition_by": string_list("Columns to partition a new table by (an existing table keeps its own).", 1),
        "overwrite_partitions": {
            "type": "boolean",
            "default": False,
            "description": "Mode overwrite: replace only the partitions the rows have (dynamic partition "
            "overwrite); the others stay.",
        },
        "replace_where": {
            "type": "string",
            "minLength": 1,
            "description": "Mode overwrite: replace only the rows matching this Spark SQL predicate over the "
            "table's columns; every new row must match it too.",
        },
        "keys": string_list("Mode merge: the columns identifying a row.", 1),
        "when_matched": {
            "type": "string",
            "minLength": 1,
            "description": "Mode merge: update a row whose key is in the table only when this holds (default: "
            "always). " + _CONDITION,
        },
        "when_not_matched": {
            "type": "string",
            "minLength": 1,
            "description": "Mode merge: insert a row whose key is not in the table only when this holds (default: "
            "always). " + _CONDITION,
        },
        "delete_when": {
            "type": "string",
            "minLength": 1,
            "description": "Mode merge: delete the table's row when the incoming row with its key meets this "
            "(s.op = 'D'); such rows are never inserted. " + _CONDITION,
        },
        "merge_schema": {
            "type": "boolean",
            "default": False,
            "description": "Let columns the table lacks in (added to the table; append and merge), instead of failing.",
        },
        "overwrite_schema": {
            "type": "boolean",
            "default": False,
            "description": "Mode overwrite of the whole table: replace the table's schema and partitioning by the "
            "rows' (otherwise they must match).",
        },
        "table_properties": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "propertyNames": {"pattern": "^delta\\.[A-Za-z0-9_.]+$"},
            "description": "Delta table properties set when the sink creates the table, e.g. "
            "delta.deletedFileRetentionDuration: interval 14 days.",
        },
        "s3": S3_OPTIONS_SCHEMA,
        REPLACE_FOREIGN: {
            "type": "boolean",
            "default": False,
            "description": "Let mode overwrite turn a folder that holds files but no Delta table into one: the "
            "files stay on disk, outside the table, until a VACUUM deletes them. Off: such a write is refused.",
        },
    }

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return (delta_package(), *s3_packages(options))

    @classmethod
    def session_settings_for(cls, options: Mapping[str, Any]) -> Mapping[str, str]:
        return delta_session_settings()

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = s3_option_problems(options)
        mode = options.get("mode", cls.default_mode)
        only = {
            "overwrite": ("overwrite_partitions", "replace_where", "overwrite_schema", REPLACE_FOREIGN),
            "merge": ("keys", "when_matched", "when_not_matched", "delete_when"),
        }
        for needed, keys in only.items():
            for key in keys:
                if key in options and mode != needed:
                    problems.append(OptionProblem((key,), f"{key} applies only to mode {needed}"))
        if mode == "merge" and "keys" not in options:
            problems.append(OptionProblem(("keys",), "mode merge needs keys: the columns identifying a row"))
        if options.get("overwrite_partitions") and "replace_where" in options:
            problems.append(OptionProblem(("replace_where",), "give overwrite_partitions or replace_where, not both"))
        if options.get("overwrite_schema") and (options.get("overwrite_partitions") or "replace_where" in options):
            problems.append(
                OptionProblem(("overwrite_schema",), "overwrite_schema replaces the whole table, not a part of it")
            )
        if options.get("merge_schema") and mode == "overwrite":
            problems.append(
                OptionProblem(
                    ("merge_schema",), "merge_schema applies to append and merge", hint="use overwrite_schema"
                )
            )
        for key in ("when_matched", "when_not_matched", "delete_when", "replace_where"):
            if isinstance(options.get(key), str) and (problem := _sql_problem(options[key])):
                problems.append(OptionProblem((key,), f"not a Spark SQL condition: {problem}"))
        return problems

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return []

    def preflight(self, ctx: RunContext, stage: StageSpec) -> None:
        """Refuse a guarded place, and a folder holding files but no Delta table (unless ``replace_foreign``)."""
        target = ctx.path(stage.options["path"])
        if reason := refusal(target, always_guarded(ctx.project_root)):
            raise ConfigError(f"a Delta table cannot go in {reason}", location=stage.location, hint=UNSAFE_TARGET_HINT)
        configure_buckets(ctx, stage, [target])
        fs = HadoopFileSystem(ctx.spark, target)
        where = fs.normalize(target)
        if not fs.exists(where) or fs.is_dir(fs.child(where, DELTA_LOG)):
            return
        if not fs.is_dir(where) or fs.listing(where):
            allowed = stage.option("mode", self.default_mode) == "overwrite" and stage.option(REPLACE_FOREIGN, False)
            if not allowed:
                message, hint = foreign_target_message(where)
                raise ConfigError(
                    message.replace(f"there is no {MARKER} marker", "it is no Delta table"),
                    location=stage.location,
                    hint="point the sink at a folder of its own; to make this folder a Delta table anyway, use "
                    f"mode overwrite with '{REPLACE_FOREIGN}: true' (its files stay, outside the table). "
                    + hint.split(";")[0],
                )

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        self.preflight(ctx, stage)
        target = HadoopFileSystem(ctx.spark, ctx.path(stage.options["path"])).normalize(ctx.path(stage.options["path"]))
        mode = str(stage.option("mode", self.default_mode))
        rows, count = held(df)  # one job: computed, counted and kept for the commit
        try:
            exists = is_delta_table(ctx.spark, target)
            if mode == "merge":
                _check_merge(ctx.spark, stage, rows, target if exists else None)
            elif mode == "overwrite" and stage.option("replace_where") and exists:
                with user_sql(stage, "replace_where"):
                    ctx.spark.read.format("delta").load(target).where(stage.options["replace_where"]).schema  # noqa: B018
        except BaseException:
            rows.unpersist()
            raise
        write = DeltaCommit(ctx.spark, stage, rows, target, mode)
        if ctx.micro_batch is not None and (query := query_id(df)):
            write.transaction = (query, ctx.micro_batch)
        write.rows = count
        write.details["version_before"] = table_version(ctx.spark, target) if exists else None
        return write

    def stream_writer(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> DataStreamWriter:
        self.preflight(ctx, stage)
        target = ctx.path(stage.options["path"])
        writer = df.writeStream.format("delta").option("path", target)
        writer = writer.options(**_create_options(stage))
        if stage.option("merge_schema"):
            writer = writer.option("mergeSchema", "true")
        if partition_by := stage.option("partition_by"):
            writer = writer.partitionBy(*partition_by)
        return writer

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        mode = stage.option("mode", self.default_mode)
        details: dict[str, Any] = {"format": "delta"}
        if mode == "merge":
            details["keys"] = list(stage.option("keys") or ())
            details.update(
                {k: stage.options[k] for k in ("when_matched", "when_not_matched", "delete_when") if k in stage.options}
            )
        if stage.option("overwrite_partitions"):
            details["overwrite"] = "the partitions the rows have"
        if stage.option("replace_where"):
            details["replace_where"] = stage.options["replace_where"]
        return [
            Effect(
                stage=stage.name,
                action="merge" if mode == "merge" else "write",
                target=resolve_path(stage.options["path"], project_root),
                mode=mode,
                details=details,
            )
        ]


def _sql_problem(text: str) -> str | None:
    """Why ``text`` is not one Spark SQL expression (sqlglot's message), or None when it parses."""
    try:
        parsed = sqlglot.parse_one(text, dialect="spark")
    except ParseError as exc:
        return str(exc).splitlines()[0]
    if parsed is None:
        return "empty"
    return None


def _create_options(stage: StageSpec) -> dict[str, str]:
    """Writer options that become table properties when the write creates the table."""
    properties = stage.option("table_properties") or {}
    return {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in properties.items()}


def _check_merge(spark: SparkSession, stage: StageSpec, rows: DataFrame, target: str | None) -> None:
    """Keys present and unique in the rows; conditions valid over the rows and the table (before any commit)."""
    from pyspark.sql import functions as F

    keys = list(stage.options["keys"])
    missing = [k for k in keys if k not in rows.columns]
    if missing:
        raise ConfigError(
            f"{stage.label}: merge keys missing from the rows: {', '.join(missing)}",
            location=stage.location,
            hint=f"the rows have: {', '.join(rows.columns)}",
        )
    repeated = rows.groupBy(*[F.col(quote(k)) for k in keys]).count().where("count > 1").limit(5).collect()
    if repeated:
        examples = "; ".join(
            ", ".join(f"{k}={r[i]!r}" for i, k in enumerate(keys)) + f" ({r['count']} rows)" for r in repeated
        )
        raise RunError(
            f"{stage.label}: the rows to merge repeat keys: {examples}",
            location=stage.location,
            hint="keep one row per key before the sink (transform deduplicate)",
        )
    table = spark.read.format("delta").load(target) if target else rows.limit(0)
    missing = [k for k in keys if k not in table.columns]
    if missing:
        raise ConfigError(f"{stage.label}: merge keys not in the table: {', '.join(missing)}", location=stage.location)
    both = table.alias(TARGET_ALIAS).crossJoin(rows.alias(SOURCE_ALIAS))
    for key in ("when_matched", "when_not_matched", "delete_when"):
        if condition := stage.option(key):
            with user_sql(stage, key):
                both.where(condition).schema  # noqa: B018  (analysis only: column names and types)


class DeltaCommit(OneShotWrite):
    """Rows kept by Spark, written to the Delta table as one commit by :meth:`commit`.

    ``transaction``, in a streaming micro-batch: (the query's id, the batch id), recorded by the commit
    (Delta's idempotent writes); Delta skips the write when the table already has that batch of that query.
    """

    def __init__(self, spark: SparkSession, stage: StageSpec, rows: DataFrame, target: str, mode: str):
        super().__init__(target, mode)
        self.spark = spark
        self.stage = stage
        self.frame = rows
        self.transaction: tuple[str, int] | None = None

    def _publish(self) -> None:
        # on failure nothing was committed (the log has no new entry) and the rows stay kept for a retry
        exists = is_delta_table(self.spark, self.target)
        if self.mode == "merge" and exists:
            self._merge()
        else:
            self._write(exists)
        self.details["version"] = table_version(self.spark, self.target)
        self.frame.unpersist()

    def _discard(self) -> None:
        self.frame.unpersist()

    def _write(self, exists: bool) -> None:
        stage = self.stage
        rows = self.frame
        writer_mode = "append"
        if self.mode == "merge" and _has_insert_filter(stage):  # a missing table: made of the rows a merge inserts
            rows = rows.alias(SOURCE_ALIAS).where(_insert_condition(stage)).select(*[quote(c) for c in rows.columns])
        writer = rows.write.format("delta")
        if not exists:
            writer = writer.options(**_create_options(stage))
            if partition_by := stage.option("partition_by"):
                writer = writer.partitionBy(*partition_by)
            self.details["created"] = True
        if self.mode == "overwrite":
            writer_mode = "overwrite"
            if stage.option("overwrite_partitions"):
                writer = writer.option("partitionOverwriteMode", "dynamic")
            elif where := stage.option("replace_where"):
                writer = writer.option("replaceWhere", where)
            elif stage.option("overwrite_schema"):
                writer = writer.option("overwriteSchema", "true")
        if stage.option("merge_schema"):
            writer = writer.option("mergeSchema", "true")
        if self.transaction is not None:
            writer = writer.option("txnAppId", self.transaction[0]).option("txnVersion", str(self.transaction[1]))
        writer.mode(writer_mode).save(self.target)

    def _merge(self) -> None:
        stage = self.stage
        keys = list(stage.options["keys"])
        on = " AND ".join(f"{TARGET_ALIAS}.{quote(k)} <=> {SOURCE_ALIAS}.{quote(k)}" for k in keys)
        # a micro-batch merges in its query's own session (Spark's per-query clone), where the idempotent-write
        # settings concern this merge alone
        spark = self.frame.sparkSession if self.transaction is not None else self.spark
        builder = java_table(spark, self.target).alias(TARGET_ALIAS).merge(self.frame.alias(SOURCE_ALIAS)._jdf, on)
        if stage.option("merge_schema"):
            builder = builder.withSchemaEvolution()
        if delete := stage.option("delete_when"):
            builder = builder.whenMatched(delete).delete()
        matched = stage.option("when_matched")
        builder = (builder.whenMatched(matched) if matched else builder.whenMatched()).updateAll()
        if _has_insert_filter(stage):
            builder = builder.whenNotMatched(_insert_condition(stage)).insertAll()
        else:
            builder = builder.whenNotMatched().insertAll()
        with user_sql(stage, "merge"), _idempotent(spark, self.transaction):
            metrics = builder.execute()
        self.details["keys"] = keys
        try:
            row = metrics.head()
            self.details.update(
                {
                    "rows_inserted": int(row.getAs("num_inserted_rows")),
                    "rows_updated": int(row.getAs("num_updated_rows")),
                    "rows_deleted": int(row.getAs("num_deleted_rows")),
                }
            )
        except Exception:  # the counts are a nicety: an older Delta returns none
            pass


@contextlib.contextmanager
def _idempotent(spark: SparkSession, transaction: tuple[str, int] | None) -> Iterator[None]:
    """Delta's idempotent DML: the merge records (app id, version) in its commit, and is skipped (a no-op)
    when the table already has that version, or a later one, of that app id."""
    if transaction is None:
        yield
        return
    spark.conf.set(TXN_APP_ID, transaction[0])
    spark.conf.set(TXN_VERSION, str(transaction[1]))
    try:
        yield
    finally:
        spark.conf.unset(TXN_APP_ID)
        spark.conf.unset(TXN_VERSION)


def _has_insert_filter(stage: StageSpec) -> bool:
    return bool(stage.option("when_not_matched") or stage.option("delete_when"))


def _insert_condition(stage: StageSpec) -> str:
    """When a new key is inserted: ``when_not_matched``, and never a row ``delete_when`` marks as deleted."""
    parts = []
    if insert := stage.option("when_not_matched"):
        parts.append(f"({insert})")
    if delete := stage.option("delete_when"):
        parts.append(f"NOT coalesce(({delete}), false)")
    return " AND ".join(parts)


def maintain(ctx: RunContext, stage: StageSpec, request: MaintenanceRequest) -> MaintenanceResult:
    """``etl-cli table optimize|vacuum`` on the sink's table (expire-snapshots is Iceberg's: refused earlier)."""
    target = ctx.path(stage.options["path"])
    configure_buckets(ctx, stage, [target])
    spark = ctx.spark
    if not is_delta_table(spark, target):
        raise RunError(f"{target} holds no Delta table", location=stage.location, hint="run the pipeline first")
    name = table_sql(target)
    if request.action == "optimize":
        zorder = ", ".join(quote(c) for c in request.zorder_by)
        rows = spark.sql(f"OPTIMIZE {name}" + (f" ZORDER BY ({zorder})" if zorder else "")).collect()
        metrics = rows[0]["metrics"] if rows else None
        details = {}
        if metrics is not None:
            details = {"files_added": int(metrics["numFilesAdded"]), "files_removed": int(metrics["numFilesRemoved"])}
        return MaintenanceResult(
            target,
            "optimize",
            details={**details, "version": table_version(spark, target), "zorder_by": list(request.zorder_by)},
        )
    if request.action == "vacuum":
        return _vacuum(spark, stage, target, request)
    raise RunError(f"Delta tables have no maintenance action {request.action}")


#: the number of tasks VACUUM lists a table's folders in (Spark's, also its partition discovery's)
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


def listing_parallelism(cores: int) -> int:
    """Tasks for VACUUM's listing when the pipeline sets none: four per core of the session (at least 8)."""
    return max(8, 4 * cores)


@contextlib.contextmanager
def _session_settings(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """``settings`` on the session for the block; each is put back as it was (unset if it was) after it."""
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, previous in before.items():
            if previous is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, previous)


def _vacuum(spark: SparkSession, stage: StageSpec, target: str, request: MaintenanceRequest) -> MaintenanceResult:
    """VACUUM, refusing a retention below the table's own (files an older version or a running write needs)."""
    properties = table_properties(spark, target)
    kept = properties.get(DELETED_FILE_RETENTION)
    table_hours = interval_hours(kept) if kept else DEFAULT_RETENTION_HOURS
    hours = table_hours if request.retain_hours is None else request.retain_hours
    if hours < table_hours and not request.force:
        raise ConfigError(
            f"refusing to VACUUM {target} keeping {hours:g} hours of removed files: the table keeps "
            f"{table_hours:g} hours ({DELETED_FILE_RETENTION})",
            location=stage.location,
            hint="below it, time travel to older versions breaks and a write running now may lose its files; "
            "--force if no reader or writer can be using the table",
        )
    settings: dict[str, str] = {}
    if hours < table_hours:
        settings["spark.databricks.delta.retentionDurationCheck.enabled"] = "false"
    # VACUUM lists the table's folders in as many tasks as this setting says, 10,000 unless set: on a
    # local master, minutes of empty tasks for a small table (and its DRY RUN lists them again)
    if not spark.sparkContext.getConf().contains(LISTING_PARALLELISM):
        settings[LISTING_PARALLELISM] = str(listing_parallelism(spark.sparkContext.defaultParallelism))
    with _session_settings(spark, settings):
        listed = spark.sql(f"VACUUM {table_sql(target)} RETAIN {hours:g} HOURS DRY RUN").count()
        spark.sql(f"VACUUM {table_sql(target)} RETAIN {hours:g} HOURS").collect()
    return MaintenanceResult(target, "vacuum", details={"retain_hours": hours, "files_deleted": listed})
