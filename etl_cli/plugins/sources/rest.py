"""The REST API source: the JSON records of an HTTP API, page after page, as a DataFrame.

The driver does the HTTP (:mod:`etl_cli.plugins.rest`): each request goes through the URL
host's rate limit, is retried on transient failures with the stage's ``retry:`` over the pipeline's, and
authenticates with the stage's ``auth:`` (credentials from ``${secret:...}``; a 401 fetches a
new OAuth2 token, and a refused login re-reads the secrets once). Records are selected from each
body by ``records_path`` and pages followed as ``paginate:`` says. Every record is held in the
driver's memory before Spark gets them, so the source suits what an API lists (thousands to a few
hundred thousand records), not bulk exports.

Incremental reads (``incremental: {cursor_path: updated_at, param: since}``) keep the largest
value of the record field at ``cursor_path`` in the run's state store. The next run sends it as
the query parameter ``param`` (the first run sends ``initial_value``, if given) and keeps only
records whose field is above it (numbers compared as numbers, anything else as text: use ISO
8601 timestamps in one time zone). The new value is saved once every sink of the run has
committed, so a failed run reads the same records again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.registry import register
from etl_cli.plugins.rest.client import HttpClient, Params, Response
from etl_cli.plugins.rest.options import (
    CONNECTION_SCHEMA,
    build_client,
    connection_problems,
    endpoint,
    is_auth_failure,
)
from etl_cli.plugins.rest.paging import PAGINATE_SCHEMA, Pager, pagination_problems, path_problems, select
from etl_cli.plugins.spark_types import declared_schema, declared_schema_problems, json_frame, scalar_map

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@register
class RestSource(Source):
    type = "rest"
    description = (
        "Read JSON records from an HTTP API: pagination (page number, offset, cursor, Link header, next URL), "
        "authentication from secrets (bearer, basic, API key, OAuth2 client credentials), a rate limit per host "
        "honouring 429 and Retry-After, retries, incremental reads by a cursor field. Records are fetched on the "
        "driver (see docs/connectors/rest.md)."
    )
    required_options = ("url",)
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "params": scalar_map("Query parameters of the first request (pagination adds its own)."),
        "records_path": {
            "type": "string",
            "description": 'Dotted path in each JSON body to the list of records (data.items, results; "$" or '
            "unset: the body itself is the list).",
        },
        "paginate": PAGINATE_SCHEMA,
        "max_pages": {"type": "integer", "minimum": 1, "description": "Stop after this many pages."},
        "parallelism": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": 1,
            "description": "Pages fetched at once when the first page tells the total (page_number or offset "
            "with a total path); the rate limit still applies.",
        },
        "incremental": {
            "type": "object",
            "additionalProperties": False,
            "required": ["cursor_path"],
            "description": "Read only records newer than the last successful run's (state dir; run --full-refresh "
            "reads everything).",
            "properties": {
                "cursor_path": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Dotted path in each record to the field that grows with every change.",
                },
                "param": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Query parameter that sends the last value to the API, so it lists only newer "
                    "records (without it every page is read and filtered here).",
                },
                "initial_value": {
                    "type": ["string", "number"],
                    "description": "Sent as param by the first run (and after a full refresh).",
                },
            },
        },
        "schema": declared_schema(
            'Declared schema of the records instead of inference: Spark DDL ("id BIGINT, name STRING") or a '
            "mapping; fields not declared are dropped, missing ones are null."
        ),
    }

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        return endpoint(stage)

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = connection_problems(options)
        problems += pagination_problems(options.get("paginate"))
        problems += path_problems(options.get("records_path"), ("records_path",))
        incremental = options.get("incremental")
        if isinstance(incremental, Mapping):
            problems += path_problems(incremental.get("cursor_path"), ("incremental", "cursor_path"))
            if "schema" not in options:
                problems.append(
                    OptionProblem(
                        ("incremental",),
                        "without a declared schema, a run that finds no new records reads no columns",
                        hint="declare schema: so every run has the same columns",
                        warning_code="rest-incremental-schema",
                    )
                )
        if "schema" in options:
            problems += declared_schema_problems(options["schema"])
        return problems

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        return self.read_with(ctx, stage)

    def read_with(self, ctx: RunContext, stage: StageSpec, **client_overrides: Any) -> DataFrame:
        """:meth:`read`, with the client's transport, sleep... replaced (tests)."""
        previous = self._previous(ctx, stage)

        def fetch(resolve: Any) -> list[dict[str, Any]]:
            client = build_client(stage.options, resolve, ctx.retry_for(stage), **client_overrides)
            return self.fetch_records(client, stage, previous)

        records = ctx.with_rotation(fetch, is_auth_failure)
        incremental = stage.option("incremental")
        if incremental and ctx.state is not None:
            newest = newest_value(records, incremental["cursor_path"], previous)
            if newest is not None and newest != previous:
                ctx.state.save_on_success(stage.name, {"cursor_path": incremental["cursor_path"], "value": newest})
        return records_frame(ctx.spark, stage, records)

    def _previous(self, ctx: RunContext, stage: StageSpec) -> Any:
        """The cursor value the last successful run kept (None: none, another cursor_path, or no state store)."""
        incremental = stage.option("incremental")
        if not incremental or ctx.state is None:
            return None
        kept = ctx.state.get(stage.name)
        if not kept or kept.get("cursor_path") != incremental["cursor_path"]:
            return None
        return kept.get("value")

    def fetch_records(self, client: HttpClient, stage: StageSpec, previous: Any = None) -> list[dict[str, Any]]:
        """Every record the listing holds (above ``previous`` for an incremental read), in page order."""
        params: list[tuple[str, str]] = [(str(k), _text(v)) for k, v in (stage.option("params") or {}).items()]
        incremental = stage.option("incremental")
        if incremental and incremental.get("param"):
            since = previous if previous is not None else incremental.get("initial_value")
            if since is not None:
                params.append((str(incremental["param"]), _text(since)))
        pager = Pager(
            stage.option("paginate"),
            stage.option("records_path"),
            max_pages=stage.option("max_pages"),
            parallelism=int(stage.option("parallelism", 1)),
        )

        def get(url: str, query: Params) -> Response:
            return client.get(url, query)

        records = [record for page in pager.pages(get, str(stage.options["url"]), params) for record in page.records]
        if incremental and previous is not None:
            path = str(incremental["cursor_path"])
            records = [r for r in records if _above(select(r, path), previous)]
        return records


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _order(value: Any) -> tuple[int, Any]:
    """Numbers compare as numbers, everything else as text (booleans are text)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, value if isinstance(value, str) else json.dumps(value, sort_keys=True))


def _above(value: Any, previous: Any) -> bool:
    if value is None:
        return False
    mine, theirs = _order(value), _order(previous)
    if mine[0] != theirs[0]:  # a number against a stored text value (or back): compare both as text
        return str(value) > str(previous)
    return bool(mine[1] > theirs[1])


def newest_value(records: list[dict[str, Any]], cursor_path: str, previous: Any) -> Any:
    """The largest cursor value among ``records`` and ``previous`` (None when there is none)."""
    newest = previous
    for record in records:
        value = select(record, cursor_path)
        if value is not None and (newest is None or _above(value, newest)):
            newest = value
    return newest


def records_frame(spark: SparkSession, stage: StageSpec, records: list[dict[str, Any]]) -> DataFrame:
    """The records as a DataFrame: parsed with the declared schema, or with the schema Spark infers from them."""
    return json_frame(spark, stage, [json.dumps(record, ensure_ascii=False) for record in records])
