"""The OpenSearch sink: one document per row, indexed with the bulk API, each partition by its executor.

Each row becomes a JSON document of its columns (nulls left out, dates and timestamps as ISO
text). In ``mode: upsert`` (the default) the document id comes from ``keys`` (the one
column's value as text, or the JSON list of several), and each document is sent with the bulk
``index`` action: a document with that id is replaced, so running the same rows again leaves the
index as it was. ``mode: append`` lets the node choose the ids (``create``): every run adds
documents.

An index has no staging area and a document indexed cannot be taken back, so documents are sent
while the sink stages, after the quality gate: that is when the documents the node refuses (a
value its mapping cannot take) can still join the run's dead-letter queue. With ``on_reject:
dead_letter`` they go there with the node's reason; with ``on_reject: fail`` (the default) the
first one fails the run. Documents answered "busy" (429) or 5xx are sent again by the partition;
a node that does not answer fails the write, which the stage's ``retry:`` runs again (harmless
with ids). After the write the index is refreshed, so the documents are searchable when the run ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.errors import RunError
from etl_cli.plugins.api import Effect, OptionProblem, PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.opensearch_connection import (
    CONNECTION_SCHEMA,
    BulkSettings,
    Connection,
    bulk_partition,
    connection_problems,
    safe_url,
)
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, string_list, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@register
class OpenSearchSink(Sink):
    type = "opensearch"
    description = (
        "Index rows as documents in OpenSearch with the bulk API, each partition by its executor; document ids "
        "from keys make a rerun replace the same documents; refused documents can go to the dead-letter "
        "queue (see docs/connectors/opensearch.md)."
    )
    required_options = ("url", "index")
    modes: ClassVar[tuple[str, ...]] = ("upsert", "append")
    default_mode: ClassVar[str] = "upsert"
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "keys": string_list(
            "Columns whose values make the document id (mode upsert): the one column's value as text, or the "
            "JSON list of several. They stay in the document too.",
            min_items=1,
        ),
        "batch_size": {"type": "integer", "minimum": 1, "default": 500, "description": "Documents per bulk request."},
        "on_reject": {
            "enum": ["fail", "dead_letter"],
            "default": "fail",
            "description": "What a document the node refuses (a mapping error, a null id) does: fail the run, or go "
            "to the dead-letter queue (needs a dead_letter: section) while the others are indexed.",
        },
        "refresh": {
            "type": "boolean",
            "default": True,
            "description": "Refresh the index after the write, so the documents are searchable when the run ends.",
        },
    }

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        url = stage.option("url")
        return safe_url(url) if isinstance(url, str) and "${" not in url else None

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = connection_problems(options)
        mode = options.get("mode", cls.default_mode)
        if mode == "upsert" and "keys" not in options:
            problems.append(
                OptionProblem(("keys",), "mode upsert needs keys: the columns of the document id")
            )
        if mode == "append" and "keys" in options:
            problems.append(
                OptionProblem(("keys",), "mode append lets the node choose ids: use mode upsert with keys")
            )
        return problems

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        from pyspark.sql import functions as F

        connection = Connection.of(ctx, stage)
        index = str(stage.options["index"])
        keys = tuple(stage.option("keys") or ())
        if stage.option("mode", self.default_mode) == "append":
            keys = ()
        with user_sql(stage, "keys"):
            missing = [c for c in keys if c not in df.columns]
            if missing:
                raise RunError(f"{stage.label}: keys names {missing[0]}, which is not a column of the input")
            documents = df.select(F.to_json(F.struct(*[F.col(quote(c)) for c in df.columns])).alias("doc"))
        settings = BulkSettings(connection, index, keys, int(stage.option("batch_size", 500)))
        outcomes = documents.rdd.map(lambda row: row[0]).mapPartitions(_sender(settings)).collect()
        indexed = sum(int(count) for kind, count, _ in outcomes if kind == "ok")
        refused = [(row, reason) for kind, row, reason in outcomes if kind == "refused"]
        if refused and stage.option("on_reject", "fail") != "dead_letter":
            _row, reason = refused[0]
            raise RunError(
                f"{stage.label}: OpenSearch refused {len(refused)} document(s); the first: {reason}",
                hint="on_reject: dead_letter sends refused documents to the dead-letter queue and the others through",
            )
        if stage.option("refresh", True):
            connection.json("POST", f"/{index}/_refresh")
        rejected = ctx.spark.createDataFrame(refused, "row STRING, reason STRING") if refused else None
        return Indexed(
            safe_url(connection.url),
            index,
            str(stage.option("mode", self.default_mode)),
            indexed,
            rejected,
            len(refused),
        )

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        url = stage.options["url"]
        where = safe_url(url) if isinstance(url, str) and "${" not in url else "the node of url"
        return [
            Effect(
                stage=stage.name,
                action="index",
                target=f"opensearch index {stage.options['index']} at {where}",
                mode=str(stage.option("mode", self.default_mode)),
                details={
                    "keys": stage.option("keys"),
                    "batch_size": stage.option("batch_size", 500),
                    "delivery": "while staging; ids make a rerun replace the same documents",
                },
            )
        ]


def _sender(settings: BulkSettings) -> Any:
    def send(rows: Iterator[str]) -> Iterator[tuple[str, str, str]]:
        return bulk_partition(settings, rows)

    return send


class Indexed(PendingWrite):
    """Documents already indexed while staging: nothing is left to publish, and nothing can be taken back."""

    def __init__(self, url: str, index: str, mode: str, rows: int, rejected: DataFrame | None, rejects: int):
        self.rows = rows
        self.rejected = rejected
        self.rows_rejected = rejects
        self.details = {
            "target": f"{url}/{index}",
            "mode": mode,
            "delivery": "while staging",
            "rows_rejected": rejects,
        }

    def commit(self) -> None:
        """Indexed already."""

    def abort(self) -> None:
        """Indexed documents cannot be taken back."""
