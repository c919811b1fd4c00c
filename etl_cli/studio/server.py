"""The studio's web server: a Starlette app served by uvicorn on loopback, answering only with its token.

The token is random (:func:`secrets.token_urlsafe`) and is in the URL printed at start. The page is
``GET /?token=T``; that answer also sets a cookie holding the token (HttpOnly, SameSite=Strict), with
which the page's own files under ``/static/`` are served. API calls send the header ``X-Studio-Token``.
Any request without the token gets 403 and nothing else. Nothing here starts Spark: the first
inspection does (:mod:`etl_cli.studio.inspect`).
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from etl_cli.errors import EtlError
from etl_cli.studio.api import Studio, StudioError, refused

HOST = "127.0.0.1"
TOKEN_HEADER = "x-studio-token"
TOKEN_COOKIE = "etl_studio_token"
STATIC_DIR = Path(__file__).parent / "static"
#: the page may load only what the studio serves: no other site, no inline script from elsewhere
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def new_token() -> str:
    return secrets.token_urlsafe(32)


class TokenGate:
    """ASGI middleware: a request without the token (query, header, or the page's cookie for its files) gets 403."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http" or not self._allowed(Request(scope)):
            if scope["type"] == "http":
                await Response("forbidden: open the URL etl-cli studio printed", 403, media_type="text/plain")(
                    scope, receive, send
                )
            return
        await self.app(scope, receive, send)

    def _allowed(self, request: Request) -> bool:
        given = [request.query_params.get("token"), request.headers.get(TOKEN_HEADER)]
        if request.url.path.startswith("/static/") and request.method in ("GET", "HEAD"):
            given.append(request.cookies.get(TOKEN_COOKIE))
        return any(value is not None and secrets.compare_digest(value, self.token) for value in given)


def create_app(studio: Studio, token: str, static_dir: Path = STATIC_DIR) -> ASGIApp:
    """The studio's ASGI app for ``studio``, answering only requests that carry ``token``."""

    async def index(request: Request) -> Response:
        page = static_dir / "index.html"
        response: Response
        if page.is_file():
            response = FileResponse(page, media_type="text/html")
        else:
            response = HTMLResponse("<!doctype html><title>etl-cli studio</title><p>The page is not installed.")
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/static/")
        return _secured(response)

    def answer(call: Callable[..., Any], *, with_body: bool = False) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                if with_body:
                    body = await _body(request)
                    result = await run_in_threadpool(call, body)
                else:
                    result = await run_in_threadpool(call, request)
            except StudioError as exc:
                return _json(exc.to_json(), exc.status)
            except EtlError as exc:
                failed = refused(exc)
                return _json(failed.to_json(), failed.status)
            status, data = result if isinstance(result, tuple) else (200, result)
            return _json(data, status)

        return endpoint

    routes: list[BaseRoute] = [
        Route("/", index),
        Route("/api/project", answer(lambda request: studio.project())),
        Route("/api/plugins", answer(lambda request: studio.plugins())),
        Route(
            "/api/pipeline",
            answer(lambda request: studio.pipeline(request.query_params.get("file"), request.query_params.get("env"))),
        ),
        Route("/api/pipeline/check", answer(studio.check, with_body=True), methods=["POST"]),
        Route("/api/pipeline/save", answer(studio.save, with_body=True), methods=["POST"]),
        Route("/api/pipeline/new", answer(studio.new_pipeline, with_body=True), methods=["POST"]),
        Route("/api/inspect", answer(studio.inspect, with_body=True), methods=["POST"]),
        Route("/api/run", answer(studio.start_run, with_body=True), methods=["POST"]),
        Route("/api/run/{run_id}", answer(lambda request: studio.run_status(request.path_params["run_id"]))),
    ]
    if static_dir.is_dir():
        routes.append(Mount("/static", app=StaticFiles(directory=static_dir), name="static"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await run_in_threadpool(studio.close)

    return TokenGate(Starlette(routes=routes, lifespan=lifespan), token)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise StudioError(400, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise StudioError(400, "the request body must be a JSON object")
    return body


def _json(data: Any, status: int = 200) -> Response:
    response = JSONResponse(data, status)
    response.headers["cache-control"] = "no-store"
    return response


def _secured(response: Response) -> Response:
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    response.headers["referrer-policy"] = "no-referrer"  # the token is in the page's URL
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["cache-control"] = "no-store"
    return response


def bind(port: int) -> socket.socket:
    """A listening socket on loopback (port 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url(sock: socket.socket, token: str) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}/?token={token}"


def serve(studio: Studio, sock: socket.socket, token: str) -> None:
    """Serve until interrupted (Ctrl+C); the engine and the runs still going are stopped on the way out."""
    import uvicorn

    config = uvicorn.Config(create_app(studio, token), log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
