"""File sinks: parquet, csv, json and orc, published atomically (see :mod:`.staging`).

Every dataset they publish carries a ``_ETL_CLI`` marker, and an overwrite never deletes what
etl-cli did not write (see :mod:`.targets`); each publish is journaled (see :mod:`.journal`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.errors import ConfigError, RunError
from etl_cli.plugins.api import Effect, OptionProblem, PendingWrite, RunContext, Sink, StageSpec, resolve_path
from etl_cli.plugins.object_stores import (
    AZURE_OPTIONS_SCHEMA,
    GCS_OPTIONS_SCHEMA,
    configure_stores,
    store_option_problems,
    store_packages,
)
from etl_cli.plugins.observed import observe_rows, observed_value
from etl_cli.plugins.registry import register
from etl_cli.plugins.s3 import S3_OPTIONS_SCHEMA, configure_buckets, s3_option_problems, s3_packages
from etl_cli.plugins.sinks.journal import PublishJournal, PublishRecord
from etl_cli.plugins.sinks.staging import (
    FileTree,
    Ownership,
    SkippedWrite,
    StagedFiles,
    StagingLayout,
    file_tree,
    write_to_staging,
)
from etl_cli.plugins.sinks.targets import (
    MARKER,
    REPLACE_FOREIGN,
    UNSAFE_TARGET_HINT,
    always_guarded,
    foreign_target_message,
    marker_text,
    refusal,
)
from etl_cli.plugins.spark_session import off_local_disk
from etl_cli.plugins.spark_types import managed_option_problems, scalar_map, string_list

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.streaming import DataStreamWriter


class FileSink(Sink):
    """Writes one format into a staging folder next to the target; the commit publishes it.

    Modes: overwrite replaces the target (with partition_by: only the partitions the new data
    has); append adds the new files; error fails if the target exists; ignore writes nothing
    if it exists. Overwrite refuses a target that is, or holds, a guarded place, and a non-empty
    target without etl-cli's marker unless ``replace_foreign`` is set.
    """

    format: ClassVar[str]
    required_options = ("path",)
    options_schema: ClassVar[dict[str, Any]] = {
        "path": {
            "type": "string",
            "minLength": 1,
            "description": "Folder to write; relative paths are relative to the project root.",
        },
        "partition_by": string_list("Columns to partition the output folders by (column=value/...).", min_items=1),
        "options": scalar_map("Options passed to Spark's DataFrameWriter for this format (e.g. compression)."),
        "coalesce": {
            "type": "integer",
            "minimum": 1,
            "description": "Number of files to write (per partition folder); fewer, larger files.",
        },
        "s3": S3_OPTIONS_SCHEMA,
        "azure": AZURE_OPTIONS_SCHEMA,
        "gcs": GCS_OPTIONS_SCHEMA,
        REPLACE_FOREIGN: {
            "type": "boolean",
            "default": False,
            "description": f"Let mode overwrite replace a non-empty target that etl-cli did not write (it has no "
            f"{MARKER} marker file), deleting its files. Off: such an overwrite is refused.",
        },
    }

    #: over Spark Connect etl-cli publishes the output itself, on this machine's disk (model.connect)
    publishes_on_client: ClassVar[bool] = True

    @classmethod
    def connect_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return off_local_disk(options, "etl-cli stages and publishes it through the Spark driver's file system")

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return s3_packages(options) + store_packages(options)

    @classmethod
    def managed_writer_options(cls) -> dict[str, str]:
        """Writer options set by a key of this sink (writer option → key), not to be set twice."""
        return {}

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = s3_option_problems(options) + store_option_problems(options)
        return problems + managed_option_problems(options, cls.managed_writer_options())

    def writer_defaults(self, stage: StageSpec) -> dict[str, Any]:
        """Writer options this format sets from its own keys."""
        return {}

    def preflight(self, ctx: RunContext, stage: StageSpec) -> None:
        """Refuse an overwrite of a guarded place, or of a non-empty target etl-cli did not write."""
        if stage.option("mode", self.default_mode) != "overwrite":
            return  # the other modes delete nothing
        target = ctx.path(stage.options["path"])
        if reason := refusal(target, always_guarded(ctx.project_root)):
            raise ConfigError(
                f"mode overwrite would delete everything in {reason}",
                location=stage.location,
                hint=UNSAFE_TARGET_HINT,
            )
        configure_buckets(ctx, stage, [target])
        configure_stores(ctx, stage, [target])
        fs = file_tree(ctx.spark, target)
        if not stage.option(REPLACE_FOREIGN, False) and fs.holds_foreign(fs.normalize(target)):
            message, hint = foreign_target_message(fs.normalize(target))
            raise ConfigError(message, location=stage.location, hint=hint)

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        self.preflight(ctx, stage)
        target = ctx.path(stage.options["path"])
        mode = stage.option("mode", self.default_mode)
        configure_buckets(ctx, stage, [target])
        configure_stores(ctx, stage, [target])
        fs = file_tree(ctx.spark, target)
        layout = StagingLayout.next_to(fs, target, ctx.run_id)
        if fs.exists(layout.target) and mode == "error":
            raise RunError(
                f"{layout.target} exists (mode error)",
                location=stage.location,
                hint="choose mode overwrite or append, or remove the target",
            )
        if fs.exists(layout.target) and mode == "ignore":
            return SkippedWrite(layout.target)
        journal = None
        if ctx.journal_dir is not None:
            record = PublishRecord(ctx.run_id, stage.name, layout.target, layout.staging, layout.replaced, mode)
            journal = PublishJournal.begin(ctx.journal_dir, record)
        rows = write_to_staging(fs, layout, lambda staging: self._write_marked(ctx, stage, df, fs, staging), journal)
        partition_depth = len(stage.option("partition_by") or ())
        ownership = Ownership(bool(stage.option(REPLACE_FOREIGN, False)), stage.location)
        return StagedFiles(fs, layout, mode, partition_depth, rows, journal, ownership)

    def _write_marked(self, ctx: RunContext, stage: StageSpec, df: DataFrame, fs: FileTree, staging: str) -> int:
        """Write ``df`` to ``staging`` with etl-cli's marker beside the data (it moves in with a new target)."""
        rows = self._write(stage, df, staging)
        fs.write_text(fs.child(staging, MARKER), marker_text(ctx.pipeline, stage.name, ctx.run_id))
        return rows

    def _write(self, stage: StageSpec, df: DataFrame, staging: str) -> int:
        """Write ``df`` to ``staging``; return its row count, observed during the write (no extra job)."""
        from pyspark.sql import Observation

        observation = Observation(f"etl_sink_{stage.name}_{uuid.uuid4().hex[:8]}")
        observed = observe_rows(df, observation)
        if coalesce := stage.option("coalesce"):
            observed = observed.coalesce(coalesce)
        writer = observed.write.format(self.format).mode("error")
        writer = writer.options(**self.writer_defaults(stage)).options(**dict(stage.option("options") or {}))
        if partition_by := stage.option("partition_by"):
            writer = writer.partitionBy(*partition_by)
        writer.save(staging)
        return int(observed_value(observation, "rows"))

    #: a streaming query appends each micro-batch's files; Spark's file sink records the files of every
    #: committed batch in <path>/_spark_metadata, and Spark readers of <path> read only those
    streaming_modes: ClassVar[tuple[str, ...]] = ("append",)

    def stream_writer(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> DataStreamWriter:
        if coalesce := stage.option("coalesce"):
            df = df.coalesce(coalesce)
        configure_buckets(ctx, stage, [ctx.path(stage.options["path"])])
        configure_stores(ctx, stage, [ctx.path(stage.options["path"])])
        writer = df.writeStream.format(self.format).option("path", ctx.path(stage.options["path"]))
        writer = writer.options(**self.writer_defaults(stage)).options(**dict(stage.option("options") or {}))
        if partition_by := stage.option("partition_by"):
            writer = writer.partitionBy(*partition_by)
        return writer

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        return [
            Effect(
                stage=stage.name,
                action="write",
                target=resolve_path(stage.options["path"], project_root),
                mode=stage.option("mode", self.default_mode),
                details={"format": self.format, "partition_by": list(stage.option("partition_by") or ())},
            )
        ]


@register
class ParquetSink(FileSink):
    type = "parquet"
    format = "parquet"
    description = "Write Parquet files (snappy-compressed), published atomically when the whole run succeeded."


@register
class CsvSink(FileSink):
    type = "csv"
    format = "csv"
    description = "Write CSV files with a header line, published atomically when the whole run succeeded."
    options_schema: ClassVar[dict[str, Any]] = {
        **FileSink.options_schema,
        "header": {"type": "boolean", "default": True, "description": "Write the column names as the first line."},
    }

    @classmethod
    def managed_writer_options(cls) -> dict[str, str]:
        return {"header": "header"}

    def writer_defaults(self, stage: StageSpec) -> dict[str, Any]:
        return {"header": stage.option("header", True)}


@register
class JsonSink(FileSink):
    type = "json"
    format = "json"
    description = "Write JSON Lines files (one object per row), published atomically when the whole run succeeded."


@register
class OrcSink(FileSink):
    type = "orc"
    format = "orc"
    description = "Write ORC files, published atomically when the whole run succeeded."
