"""The studio's API tests: a small project written by hand, and the studio served by uvicorn on a free port.

Requests go over real HTTP (urllib) to the app in a thread of the test process.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = """\
name: shop
default_env: dev
environments:
  dev: {}
  prod: {}
"""

TEMPLATE = """\
# Base: read a CSV file, write Parquet.
description: CSV to Parquet

sources:
  - name: raw
    type: csv
    path: data/orders.csv   # the template's input
    schema:
      id: INT
      status: STRING
      email: STRING
    sensitive: [email]

sinks:
  - name: out
    type: parquet
    input: raw
    path: output/orders
    mode: overwrite
"""

PIPELINE = """\
# Orders: the paid ones.
name: orders
extends: base

transforms:
    # keep paid orders only
    -   name: paid
        type: filter
        inputs: [raw]
        condition: "status = 'paid'"   # quoted on purpose

sinks:
    -   name: out
        input: paid
"""

PROD = """\
# prod writes elsewhere
sinks:
  - name: out
    path: /srv/out/orders  # set by ops
"""

ORDERS_CSV = "id,status,email\n1,paid,a@example.com\n2,open,b@example.com\n3,paid,c@example.com\n"


def write_project(root: Path) -> Path:
    """The project: a template, a pipeline extending it (4-space indents, on purpose), a prod overlay, data."""
    (root / "templates").mkdir(parents=True)
    (root / "pipelines" / "orders" / "env").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "etl-project.yaml").write_text(PROJECT, encoding="utf-8")
    (root / "templates" / "base.yaml").write_text(TEMPLATE, encoding="utf-8")
    (root / "pipelines" / "orders" / "pipeline.yaml").write_text(PIPELINE, encoding="utf-8")
    (root / "pipelines" / "orders" / "env" / "prod.yaml").write_text(PROD, encoding="utf-8")
    (root / "data" / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    return root


FILE = "pipelines/orders/pipeline.yaml"


@dataclass
class Client:
    base: str
    token: str | None

    def request(self, method: str, path: str, body: Any = None, token: str | None = "default") -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        chosen = self.token if token == "default" else token
        if chosen is not None:
            request.add_header("X-Studio-Token", chosen)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return response.status, _decoded(response.read(), response.headers.get_content_type())
        except urllib.error.HTTPError as failed:
            return failed.code, _decoded(failed.read(), failed.headers.get_content_type())

    def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        return self.request("POST", path, body, **kwargs)


def _decoded(raw: bytes, content_type: str) -> Any:
    return json.loads(raw) if content_type == "application/json" else raw.decode()


@contextmanager
def served(root: Path, static_dir: Path | None = None) -> Iterator[tuple[Client, Any]]:
    """The studio of ``root`` on a free loopback port, in a thread; yields a client with the token and the Studio."""
    import uvicorn

    from etl_cli.studio.api import Studio
    from etl_cli.studio.server import STATIC_DIR, bind, create_app, new_token

    studio = Studio(root)
    token = new_token()
    sock = bind(0)
    port = sock.getsockname()[1]
    app = create_app(studio, token, static_dir or STATIC_DIR)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the studio did not start"
        time.sleep(0.02)
    try:
        yield Client(f"http://127.0.0.1:{port}", token), studio
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
