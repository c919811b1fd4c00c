"""The Kafka sink: one record per row, the value a JSON object of the row's columns.

Kafka has no staging area: a produced record is visible to consumers at once and cannot be
taken back. So in a batch run the sink serialises its records while staging (every
computation error surfaces then, while nothing is produced yet) and keeps them in Spark's
block store; it produces them only at commit time, after every other sink of the run has
staged and committed (:attr:`PendingWrite.irreversible`). A run that fails before the
commit produces nothing. A failure while producing leaves the records sent so far in the
topic, and running again sends every record again: delivery is at least once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins import avro
from etl_cli.plugins.api import Effect, OptionProblem, PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.kafka_connection import (
    BOOTSTRAP_SERVERS,
    CLIENT_OPTIONS,
    bootstrap_text,
    connection_options,
    connector_package,
    reserved_option_problems,
)
from etl_cli.plugins.registry import register
from etl_cli.plugins.sinks.on_commit import SaveOnCommit, held
from etl_cli.plugins.spark_types import quote, string_list, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.streaming import DataStreamWriter

RESERVED_OPTIONS = {"kafka.bootstrap.servers": "bootstrap_servers", "topic": "topic"}


@register
class KafkaSink(Sink):
    type = "kafka"
    description = (
        "Produce one Kafka record per row: the value is a JSON object (or an Avro record) of the row's columns, "
        "the key and the topic may come from columns. Records are produced after every other sink has committed; "
        "delivery is at least once (see docs/connectors/kafka.md)."
    )
    required_options = ("bootstrap_servers",)
    modes: ClassVar[tuple[str, ...]] = ("append",)
    default_mode: ClassVar[str] = "append"
    streaming_modes: ClassVar[tuple[str, ...]] = ("append",)
    #: each update is one more record; consumers keep the latest per window (docs/streaming.md, output modes)
    stream_updates: ClassVar[bool] = True
    maven_packages: ClassVar[tuple[str, ...]] = (connector_package(),)
    options_schema: ClassVar[dict[str, Any]] = {
        "bootstrap_servers": BOOTSTRAP_SERVERS,
        "topic": {"type": "string", "minLength": 1, "description": "The topic to produce to (or topic_column)."},
        "topic_column": {
            "type": "string",
            "minLength": 1,
            "description": "A column holding each row's topic, instead of one fixed topic; not part of the value.",
        },
        "key_column": {
            "type": "string",
            "minLength": 1,
            "description": "A column to use as the record key (as text; binary columns as they are); not part of "
            "the value. Without it records have no key.",
        },
        "value_columns": string_list(
            "Columns to put in the value, in order (default: every column but key_column and topic_column). "
            "Null fields are left out of the JSON; in Avro each column goes to the schema's field of its name.",
            min_items=1,
        ),
        "value_format": {
            "enum": ["json", "avro"],
            "default": "json",
            "description": "How to write each value: json (an object of value_columns) or avro (Avro binary "
            "written with avro_schema or avro_schema_file, one field per value column).",
        },
        "avro_schema": avro.AVRO_SCHEMA,
        "avro_schema_file": avro.AVRO_SCHEMA_FILE,
        "options": CLIENT_OPTIONS,
    }

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        if options.get("value_format") == "avro":
            return (*cls.maven_packages, avro.avro_package())
        return cls.maven_packages

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = reserved_option_problems(options, RESERVED_OPTIONS)
        if options.get("value_format") == "avro":
            problems += avro.schema_problems(options)
        else:
            problems += [
                OptionProblem((key,), f"{key} only applies to value_format avro")
                for key in ("avro_schema", "avro_schema_file")
                if key in options
            ]
        given = [key for key in ("topic", "topic_column") if key in options]
        if len(given) != 1:
            message = "give topic or topic_column, not both" if given else "say where to produce: topic or topic_column"
            problems.append(OptionProblem((given[-1],) if given else (), message))
        listed = options.get("value_columns")
        listed = listed if isinstance(listed, list) else []
        for key in ("key_column", "topic_column"):
            if options.get(key) in listed:
                problems.append(
                    OptionProblem(("value_columns",), f"'{options[key]}' is the {key}, which is not part of the value")
                )
        return problems

    def records(self, stage: StageSpec, df: DataFrame, writer: str | None = None) -> DataFrame:
        """``df`` as the columns the connector writes: value (JSON text, or Avro written with the schema
        ``writer``), and key and topic when configured."""
        from pyspark.sql import functions as F

        key_column, topic_column = stage.option("key_column"), stage.option("topic_column")
        excluded = {key_column, topic_column}
        value_columns = list(stage.option("value_columns") or [c for c in df.columns if c not in excluded])
        record = F.struct(*[F.col(quote(c)) for c in value_columns])
        value = F.to_json(record) if writer is None else avro.encode(record, writer)
        columns = [value.alias("value")]
        if key_column:
            key = F.col(quote(key_column))
            columns.append(
                key.alias("key") if dict(df.dtypes)[key_column] == "binary" else key.cast("string").alias("key")
            )
        if topic_column:
            columns.append(F.col(quote(topic_column)).cast("string").alias("topic"))
        with user_sql(stage, "columns"):
            return df.select(*columns)

    def writer_options(self, ctx: RunContext, stage: StageSpec) -> dict[str, str]:
        settings = connection_options(ctx, stage)
        if topic := stage.option("topic"):
            settings["topic"] = topic
        return settings

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        writer = self.writer_schema(ctx, stage)
        with user_sql(stage, "columns"):
            staged, rows = held(self.records(stage, df, writer))
        settings = self.writer_options(ctx, stage)
        return SaveOnCommit(staged, "kafka", settings, _target(stage), "append", rows, "at least once")

    def stream_writer(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> DataStreamWriter:
        return (
            self.records(stage, df, self.writer_schema(ctx, stage))
            .writeStream.format("kafka")
            .options(**self.writer_options(ctx, stage))
        )

    def writer_schema(self, ctx: RunContext, stage: StageSpec) -> str | None:
        """The Avro schema of the values (value_format avro), else None (JSON values)."""
        return avro.schema_json(ctx, stage) if stage.option("value_format") == "avro" else None

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        return [
            Effect(
                stage=stage.name,
                action="produce",
                target=_target(stage),
                mode="append",
                details={
                    "bootstrap_servers": bootstrap_text(stage.options["bootstrap_servers"]),
                    "key_column": stage.option("key_column"),
                },
            )
        ]


def _target(stage: StageSpec) -> str:
    if topic := stage.option("topic"):
        return f"kafka topic {topic}"
    return f"kafka topics named by column {stage.option('topic_column')}"
