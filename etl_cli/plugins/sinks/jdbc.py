"""The JDBC sink: append, overwrite and upsert, each published by one transaction.

Every mode first lets Spark write the rows into a staging table next to the target
(``etl_stg_<owner>_<run>_<write>_<table>``, its columns typed as the target's; the name says
which pipeline and run made it, see :mod:`etl_cli.plugins.jdbc.staging`), with at most
``num_writers`` connections inserting ``batch_size`` rows per round trip. Only when every
sink of the run has staged its rows does :meth:`StagedTable.commit` publish them, in one
transaction on one connection:

- ``append``: ``INSERT INTO target SELECT ... FROM staging``;
- ``overwrite``: ``DELETE FROM target`` then the same INSERT. DELETE rather than TRUNCATE
  because MySQL's TRUNCATE commits on its own (and PostgreSQL's locks out readers): with
  DELETE both databases keep the old rows visible to readers until the commit and put
  them back on any failure, and the table keeps its definition, indexes, grants and
  dependent views, which a rename-swap would lose;
- ``upsert``: ``INSERT ... ON CONFLICT (keys) DO UPDATE`` (PostgreSQL) or
  ``INSERT ... ON DUPLICATE KEY UPDATE`` (MySQL, MariaDB), after checking that no key
  appears twice in the staged rows (which would make the result depend on row order; on
  PostgreSQL the upsert itself refuses that, and the keys are looked up only then).

On PostgreSQL the staging table is UNLOGGED and Spark's connections to it send batches as
multi-row INSERTs (``reWriteBatchedInserts``): both roughly halve the staging load.

With ``on_reject: dead_letter`` the staging table takes any row, and after the load a trial
publish (always rolled back) bisects the staged rows to find those the database refuses;
they become the write's ``rejected`` rows (for the dead-letter queue) and are left out of
the publish. See :mod:`etl_cli.plugins.jdbc.rejects`.

A missing target (append, overwrite) is created by renaming the staging table. The
staging table is dropped after the commit, and on abort. If anything fails, the
transaction is rolled back and the target is exactly as it was. A server that cannot be
reached is retried by the run (the stage's ``retry:``) before anything is staged, and
before the commit's transaction begins; a failure inside the transaction is not retried.

The target and the keys reach the statements only as the catalog spells them, quoted by the
dialect; ``table`` and ``keys`` are checked against the rule of
:mod:`etl_cli.plugins.jdbc.identifiers` before anything connects. Staging tables left by
killed runs of the same pipeline are dropped by :meth:`JdbcSink.recover`, which every run calls
before its first stage and ``etl-cli recover`` calls (:mod:`etl_cli.runtime.bookkeeping.recover`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.errors import RunError
from etl_cli.plugins.api import Effect, OptionProblem, PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.jdbc.catalog import Catalog, Table
from etl_cli.plugins.jdbc.connection import (
    JdbcConnection,
    LoginRefused,
    ServerUnreachable,
    connect,
    database_error,
    is_cardinality_violation,
    open_connection,
)
from etl_cli.plugins.jdbc.dialects import dialect_for, display_url
from etl_cli.plugins.jdbc.identifiers import (
    Identifier,
    TableName,
    column_name,
    column_schema,
    table_option,
    table_schema,
)
from etl_cli.plugins.jdbc.options import (
    CONNECTION_SCHEMA,
    ConnectionSettings,
    connection_problems,
    connection_settings,
    driver_packages,
)
from etl_cli.plugins.jdbc.rejects import delete_refused, find_refusals, open_staging, refused_rows
from etl_cli.plugins.jdbc.staging import drop_stale_staging, owner_tag, staging_name
from etl_cli.plugins.observed import observe_rows, observed_value
from etl_cli.plugins.registry import register
from etl_cli.plugins.sinks.staging import OneShotWrite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


@dataclass(frozen=True)
class LoadPlan:
    """Where the rows go and how: found (or not) in the catalog while staging."""

    mode: str
    target: Table | None
    target_name: TableName
    staging_namespace: str | None
    staging_name: str
    columns: tuple[str, ...]
    keys: tuple[str, ...] = ()
    #: ``on_reject: dead_letter``: the staging table takes any row (see :mod:`~etl_cli.plugins.jdbc.rejects`)
    sets_aside_refused: bool = False
    #: column → SQL type the publish casts it to (text staged for a non-text column)
    casts: tuple[tuple[str, str], ...] = ()


@register
class JdbcSink(Sink):
    type = "jdbc"
    needs_driver_jvm = (
        "it opens JDBC connections in Spark's driver JVM (staging tables, upserts, one transaction per publish)"
    )
    description = (
        "Write a table over JDBC: append, overwrite or upsert (PostgreSQL, MySQL, MariaDB), staged in a "
        "staging table and published in one transaction when the whole run succeeded."
    )
    modes = ("append", "overwrite", "upsert")
    default_mode = "append"
    #: a streaming micro-batch replayed after a crash upserts the same rows again: same table
    micro_batch_modes: ClassVar[tuple[str, ...]] = ("upsert",)
    required_options = ("url", "table")
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "table": table_schema(
            "Target table: name or schema.name (database.name on MySQL). Created by append and overwrite when "
            "missing; upsert needs it to exist with a primary key or unique index."
        ),
        "keys": {
            "type": "array",
            "items": column_schema("An upsert key column."),
            "minItems": 1,
            "description": "Upsert keys: columns identifying a row (default: the table's primary key). They must be "
            "the columns of the primary key or of a unique index.",
        },
        "num_writers": {
            "type": "integer",
            "minimum": 1,
            "default": 4,
            "description": "Most connections writing at once (Spark partitions are coalesced to this many).",
        },
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "default": 1000,
            "description": "Rows sent per INSERT round trip by each writer.",
        },
        "on_reject": {
            "enum": ["fail", "dead_letter"],
            "default": "fail",
            "description": "What a row the database refuses does (NOT NULL, CHECK, foreign key, a value too long "
            "or out of range, a text that does not convert): fail (the run fails and the table is unchanged) or "
            "dead_letter (the row goes to the dead-letter queue with the database's message as reason, kind "
            "rejected, and the other rows are loaded; needs a dead_letter: section). dead_letter tries the publish "
            "once before the commit, so the merge runs twice.",
        },
        "max_rejects": {
            "type": "integer",
            "minimum": 0,
            "default": 1000,
            "description": "With on_reject dead_letter: the run fails when the database refuses more rows than "
            "this (each refused row costs a few trial statements to find).",
        },
    }

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return driver_packages(options)

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = connection_problems(options)
        mode = options.get("mode", cls.default_mode)
        if "keys" in options and mode != "upsert":
            problems.append(OptionProblem(("keys",), "keys apply only to mode upsert"))
        url = options.get("url")
        if mode == "upsert" and isinstance(url, str) and "${" not in url and not dialect_for(url).supports_upsert:
            problems.append(OptionProblem(("mode",), "upsert is supported on PostgreSQL, MySQL and MariaDB URLs only"))
        if "max_rejects" in options and options.get("on_reject", "fail") != "dead_letter":
            problems.append(OptionProblem(("max_rejects",), "max_rejects applies only with on_reject: dead_letter"))
        if (
            options.get("on_reject") == "dead_letter"
            and isinstance(url, str)
            and "${" not in url
            and not dialect_for(url).supports_upsert
        ):
            problems.append(
                OptionProblem(("on_reject",), "on_reject dead_letter works on PostgreSQL, MySQL and MariaDB only")
            )
        return problems

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        if options.get("on_reject") == "dead_letter":
            return [
                OptionProblem(
                    ("on_reject",),
                    "on_reject dead_letter works in batch runs only: a streaming run has no dead-letter queue",
                    hint="remove on_reject (a refused row then stops the query)",
                )
            ]
        return []

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        mode = str(stage.option("mode", self.default_mode))
        written, keys = table_option(stage), _key_options(stage)  # checked before anything connects
        write = f"{stage.name}/{ctx.micro_batch}/{uuid.uuid4().hex}"
        staging = staging_name(ctx.pipeline, ctx.env, ctx.run_id, write, written.name.text)
        with connect(ctx.spark, lambda resolve: connection_settings(stage.options, resolve), ctx.with_rotation) as conn:
            try:
                plan = _plan_load(conn, stage, mode, list(df.columns), written, keys, staging)
                if plan.target is not None:
                    _create_staging(conn, plan, stage)
                    if stage.option("on_reject") == "dead_letter":
                        plan = _open_staging(conn, plan, stage, df)
            except Exception as exc:
                raise database_error(f"preparing {stage.label}", exc, conn.settings) from None
        settings = conn.settings
        staged = StagedTable(ctx.spark, settings, plan)
        action = f"writing the staging table of {stage.label}"
        try:
            staged.rows = _write_staging(stage, df.toDF(*plan.columns), settings, plan)
            if plan.sets_aside_refused:
                action = f"finding the rows {stage.label} cannot load"
                staged.set_aside_refused(int(stage.option("max_rejects", 1000)), df.schema)
        except BaseException as exc:
            staged.abort()
            if isinstance(exc, Exception):
                raise database_error(action, exc, settings) from None
            raise
        return staged

    def recover(self, ctx: RunContext, stage: StageSpec, live_run_ids: Collection[str]) -> list[str]:
        """Drop the staging tables next to the stage's target that runs of this pipeline (``ctx.pipeline`` in
        ``ctx.env``) left behind, except those of ``live_run_ids`` (the runs holding the pipeline's lock now);
        say which (``schema.table: ...``). Tables of other pipelines, of the same pipeline in another
        environment and of live runs are left alone.

        A server that cannot be reached, or refuses the login, is reported as a line rather than raised:
        the leftovers wait for the next recovery, and a run meets the same failure in the stage itself,
        where its retry policy applies."""
        written = table_option(stage)
        try:
            conn = connect(ctx.spark, lambda resolve: connection_settings(stage.options, resolve), ctx.with_rotation)
        except (ServerUnreachable, LoginRefused) as exc:
            reason = exc.message if isinstance(exc, LoginRefused) else str(exc)
            return [f"{stage.label}: staging tables of dead runs not checked: {reason}"]
        with conn:
            try:
                catalog = Catalog(conn, conn.settings.dialect)
                namespace = _target_namespace(catalog, written, catalog.find(written))
                return drop_stale_staging(conn, namespace, owner_tag(ctx.pipeline, ctx.env), live_run_ids)
            except Exception as exc:
                raise database_error(f"dropping stale staging tables of {stage.label}", exc, conn.settings) from None

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        mode = stage.option("mode", self.default_mode)
        keys = list(stage.option("keys") or ())
        return [
            Effect(
                stage=stage.name,
                action="upsert" if mode == "upsert" else "write",
                target=f"{display_url(str(stage.options['url']))} {stage.options['table']}",
                mode=mode,
                details={"keys": keys or "primary key"} if mode == "upsert" else {},
            )
        ]


def _key_options(stage: StageSpec) -> tuple[Identifier, ...]:
    """The ``keys`` option as column names; a ConfigError (exit 1) for one that breaks the rule."""
    return tuple(column_name(stage, "keys", key) for key in stage.option("keys") or ())


def _target_namespace(catalog: Catalog, written: TableName, target: Table | None) -> str | None:
    """The schema (MySQL: database) of the target, where its staging tables go."""
    return target.namespace if target else catalog.namespace_of(written)


def _plan_load(
    conn: JdbcConnection,
    stage: StageSpec,
    mode: str,
    columns: list[str],
    written: TableName,
    keys: Sequence[Identifier],
    staging: str,
) -> LoadPlan:
    """Check the target against the rows (columns, keys) and decide the statements."""
    settings = conn.settings
    catalog = Catalog(conn, settings.dialect)
    try:
        target = catalog.find(written)
        namespace = _target_namespace(catalog, written, target)
    except Exception as exc:
        raise database_error(f"looking up table {written}", exc, settings) from None
    if target is None:
        if mode == "upsert":
            raise RunError(
                f"{stage.label}: table {written} does not exist at {settings.where}",
                location=stage.location,
                hint="create it with a primary key (or unique index) on the upsert keys first",
            )
        return LoadPlan(mode, None, written, namespace, staging, tuple(columns))
    mapped = _map_columns(stage, target, columns)
    chosen = _upsert_keys(stage, catalog, target, mapped, keys) if mode == "upsert" else ()
    return LoadPlan(mode, target, written, namespace, staging, tuple(mapped), tuple(chosen))


def _map_columns(stage: StageSpec, target: Table, columns: Sequence[str]) -> list[str]:
    """The target's spelling of each DataFrame column; columns the table lacks are an error."""
    mapped = [target.column_named(c) for c in columns]
    unknown = [c for c, m in zip(columns, mapped, strict=True) if m is None]
    if unknown:
        raise RunError(
            f"{stage.label}: table {target.name} has no column {', '.join(unknown)}",
            location=stage.location,
            hint=f"the table's columns: {', '.join(target.columns)}; drop or rename the others before the sink",
        )
    return [m for m in mapped if m is not None]


def _upsert_keys(
    stage: StageSpec, catalog: Catalog, target: Table, columns: Sequence[str], given: Sequence[Identifier]
) -> list[str]:
    """The keys given (checked against table, rows and unique indexes), else the primary key.

    A key is the table's column of that name (a quoted key: of exactly that name), so only names the
    catalog returned reach the statements."""
    if not given:
        keys = catalog.primary_key(target)
        if not keys:
            raise RunError(
                f"{stage.label}: table {target.name} has no primary key to upsert by",
                location=stage.location,
                hint="set keys: [...] to the columns of a unique index, or add a primary key",
            )
    else:
        found = [_column_of(target, k) for k in given]
        not_in_table = [str(k) for k, column in zip(given, found, strict=True) if column is None]
        if not_in_table:
            raise RunError(
                f"{stage.label}: upsert keys not in table {target.name}: {', '.join(not_in_table)}",
                location=stage.location,
                hint=f"the table's columns: {', '.join(target.columns)}",
            )
        keys = [str(column) for column in found]
    not_in_rows = [k for k in keys if k not in columns]
    if not_in_rows:
        raise RunError(
            f"{stage.label}: upsert keys missing from the rows written: {', '.join(not_in_rows)}",
            location=stage.location,
            hint=f"the rows have: {', '.join(columns)}",
        )
    unique = catalog.unique_keys(target)
    if frozenset(keys) not in unique:
        known = "; ".join("(" + ", ".join(sorted(u)) + ")" for u in unique) or "none"
        raise RunError(
            f"{stage.label}: no primary key or unique index of table {target.name} is exactly ({', '.join(keys)})",
            location=stage.location,
            hint=f"the database matches rows by one; unique keys of the table: {known}",
        )
    return keys


def _column_of(target: Table, key: Identifier) -> str | None:
    if key.quoted:
        return key.text if key.text in target.columns else None
    return target.column_named(key.text)


def _create_staging(conn: JdbcConnection, plan: LoadPlan, stage: StageSpec) -> None:
    dialect = conn.settings.dialect
    assert plan.target is not None
    staging = dialect.qualified(plan.staging_namespace, plan.staging_name)
    try:
        conn.execute(dialect.create_like(staging, plan.target.quoted(dialect), plan.columns))
    except Exception as exc:
        raise database_error(
            f"creating staging table {plan.staging_name} for {stage.label}", exc, conn.settings
        ) from None


def _open_staging(conn: JdbcConnection, plan: LoadPlan, stage: StageSpec, df: DataFrame) -> LoadPlan:
    """Let the staging table take any row, for the refused ones to be found after the load (rejects module)."""
    spark_types = {c: f.dataType.simpleString() for c, f in zip(plan.columns, df.schema.fields, strict=True)}
    try:
        casts = open_staging(conn, plan.staging_namespace, plan.staging_name, plan.columns, spark_types)
    except Exception as exc:
        raise database_error(
            f"preparing staging table {plan.staging_name} for {stage.label}", exc, conn.settings
        ) from None
    return replace(plan, sets_aside_refused=True, casts=tuple(casts.items()))


def _write_staging(stage: StageSpec, df: DataFrame, settings: ConnectionSettings, plan: LoadPlan) -> int:
    """Spark inserts the rows into the staging table; return how many (observed during the write)."""
    from pyspark.sql import Observation

    observation = Observation(f"etl_sink_{stage.name}_{uuid.uuid4().hex[:8]}")
    observed = observe_rows(df, observation)
    observed = observed.coalesce(int(stage.option("num_writers", 4)))
    given = {key.lower() for key in settings.properties}
    faster = {k: v for k, v in settings.dialect.bulk_insert_properties().items() if k.lower() not in given}
    writer = observed.write.format("jdbc").options(**settings.spark_options(), **faster)
    writer = writer.option("dbtable", settings.dialect.qualified(plan.staging_namespace, plan.staging_name))
    writer = writer.option("batchsize", int(stage.option("batch_size", 1000)))
    writer.mode("append" if plan.target is not None else "error").save()
    return int(observed_value(observation, "rows"))


class StagedTable(OneShotWrite):
    """Rows in a staging table, published into the target by one transaction."""

    def __init__(self, spark: SparkSession, settings: ConnectionSettings, plan: LoadPlan):
        super().__init__(str(plan.target_name), plan.mode)
        self.spark = spark
        self.settings = settings
        self.plan = plan
        self.dialect = settings.dialect
        self.staging = self.dialect.qualified(plan.staging_namespace, plan.staging_name)
        self.details.update({"database": display_url(settings.url), "staging_table": plan.staging_name})
        if plan.keys:
            self.details["keys"] = list(plan.keys)

    def _publish(self) -> None:
        with open_connection(self.spark, self.settings) as conn:
            try:
                with conn.transaction():
                    self._apply(conn)
            except Exception as exc:
                error = self._repeated_keys(conn, exc) or database_error(
                    f"publishing into {self.plan.target_name}", exc, self.settings
                )
                raise self._with_cleanup(conn, error) from None
            self._drop(conn)

    def _apply(self, conn: JdbcConnection) -> None:
        plan, dialect = self.plan, self.dialect
        if plan.target is None:
            if Catalog(conn, dialect).find(plan.target_name) is not None:
                raise RunError(f"table {plan.target_name} appeared while this run was writing it")
            conn.execute(dialect.rename(self.staging, plan.staging_namespace, plan.target_name.name.stored(dialect)))
            self.details["created"] = True
            return
        if plan.mode == "upsert" and not self._upsert_refuses_repeated_keys:
            self._refuse_duplicate_keys(conn)
        if plan.mode == "overwrite":
            self.details["rows_deleted"] = conn.execute(dialect.delete_all(plan.target.quoted(dialect)))
        conn.execute(self._merge())

    @property
    def _upsert_refuses_repeated_keys(self) -> bool:
        """PostgreSQL refuses ``ON CONFLICT DO UPDATE`` of one row twice (SQLSTATE 21000), so the upsert
        itself finds repeated keys and the query naming them (a full pass over the staged rows) only
        runs when it failed that way. MySQL would apply both rows, and DO NOTHING keeps the first."""
        return self.dialect.name == "postgresql" and any(c not in self.plan.keys for c in self.plan.columns)

    def _repeated_keys(self, conn: JdbcConnection, exc: BaseException) -> RunError | None:
        """The error naming the repeated keys, when the upsert failed because of them."""
        if self.plan.mode != "upsert" or not self._upsert_refuses_repeated_keys or not is_cardinality_violation(exc):
            return None
        try:
            self._refuse_duplicate_keys(conn)
        except RunError as error:
            return error
        except Exception:  # the connection broke meanwhile: report the upsert's own error
            return None
        return None

    def _merge(self, where: str | None = None) -> str:
        """The statement loading the staged rows (those matching ``where``) into the existing target."""
        plan, dialect = self.plan, self.dialect
        assert plan.target is not None
        target, casts = plan.target.quoted(dialect), dict(plan.casts)
        if plan.mode == "upsert":
            return dialect.upsert(target, self.staging, plan.columns, plan.keys, casts, where)
        return dialect.insert_select(target, self.staging, plan.columns, casts, where)

    def set_aside_refused(self, limit: int, schema: StructType) -> None:
        """Find the staged rows the database refuses, keep them as :attr:`rejected` and out of the publish."""
        plan = self.plan
        assert plan.target is not None
        before = [self.dialect.delete_all(plan.target.quoted(self.dialect))] if plan.mode == "overwrite" else []
        with open_connection(self.spark, self.settings) as conn:
            if plan.mode == "upsert":
                self._refuse_duplicate_keys(conn)
            refusals = find_refusals(conn, self.staging, self._merge, before, limit)
            if refusals:
                self.rejected = refused_rows(self.spark, self.settings, self.staging, plan.columns, schema, refusals)
                delete_refused(conn, self.staging, refusals)
        self.rows_rejected = len(refusals)
        self.details["rows_rejected"] = len(refusals)
        if self.rows is not None:
            self.rows -= len(refusals)

    def _refuse_duplicate_keys(self, conn: JdbcConnection) -> None:
        duplicates = conn.query(self.dialect.duplicate_keys(self.staging, self.plan.keys), max_rows=5)
        if duplicates:
            examples = "; ".join(
                ", ".join(f"{k}={v!r}" for k, v in zip(self.plan.keys, row, strict=False)) + f" ({row[-1]} rows)"
                for row in duplicates
            )
            raise RunError(
                f"the rows to upsert into {self.plan.target_name} repeat keys: {examples}",
                hint="keep one row per key before the sink (transform deduplicate)",
            )

    def _discard(self) -> None:
        try:
            with open_connection(self.spark, self.settings) as conn:
                self._drop(conn)
        except Exception:
            self.details.setdefault("left_behind", []).append(self.plan.staging_name)

    def _drop(self, conn: JdbcConnection) -> None:
        try:
            conn.execute(self.dialect.drop(self.staging))
        except Exception:  # the outcome is settled: report the leftover rather than fail over it
            self.details.setdefault("left_behind", []).append(self.plan.staging_name)

    def _with_cleanup(self, conn: JdbcConnection, error: RunError) -> RunError:
        """The error, after dropping the staging table (or saying it is left behind)."""
        self._drop(conn)
        if self.plan.staging_name in self.details.get("left_behind", []):
            error.message += f" (staging table {self.plan.staging_name} could not be dropped: drop it by hand)"
        self.state = "aborted"
        return error
