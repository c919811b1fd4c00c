"""The live endpoint of a running pipeline (``monitoring:``): ``/metrics``, ``/healthz`` and ``/readyz`` over HTTP.

A streaming run lasts for months, and a batch run for hours: Prometheus scrapes them while they
go on, and an orchestrator (Kubernetes probes) asks whether they are alive and doing their work.
The server is the standard library's, on daemon threads, bound before Spark starts (a port that
is taken fails the run at once, not after a minute of JVM start-up) and closed when the run ends.
Every answer reads the run's state at that moment; nothing is cached.

- ``/metrics``: the run's metrics so far (bookkeeping/metrics.py, the same families the exporters
  push) with the live streaming metrics of each running query, in Prometheus' text format.
- ``/healthz``: 200 while the process answers and the Spark session is alive or still starting;
  503 once the session has stopped.
- ``/readyz``: 200 when the session is up, every streaming query of the pipeline is active and
  reported progress within ``ready_max_age_s``, and no circuit breaker is open; 503 otherwise,
  the JSON naming each reason.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from etl_cli.errors import ConfigError, EtlError, UsageError
from etl_cli.events import Reporter
from etl_cli.model.monitoring import PORT_OPTION, MonitoringSpec
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.runtime.bookkeeping.metrics import RunMetrics, progress_json, spark_time
from etl_cli.runtime.bookkeeping.results import RunResults

PATHS = ("/metrics", "/healthz", "/readyz")


@dataclass
class RunView:
    """What the endpoint reads of the run while it goes on; the run fills it in as it gets there."""

    results: RunResults
    #: the streaming queries the pipeline runs (its sinks' names); empty for a batch run
    queries: tuple[str, ...] = ()
    #: labels every sample carries besides ``pipeline`` and ``env`` (the ``metrics:`` block's ``labels``)
    labels: Mapping[str, str] = field(default_factory=dict)
    #: the run's Spark session, once started
    session: Any = None
    #: the run's circuit breakers so far (``Resilience.metrics``), once its stages run
    resilience: Callable[[], Mapping[str, Any]] | None = None

    def watch(self, session: Any, resilience: Callable[[], Mapping[str, Any]]) -> None:
        """The run's stages are about to run on ``session``, their circuit breakers reported by ``resilience``."""
        self.session, self.resilience = session, resilience

    def progresses(self) -> list[dict[str, Any]]:
        """The last progress report of each active streaming query (Spark's JSON)."""
        if self.session is None:
            return []
        return [progress_json(q.lastProgress) for q in self.session.streams.active if q.lastProgress]

    def breakers(self) -> Mapping[str, Any]:
        """Per external endpoint: counters and circuit state, live while the stages run, else as recorded."""
        return (self.resilience() if self.resilience is not None else None) or self.results.resilience or {}

    def metrics_text(self) -> bytes:
        from prometheus_client import generate_latest

        results = self.results
        if results.resilience is None and self.breakers():
            results = replace(results, resilience=dict(self.breakers()))
        snapshot = RunMetrics(results, self.progresses())
        return bytes(generate_latest(snapshot.registry({**snapshot.identity, **self.labels})))


def run_view(spec: PipelineSpec, results: RunResults) -> RunView:
    """The view of a run of ``spec``: its streaming queries (one per sink), its ``metrics:`` labels."""
    labels = dict(spec.metrics.options.get("labels") or {}) if spec.metrics is not None else {}
    queries = tuple(s.name for s in spec.sinks) if spec.streaming is not None else ()
    return RunView(results, queries, {str(k): str(v) for k, v in labels.items()})


def spark_state(session: Any) -> str:
    """``starting`` (no session yet), ``alive`` or ``stopped``; a session that cannot answer counts as stopped."""
    if session is None:
        return "starting"
    try:
        stopped = getattr(session, "is_stopped", None)  # Spark Connect
        if not isinstance(stopped, bool):
            stopped = bool(session.sparkContext._jsc.sc().isStopped())
    except Exception:
        return "stopped"
    return "stopped" if stopped else "alive"


def health(view: RunView) -> tuple[int, dict[str, Any]]:
    """``/healthz``: alive unless the Spark session has stopped (a session still starting is not a failure)."""
    spark = spark_state(view.session)
    body = {"status": "ok" if spark != "stopped" else "failing", "spark": spark, **_identity(view.results)}
    return (503 if spark == "stopped" else 200), body


def readiness(view: RunView, max_age_s: float, now: float | None = None) -> tuple[int, dict[str, Any]]:
    """``/readyz``: every reason the run is not doing its work now; ready when there is none."""
    now = time.time() if now is None else now
    spark = spark_state(view.session)
    reasons = [] if spark == "alive" else [f"the Spark session is {spark}"]
    queries = _query_states(view, now) if spark == "alive" else []
    for query in queries:
        if not query["active"]:
            reasons.append(f"streaming query {query['name']} is not running")
        elif query["last_progress_age_s"] is None:
            reasons.append(f"streaming query {query['name']} has not reported progress yet")
        elif query["last_progress_age_s"] > max_age_s:
            age = query["last_progress_age_s"]
            reasons.append(f"streaming query {query['name']}: last progress {age:.0f} s ago (limit {max_age_s:g} s)")
    breakers = {name: values.get("state") for name, values in view.breakers().items()}
    reasons += [f"the circuit breaker of {name} is open" for name, state in breakers.items() if state == "open"]
    body = {
        "status": "not ready" if reasons else "ready",
        "reasons": reasons,
        "spark": spark,
        "queries": queries,
        "circuit_breakers": breakers,
        "ready_max_age_s": max_age_s,
        **_identity(view.results),
    }
    return (503 if reasons else 200), body


def _query_states(view: RunView, now: float) -> list[dict[str, Any]]:
    """Each of the pipeline's queries: running or not, and the age of its last progress report."""
    running = {q.name: q for q in view.session.streams.active}
    states = []
    for name in view.queries:
        query = running.get(name)
        progress = progress_json(query.lastProgress) if query is not None and query.lastProgress else {}
        reported = spark_time(progress.get("timestamp"))
        age = None if reported is None else round(now - reported, 3)
        states.append({"name": name, "active": query is not None, "last_progress_age_s": age})
    return states


def _identity(results: RunResults) -> dict[str, Any]:
    return {"pipeline": results.pipeline, "env": results.env, "run_id": results.run_id}


class MonitoringEndpoint:
    """The endpoint's HTTP server: bound when made, serving from a daemon thread inside ``with``."""

    def __init__(self, spec: MonitoringSpec, view: RunView, reporter: Reporter):
        self.spec, self.view, self.reporter = spec, view, reporter
        self.server = _bind(spec, self)
        host, port = self.server.server_address[:2]
        self.url = f"http://{_url_host(str(host))}:{port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.1,), name="etl-monitoring", daemon=True
        )

    def __enter__(self) -> MonitoringEndpoint:
        self._thread.start()
        self.reporter.message("info", f"monitoring endpoint: {self.url} ({', '.join(PATHS)})")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def summary(self) -> dict[str, Any]:
        """The run results' ``monitoring`` field."""
        port = self.server.server_address[1]
        return {"url": self.url, "host": self.spec.host, "port": port, "paths": list(PATHS)}

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for a GET of ``path``."""
        route = path.split("?", 1)[0]
        if route == "/metrics":
            from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4  # what every Prometheus 2 parses

            return 200, CONTENT_TYPE_PLAIN_0_0_4, self.view.metrics_text()
        if route == "/healthz":
            return _json(*health(self.view))
        if route == "/readyz":
            return _json(*readiness(self.view, self.spec.ready_max_age_s))
        return _json(404, {"error": f"not found: {route}", "paths": list(PATHS)})


def _json(status: int, body: Mapping[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", (json.dumps(body, indent=2) + "\n").encode()


class _Handler(BaseHTTPRequestHandler):
    endpoint: MonitoringEndpoint

    def do_GET(self) -> None:
        try:
            status, content_type, body = self.endpoint.answer(self.path)
        except Exception as exc:  # a scrape that fails must not take the run down; say why instead
            status, content_type, body = _json(500, {"error": f"{type(exc).__name__}: {exc}"})
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: probes every few seconds would drown the run's own log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def _bind(spec: MonitoringSpec, endpoint: MonitoringEndpoint) -> ThreadingHTTPServer:
    """The server, listening; a host or port that cannot be used is an error naming the setting and the fix."""
    handler = type("Handler", (_Handler,), {"endpoint": endpoint})
    server_class = _Server6 if ":" in spec.host else _Server
    try:
        return server_class((spec.host, spec.port), handler)
    except OSError as exc:
        raise _bind_error(spec, exc) from exc


def _bind_error(spec: MonitoringSpec, exc: OSError) -> EtlError:
    what = f"cannot listen on {spec.host}:{spec.port} ({exc.strerror or exc})"
    if spec.origin == PORT_OPTION:
        message = f"{PORT_OPTION} {spec.port}: the monitoring endpoint {what}"
        return UsageError(message, hint=f"choose a free port, or {PORT_OPTION} 0")
    hint = (
        "choose a free port (monitoring.port; 0 lets the system pick one), stop what listens on it, "
        "or set monitoring.host to an address of this machine; monitoring.enabled: false turns the endpoint off"
    )
    return ConfigError(f"monitoring: the endpoint {what}", location=spec.location, hint=hint)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
