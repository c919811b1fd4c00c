"""HTTP to OpenSearch (or Elasticsearch's compatible REST API) for the ``opensearch`` source and sink.

The standard library's ``urllib`` does the HTTP (no client library, nothing on the JVM): the
bulk API (``POST /_bulk``) for writes, a point in time with ``search_after`` for reads. This
module imports no pyspark, and its functions run on Spark's executors as well as on the driver,
so it only takes plain values (the URL and the credentials already resolved from secrets).
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from etl_cli.errors import RunError
from etl_cli.plugins.api import OptionProblem, RunContext, StageSpec

#: statuses of a bulk item or a request worth sending again: the node was busy or unavailable
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
#: how often a bulk request whose items came back busy is sent again, within one partition
ITEM_ATTEMPTS = 4

CONNECTION_SCHEMA: dict[str, Any] = {
    "url": {
        "type": "string",
        "pattern": "^https?://",
        "description": "The node's HTTP address, http://host:9200 (may be a ${secret:...}).",
    },
    "index": {"type": "string", "minLength": 1, "description": "The index (or alias) to read or write."},
    "username": {"type": "string", "minLength": 1, "description": "Basic authentication user (a ${secret:...})."},
    "password": {"type": "string", "minLength": 1, "description": "Basic authentication password (a ${secret:...})."},
    "timeout": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 60,
        "description": "Seconds to wait for one HTTP answer.",
    },
}


def connection_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """A user without a password, or a password without a user."""
    given = [key for key in ("username", "password") if key in options]
    if len(given) == 1:
        missing = "password" if given == ["username"] else "username"
        return [OptionProblem((given[0],), f"basic authentication needs both username and password: add {missing}")]
    return []


def safe_url(url: str) -> str:
    """``url`` without credentials or a query string, for messages and run results."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class Connection:
    """Where the node is and how to log in, with every secret resolved (picklable: it travels to executors)."""

    url: str
    username: str | None = None
    password: str | None = None
    timeout: float = 60.0

    @classmethod
    def of(cls, ctx: RunContext, stage: StageSpec) -> Connection:
        resolved = ctx.resolve(
            {key: stage.options[key] for key in ("url", "username", "password") if key in stage.options}
        )
        return cls(
            url=str(resolved["url"]).rstrip("/"),
            username=resolved.get("username"),
            password=resolved.get("password"),
            timeout=float(stage.option("timeout", 60)),
        )

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json") -> Any:
        """Send one request; the JSON answer. Raises :class:`OpenSearchError` for an error status or no answer."""
        import urllib.error  # on first use: `validate` registers this plug-in and must not load an HTTP client
        import urllib.request

        request = urllib.request.Request(self.url + path, data=body, method=method)
        request.add_header("Content-Type", content_type)
        request.add_header("Accept", "application/json")
        if self.username is not None:
            token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            where = f"{method} {safe_url(self.url)}{path.split('?')[0]}"
            raise OpenSearchError(f"{where}: {exc.code} {_reason(text)}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OpenSearchError(f"{method} {safe_url(self.url)}{path.split('?')[0]}: no answer ({reason})") from None

    def json(self, method: str, path: str, body: Any = None) -> Any:
        return self.request(method, path, None if body is None else json.dumps(body).encode())


class OpenSearchError(RunError):
    """A request that failed: its status (None when the node did not answer) and the node's reason."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status
        #: for the stage's ``retry:``: a node that did not answer or was busy may do better next time
        self.retryable = status is None or status in TRANSIENT_STATUSES


def _reason(text: str) -> str:
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return text[:300]
    if isinstance(error, Mapping):
        return f"{error.get('type', '')}: {error.get('reason', '')}".strip(": ")
    return str(error)[:300]


def item_reason(item: Mapping[str, Any]) -> str:
    """Why the node refused one document of a bulk request (its error type and reason)."""
    error = item.get("error")
    if isinstance(error, Mapping):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, Mapping) and cause.get("reason"):
            text += f" ({cause.get('reason')})"
        return text
    return f"status {item.get('status')}"


def document_id(record: Mapping[str, Any], id_columns: list[str]) -> str:
    """The document id of ``record``: its one id column as text, or the JSON list of several (never ambiguous)."""
    values = [record.get(column) for column in id_columns]
    missing = [column for column, value in zip(id_columns, values, strict=True) if value is None]
    if missing:
        raise ValueError(f"the id column {missing[0]} is null")
    if len(values) == 1:
        return values[0] if isinstance(values[0], str) else json.dumps(values[0])
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class BulkSettings:
    """What one partition needs to index its rows (picklable)."""

    connection: Connection
    index: str
    id_columns: tuple[str, ...]
    batch_size: int


def bulk_partition(settings: BulkSettings, rows: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    """Index the JSON rows of one partition ``batch_size`` at a time with the bulk API.

    Yields ``("ok", count, "")`` per request and ``("refused", row, reason)`` per document the node
    (or the id) refused. Items answered 429 or 5xx are sent again (up to :data:`ITEM_ATTEMPTS`
    requests, waiting longer each time); after that, or when the node does not answer, it raises
    and the stage's ``retry:`` runs the whole write again, which the document ids make harmless.
    """
    batch: list[str] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= settings.batch_size:
            yield from _bulk(settings, batch)
            batch = []
    if batch:
        yield from _bulk(settings, batch)


def _bulk(settings: BulkSettings, rows: list[str]) -> Iterator[tuple[str, str, str]]:
    pending: list[tuple[str, str]] = []  # (action line, source line)
    for row in rows:
        if settings.id_columns:
            try:
                doc_id = document_id(json.loads(row), list(settings.id_columns))
            except ValueError as exc:
                yield ("refused", row, str(exc))
                continue
            meta = {"index": {"_index": settings.index, "_id": doc_id}}
        else:
            meta = {"create": {"_index": settings.index}}
        pending.append((json.dumps(meta, ensure_ascii=False), row))
    for attempt in range(ITEM_ATTEMPTS):
        if not pending:
            return
        body = "".join(f"{action}\n{source}\n" for action, source in pending).encode()
        answer = settings.connection.request("POST", "/_bulk", body, "application/x-ndjson")
        again: list[tuple[str, str]] = []
        done = 0
        for (action, source), entry in zip(pending, answer.get("items", []), strict=True):
            item = next(iter(entry.values()))
            status = int(item.get("status", 500))
            if status < 300:
                done += 1
            elif status in TRANSIENT_STATUSES:
                again.append((action, source))
            else:
                yield ("refused", source, item_reason(item))
        yield ("ok", str(done), "")
        pending = again
        if pending and attempt + 1 < ITEM_ATTEMPTS:
            time.sleep(0.5 * 2**attempt)
    if pending:
        raise OpenSearchError(
            f"{len(pending)} documents for {settings.index} were refused as busy {ITEM_ATTEMPTS} times", 429
        )


def plain(value: Any) -> Any:
    """``value`` (a frozen option: read-only mappings, tuples) as plain dicts and lists, for JSON."""
    if isinstance(value, Mapping):
        return {str(key): plain(child) for key, child in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(child) for child in value]
    return value


def search_all(
    connection: Connection, index: str, query: Mapping[str, Any], page_size: int, id_column: str | None
) -> Iterator[str]:
    """Every document ``query`` matches, its ``_source`` as JSON text (with ``id_column`` holding ``_id``).

    One point in time keeps the pages consistent while documents change; pages follow each
    other with ``search_after`` on ``_id``. The point in time is deleted at the end.
    """
    quoted = urllib.parse.quote(index, safe=",*")
    pit = connection.json("POST", f"/{quoted}/_search/point_in_time?keep_alive=5m")["pit_id"]
    try:
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "size": page_size,
                "query": plain(query),
                "pit": {"id": pit, "keep_alive": "5m"},
                "sort": [{"_id": "asc"}],
            }
            if after is not None:
                body["search_after"] = after
            answer = connection.json("POST", "/_search", body)
            pit = answer.get("pit_id", pit)
            hits = answer.get("hits", {}).get("hits", [])
            for hit in hits:
                source = dict(hit.get("_source") or {})
                if id_column:
                    source[id_column] = hit.get("_id")
                yield json.dumps(source, ensure_ascii=False)
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]
    finally:
        with contextlib.suppress(OpenSearchError):  # it expires by itself after keep_alive
            connection.json("DELETE", "/_search/point_in_time", {"pit_id": [pit]})
