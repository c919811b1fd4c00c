"""A real Prometheus (and Alertmanager) for one test: its own config, data folder and free port on loopback.

Prometheus' configuration names what it scrapes and which rule files it evaluates, both of which
depend on the test, so each test starts its own server (about a second) instead of sharing one from
scripts/services.sh. The binaries are Debian's `prometheus` and `prometheus-alertmanager`, installed
by scripts/test-tools.sh; without them the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROMETHEUS = os.environ.get("ETL_PROMETHEUS_BIN", "prometheus")
ALERTMANAGER = os.environ.get("ETL_ALERTMANAGER_BIN", "prometheus-alertmanager")
PROMTOOL = os.environ.get("ETL_PROMTOOL_BIN", "promtool")
READY_TIMEOUT_S = 60.0


def require(binary: str) -> str:
    """The binary's path; the test skips without it (fails under CI, where scripts/test-tools.sh installs it)."""
    found = shutil.which(binary)
    if found is None:
        message = f"{binary} is not installed (Debian: scripts/test-tools.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class Server:
    """A started server: its base URL, its log file, and its process."""

    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Prometheus(Server):
    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector (or scalar as one sample) ``expr`` evaluates to now."""
        body = get_json(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert body["status"] == "success", body
        data = body["data"]
        if data["resultType"] in ("vector", "matrix"):
            return list(data["result"])
        return [{"metric": {}, "value": data["result"]}]

    def wait_for(
        self, expr: str, accept: Callable[[list[dict[str, Any]]], bool] = bool, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        """Query ``expr`` until ``accept`` takes its result; fails with the last result and the log tail."""
        deadline, result = time.monotonic() + timeout, []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if accept(result):
                return result
            time.sleep(0.5)
        raise AssertionError(f"{expr} gave {result} after {timeout}s; prometheus log:\n{self.log_text()[-3000:]}")

    def alerts(self) -> list[dict[str, Any]]:
        return list(get_json(f"{self.url}/api/v1/alerts")["data"]["alerts"])


def _wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"{server.url} exited with {server.process.returncode}:\n{server.log_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + path, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{server.url} not ready after {READY_TIMEOUT_S}s:\n{server.log_text()[-3000:]}")


@contextmanager
def _process(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def prometheus(folder: Path, config: str, rule_files: dict[str, str] | None = None) -> Iterator[Prometheus]:
    """Prometheus with ``config`` (YAML text) and ``rule_files`` (name -> YAML text) written into ``folder``.

    The config may name the rule files by their bare names: Prometheus resolves them against the
    config file's folder.
    """
    binary = require(PROMETHEUS)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (rule_files or {}).items():
        (folder / name).write_text(text)
    (folder / "prometheus.yml").write_text(config)
    port = free_port()
    command = [
        binary,
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
    ]
    log = folder / "prometheus.log"
    with _process(command, log) as process:
        server = Prometheus(f"http://127.0.0.1:{port}", log, process)
        _wait_ready(server, "/-/ready")
        yield server


@contextmanager
def alertmanager(folder: Path, config: str) -> Iterator[Server]:
    """Alertmanager with ``config`` (YAML text), alone in its cluster (no gossip port)."""
    binary = require(ALERTMANAGER)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alertmanager.yml").write_text(config)
    port = free_port()
    command = [
        binary,
        f"--config.file={folder / 'alertmanager.yml'}",
        f"--storage.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    log = folder / "alertmanager.log"
    with _process(command, log) as process:
        server = Server(f"http://127.0.0.1:{port}", log, process)
        _wait_ready(server, "/-/ready")
        yield server
