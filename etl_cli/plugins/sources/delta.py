"""The Delta Lake source: a table's latest version, or an older one (time travel).

A read sees one committed version of the table (``version`` or ``timestamp`` picks an older one,
while a VACUUM has not removed its files): never a commit half-made by a writer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.delta_lake import PATH_OPTION, delta_package, delta_session_settings
from etl_cli.plugins.registry import register
from etl_cli.plugins.s3 import S3_OPTIONS_SCHEMA, configure_buckets, s3_option_problems, s3_packages

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@register
class DeltaSource(Source):
    type = "delta"
    description = "Read a Delta Lake table: its latest version, or an older one (version or timestamp)."
    required_options = ("path",)
    options_schema: ClassVar[dict[str, Any]] = {
        "path": PATH_OPTION,
        "version": {
            "type": "integer",
            "minimum": 0,
            "description": "Read this version of the table (time travel), not the latest.",
        },
        "timestamp": {
            "type": "string",
            "minLength": 1,
            "description": "Read the version current at this time (2026-01-31 or 2026-01-31 12:00:00), not the latest.",
        },
        "s3": S3_OPTIONS_SCHEMA,
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
        if "version" in options and "timestamp" in options:
            problems.append(OptionProblem(("timestamp",), "give version or timestamp, not both"))
        return problems

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        path = self._path(ctx, stage)
        reader = ctx.spark.read.format("delta")
        if (version := stage.option("version")) is not None:
            reader = reader.option("versionAsOf", int(version))
        if timestamp := stage.option("timestamp"):
            reader = reader.option("timestampAsOf", str(timestamp))
        return reader.load(path)

    def _path(self, ctx: RunContext, stage: StageSpec) -> str:
        path = ctx.path(stage.options["path"])
        configure_buckets(ctx, stage, [path])
        return path
