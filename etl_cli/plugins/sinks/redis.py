"""The Redis sink: one hash, string or stream entry per row, written by Spark's executors with redis-py.

- ``hash`` (mode ``upsert``): the key from a template of columns (``customer:{id}``) holds
  exactly the row's non-null columns as fields (the key is replaced, field by field nothing
  of an earlier row is kept), optionally with a time to live.
- ``string`` (mode ``upsert``): the key holds one column's text, or the JSON object of the
  row's columns, optionally with a time to live (``SET key value EX ttl``).
- ``stream`` (mode ``append``): each row is one entry (``XADD``) of the stream the template
  names, with an id the server assigns, optionally trimmed to about ``max_length`` entries.

Values are written as Spark casts them to text (numbers, ``true``/``false``, timestamps as
``yyyy-MM-dd HH:mm:ss``), nested values as JSON, binary values as their bytes.

Redis has no staging area, so, as for Kafka, the sink prepares everything while staging and
writes only at commit, after the other sinks. Staging finds the rows that cannot be written
and keeps them out: a key column that is null, a row with no value, and a key that already
holds another type of value (asked of the server with ``TYPE``); with a ``dead_letter:``
section they go to the dead-letter queue, with their reason. Hash and string writes are
idempotent (a retried commit writes the same values); stream entries are appended again
by a retried commit, so streams get at-least-once delivery.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import Effect, OptionProblem, PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.redis_connection import (
    CONNECTION_SCHEMA,
    Connection,
    connection,
    server_of,
    template_columns,
    template_parts,
    template_problems,
    url_problems,
)
from etl_cli.plugins.registry import register
from etl_cli.plugins.sinks.staging import OneShotWrite
from etl_cli.plugins.spark_types import quote, string_list, user_sql

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

DATA_TYPES = ("hash", "string", "stream")
#: the mode each data type is written in
MODE_OF = {"hash": "upsert", "string": "upsert", "stream": "append"}
ACTIONS = {"hash": "upsert hashes", "string": "upsert strings", "stream": "append to stream"}
_KEY, _REASON, _ROW, _VALUE = "__etl_key", "__etl_reason", "__etl_row", "__etl_value"


@register
class RedisSink(Sink):
    type = "redis"
    description = (
        "Write each row to Redis: a hash per key (upsert), a string per key with an optional time to live "
        "(upsert), or an entry of a stream (append). Keys come from a template of columns; rows that cannot be "
        "written go to the dead-letter queue (see docs/connectors/redis.md)."
    )
    required_options = ("url", "key")
    modes: ClassVar[tuple[str, ...]] = ("upsert", "append")
    default_mode: ClassVar[str] = "upsert"
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "data_type": {
            "enum": list(DATA_TYPES),
            "default": "hash",
            "description": "hash (one hash per key, mode upsert), string (one value per key, mode upsert) or "
            "stream (one entry per row, mode append).",
        },
        "key": {
            "type": "string",
            "minLength": 1,
            "description": 'The key (hash, string) or stream name, with columns in braces: "customer:{id}", '
            '"order:{region}:{order_id}", "events". {{ and }} are literal braces.',
        },
        "columns": string_list(
            "Columns to write as fields (hash, stream) or into the JSON value (string); default: every column "
            "the key template does not use.",
            min_items=1,
        ),
        "value_column": {
            "type": "string",
            "minLength": 1,
            "description": "data_type string: the column whose text is the value (default: the JSON object of "
            "`columns`).",
        },
        "ttl_seconds": {
            "type": "integer",
            "minimum": 1,
            "description": "data_type hash or string: the time to live of each written key, in seconds "
            "(default: none; an upsert without it removes an earlier time to live).",
        },
        "max_length": {
            "type": "integer",
            "minimum": 1,
            "description": "data_type stream: trim the stream to about this many entries (XADD MAXLEN ~).",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = url_problems(options) + template_problems(options, "key")
        data_type = options.get("data_type", "hash")
        mode = options.get("mode", cls.default_mode)
        if isinstance(data_type, str) and data_type in MODE_OF and mode != MODE_OF[data_type]:
            problems.append(
                OptionProblem(("mode",), f"data_type {data_type} is written in mode {MODE_OF[data_type]}, not {mode}")
            )
        for key, allowed in (("value_column", ("string",)), ("ttl_seconds", ("hash", "string")),
                             ("max_length", ("stream",))):  # fmt: skip
            if key in options and data_type not in allowed:
                problems.append(OptionProblem((key,), f"{key} applies to data_type {' or '.join(allowed)} only"))
        if "value_column" in options and "columns" in options:
            problems.append(OptionProblem(("columns",), "give value_column or columns, not both"))
        return problems

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        url = stage.option("url")
        return server_of(url) if isinstance(url, str) else None

    # ------------------------------------------------------------------------------------------- staging

    def prepared(self, stage: StageSpec, df: DataFrame) -> DataFrame:
        """Columns key, reason (why the row cannot be written, or null), row (JSON), then the values as text."""
        from pyspark.sql import functions as F

        template = str(stage.options["key"])
        key_columns = template_columns(template)
        data_type = stage.option("data_type", "hash")
        value_column = stage.option("value_column")
        listed = stage.option("columns")
        columns = list(listed) if listed else [c for c in df.columns if c not in key_columns]
        if data_type == "string" and value_column:
            columns = [value_column]
        with user_sql(stage, "key or columns"):
            pieces: list[Column] = []
            for text, name in template_parts(template):
                if text:
                    pieces.append(F.lit(text))
                if name is not None:
                    pieces.append(F.col(quote(name)).cast("string"))
            key = F.concat(*pieces) if pieces else F.lit("")
            null_key = [
                F.when(F.col(quote(name)).isNull(), F.lit(f"key column '{name}' is null")) for name in key_columns
            ]
            values = [_as_text(df, name).alias(name) for name in columns]
            if data_type == "string":
                value = (
                    _as_text(df, value_column)
                    if value_column
                    else F.to_json(F.struct(*[F.col(quote(c)) for c in columns]))
                )
                values = [value.cast("binary").alias(_VALUE)]
                no_value = F.when(value.isNull(), F.lit(f"column '{value_column}' is null"))
            else:
                present = [F.col(quote(c)).isNotNull() for c in columns]
                no_value = F.when(~functools.reduce(operator.or_, present), F.lit("every value column is null"))
            reason = F.coalesce(*null_key, no_value) if null_key else no_value
            row = F.to_json(F.struct(*[F.col(quote(c)) for c in df.columns]))
            return df.select(key.alias(_KEY), reason.alias(_REASON), row.alias(_ROW), *values)

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        settings = connection(ctx, stage)
        data_type = str(stage.option("data_type", "hash"))
        prepared = self.prepared(stage, df)
        schema = prepared.schema
        check = _TypeCheck(settings, data_type, int(stage.option("batch_size", 500)))
        checked = ctx.spark.createDataFrame(prepared.rdd.mapPartitions(check), schema).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        try:
            counts = {row[0]: row[1] for row in checked.groupBy(F.col(_REASON).isNull()).count().collect()}
        except BaseException:
            checked.unpersist()
            raise
        good = checked.where(f"{_REASON} IS NULL").drop(_REASON, _ROW)
        pending = WriteOnCommit(good, settings, stage, _target(stage), counts.get(True, 0))
        refused = counts.get(False, 0)
        if refused:
            pending.rejected = checked.where(f"{_REASON} IS NOT NULL").select(
                checked[_ROW].alias("row"), checked[_REASON].cast(T.StringType()).alias("reason")
            )
            pending.rows_rejected = refused
            pending.details["rows_rejected"] = refused
        pending._keep = checked
        return pending

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        data_type = stage.option("data_type", "hash")
        details: dict[str, Any] = {"server": server_of(str(stage.options["url"])), "data_type": data_type}
        if ttl := stage.option("ttl_seconds"):
            details["ttl_seconds"] = ttl
        return [
            Effect(
                stage=stage.name,
                action=ACTIONS.get(str(data_type), "write"),
                target=_target(stage),
                mode=MODE_OF.get(str(data_type), "upsert"),
                details=details,
            )
        ]


def _as_text(df: DataFrame, name: str) -> Column:
    """A column as Redis receives it: text as Spark casts it, nested values as JSON, binary as it is."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    column = F.col(quote(name))
    data_type = df.schema[name].dataType
    if isinstance(data_type, T.BinaryType):
        return column
    if isinstance(data_type, (T.StructType, T.ArrayType, T.MapType)):
        return F.to_json(column)
    return column.cast("string")


def _target(stage: StageSpec) -> str:
    server = server_of(str(stage.options["url"])) or "redis"
    return f"{server} {stage.option('data_type', 'hash')} {stage.options['key']}"


class _TypeCheck:
    """Per partition: rows whose key already holds another type of value get that as their reason."""

    def __init__(self, settings: Connection, expected: str, batch_size: int):
        self.settings, self.expected, self.batch_size = settings, expected, batch_size

    def __call__(self, rows: Iterable[Any]) -> Iterator[Any]:
        client = None
        for batch in _batches(rows, self.batch_size):
            candidates = [row for row in batch if row[1] is None]
            found: dict[str, str] = {}
            if candidates:
                client = client or self.settings.client()
                pipe = client.pipeline(transaction=False)
                for row in candidates:
                    pipe.type(row[0])
                found = {row[0]: kind.decode() for row, kind in zip(candidates, pipe.execute(), strict=True)}
            for row in batch:
                kind = found.get(row[0], "none") if row[1] is None else "none"
                if kind not in ("none", self.expected):
                    yield (row[0], f"key '{row[0]}' holds a {kind}, not a {self.expected}", *row[2:])
                else:
                    yield row
        if client is not None:
            client.close()


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Writer:
    """Per partition: the commands of each row, sent in pipelines of ``batch_size`` (MULTI/EXEC for keys)."""

    def __init__(self, settings: Connection, stage: StageSpec, columns: list[str]):
        self.settings = settings
        self.data_type = str(stage.option("data_type", "hash"))
        self.ttl = stage.option("ttl_seconds")
        self.max_length = stage.option("max_length")
        self.batch_size = int(stage.option("batch_size", 500))
        self.columns = columns

    def __call__(self, rows: Iterable[Any]) -> None:
        client = None
        for batch in _batches(rows, self.batch_size):
            client = client or self.settings.client()
            # a transaction per batch: a key is never seen deleted and not yet written again
            pipe = client.pipeline(transaction=self.data_type != "stream")
            for row in batch:
                self._add(pipe, row)
            pipe.execute()
        if client is not None:
            client.close()

    def _add(self, pipe: Any, row: Any) -> None:
        key = row[0]
        if self.data_type == "string":
            pipe.set(key, row[1], ex=self.ttl)
            return
        fields = {name: value for name, value in zip(self.columns, row[1:], strict=True) if value is not None}
        if self.data_type == "stream":
            pipe.xadd(key, fields, maxlen=self.max_length, approximate=True)
            return
        pipe.delete(key)
        pipe.hset(key, mapping=fields)
        if self.ttl:
            pipe.expire(key, self.ttl)


class WriteOnCommit(OneShotWrite):
    """Prepared rows held by Spark (memory, spilling to disk), written to Redis by :meth:`commit`."""

    irreversible = True

    def __init__(self, rows_df: DataFrame, settings: Connection, stage: StageSpec, target: str, rows: int):
        super().__init__(target, MODE_OF.get(str(stage.option("data_type", "hash")), "upsert"))
        self._rows_df = rows_df
        self._writer = _Writer(settings, stage, [c for c in rows_df.columns if c != _KEY])
        self._keep: DataFrame | None = None
        self.rows = rows
        self.details["delivery"] = "at least once" if stage.option("data_type") == "stream" else "idempotent per key"

    def _publish(self) -> None:
        # on failure the rows stay cached: a retried commit writes the same rows, and an abort frees them
        if self.rows:
            self._rows_df.rdd.foreachPartition(self._writer)
        self._discard()

    def _discard(self) -> None:
        if self._keep is not None:
            self._keep.unpersist()
