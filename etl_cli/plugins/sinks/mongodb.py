"""The MongoDB sink: the official MongoDB Spark connector inserts or upserts one document per row.

- ``append``: each row is inserted as a new document (a row's ``_id`` column, when it has
  one, is the document's ``_id``; a duplicate ``_id`` fails the write).
- ``upsert``: each row replaces the document with the same ``keys`` (default ``_id``), or is
  inserted when there is none (the connector's ``operationType: replace`` with
  ``upsertDocument``), so running again writes the same documents.

MongoDB has no staging area: the sink keeps its rows in Spark's block store while staging
(every computation error surfaces then) and writes them at commit, after the other sinks
(:attr:`PendingWrite.irreversible`). A failure while writing leaves the documents written so
far; an upsert run again puts everything right, an append inserts again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import Effect, OptionProblem, PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.mongodb_connection import (
    CONNECTION_SCHEMA,
    CONNECTOR_PACKAGE,
    connector_options,
    reserved_problems,
    server_of,
    target,
)
from etl_cli.plugins.registry import register
from etl_cli.plugins.sinks.on_commit import SaveOnCommit, held
from etl_cli.plugins.spark_types import string_list

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@register
class MongoSink(Sink):
    type = "mongodb"
    description = (
        "Insert (append) or upsert by keys (replace the matching document) one MongoDB document per row, through "
        "the official MongoDB Spark connector (see docs/connectors/mongodb.md)."
    )
    required_options = ("uri", "database", "collection")
    modes: ClassVar[tuple[str, ...]] = ("append", "upsert")
    default_mode: ClassVar[str] = "append"
    maven_packages: ClassVar[tuple[str, ...]] = (CONNECTOR_PACKAGE,)
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "keys": string_list(
            "Mode upsert: the fields that identify a document (default [_id]); each row replaces the document "
            "whose fields equal the row's, or is inserted.",
            min_items=1,
        ),
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = reserved_problems(options)
        if "keys" in options and options.get("mode", cls.default_mode) != "upsert":
            problems.append(OptionProblem(("keys",), "keys apply only to mode upsert"))
        return problems

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        uri = stage.option("uri")
        return server_of(uri) if isinstance(uri, str) else None

    def writer_options(self, ctx: RunContext, stage: StageSpec) -> dict[str, str]:
        settings = connector_options(ctx, stage)
        if stage.option("mode", self.default_mode) == "upsert":
            settings["operationType"] = "replace"
            settings["upsertDocument"] = "true"
            settings["idFieldList"] = ",".join(stage.option("keys") or ["_id"])
        else:
            settings["operationType"] = "insert"
        return settings

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        keys = list(stage.option("keys") or ["_id"])
        if stage.option("mode", self.default_mode) == "upsert" and (
            missing := [k for k in keys if k not in df.columns]
        ):
            from etl_cli.errors import ConfigError

            raise ConfigError(
                f"{stage.label}: the upsert keys {', '.join(missing)} are not columns of its input",
                location=stage.location,
                hint=f"columns: {', '.join(df.columns)}",
            )
        staged, rows = held(df)
        mode = str(stage.option("mode", self.default_mode))
        delivery = "idempotent per key" if mode == "upsert" else "at least once"
        return SaveOnCommit(staged, "mongodb", self.writer_options(ctx, stage), target(stage), mode, rows, delivery)

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        mode = str(stage.option("mode", self.default_mode))
        details: dict[str, Any] = {"server": server_of(str(stage.options["uri"]))}
        if mode == "upsert":
            details["keys"] = list(stage.option("keys") or ["_id"])
        return [
            Effect(
                stage=stage.name,
                action="upsert documents" if mode == "upsert" else "insert documents",
                target=target(stage),
                mode=mode,
                details=details,
            )
        ]
