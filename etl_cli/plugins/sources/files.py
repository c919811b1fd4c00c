"""File sources: csv, json, parquet and orc, read with Spark's DataFrameReader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.object_stores import (
    AZURE_OPTIONS_SCHEMA,
    GCS_OPTIONS_SCHEMA,
    configure_stores,
    store_option_problems,
    store_packages,
)
from etl_cli.plugins.registry import register
from etl_cli.plugins.s3 import S3_OPTIONS_SCHEMA, configure_buckets, s3_option_problems, s3_packages
from etl_cli.plugins.sources.malformed import load_keeping_malformed
from etl_cli.plugins.spark_session import off_local_disk
from etl_cli.plugins.spark_types import (
    declared_schema,
    declared_schema_problems,
    managed_option_problems,
    scalar_map,
    schema_ddl,
    user_sql,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, DataFrameReader

_PATH = {
    "type": ["string", "array"],
    "minLength": 1,
    "items": {"type": "string", "minLength": 1},
    "minItems": 1,
    "description": "File or folder to read, or a list of them; globs such as data/2024-*/*.csv work. "
    "Relative paths are relative to the project root.",
}
_SCHEMA = declared_schema(
    'Declared schema instead of inference: Spark DDL ("id INT, name STRING") '
    "or a mapping column: type, in column order."
)
_ON_MALFORMED = {
    "enum": ["fail", "drop", "keep", "dead_letter"],
    "default": "fail",
    "description": "What to do with a row that does not parse: fail the run (default), drop the row, "
    "or keep it with nulls in the fields that did not parse (json without a declared schema also gets "
    "a _corrupt_record column holding the raw line), or send it, with its raw text, to the pipeline's "
    "dead_letter queue and load the rest.",
}

#: Spark's parser modes for ``on_malformed``
MALFORMED_MODES = {"fail": "FAILFAST", "drop": "DROPMALFORMED", "keep": "PERMISSIVE", "dead_letter": "PERMISSIVE"}


class FileSource(Source):
    """Reads files of one format; subclasses name the format and its reader defaults."""

    format: ClassVar[str]
    required_options = ("path",)
    options_schema: ClassVar[dict[str, Any]] = {
        "path": _PATH,
        "options": scalar_map("Options passed to Spark's DataFrameReader for this format."),
        "schema": _SCHEMA,
        "s3": S3_OPTIONS_SCHEMA,
        "azure": AZURE_OPTIONS_SCHEMA,
        "gcs": GCS_OPTIONS_SCHEMA,
    }

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return s3_packages(options) + store_packages(options)

    @classmethod
    def connect_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return off_local_disk(options, "its store's credentials are set in Spark's driver JVM")

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = declared_schema_problems(options["schema"]) if "schema" in options else []
        problems += s3_option_problems(options) + store_option_problems(options)
        return problems + managed_option_problems(options, cls.managed_reader_options())

    @classmethod
    def managed_reader_options(cls) -> dict[str, str]:
        """Reader options set by a key of this source (reader option → key), not to be set twice."""
        return {}

    def reader_defaults(self, stage: StageSpec) -> dict[str, Any]:
        """Reader options this format sets unless the stage's ``options`` override them."""
        return {}

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        reader = ctx.spark.read.format(self.format)
        reader = reader.options(**self.reader_defaults(stage))
        reader = reader.options(**dict(stage.option("options") or {}))
        if (schema := stage.option("schema")) is not None:
            reader = _with_schema(reader, stage, schema)
        paths = stage.options["path"]
        resolved = [ctx.path(p) for p in paths] if isinstance(paths, (list, tuple)) else ctx.path(paths)
        configure_buckets(ctx, stage, resolved if isinstance(resolved, list) else [resolved])
        configure_stores(ctx, stage, resolved if isinstance(resolved, list) else [resolved])
        if stage.option("on_malformed") == "dead_letter":
            return load_keeping_malformed(reader, resolved)
        return reader.load(resolved)


def _with_schema(reader: DataFrameReader, stage: StageSpec, schema: str | Mapping[str, str]) -> DataFrameReader:
    with user_sql(stage, "schema"):
        return reader.schema(schema_ddl(schema))


class MalformedRowsSource(FileSource):
    """A text format whose rows can fail to parse: adds ``on_malformed``."""

    options_schema: ClassVar[dict[str, Any]] = {**FileSource.options_schema, "on_malformed": _ON_MALFORMED}

    @classmethod
    def managed_reader_options(cls) -> dict[str, str]:
        return {"mode": "on_malformed"}

    def reader_defaults(self, stage: StageSpec) -> dict[str, Any]:
        return {"mode": MALFORMED_MODES[stage.option("on_malformed", "fail")]}


@register
class CsvSource(MalformedRowsSource):
    type = "csv"
    format = "csv"
    description = (
        "Read CSV files. The first line is the header (options: {header: false} if not); "
        "without a declared schema, column types are inferred."
    )

    def reader_defaults(self, stage: StageSpec) -> dict[str, Any]:
        defaults: dict[str, Any] = {**super().reader_defaults(stage), "header": True}
        if stage.option("schema") is None:
            defaults["inferSchema"] = True
        return defaults


@register
class JsonSource(MalformedRowsSource):
    type = "json"
    format = "json"
    description = "Read JSON Lines files (one object per line; options: {multiLine: true} for documents)."


@register
class ParquetSource(FileSource):
    type = "parquet"
    format = "parquet"
    description = "Read Parquet files; the schema comes from the files unless one is declared."


@register
class OrcSource(FileSource):
    type = "orc"
    format = "orc"
    description = "Read ORC files; the schema comes from the files unless one is declared."
