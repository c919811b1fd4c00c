"""The Kafka source: records of one or more topics, as a bounded batch or as a stream.

Each record becomes one row: the fields of its value (JSON parsed with a declared schema,
or the raw value as a string or bytes), followed by the metadata columns asked for (key,
topic, partition, offset, timestamp, timestamp_type, headers). Spark's own Kafka connector
does the reading (see :mod:`etl_cli.plugins.kafka_connection`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins import avro
from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.kafka_connection import (
    BOOTSTRAP_SERVERS,
    CLIENT_OPTIONS,
    connection_options,
    connector_package,
    reserved_option_problems,
)
from etl_cli.plugins.registry import register
from etl_cli.plugins.sources.malformed import CORRUPT_COLUMN
from etl_cli.plugins.spark_types import (
    declared_schema,
    declared_schema_problems,
    schema_ddl,
    split_top_level,
    user_sql,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: metadata columns a record can carry, and the default set
METADATA = ("key", "topic", "partition", "offset", "timestamp", "timestamp_type", "headers")
DEFAULT_METADATA = ("key", "topic", "partition", "offset", "timestamp")
#: connector options that a key of the source sets (option → key)
RESERVED_OPTIONS = {
    "kafka.bootstrap.servers": "bootstrap_servers",
    "subscribe": "topic or topics",
    "subscribePattern": "pattern",
    "assign": "topics",
    "startingOffsets": "starting_offsets",
    "endingOffsets": "ending_offsets",
    "startingTimestamp": "starting_timestamp",
    "endingTimestamp": "ending_timestamp",
    "includeHeaders": "metadata",
    "maxOffsetsPerTrigger": "max_offsets_per_trigger",
}
#: on_malformed → Spark's parser mode for from_json (drop parses permissively, then filters)
MALFORMED_MODES = {"fail": "FAILFAST", "drop": "PERMISSIVE", "keep": "PERMISSIVE"}
_PARSED = "__etl_kafka_value"
_CORRUPT = "__etl_kafka_corrupt"

_PARTITION_OFFSETS = {
    "type": "object",
    "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer", "minimum": -2}},
    "minProperties": 1,
}


def _offsets(description: str, word: str) -> dict[str, Any]:
    return {
        "oneOf": [{"enum": [word]}, _PARTITION_OFFSETS] if word else [_PARTITION_OFFSETS],
        "description": description,
    }


def _timestamp(description: str) -> dict[str, Any]:
    return {"type": ["integer", "string"], "minLength": 1, "description": description}


_OPTIONS_SCHEMA: dict[str, Any] = {
    "bootstrap_servers": BOOTSTRAP_SERVERS,
    "topic": {"type": "string", "minLength": 1, "description": "The topic to read (or topics, or pattern)."},
    "topics": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": 1,
        "description": "Several topics to read.",
    },
    "pattern": {
        "type": "string",
        "minLength": 1,
        "description": "A Java regular expression: read every topic whose name matches (topics created later too, "
        "in mode stream).",
    },
    "mode": {
        "enum": ["batch", "stream"],
        "default": "batch",
        "description": "batch: read the records between the starting and ending offsets, once. stream: keep "
        "reading new records; the pipeline then runs as a streaming query (see docs/streaming.md).",
    },
    "starting_offsets": {
        "oneOf": [{"enum": ["earliest", "latest"]}, _PARTITION_OFFSETS],
        "default": "earliest",
        "description": "Where to start: earliest, latest (mode stream only), or per partition "
        "{topic: {partition: offset}} (-2: earliest, -1: latest). In mode stream this applies to the first run "
        "only; later runs resume from the checkpoint.",
    },
    "ending_offsets": {
        "oneOf": [{"enum": ["latest"]}, _PARTITION_OFFSETS],
        "default": "latest",
        "description": "Mode batch: where to stop (exclusive): latest, or per partition {topic: {partition: offset}}.",
    },
    "starting_timestamp": _timestamp(
        "Start at the first record at or after this time, in every partition: milliseconds since the epoch or an "
        "ISO-8601 time (UTC unless it has an offset). Instead of starting_offsets."
    ),
    "ending_timestamp": _timestamp(
        "Mode batch: stop before the first record at or after this time (same forms). Instead of ending_offsets."
    ),
    "value_format": {
        "enum": ["json", "avro", "string", "bytes"],
        "default": "json",
        "description": "How to read each record's value: json (parsed with `schema`, one column per field), "
        "avro (Avro binary decoded with avro_schema or avro_schema_file, one column per field), "
        "string (a column `value`, UTF-8) or bytes (a binary column `value`).",
    },
    "avro_schema": avro.AVRO_SCHEMA,
    "avro_schema_file": avro.AVRO_SCHEMA_FILE,
    "schema": declared_schema(
        'Fields of the JSON values (value_format json): Spark DDL ("id BIGINT, name STRING") or '
        "a mapping field: type, in column order. Fields missing from a record are null."
    ),
    "key_format": {
        "enum": ["string", "bytes"],
        "default": "string",
        "description": "Type of the `key` column: string (UTF-8) or bytes.",
    },
    "metadata": {
        "type": "array",
        "items": {"enum": list(METADATA)},
        "uniqueItems": True,
        "default": list(DEFAULT_METADATA),
        "description": "Record metadata to add as columns after the value's: key, topic, partition, offset, "
        "timestamp, timestamp_type (0 create time, 1 log append time), headers (a list of {key, value} with "
        "values as UTF-8 strings, in record order).",
    },
    "metadata_prefix": {
        "type": "string",
        "default": "",
        "description": 'Prefix for the metadata column names (e.g. "kafka_"), when value fields use the same names.',
    },
    "on_malformed": {
        "enum": [*MALFORMED_MODES, "dead_letter"],
        "default": "fail",
        "description": "value_format json or avro: what to do with a value that is not JSON (that Avro cannot "
        "decode with the schema): fail the run (default), drop the record, or keep it with null fields; avro in "
        "mode batch also: dead_letter, send it (its raw value in base64) to the pipeline's dead_letter queue. "
        "A record without a value (a tombstone) is not malformed: its fields are null.",
    },
    "watermark": {
        "type": "object",
        "additionalProperties": False,
        "required": ["column", "delay"],
        "description": "Mode stream: how late an event may arrive, for windowed aggregations: "
        '{column: event_time, delay: "10 minutes"}. The column must be a timestamp of this source. '
        "late: dead_letter or drop, what happens to records later than that (default: dead_letter when the "
        "pipeline has a dead_letter queue, else drop; see docs/streaming.md, Late records).",
        "properties": {
            "column": {"type": "string", "minLength": 1, "description": "Event-time column (a timestamp)."},
            "delay": {"type": "string", "minLength": 1, "description": 'Allowed lateness, e.g. "10 seconds".'},
            "late": {
                "enum": ["dead_letter", "drop"],
                "description": "Records later than the watermark, which a windowed aggregate drops: dead_letter "
                "sends them to the pipeline's dead_letter queue with their event time, the watermark and the "
                "aggregate (default when the pipeline has a dead_letter); drop lets Spark drop them (default "
                "without one). Covers aggregates with a fixed window on this column (docs/streaming.md).",
            },
        },
    },
    "max_offsets_per_trigger": {
        "type": "integer",
        "minimum": 1,
        "description": "Mode stream: at most this many records per micro-batch (over all partitions).",
    },
    "options": CLIENT_OPTIONS,
}


@register
class KafkaSource(Source):
    type = "kafka"
    description = (
        "Read records from Kafka topics: a bounded range (mode batch, by offsets or timestamps) or a stream "
        "(mode stream). Values are JSON with a declared schema, Avro, or raw strings or bytes; key, topic, partition, "
        "offset, timestamp and headers are available as columns."
    )
    required_options = ("bootstrap_servers",)
    options_schema: ClassVar[dict[str, Any]] = _OPTIONS_SCHEMA
    maven_packages: ClassVar[tuple[str, ...]] = (connector_package(),)

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        if options.get("value_format") == "avro":
            return (*cls.maven_packages, avro.avro_package())
        return cls.maven_packages

    @classmethod
    def is_streaming(cls, options: Mapping[str, Any]) -> bool:
        return options.get("mode", "batch") == "stream"

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return (
            _subscription_problems(options)
            + _mode_problems(options)
            + _offset_problems(options)
            + _value_problems(options)
            + _watermark_problems(options)
            + reserved_option_problems(options, RESERVED_OPTIONS)
        )

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        """A batch read; of a mode stream source (``dry-run``, ``debug``): the records in the topic now."""
        reader = ctx.spark.read.format("kafka").options(**self.connector_options(ctx, stage, streaming=False))
        return self._rows(ctx, stage, reader.load())

    def read_stream(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        reader = ctx.spark.readStream.format("kafka").options(**self.connector_options(ctx, stage, streaming=True))
        df = self._rows(ctx, stage, reader.load())
        if watermark := stage.option("watermark"):
            with user_sql(stage, "watermark"):
                df = df.withWatermark(watermark["column"], watermark["delay"])
        return df

    def connector_options(self, ctx: RunContext, stage: StageSpec, streaming: bool) -> dict[str, str]:
        """Every option for Spark's Kafka reader (``readStream`` when ``streaming``): connection,
        subscription, range, then passthrough."""
        settings = connection_options(ctx, stage)
        settings.update(_subscription(stage.options))
        settings.update(_range(stage.options, streaming))
        if "headers" in stage.option("metadata", DEFAULT_METADATA):
            settings["includeHeaders"] = "true"
        if (limit := stage.option("max_offsets_per_trigger")) is not None:
            settings["maxOffsetsPerTrigger"] = str(limit)
        return settings

    def _rows(self, ctx: RunContext, stage: StageSpec, raw: DataFrame) -> DataFrame:
        """The records as rows: value columns, then metadata columns."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import StructType

        metadata = _metadata_columns(stage)
        value_format = stage.option("value_format", "json")
        if value_format == "avro":
            return _avro_rows(ctx, stage, raw, metadata)
        if value_format != "json":
            value = F.col("value").cast("string") if value_format == "string" else F.col("value")
            return raw.select(value.alias("value"), *metadata)
        mode = stage.option("on_malformed", "fail")
        with user_sql(stage, "schema"):
            parsed = raw.select(_parsed_once(_parse_json(stage.options["schema"], mode)).alias(_PARSED), *metadata)
            parsed_type = parsed.schema[_PARSED].dataType
            assert isinstance(parsed_type, StructType)  # from_json with a struct schema
            fields = [name for name in parsed_type.names if name != _CORRUPT]
        if mode == "drop":
            parsed = parsed.where(F.col(_PARSED).getField(_CORRUPT).isNull())
        value_columns = [F.col(_PARSED).getField(name).alias(name) for name in fields]
        return parsed.select(*value_columns, *[F.col(_quote(c)) for c in parsed.columns if c != _PARSED])


def _avro_rows(ctx: RunContext, stage: StageSpec, raw: DataFrame, metadata: list[Column]) -> DataFrame:
    """Avro values decoded into columns, then the metadata columns; malformed values as ``on_malformed`` says
    (dead_letter: their raw value, base64, in the corrupt-record column the run sends to the dead-letter queue)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    writer = avro.schema_json(ctx, stage)
    mode = stage.option("on_malformed", "fail")
    with user_sql(stage, "avro_schema"):
        parsed = raw.select(
            _parsed_once(avro.decode(F.col("value"), writer, mode == "fail")).alias(_PARSED), F.col("value"), *metadata
        )
        parsed_type = parsed.schema[_PARSED].dataType
    assert isinstance(parsed_type, StructType)  # the schema is an Avro record
    malformed = F.col("value").isNotNull() & F.col(_PARSED).getField(avro.OK_FIELD).isNull()
    if mode == "drop":
        parsed = parsed.where(~malformed)
    fields = [name for name in parsed_type.names if name != avro.OK_FIELD]
    value_columns = [F.col(_PARSED).getField(name).alias(name) for name in fields]
    rest = [F.col(_quote(c)) for c in parsed.columns if c not in (_PARSED, "value")]
    if mode == "dead_letter":
        rest.append(F.when(malformed, F.base64(F.col("value"))).alias(CORRUPT_COLUMN))
    return parsed.select(*value_columns, *rest)


def _parsed_once(parsed: Column) -> Column:
    """``parsed`` (a record's value, decoded) computed once per record, where the records are read.

    Spark's optimizer moves a later stage's filter on the decoded fields below the projection that
    decodes them, copying the decoding into the filter's condition: every record was then decoded twice,
    and in full, since a parser given options (``FAILFAST``, a corrupt-record column) is never pruned to
    the fields a filter reads. That cost a real-time query about a sixth of its CPU and its latency
    (docs/benchmarks.md, benchmark 5b). A projection holding a non-deterministic expression is one
    filters are not pushed through: ``spark_partition_id() >= 0`` is one, always true, and cheap.
    """
    from pyspark.sql import functions as F

    return F.when(F.spark_partition_id() >= 0, parsed)


def _parse_json(schema: str | Mapping[str, str], on_malformed: str) -> Column:
    from pyspark.sql import functions as F

    text = F.col("value").cast("string")
    if on_malformed == "fail":
        return F.from_json(text, schema_ddl(schema), {"mode": MALFORMED_MODES["fail"]})
    # PERMISSIVE keeps the record; the raw text lands in the corrupt-record field only when it did not parse
    ddl = f"{schema_ddl(schema)}, {_CORRUPT} STRING"
    return F.from_json(text, ddl, {"mode": MALFORMED_MODES["keep"], "columnNameOfCorruptRecord": _CORRUPT})


def _metadata_columns(stage: StageSpec) -> list[Column]:
    from pyspark.sql import functions as F

    prefix = stage.option("metadata_prefix", "")
    key = F.col("key").cast("string") if stage.option("key_format", "string") == "string" else F.col("key")
    headers = F.transform(
        "headers", lambda h: F.struct(h.getField("key").alias("key"), h.getField("value").cast("string").alias("value"))
    )
    sources: dict[str, Column] = {
        "key": key,
        "topic": F.col("topic"),
        "partition": F.col("partition"),
        "offset": F.col("offset"),
        "timestamp": F.col("timestamp"),
        "timestamp_type": F.col("timestampType"),
        "headers": headers,
    }
    return [sources[name].alias(prefix + name) for name in stage.option("metadata", DEFAULT_METADATA)]


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _subscription(options: Mapping[str, Any]) -> dict[str, str]:
    if "pattern" in options:
        return {"subscribePattern": options["pattern"]}
    topics = [options["topic"]] if "topic" in options else list(options["topics"])
    return {"subscribe": ",".join(topics)}


def _range(options: Mapping[str, Any], streaming: bool) -> dict[str, str]:
    """startingOffsets/endingOffsets or the timestamp options, as the connector wants them.

    A batch read of a mode stream source (to look at it) reads from earliest when the stream starts
    at latest: a batch read cannot start there.
    """
    settings: dict[str, str] = {}
    if "starting_timestamp" in options:
        settings["startingTimestamp"] = str(epoch_millis(options["starting_timestamp"]))
    else:
        starting = options.get("starting_offsets", "earliest")
        settings["startingOffsets"] = _offsets_text("earliest" if starting == "latest" and not streaming else starting)
    if not streaming:
        if "ending_timestamp" in options:
            settings["endingTimestamp"] = str(epoch_millis(options["ending_timestamp"]))
        else:
            settings["endingOffsets"] = _offsets_text(options.get("ending_offsets", "latest"))
    return settings


def _offsets_text(value: str | Mapping[str, Mapping[Any, int]]) -> str:
    if isinstance(value, str):
        return value
    return json.dumps({str(topic): {str(p): int(o) for p, o in parts.items()} for topic, parts in value.items()})


def epoch_millis(value: int | str) -> int:
    """A timestamp option as milliseconds since the epoch (ISO-8601 text without an offset is UTC)."""
    if isinstance(value, int):
        return value
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def declared_columns(schema: Any) -> list[str]:
    """Column names of a declared schema (DDL text or mapping), as far as they can be read offline."""
    if isinstance(schema, Mapping):
        return [str(name) for name in schema]
    if not isinstance(schema, str):
        return []
    names = []
    for entry in split_top_level(schema):
        words = entry.strip().split(None, 1)
        if words:
            names.append(words[0].strip("`"))
    return names


# --------------------------------------------------------------------------- option checks


def _subscription_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    given = [key for key in ("topic", "topics", "pattern") if key in options]
    if len(given) == 1:
        return []
    hint = "topic: orders, topics: [orders, refunds], or pattern: 'orders-.*'"
    if not given:
        return [OptionProblem((), "say what to read: topic, topics or pattern", hint)]
    return [OptionProblem((given[1],), f"give one of topic, topics and pattern, not {' and '.join(given)}", hint)]


def _mode_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    mode = options.get("mode", "batch")
    only_for = {"batch": ("ending_offsets", "ending_timestamp"), "stream": ("watermark", "max_offsets_per_trigger")}
    other = "stream" if mode == "batch" else "batch"
    return [
        OptionProblem((key,), f"{key} only applies to mode {other}", f"remove it, or set mode: {other}")
        for key in only_for[other]
        if key in options
    ]


def _offset_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    problems = []
    for bound in ("starting", "ending"):
        if f"{bound}_offsets" in options and f"{bound}_timestamp" in options:
            problems.append(
                OptionProblem((f"{bound}_timestamp",), f"give {bound}_offsets or {bound}_timestamp, not both")
            )
        value = options.get(f"{bound}_timestamp")
        if isinstance(value, str):
            try:
                epoch_millis(value)
            except ValueError:
                problems.append(
                    OptionProblem(
                        (f"{bound}_timestamp",),
                        f"'{value}' is not an ISO-8601 time",
                        'write e.g. "2024-05-01T00:00:00Z", or milliseconds since the epoch',
                    )
                )
    if options.get("mode", "batch") == "batch" and options.get("starting_offsets") == "latest":
        problems.append(
            OptionProblem(
                ("starting_offsets",),
                "a batch read cannot start at latest: it would read nothing",
                "use earliest, per-partition offsets or starting_timestamp; or mode: stream",
            )
        )
    return problems


def _value_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    value_format = options.get("value_format", "json")
    problems = [
        OptionProblem((key,), f"{key} only applies to value_format avro")
        for key in ("avro_schema", "avro_schema_file")
        if key in options and value_format != "avro"
    ]
    if value_format == "avro":
        if "schema" in options:
            problems.append(OptionProblem(("schema",), "schema only applies to value_format json", "use avro_schema"))
        return problems + avro.schema_problems(options) + _dead_letter_problems(options) + _collision_problems(options)
    if options.get("on_malformed") == "dead_letter":
        problems.append(OptionProblem(("on_malformed",), "on_malformed dead_letter applies to value_format avro only"))
    if value_format != "json":
        return problems + [
            OptionProblem((key,), f"{key} only applies to value_format json or avro")
            for key in ("schema", "on_malformed")
            if key in options
        ]
    if "schema" not in options:
        return [
            OptionProblem(
                (),
                "value_format json needs a schema: the fields to read from each value",
                "schema: {id: BIGINT, name: STRING}, or value_format: string to get the raw text",
            )
        ]
    return problems + declared_schema_problems(options["schema"]) + _collision_problems(options)


def _dead_letter_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    if options.get("on_malformed") != "dead_letter" or options.get("mode", "batch") == "batch":
        return []
    return [
        OptionProblem(
            ("on_malformed",),
            "on_malformed dead_letter applies to mode batch only",
            "in a stream use drop or keep (a quarantine check can send the kept rows to the dead-letter queue)",
        )
    ]


def _collision_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    metadata = set(_metadata_names(options))
    taken = {name.lower() for name in metadata}
    key = "avro_schema" if options.get("value_format") == "avro" else "schema"
    return [
        OptionProblem(
            (key,),
            f"value field '{name}' has the name of a metadata column",
            'set metadata_prefix (e.g. "kafka_"), or leave that column out of metadata',
        )
        for name in _value_names(options)
        if name.lower() in taken
    ]


def _value_names(options: Mapping[str, Any]) -> list[str]:
    """The value's columns as far as they can be known offline."""
    value_format = options.get("value_format", "json")
    if value_format == "avro":
        return avro.field_names(options)
    if value_format == "json":
        return declared_columns(options.get("schema"))
    return ["value"]


def _watermark_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """The watermark column must be one of the source's columns (when they can be known offline)."""
    watermark = options.get("watermark")
    if not isinstance(watermark, Mapping) or not isinstance(watermark.get("column"), str):
        return []
    columns = _value_names(options) + _metadata_names(options)
    if watermark["column"] in columns:
        return []
    return [
        OptionProblem(
            ("watermark", "column"),
            f"'{watermark['column']}' is not a column of this source",
            f"columns: {', '.join(columns)}" if columns else None,
        )
    ]


def _metadata_names(options: Mapping[str, Any]) -> list[str]:
    """The metadata column names the options ask for (nothing when they are malformed)."""
    prefix, metadata = options.get("metadata_prefix", ""), options.get("metadata", DEFAULT_METADATA)
    if not isinstance(prefix, str) or not isinstance(metadata, (list, tuple)):
        return []
    return [prefix + name for name in metadata if isinstance(name, str)]
