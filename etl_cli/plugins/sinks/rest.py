"""The REST API sink: rows sent as JSON to an HTTP endpoint, in batches, POST, PUT or PATCH.

Each row becomes a JSON object of its columns (nulls kept, dates and timestamps as ISO text,
decimals as numbers). Rows are streamed from Spark to the driver one partition at a time and
sent ``batch_size`` at a time; the body is the list of the batch's records, or
``body_template`` with the string ``"$records"`` replaced by that list (``"$record"``: the one
record, with ``batch_size: 1``). A ``url`` with ``{column}`` placeholders (``/items/{id}``)
sends each row to its own URL (``batch_size`` must then be 1), its body the row's object by default,
which makes ``PUT`` idempotent.

Requests share the host's rate limit with every other REST stage and are retried with the
stage's ``retry:`` over the pipeline's, as the source's are (:mod:`etl_cli.plugins.rest.client`).

An HTTP endpoint has no staging area and nothing sent can be taken back. The rows are serialised
and held by Spark while the sink stages. With ``on_reject: fail`` (the default) they are sent at
commit, after every other sink of the run has committed (:mod:`.on_commit`): a run that fails
before that sends nothing, and the first record the server refuses fails the run. With
``on_reject: dead_letter`` they are sent while the sink stages, after the quality gate, since the
refused records must join the dead-letter queue, which is written before any sink commits; a run
that fails after that (another sink, the dead-letter queue) leaves them sent.

A batch refused with a client error (400, 409, 413, 422 and the other 4xx but 401, 403, 404, 405
and 429) is sent again one record at a time, so that only the refused records are set aside.
The sender counts the records it has handled (sent or set aside), in the held order, so a send
that is tried again (a retried stage or commit) resumes after them: only the batch in flight when
the failure struck may reach the server twice. A new run sends everything again: delivery is at
least once.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.errors import RunError
from etl_cli.plugins.api import Effect, OptionProblem, PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.registry import register
from etl_cli.plugins.rest.client import HttpClient, HttpError, safe_url
from etl_cli.plugins.rest.options import (
    CONNECTION_SCHEMA,
    build_client,
    connection_problems,
    endpoint,
)
from etl_cli.plugins.sinks.on_commit import PublishOnCommit, held
from etl_cli.plugins.spark_types import quote

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

RECORDS = "$records"
RECORD = "$record"
#: statuses that say something about the request as a whole, never about one record
_NOT_A_RECORD = frozenset({401, 403, 404, 405, 429})
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@register
class RestSink(Sink):
    type = "rest"
    description = (
        "Send rows as JSON to an HTTP API in batches (POST, PUT or PATCH), with the REST source's authentication, "
        "rate limit and retries; records the server refuses can go to the dead-letter queue. Delivery is at least "
        "once (see docs/connectors/rest.md)."
    )
    required_options = ("url",)
    modes: ClassVar[tuple[str, ...]] = ("append",)
    default_mode: ClassVar[str] = "append"
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "url": {
            **CONNECTION_SCHEMA["url"],
            "description": "The endpoint: an http:// or https:// URL; {column} placeholders take each row's value "
            "(then batch_size must be 1).",
        },
        "method": {"enum": ["POST", "PUT", "PATCH"], "default": "POST", "description": "The HTTP method."},
        "batch_size": {"type": "integer", "minimum": 1, "default": 100, "description": "Records per request."},
        "body_template": {
            "type": ["object", "array"],
            "description": 'The JSON body, where the string "$records" stands for the batch\'s list of records '
            '("$record" for the one record, with batch_size 1). Default: the list itself.',
        },
        "on_reject": {
            "enum": ["fail", "dead_letter"],
            "default": "fail",
            "description": "What a record the server refuses (a 4xx answer to it alone) does: fail the run "
            "(records are then sent at commit, after the other sinks), or go to the dead-letter queue (needs a "
            "dead_letter: section; records are then sent while the sink stages) while the others are sent.",
        },
    }

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        return endpoint(stage)

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = connection_problems(options)
        batch = options.get("batch_size", 100)
        url = options.get("url")
        if isinstance(url, str) and _PLACEHOLDER.search(url) and batch != 1:
            problems.append(OptionProblem(("batch_size",), "a url with {column} placeholders needs batch_size: 1"))
        template = options.get("body_template")
        if template is not None:
            found = set(_markers(template))
            if not found:
                problems.append(
                    OptionProblem(("body_template",), 'the template holds neither "$records" nor "$record"')
                )
            if RECORD in found and batch != 1:
                problems.append(OptionProblem(("body_template",), '"$record" needs batch_size: 1; use "$records"'))
        return problems

    def __init__(self) -> None:
        #: the records and the sender of each stage sending while it stages, kept while a retry may resume it
        self._sending: dict[str, tuple[DataFrame, BatchSender]] = {}

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        return self.send_with(ctx, stage, df)

    def send_with(self, ctx: RunContext, stage: StageSpec, df: DataFrame, **client_overrides: Any) -> PendingWrite:
        """:meth:`stage_write`, with the client's transport, sleep... replaced (tests)."""
        if stage.option("on_reject", "fail") != "dead_letter":
            records, rows = held(_json_rows(df))
            client = build_client(stage.options, ctx.resolve, ctx.retry_for(stage), **client_overrides)
            return SendOnCommit(records, BatchSender(stage, client), rows)
        # the refused records must join the dead-letter queue, staged before any sink commits: send them now;
        # a retried stage resumes after the records the failed attempt handled
        if stage.name not in self._sending:
            records, _rows = held(_json_rows(df))
            client = build_client(stage.options, ctx.resolve, ctx.retry_for(stage), **client_overrides)
            self._sending[stage.name] = (records, BatchSender(stage, client))
        records, sender = self._sending[stage.name]
        refused = sender.send(_records(records))
        del self._sending[stage.name]
        records.unpersist()
        rejected = ctx.spark.createDataFrame(refused, "row STRING, reason STRING") if refused else None
        return Sent(sender, rejected, len(refused))

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        return [
            Effect(
                stage=stage.name,
                action="send",
                target=safe_url(str(stage.options["url"])),
                mode="append",
                details={
                    "method": stage.option("method", "POST"),
                    "batch_size": stage.option("batch_size", 100),
                    "delivery": "at least once, "
                    + ("while staging" if stage.option("on_reject") == "dead_letter" else "at commit"),
                },
            )
        ]


def _markers(value: Any) -> Iterator[str]:
    if value in (RECORDS, RECORD):
        yield str(value)
    elif isinstance(value, Mapping):
        for child in value.values():
            yield from _markers(child)
    elif isinstance(value, list):
        for child in value:
            yield from _markers(child)


def fill_template(template: Any, records: list[dict[str, Any]]) -> Any:
    """``template`` with ``"$records"`` replaced by ``records`` and ``"$record"`` by the first one."""
    if template == RECORDS:
        return records
    if template == RECORD:
        return records[0]
    if isinstance(template, Mapping):
        return {key: fill_template(child, records) for key, child in template.items()}
    if isinstance(template, list):
        return [fill_template(child, records) for child in template]
    return template


def fill_url(url: str, record: Mapping[str, Any]) -> str:
    """``url`` with each ``{column}`` replaced by the record's value, percent-encoded."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if record.get(name) is None:
            raise RecordRefused(f"the url needs {name}, which is null or missing in the row")
        return urllib.parse.quote(str(record[name]), safe="")

    return _PLACEHOLDER.sub(value, url)


class RecordRefused(Exception):
    """One record cannot be sent (the server refused it alone, or its URL cannot be built)."""


def _json_rows(df: DataFrame) -> DataFrame:
    """Each row as JSON text (nulls kept), in one column ``value``."""
    from pyspark.sql import functions as F

    if not df.columns:
        return df.sparkSession.createDataFrame([], "value STRING")
    value = F.to_json(F.struct(*[F.col(quote(c)) for c in df.columns]), {"ignoreNullFields": "false"})
    return df.select(value.alias("value"))


def _records(texts: DataFrame) -> Iterator[dict[str, Any]]:
    """The held JSON rows as records, one partition at a time on the driver, always in the same order."""
    return (json.loads(row[0]) for row in texts.toLocalIterator())


class BatchSender:
    """Sends records in batches; splits a batch the server refuses into single records."""

    def __init__(self, stage: StageSpec, client: HttpClient):
        self.stage = stage
        self.client = client
        self.url = str(stage.options["url"])
        self.method = str(stage.option("method", "POST"))
        self.batch_size = int(stage.option("batch_size", 100))
        self.template = stage.option("body_template")
        self.dead_letter = stage.option("on_reject", "fail") == "dead_letter"
        self.sent = 0
        self.batches = 0
        #: records sent or set aside so far, in the order given: a repeated :meth:`send` skips them
        self.handled = 0
        self.refused: list[tuple[str, str]] = []

    def send(self, records: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
        """Send every record after the first :attr:`handled`; the refused ones (their JSON, why) so far.

        Called again with the same records after a failure, it resumes where the failed call stopped:
        only the batch in flight then is sent again.
        """
        batch: list[dict[str, Any]] = []
        for position, record in enumerate(records):
            if position < self.handled:
                continue
            batch.append(record)
            if len(batch) >= self.batch_size:
                self._handle(batch)
                batch = []
        if batch:
            self._handle(batch)
        return list(self.refused)

    def _handle(self, batch: list[dict[str, Any]]) -> None:
        self.refused += self._batch(batch)
        self.handled += len(batch)

    def _batch(self, batch: list[dict[str, Any]]) -> list[tuple[str, str]]:
        try:
            self._request(batch)
        except RecordRefused as exc:
            if len(batch) == 1:
                return [self._refuse(batch[0], str(exc))]
            refused: list[tuple[str, str]] = []
            for record in batch:
                try:
                    self._request([record])
                except RecordRefused as single:
                    refused.append(self._refuse(record, str(single)))
            return refused
        return []

    def _request(self, batch: list[dict[str, Any]]) -> None:
        per_record = _PLACEHOLDER.search(self.url) is not None
        url = fill_url(self.url, batch[0]) if per_record else self.url
        default = batch[0] if per_record else batch
        body = default if self.template is None else fill_template(self.template, batch)
        try:
            self.client.request(self.method, url, body=body)
        except HttpError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in _NOT_A_RECORD:
                raise RecordRefused(exc.message) from None
            raise
        self.sent += len(batch)
        self.batches += 1

    def _refuse(self, record: dict[str, Any], reason: str) -> tuple[str, str]:
        if not self.dead_letter:
            failure = RunError(
                f"{self.stage.label}: the server refused a record: {reason}",
                hint="on_reject: dead_letter sends refused records to the dead-letter queue and the others through",
            )
            failure.retryable = False  # type: ignore[attr-defined]
            raise failure
        return json.dumps(record, ensure_ascii=False), reason


def _details(sender: BatchSender, delivery: str) -> dict[str, Any]:
    return {
        "target": safe_url(sender.url),
        "mode": "append",
        "method": sender.method,
        "delivery": delivery,
        "requests_ok": sender.batches,
        **sender.client.counters.to_json(),
        "rows_rejected": len(sender.refused),
    }


class Sent(PendingWrite):
    """Rows delivered while staging (for the dead-letter queue): nothing left to publish or to take back."""

    def __init__(self, sender: BatchSender, rejected: DataFrame | None, rejects: int):
        self.rows = sender.sent
        self.rejected = rejected
        self.rows_rejected = rejects
        self.details = _details(sender, "at least once, while staging")

    def commit(self) -> None:
        """Delivered already."""

    def abort(self) -> None:
        """Sent requests cannot be taken back."""


class SendOnCommit(PublishOnCommit):
    """JSON rows held by Spark since staging, sent by :meth:`commit`; a refused record fails the commit."""

    def __init__(self, records: DataFrame, sender: BatchSender, rows: int):
        super().__init__(records, safe_url(sender.url), "append", rows)
        self._sender = sender
        self.details.update(method=sender.method, delivery="at least once, at commit")

    def _send(self, rows_df: DataFrame) -> None:
        try:
            self._sender.send(_records(rows_df))
        finally:
            self.rows = self._sender.sent
            self.details.update(_details(self._sender, "at least once, at commit"))
