"""A real OpenTelemetry Collector for the tracing tests: OTLP/HTTP in on loopback, every span out to a file.

The collector is built from tests/integration/otelcol (the collector's own OTLP receiver and the
contrib file exporter, every module pinned by go.sum) with ``go build`` through the Go module proxy,
once per source version, into ``~/.cache/etl-cli/otelcol`` (``ETL_OTELCOL_CACHE``). A cold build,
modules downloaded and compiled from nothing, took 76-82 s on the project's two-core machine. Without
``go`` the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.promstack import free_port

SOURCE = Path(__file__).with_name("otelcol")
CACHE = Path(os.environ.get("ETL_OTELCOL_CACHE") or Path.home() / ".cache" / "etl-cli" / "otelcol")
BUILD_TIMEOUT_S = 900
READY_TIMEOUT_S = 60.0


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def collector_binary() -> Path:
    """The collector built from :data:`SOURCE` (built now if this version of the source never was)."""
    go = shutil.which("go")
    if go is None:
        _unavailable("go is not installed: the tracing tests build their OpenTelemetry Collector with it")
    assert go is not None
    digest = hashlib.sha256(b"".join((SOURCE / n).read_bytes() for n in ("main.go", "go.mod", "go.sum"))).hexdigest()
    binary = CACHE / f"otelcol-etl-test-{digest[:12]}"
    if binary.exists():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(f".{os.getpid()}.tmp")
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    done = subprocess.run(
        [go, "build", "-trimpath", "-o", str(partial), "."],
        cwd=SOURCE,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    if done.returncode != 0:
        _unavailable(f"building the OpenTelemetry Collector failed:\n{done.stderr[-3000:]}")
    os.replace(partial, binary)  # atomic: a concurrent build of the same source writes the same file
    return binary


@dataclass
class Span:
    """One received span, attributes decoded from OTLP JSON."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status: dict[str, Any] = field(default_factory=dict)
    #: Unix time in nanoseconds
    start_time: int = 0
    end_time: int = 0


@dataclass
class Collector:
    """A running collector: the OTLP/HTTP base URL to export to, and what it wrote."""

    url: str
    output: Path
    log: Path
    process: subprocess.Popen[bytes]

    def raw(self) -> str:
        return self.output.read_text() if self.output.exists() else ""

    def spans(self) -> list[Span]:
        found = []
        for line in self.raw().splitlines():
            for resource_spans in json.loads(line).get("resourceSpans", []):
                resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
                for scope in resource_spans.get("scopeSpans", []):
                    found += [_span(span, resource) for span in scope.get("spans", [])]
        return found

    def wait_for(self, name: str, run_id: str, timeout: float = 30.0) -> list[Span]:
        """The spans of run ``run_id`` (their resource's ``etl.run_id``), once one named ``name`` is among them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = [span for span in self.spans() if span.resource.get("etl.run_id") == run_id]
            if any(span.name == name for span in spans):
                return spans
            time.sleep(0.2)
        raise AssertionError(f"no span {name} after {timeout}s; collector log:\n{self.log.read_text()[-3000:]}")


def _span(span: dict[str, Any], resource: dict[str, Any]) -> Span:
    return Span(
        span["name"],
        span["traceId"],
        span["spanId"],
        span.get("parentSpanId", ""),
        _attributes(span.get("attributes", [])),
        resource,
        span.get("status", {}),
        int(span.get("startTimeUnixNano", 0)),
        int(span.get("endTimeUnixNano", 0)),
    )


def _attributes(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    return {pair["key"]: _value(pair["value"]) for pair in pairs}


def _value(value: dict[str, Any]) -> Any:
    if "intValue" in value:
        return int(value["intValue"])  # 64-bit integers are strings in OTLP JSON
    for kind in ("stringValue", "doubleValue", "boolValue"):
        if kind in value:
            return value[kind]
    return value


CONFIG = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
exporters:
  file:
    path: {output}
    flush_interval: 100ms
service:
  telemetry:
    logs: {{level: warn}}
    metrics: {{level: none}}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
"""


@contextmanager
def collector(folder: Path) -> Iterator[Collector]:
    """A collector of its own for one test module, on a free loopback port, stopped afterwards."""
    binary = collector_binary()
    folder.mkdir(parents=True, exist_ok=True)
    port, output, log = free_port(), folder / "spans.jsonl", folder / "collector.log"
    (folder / "config.yaml").write_text(CONFIG.format(port=port, output=output))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), "--config", str(folder / "config.yaml")],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait_listening(port, process, log)
        yield Collector(f"http://127.0.0.1:{port}", output, log, process)
    finally:
        process.terminate()
        process.wait(timeout=15)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the collector exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"the collector did not listen on {port} within {READY_TIMEOUT_S}s:\n{log.read_text()}")
