"""The OpenSearch sink: one document per row, indexed with the bulk API, each partition by its executor.

Each row becomes a JSON document of its columns (nulls left out, dates and timestamps as ISO
text). In ``mode: upsert`` (the default) the document id comes from ``keys`` (the one
column's value as text, or the JSON list of several), and each document is sent with the bulk
``index`` action: a document with that id is replaced, so running the same rows again leaves the
index as it was. ``mode: append`` lets the node choose the ids (``create``): every run adds
documents.

An index has no staging area and a document indexed cannot be taken back. With ``on_reject: fail``
(the default) the documents are serialised and held by Spark while the sink stages, and indexed
at commit, after every other sink of the run has committed (:mod:`.on_commit`): a run that fails
before that indexes nothing, and the first document the node refuses (a value its mapping cannot
take) fails the run, the others of its request indexed. With ``on_reject: dead_letter`` the
documents are indexed while the sink stages, after the quality gate, since the dead-letter queue
is written before any sink commits: the refused ones go there with the node's reason, and a later
failure of the run leaves the others indexed.

Documents answered "busy" (429) or 5xx are sent again by the partition. A node that does not
answer fails the write; with ``keys`` the stage's ``retry:`` runs it again (harmless: the same ids),
in ``mode: append`` it is not tried again, as that would index the documents already sent a second
time. After the write the index is refreshed, so the documents are searchable when the run ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
from etl_cli.plugins.sinks.on_commit import PublishOnCommit, held
from etl_cli.plugins.spark_types import first_line, quote, string_list, user_sql

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
            "description": "What a document the node refuses (a mapping error, a null id) does: fail the run "
            "(documents are then indexed at commit, after the other sinks), or go to the dead-letter queue (needs "
            "a dead_letter: section; documents are then indexed while the sink stages) while the others are indexed.",
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
            problems.append(OptionProblem(("keys",), "mode upsert needs keys: the columns of the document id"))
        if mode == "append" and "keys" in options:
            problems.append(OptionProblem(("keys",), "mode append lets the node choose ids: use mode upsert with keys"))
        return problems

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        from pyspark.sql import functions as F

        connection = Connection.of(ctx, stage)
        index = str(stage.options["index"])
        mode = str(stage.option("mode", self.default_mode))
        keys = () if mode == "append" else tuple(stage.option("keys") or ())
        with user_sql(stage, "keys"):
            missing = [c for c in keys if c not in df.columns]
            if missing:
                raise RunError(f"{stage.label}: keys names {missing[0]}, which is not a column of the input")
            documents = df.select(F.to_json(F.struct(*[F.col(quote(c)) for c in df.columns])).alias("doc"))
        bulk = Bulk(
            stage.label,
            BulkSettings(connection, index, keys, int(stage.option("batch_size", 500))),
            bool(stage.option("refresh", True)),
        )
        target = f"{safe_url(connection.url)}/{index}"
        if stage.option("on_reject", "fail") != "dead_letter":
            staged, rows = held(documents)
            return IndexOnCommit(staged, bulk, target, mode, rows)
        # the refused documents must join the dead-letter queue, which is staged before any sink commits
        indexed, refused = bulk.index(documents)
        rejected = ctx.spark.createDataFrame(refused, "row STRING, reason STRING") if refused else None
        return Indexed(target, mode, indexed, rejected, len(refused))

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
                    "delivery": _delivery(stage),
                },
            )
        ]


def _delivery(stage: StageSpec) -> str:
    when = "while staging" if stage.option("on_reject") == "dead_letter" else "at commit, after the other sinks"
    if stage.option("mode", OpenSearchSink.default_mode) == "append":
        return f"{when}; at least once (a rerun adds the documents again)"
    return f"{when}; ids make a rerun replace the same documents"


class Bulk:
    """Indexes the documents of a DataFrame (one JSON text column), each partition by its executor."""

    def __init__(self, label: str, settings: BulkSettings, refresh: bool):
        self.label = label
        self.settings = settings
        self.refresh = refresh

    def index(self, documents: DataFrame) -> tuple[int, list[tuple[str, str]]]:
        """Index every document; (how many were indexed, the refused ones as (document, reason))."""
        settings = self.settings

        def send(rows: Iterable[str]) -> Iterable[tuple[str, str, str]]:
            return bulk_partition(settings, rows)

        try:
            outcomes = documents.rdd.map(lambda row: row[0]).mapPartitions(send).collect()
        except Exception as exc:
            if settings.id_columns:
                raise  # the stage's retry: may send them again: the ids make that harmless
            failure = RunError(
                f"{self.label}: indexing into {settings.index} failed ({first_line(exc)}); it is not tried again, "
                "as the documents sent so far would be indexed twice (mode append)",
                hint="mode upsert with keys makes a retry replace the documents already indexed",
            )
            failure.retryable = False  # type: ignore[attr-defined]
            raise failure from exc
        if self.refresh:
            settings.connection.json("POST", f"/{settings.index}/_refresh")
        indexed = sum(int(count) for kind, count, _ in outcomes if kind == "ok")
        return indexed, [(row, reason) for kind, row, reason in outcomes if kind == "refused"]


class IndexOnCommit(PublishOnCommit):
    """Documents held by Spark since staging, indexed by :meth:`commit`; a refused one fails the commit."""

    def __init__(self, documents: DataFrame, bulk: Bulk, target: str, mode: str, rows: int):
        super().__init__(documents, target, mode, rows)
        self._bulk = bulk
        self.details["delivery"] = "at commit"

    def _send(self, rows_df: DataFrame) -> None:
        indexed, refused = self._bulk.index(rows_df)
        self.rows = indexed
        if refused:
            _row, reason = refused[0]
            failure = RunError(
                f"{self._bulk.label}: OpenSearch refused {len(refused)} document(s); the first: {reason}",
                hint="on_reject: dead_letter sends refused documents to the dead-letter queue and the others through",
            )
            failure.retryable = False  # type: ignore[attr-defined]
            raise failure


class Indexed(PendingWrite):
    """Documents indexed while staging (for the dead-letter queue): nothing left to publish or to take back."""

    def __init__(self, target: str, mode: str, rows: int, rejected: DataFrame | None, rejects: int):
        self.rows = rows
        self.rejected = rejected
        self.rows_rejected = rejects
        self.details = {"target": target, "mode": mode, "delivery": "while staging", "rows_rejected": rejects}

    def commit(self) -> None:
        """Indexed already."""

    def abort(self) -> None:
        """Indexed documents cannot be taken back."""
