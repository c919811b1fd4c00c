"""An HTTP API written for the REST connector's tests: the standard library's http.server in a thread, on a free
loopback port. It is a small real server (sockets, HTTP/1.1, JSON bodies), not a stand-in for another product.

It lists ``ITEMS`` in every pagination style, checks authentication, rate-limits with 429 + Retry-After,
fails transiently with 503 when told to, issues OAuth2 client-credentials tokens that expire, takes records
(refusing those with a negative ``qty`` with 422), and records every request it gets.

Routes (all JSON):

- ``GET /pages?page=&per_page=``: ``{"data": {"items": [...]}, "meta": {"total_pages", "total"}}``
- ``GET /offset?offset=&limit=``: ``{"results": [...], "count": total}``
- ``GET /cursor?cursor=&limit=``: ``{"items": [...], "next_cursor": "..." | null}``
- ``GET /link?page=&per_page=``: a bare list, the next page in a ``Link`` header
- ``GET /next?page=&per_page=``: ``{"records": [...], "links": {"next": "/next?page=..." | null}}``
- every listing takes ``since`` (items whose ``updated_at`` is later)
- ``POST /token``: ``grant_type=client_credentials``, ``client_id``, ``client_secret`` (form)
- ``POST /ingest``: a list of records or ``{"records": [...]}``; 422 when one has ``qty < 0``
- ``PUT /things/<id>``: one record, kept by id
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ITEMS: list[dict[str, Any]] = [
    {
        "id": n,
        "name": f"item-{n:02d}",
        "qty": n * 3 % 7,
        "price": round(n * 1.25, 2),
        "updated_at": f"2024-03-{n:02d}T10:00:00Z",
        "tags": {"colour": ["red", "green", "blue"][n % 3]},
    }
    for n in range(1, 24)
]


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = 0.0


@dataclass
class ApiState:
    """What the server does; tests change it between requests (under ``lock``)."""

    #: None: no authentication; ("bearer", token), ("basic", user, password), ("header", name, key),
    #: ("query", name, key), ("oauth2", client_id, client_secret)
    auth: tuple[str, ...] | None = None
    token_ttl: float = 3600.0
    #: seconds a listing request must follow the previous one by, else 429 with Retry-After
    min_interval: float = 0.0
    retry_after: str = "1"
    #: the next N requests to a path (``/pages``) answer 503, or 429 (``throttle``)
    fail_next: dict[str, int] = field(default_factory=dict)
    throttle_next: dict[str, int] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=lambda: [dict(i) for i in ITEMS])
    requests: list[Received] = field(default_factory=list)
    ingested: list[dict[str, Any]] = field(default_factory=list)
    things: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    tokens_issued: int = 0
    last_listing: float = -math.inf
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def listing_requests(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    # ------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        state = self.server.state
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            body = dict(urllib.parse.parse_qsl(raw.decode()))
        else:
            body = json.loads(raw) if raw else None
        received = Received(method, parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body)
        received.at = time.monotonic()
        with state.lock:
            state.requests.append(received)
            status, payload, headers = self._route(state, method, parts.path, query, body, received)
            received.status = status
        self._send(status, payload, headers)

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(
        self, state: ApiState, method: str, path: str, query: dict[str, str], body: Any, received: Received
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/token" and method == "POST":
            return self._token(state, body or {})
        if (refused := self._authenticate(state, query)) is not None:
            return refused
        if state.fail_next.get(path, 0) > 0:
            state.fail_next[path] -= 1
            return 503, {"error": "try again"}, {}
        if state.throttle_next.get(path, 0) > 0:
            state.throttle_next[path] -= 1
            return 429, {"error": "slow down"}, {"Retry-After": state.retry_after}
        if method == "GET":
            if received.at - state.last_listing < state.min_interval:
                return 429, {"error": "rate limited"}, {"Retry-After": state.retry_after}
            state.last_listing = received.at
            return self._listing(state, path, query)
        if path == "/ingest" and method == "POST":
            records = body["records"] if isinstance(body, dict) else body
            if any((r.get("qty") or 0) < 0 for r in records):
                return 422, {"error": "qty must not be negative"}, {}
            state.ingested.extend(records)
            return 201, {"accepted": len(records)}, {}
        if path.startswith("/things/") and method == "PUT":
            state.things[urllib.parse.unquote(path.removeprefix("/things/"))] = body
            return 200, {"ok": True}, {}
        return 404, {"error": "no such route"}, {}

    def _token(self, state: ApiState, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        expected = state.auth if state.auth and state.auth[0] == "oauth2" else None
        client = (form.get("client_id"), form.get("client_secret"))
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            client = (user, password)
        if form.get("grant_type") != "client_credentials" or expected is None or client != expected[1:]:
            return 401, {"error": "invalid_client"}, {}
        token = secrets.token_hex(8)
        state.tokens[token] = time.monotonic() + state.token_ttl
        state.tokens_issued += 1
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": state.token_ttl}, {}

    def _authenticate(self, state: ApiState, query: dict[str, str]) -> tuple[int, Any, dict[str, str]] | None:
        auth = state.auth
        if auth is None:
            return None
        header = self.headers.get("Authorization", "")
        kind = auth[0]
        if kind == "bearer":
            ok = header == f"Bearer {auth[1]}"
        elif kind == "basic":
            ok = header == "Basic " + base64.b64encode(f"{auth[1]}:{auth[2]}".encode()).decode()
        elif kind == "header":
            ok = self.headers.get(auth[1]) == auth[2]
        elif kind == "query":
            ok = query.get(auth[1]) == auth[2]
        else:  # oauth2
            token = header.removeprefix("Bearer ")
            ok = header.startswith("Bearer ") and state.tokens.get(token, 0) > time.monotonic()
        return None if ok else (401, {"error": "unauthorized"}, {"WWW-Authenticate": "Bearer"})

    def _listing(self, state: ApiState, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        items = state.items
        if "since" in query:
            items = [i for i in items if i["updated_at"] > query["since"]]
        total = len(items)
        if path == "/pages":
            size, page = int(query.get("per_page", 10)), int(query.get("page", 1))
            chunk = items[(page - 1) * size : page * size]
            return 200, {"data": {"items": chunk}, "meta": {"total_pages": -(-total // size), "total": total}}, {}
        if path == "/offset":
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 10))
            return 200, {"results": items[offset : offset + limit], "count": total}, {}
        if path == "/cursor":
            start, limit = int(query.get("cursor") or 0), int(query.get("limit", 10))
            following = start + limit
            return (
                200,
                {"items": items[start:following], "next_cursor": str(following) if following < total else None},
                {},
            )
        if path in ("/link", "/next"):
            size, page = int(query.get("per_page", 10)), int(query.get("page", 1))
            chunk = items[(page - 1) * size : page * size]
            last = page * size >= total
            if path == "/link":
                headers = {} if last else {"Link": f'<{self._base()}/link?page={page + 1}&per_page={size}>; rel="next"'}
                return 200, chunk, headers
            following = None if last else f"/next?page={page + 1}&per_page={size}"
            return 200, {"records": chunk, "links": {"next": following}}, {}
        return 404, {"error": "no such route"}, {}

    def _base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ApiState):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@dataclass
class RunningApi:
    url: str
    state: ApiState


@contextmanager
def serve(state: ApiState | None = None) -> Iterator[RunningApi]:
    """The API on a free loopback port, for the duration of the block."""
    server = _Server(state or ApiState())
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="rest-test-api", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield RunningApi(f"http://{host}:{port}", server.state)
    finally:
        server.shutdown()
        server.server_close()
