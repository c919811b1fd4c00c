"""The Redis source: the keys matching a pattern, or a range of one stream, as rows.

- ``hash``: the driver lists the keys matching ``pattern`` with ``SCAN`` (never ``KEYS``,
  which blocks the server), keeping those that hold a hash; Spark's executors read them
  with ``HGETALL`` in pipelines, ``partitions`` at a time. Each row is the key, then the
  fields: the columns of the declared ``schema`` (a field missing from a hash is null,
  text is cast to the declared type), or without a schema one column ``fields``, a map of
  every field to its text.
- ``string``: the same listing; each row is the key and the value as text.
- ``stream``: the entries of one stream between two ids (``XRANGE``, read in pages of
  ``batch_size``): the entry id, then its fields as for hashes.

A key that expires or changes type between the listing and the read is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.redis_connection import (
    CONNECTION_SCHEMA,
    Connection,
    connection,
    server_of,
    url_problems,
)
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import declared_schema, declared_schema_problems, quote, schema_ddl, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

DATA_TYPES = ("hash", "string", "stream")


@register
class RedisSource(Source):
    type = "redis"
    description = (
        "Read Redis: the hashes or strings whose keys match a pattern (SCAN), or the entries of a stream between "
        "two ids (XRANGE), one row each (see docs/connectors/redis.md)."
    )
    required_options = ("url",)
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "data_type": {
            "enum": list(DATA_TYPES),
            "default": "hash",
            "description": "hash or string: the keys matching `pattern`; stream: the entries of `stream`.",
        },
        "pattern": {
            "type": "string",
            "minLength": 1,
            "description": 'data_type hash or string: a glob of keys, as SCAN MATCH takes it ("customer:*").',
        },
        "stream": {"type": "string", "minLength": 1, "description": "data_type stream: the stream's key."},
        "start_id": {
            "type": "string",
            "minLength": 1,
            "default": "-",
            "description": 'data_type stream: the first entry id to read ("-": the first entry; '
            '"(1700000000000-0": after that id).',
        },
        "end_id": {
            "type": "string",
            "minLength": 1,
            "default": "+",
            "description": 'data_type stream: the last entry id to read, inclusive ("+": the last entry).',
        },
        "schema": declared_schema(
            'The fields of each hash or stream entry, with their types: Spark DDL ("name STRING, amount '
            'DECIMAL(10,2)") or a mapping field: type. Without it: one column `fields`, a map of field to text.'
        ),
        "key_column": {
            "type": "string",
            "minLength": 1,
            "description": "The name of the column holding the key (hash, string; default `key`) or the entry id "
            "(stream; default `id`).",
        },
        "partitions": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10000,
            "default": 2,
            "description": "data_type hash or string: how many Spark partitions read the listed keys.",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = url_problems(options)
        data_type = options.get("data_type", "hash")
        needed = "stream" if data_type == "stream" else "pattern"
        other = "pattern" if data_type == "stream" else "stream"
        if needed not in options:
            problems.append(OptionProblem((), f"data_type {data_type} needs `{needed}`"))
        if other in options:
            problems.append(OptionProblem((other,), f"`{other}` does not apply to data_type {data_type}"))
        if data_type != "stream":
            problems += [
                OptionProblem((key,), f"`{key}` applies to data_type stream only")
                for key in ("start_id", "end_id")
                if key in options
            ]
        if data_type == "string" and "schema" in options:
            problems.append(OptionProblem(("schema",), "a string has no fields: data_type string takes no schema"))
        if "schema" in options:
            problems += declared_schema_problems(options["schema"])
        return problems

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        url = stage.option("url")
        return server_of(url) if isinstance(url, str) else None

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        settings = connection(ctx, stage)
        data_type = str(stage.option("data_type", "hash"))
        batch_size = int(stage.option("batch_size", 500))
        key_column = stage.option("key_column") or ("id" if data_type == "stream" else "key")
        pairs = T.ArrayType(T.StructType([T.StructField("f", T.BinaryType()), T.StructField("v", T.BinaryType())]))
        raw_schema = T.StructType(
            [T.StructField(key_column, T.StringType(), False), T.StructField("__etl_value", pairs)]
        )
        spark = ctx.spark
        if data_type == "stream":
            reader = _StreamReader(settings, str(stage.options["stream"]), str(stage.option("start_id", "-")),
                                   str(stage.option("end_id", "+")), batch_size)  # fmt: skip
            raw = spark.createDataFrame(spark.sparkContext.parallelize([0], 1).mapPartitions(reader), raw_schema)
        else:
            keys = _scan(settings, str(stage.options["pattern"]), batch_size)
            partitions = max(1, min(int(stage.option("partitions", 2)), len(keys) or 1))
            rdd = spark.sparkContext.parallelize(keys, partitions).mapPartitions(
                _KeyReader(settings, data_type, batch_size)
            )
            if data_type == "string":
                string_schema = T.StructType(
                    [T.StructField(key_column, T.StringType(), False), T.StructField("value", T.StringType())]
                )
                return spark.createDataFrame(rdd, string_schema)
            raw = spark.createDataFrame(rdd, raw_schema)
        fields = F.map_from_entries(
            F.transform(
                F.col("__etl_value"),
                lambda e: F.struct(e["f"].cast("string").alias("f"), e["v"].cast("string").alias("v")),
            )
        )
        declared = stage.option("schema")
        if declared is None:
            return raw.select(key_column, fields.alias("fields"))
        with user_sql(stage, "schema"):
            columns = T.StructType.fromDDL(schema_ddl(declared))
            assert isinstance(columns, T.StructType)
            mapped = raw.select(key_column, fields.alias("__etl_fields"))
            return mapped.select(
                key_column,
                *[F.col("__etl_fields")[f.name].cast(f.dataType).alias(f.name) for f in columns.fields],
            ).select(key_column, *[quote(f.name) for f in columns.fields])


def _scan(settings: Connection, pattern: str, batch_size: int) -> list[str]:
    """Every key matching ``pattern``, listed with SCAN on the driver, sorted."""
    client = settings.client()
    try:
        return sorted({key.decode() for key in client.scan_iter(match=pattern, count=batch_size)})
    finally:
        client.close()


class _KeyReader:
    """Per partition: each listed key's hash (HGETALL) or string (GET), skipping keys of another type."""

    def __init__(self, settings: Connection, data_type: str, batch_size: int):
        self.settings, self.data_type, self.batch_size = settings, data_type, batch_size

    def __call__(self, keys: Iterable[str]) -> Iterator[Any]:
        listed = list(keys)
        if not listed:
            return
        client = self.settings.client()
        try:
            for start in range(0, len(listed), self.batch_size):
                batch = listed[start : start + self.batch_size]
                pipe = client.pipeline(transaction=False)
                for key in batch:
                    pipe.type(key)
                    if self.data_type == "hash":
                        pipe.hgetall(key)
                    else:
                        pipe.get(key)
                answers = pipe.execute(raise_on_error=False)
                for index, key in enumerate(batch):
                    kind, value = answers[2 * index], answers[2 * index + 1]
                    if kind.decode() != self.data_type or isinstance(value, Exception):
                        continue
                    if self.data_type == "hash":
                        yield (key, [(bytes(f), bytes(v)) for f, v in value.items()])
                    else:
                        yield (key, value.decode("utf-8", errors="replace"))
        finally:
            client.close()


class _StreamReader:
    """The entries of one stream from ``start`` to ``end`` (inclusive), read in pages with XRANGE."""

    def __init__(self, settings: Connection, stream: str, start: str, end: str, batch_size: int):
        self.settings, self.stream, self.start, self.end, self.batch_size = settings, stream, start, end, batch_size

    def __call__(self, _: Iterable[Any]) -> Iterator[Any]:
        client = self.settings.client()
        try:
            start = self.start
            while True:
                page = client.xrange(self.stream, min=start, max=self.end, count=self.batch_size)
                for entry_id, fields in page:
                    yield (entry_id.decode(), [(bytes(f), bytes(v)) for f, v in fields.items()])
                if len(page) < self.batch_size:
                    return
                start = "(" + page[-1][0].decode()
        finally:
            client.close()
