"""The ``monitoring:`` endpoint: its settings from YAML and ``--monitoring-port``, what /healthz and /readyz
answer, and the real HTTP server on loopback (queried with urllib) over a stand-in for the Spark session.

The stand-in has only what the endpoint reads of a session: ``is_stopped`` (as Spark Connect sessions
have it) and ``streams.active``, queries with a ``name`` and a ``lastProgress``.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from etl_cli import app
from etl_cli.errors import ConfigError, UsageError
from etl_cli.events import Reporter
from etl_cli.model.monitoring import MonitoringSpec
from etl_cli.runtime.bookkeeping.endpoint import MonitoringEndpoint, RunView, health, readiness
from etl_cli.runtime.bookkeeping.results import RunResults
from tests.clihelp import REPO, etl_cli

from .helpers import make_project

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()


@dataclass
class Query:
    name: str
    lastProgress: dict[str, Any] | None


@dataclass
class Streams:
    active: list[Query] = field(default_factory=list)


@dataclass
class Session:
    is_stopped: bool = False
    streams: Streams = field(default_factory=Streams)


def progress(name: str, seconds_ago: float, now: float = NOW, **more: Any) -> dict[str, Any]:
    reported = datetime.fromtimestamp(now - seconds_ago, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"name": name, "id": f"id-{name}", "batchId": 3, "numInputRows": 5, "timestamp": reported, **more}


def view(*queries: Query, expected: tuple[str, ...] = ("out",), breakers: dict[str, Any] | None = None) -> RunView:
    results = RunResults("r1", "clicks", "prod", "p.yaml", started_at="2026-12-01T11:00:00.000+00:00")
    found = RunView(results, expected)
    found.watch(Session(streams=Streams(list(queries))), lambda: breakers or {})
    return found


class Messages(Reporter):
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def message(self, level: str, text: str) -> None:
        self.lines.append((level, text))


# --------------------------------------------------------------------------- /healthz


def test_healthz_is_ok_while_the_session_is_alive() -> None:
    status, body = health(view())
    assert (status, body["status"], body["spark"]) == (200, "ok", "alive")
    assert (body["pipeline"], body["env"], body["run_id"]) == ("clicks", "prod", "r1")


def test_healthz_is_ok_while_the_session_is_still_starting() -> None:
    results = RunResults("r1", "clicks", None, "p.yaml", started_at="2026-12-01T11:00:00.000+00:00")
    status, body = health(RunView(results))
    assert (status, body["spark"]) == (200, "starting")


def test_healthz_fails_once_the_session_has_stopped() -> None:
    stopped = view()
    stopped.session.is_stopped = True
    status, body = health(stopped)
    assert (status, body["status"], body["spark"]) == (503, "failing", "stopped")


# --------------------------------------------------------------------------- /readyz


def test_readyz_is_ready_when_every_query_runs_with_recent_progress() -> None:
    status, body = readiness(view(Query("out", progress("out", 30))), max_age_s=120, now=NOW)
    assert (status, body["status"], body["reasons"]) == (200, "ready", [])
    assert body["queries"] == [{"name": "out", "active": True, "last_progress_age_s": 30.0}]


def test_readyz_names_a_query_whose_last_progress_is_too_old() -> None:
    status, body = readiness(view(Query("out", progress("out", 300))), max_age_s=120, now=NOW)
    assert status == 503
    assert body["reasons"] == ["streaming query out: last progress 300 s ago (limit 120 s)"]


def test_readyz_names_a_query_of_the_pipeline_that_is_not_running() -> None:
    running = view(Query("a", progress("a", 1)), expected=("a", "b"))
    status, body = readiness(running, max_age_s=120, now=NOW)
    assert (status, body["reasons"]) == (503, ["streaming query b is not running"])


def test_readyz_names_a_query_that_has_not_reported_progress_yet() -> None:
    status, body = readiness(view(Query("out", None)), max_age_s=120, now=NOW)
    assert (status, body["reasons"]) == (503, ["streaming query out has not reported progress yet"])


def test_readyz_names_an_open_circuit_breaker() -> None:
    breakers = {"jdbc:db:5432": {"state": "open"}, "kafka:b:9092": {"state": "closed"}}
    status, body = readiness(view(Query("out", progress("out", 1)), breakers=breakers), max_age_s=120, now=NOW)
    assert (status, body["reasons"]) == (503, ["the circuit breaker of jdbc:db:5432 is open"])
    assert body["circuit_breakers"] == {"jdbc:db:5432": "open", "kafka:b:9092": "closed"}


def test_readyz_is_not_ready_before_the_session_has_started() -> None:
    results = RunResults("r1", "clicks", None, "p.yaml", started_at="2026-12-01T11:00:00.000+00:00")
    status, body = readiness(RunView(results, ("out",)), max_age_s=120, now=NOW)
    assert (status, body["reasons"]) == (503, ["the Spark session is starting"])


def test_a_batch_run_is_ready_while_its_session_is_up_and_no_breaker_is_open() -> None:
    status, body = readiness(view(expected=()), max_age_s=120, now=NOW)
    assert (status, body["queries"]) == (200, [])


# --------------------------------------------------------------------------- the HTTP server


@pytest.fixture
def served() -> Iterator[tuple[str, RunView, Messages]]:
    running = view(Query("out", progress("out", 0, now=time.time())))
    running.labels = {"team": "web"}
    messages = Messages()
    with MonitoringEndpoint(MonitoringSpec(enabled=True), running, messages) as endpoint:
        yield endpoint.url, running, messages


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_the_endpoint_serves_the_run_and_stream_metrics_with_the_run_labels(served: Any) -> None:
    url, _, _ = served
    status, content_type, text = get(f"{url}/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    labels = 'env="prod",pipeline="clicks",team="web"'
    assert f"etl_run_started_timestamp_seconds{{{labels}}} {NOW - 3600:.7e}" in text
    streamed = 'env="prod",pipeline="clicks",sink="out",team="web"'  # the text format sorts the labels
    assert f"etl_stream_input_rows{{{streamed}}} 5.0" in text
    assert f"etl_stream_query_active{{{streamed}}} 1.0" in text


def test_the_endpoint_answers_the_probes_with_json(served: Any) -> None:
    url, _, _ = served
    status, content_type, text = get(f"{url}/healthz")
    assert (status, content_type, json.loads(text)["spark"]) == (200, "application/json", "alive")
    status, _, text = get(f"{url}/readyz")
    assert (status, json.loads(text)["status"]) == (200, "ready")


def test_the_endpoint_answers_503_with_the_reasons_when_not_ready(served: Any) -> None:
    url, running, _ = served
    running.session.streams.active.clear()
    status, _, text = get(f"{url}/readyz")
    assert (status, json.loads(text)["reasons"]) == (503, ["streaming query out is not running"])


def test_any_other_path_is_not_found(served: Any) -> None:
    url, _, _ = served
    assert get(f"{url}/")[0] == 404
    assert get(f"{url}/metrics/x")[0] == 404


def test_the_endpoint_says_where_it_listens(served: Any) -> None:
    url, _, messages = served
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert messages.lines == [("info", f"monitoring endpoint: {url} (/metrics, /healthz, /readyz)")]


def test_the_endpoint_stops_listening_when_the_run_ends() -> None:
    with MonitoringEndpoint(MonitoringSpec(enabled=True), view(), Messages()) as endpoint:
        url = endpoint.url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/healthz", timeout=5)


# --------------------------------------------------------------------------- settings and bind errors


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


BATCH = """
sources: [{name: a, type: csv, path: a.csv}]
sinks: [{name: out, type: parquet, input: a, path: out}]
"""


def spec_of(tmp_path: Path, extra: str = "", sets: tuple[str, ...] = ()) -> Any:
    make_project(tmp_path, {"p/pipeline.yaml": BATCH + extra})
    return app.load_spec(tmp_path / "p", None, sets, environ={})[1]


def test_a_batch_pipeline_serves_no_endpoint_unless_asked(tmp_path: Path) -> None:
    assert spec_of(tmp_path).monitoring == MonitoringSpec(enabled=False)


def test_the_streaming_example_serves_the_endpoint_on_a_free_loopback_port() -> None:
    _, spec = app.load_spec(REPO / "pipelines" / "kafka_to_files_streaming", None, environ={})
    assert (spec.monitoring.enabled, spec.monitoring.host, spec.monitoring.port) == (True, "127.0.0.1", 0)


def test_a_port_in_use_fails_naming_the_line_that_set_it(tmp_path: Path, taken_port: int) -> None:
    spec = spec_of(tmp_path, f"monitoring:\n  enabled: true\n  port: {taken_port}\n")
    with pytest.raises(ConfigError) as caught:
        MonitoringEndpoint(spec.monitoring, view(), Messages())
    error = caught.value
    assert str(error.location) == f"{tmp_path / 'p' / 'pipeline.yaml'}:5:9"
    assert f"cannot listen on 127.0.0.1:{taken_port}" in error.message
    assert error.hint is not None and "monitoring.port" in error.hint


def test_a_port_in_use_given_on_the_command_line_names_the_option(taken_port: int) -> None:
    with pytest.raises(UsageError) as caught:
        MonitoringEndpoint(MonitoringSpec().on_port(taken_port), view(), Messages())
    assert caught.value.message.startswith(f"--monitoring-port {taken_port}: ")


def test_a_port_out_of_range_is_refused_by_validate(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": BATCH + "monitoring: {port: 70000}\n"})
    [report] = app.validate([tmp_path / "p"])
    errors = [d for d in report.diagnostics if d.severity == "error"]
    assert [(d.location.line if d.location else None, "70000" in d.message) for d in errors] == [(3, True)]


# --------------------------------------------------------------------------- etl-cli run


def test_run_with_a_taken_monitoring_port_fails_before_spark_starts(tmp_path: Path, taken_port: int) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": BATCH})
    results = tmp_path / "results"
    ran = etl_cli("run", str(tmp_path / "p"), "--monitoring-port", str(taken_port), "--results-dir", str(results))
    assert ran.returncode == 2, ran.stderr
    assert f"--monitoring-port {taken_port}: the monitoring endpoint cannot listen on 127.0.0.1:{taken_port}" in (
        ran.stderr
    )
    recorded = json.loads((results / "latest.json").read_text())
    assert (recorded["status"], recorded["spark_version"]) == ("failed", None), "no Spark session was started"


def test_run_refuses_a_monitoring_port_out_of_range(tmp_path: Path) -> None:
    ran = etl_cli("run", str(tmp_path / "p"), "--monitoring-port", "65536")
    assert ran.returncode == 2
    assert "--monitoring-port" in ran.stderr
