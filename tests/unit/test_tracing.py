"""Tracing (docs/observability.md#traces): off and free by default, where spans go, what a span records.

The spans themselves are checked here with the SDK's in-memory exporter; the OTLP export to a real
receiver is tests/integration/test_tracing_otlp.py.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from etl_cli import tracing
from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.errors import ConfigError, Location
from etl_cli.events import Reporter, StageResult
from etl_cli.model.check import check_pipeline
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.tracing import TracingSpec
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.sinks.staging import OneShotWrite
from etl_cli.runtime.bookkeeping.results import RunResults
from etl_cli.runtime.bookkeeping.tracing_setup import RunTrace, StageSpans, trace_target

from .helpers import make_project
from .tracinghelp import recording

PIPELINE = """
name: traced
sources:
  - {name: a, type: csv, path: a.csv}
sinks:
  - {name: out, type: parquet, input: a, path: out}
"""
SECRET = "s3cr3t-value-never-in-a-span"


def spec_of(root: Path, extra: str = "") -> PipelineSpec:
    make_project(root, {"p/pipeline.yaml": PIPELINE + extra})
    spec, diagnostics = check_pipeline(load_pipeline(root / "p", None, environ={}), registry())
    assert spec is not None, diagnostics
    return spec


def mask(text: str) -> str:
    return text.replace(SECRET, "********")


# --------------------------------------------------------------------------- off: no cost


def test_a_span_while_tracing_is_off_is_one_shared_object_that_records_nothing() -> None:
    assert not tracing.enabled()
    with tracing.span("jdbc.statement", table="t") as first, tracing.span("secret.read") as second:
        first.set("rows", 3)
    assert first is second
    assert tracing.trace_id() is None


def test_a_run_without_tracing_never_imports_opentelemetry(tmp_path: Path) -> None:
    """The run's whole code path (CLI, runtime, plug-ins, secrets) and its spans, in a fresh interpreter."""
    code = (
        "import sys\n"
        "import etl_cli.cli.main, etl_cli.runtime.execution.run, etl_cli.plugins.builtin\n"
        "from etl_cli import tracing\n"
        "from etl_cli.runtime.bookkeeping.tracing_setup import RunTrace, StageSpans\n"
        "with tracing.span('x', a=1) as span:\n"
        "    span.set('b', 2)\n"
        "with StageSpans().active(None):\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert done.stdout.strip() == "[]"


def test_a_pipeline_without_tracing_starts_no_trace(tmp_path: Path) -> None:
    trace = RunTrace.start(spec_of(tmp_path), "r1", lambda v: v, mask, environ={})
    assert trace.span is None and not tracing.enabled()
    assert trace.finish(RunResults("r1", "traced", None, "p.yaml", "t0"), Reporter()) is None


# --------------------------------------------------------------------------- where spans go


def test_the_pipelines_endpoint_wins_over_the_environment() -> None:
    spec = TracingSpec(endpoint="http://collector:4318/")
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x"}
    target = trace_target(spec, environ)
    assert target is not None
    assert (target.url, target.source) == ("http://collector:4318/v1/traces", "tracing.endpoint")


def test_the_traces_variable_is_the_full_url_and_wins_over_the_base_one() -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/x"}
    target = trace_target(None, environ)
    assert target is not None
    assert (target.url, target.source) == ("http://t/x", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def test_the_base_variable_alone_turns_tracing_on_with_the_traces_path() -> None:
    target = trace_target(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318"})
    assert target is not None
    assert (target.url, target.service_name) == ("http://base:4318/v1/traces", "etl-cli")


def test_enabled_false_turns_tracing_off_whatever_the_environment_says() -> None:
    assert trace_target(TracingSpec(enabled=False), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318"}) is None


def test_no_block_and_no_variable_is_no_tracing() -> None:
    assert trace_target(None, {"TRACEPARENT": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}) is None


def test_a_block_with_no_endpoint_anywhere_is_a_config_error_at_the_block() -> None:
    where = Location("p/pipeline.yaml", 7, 1)
    with pytest.raises(ConfigError) as raised:
        trace_target(TracingSpec(location=where), {})
    assert raised.value.location == where
    assert "tracing.endpoint" in (raised.value.hint or "")


def test_the_tracing_block_is_read_from_the_pipeline(tmp_path: Path) -> None:
    extra = "tracing: {endpoint: 'http://127.0.0.1:4318', service_name: etl-nightly, timeout_s: 2}\n"
    spec = spec_of(tmp_path, extra).tracing
    assert spec is not None
    assert (spec.endpoint, spec.service_name, spec.timeout_s, spec.enabled) == (
        "http://127.0.0.1:4318",
        "etl-nightly",
        2.0,
        True,
    )
    assert spec.location is not None and spec.location.line == 6


def test_a_header_may_hold_a_secret_reference_resolved_at_run_time(tmp_path: Path) -> None:
    extra = 'tracing: {endpoint: "http://127.0.0.1:4318", headers: {Authorization: "Bearer ${secret:env:T}"}}\n'
    spec = spec_of(tmp_path, extra).tracing
    assert spec is not None and spec.headers == {"Authorization": "Bearer ${secret:env:T}"}


def test_a_secret_reference_elsewhere_in_the_tracing_block_is_refused(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE + 'tracing: {service_name: "${secret:env:T}"}\n'})
    spec, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    assert spec is None
    assert [d.code for d in diagnostics if d.severity == "error"] == ["secret-placement"]


def test_validate_warns_about_a_tracing_block_without_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("opentelemetry.sdk", "opentelemetry.sdk.trace"):
        monkeypatch.setitem(sys.modules, module, None)
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE + "tracing: {endpoint: 'http://127.0.0.1:4318'}\n"})
    spec, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    [missing] = [d for d in diagnostics if d.code == "missing-extra"]
    assert spec is not None and missing.severity == "warning"
    assert "pip install 'etl-cli[tracing]'" in (missing.hint or "")


def test_without_the_extra_a_traced_run_stops_at_its_start_naming_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_of(tmp_path, "tracing: {endpoint: 'http://127.0.0.1:4318'}\n")
    for module in ("opentelemetry.sdk", "opentelemetry.sdk.trace"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError) as raised:
        RunTrace.start(spec, "r1", lambda v: v, mask, environ={})
    assert "pip install 'etl-cli[tracing]'" in (raised.value.hint or "")
    assert raised.value.location is not None and raised.value.location.line == 6
    assert not tracing.enabled()


# --------------------------------------------------------------------------- what a span records


def test_a_span_is_the_child_of_the_current_one_with_its_attributes() -> None:
    with recording() as rec:
        with tracing.span("sink.commit", target="out") as outer, tracing.span("jdbc.statement", rows=None):
            outer.set("rows", 3)
        commit, statement = rec.named("sink.commit"), rec.named("jdbc.statement")
    assert statement.parent.span_id == commit.context.span_id
    assert commit.parent.span_id == rec.root_span.get_span_context().span_id
    assert dict(commit.attributes) == {"target": "out", "rows": 3}
    assert dict(statement.attributes) == {}  # None: left out


def test_a_span_opened_in_a_thread_with_no_span_hangs_under_the_run() -> None:
    """Spark calls foreachBatch writers on threads of its own: their spans still belong to the run's trace."""
    with recording() as rec:
        thread = threading.Thread(target=_one_span)
        thread.start()
        thread.join()
        batch = rec.named("etl.micro_batch")
    assert batch.parent.span_id == rec.root_span.get_span_context().span_id
    assert format(batch.context.trace_id, "032x") == rec.trace_id


def _one_span() -> None:
    with tracing.span("etl.micro_batch"):
        pass


def test_a_failed_span_has_error_status_and_the_masked_message_and_no_stack_trace() -> None:
    with recording(mask) as rec:
        with pytest.raises(ValueError), tracing.span("jdbc.connect"):
            raise ValueError(f"login refused for password {SECRET}")
        span = rec.named("jdbc.connect")
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error"] == "ValueError: login refused for password ********"
    [event] = span.events
    assert dict(event.attributes) == {
        "exception.type": "ValueError",
        "exception.message": "ValueError: login refused for password ********",
    }


def test_string_attributes_are_masked() -> None:
    with recording(mask) as rec:
        with tracing.span("jdbc.connect", url=f"jdbc:postgresql://h/db?password={SECRET}"):
            pass
        span = rec.named("jdbc.connect")
    assert span.attributes["url"] == "jdbc:postgresql://h/db?password=********"


def test_the_trace_id_is_the_runs_while_it_traces() -> None:
    with recording() as rec:
        assert tracing.trace_id() == rec.trace_id
    assert tracing.trace_id() is None


# --------------------------------------------------------------------------- stage spans


def stage(name: str, kind: str = "source", type_: str = "csv") -> StageSpec:
    return StageSpec(name, kind, type_, (), {})  # type: ignore[arg-type]


def test_a_stage_span_covers_its_blocks_and_carries_its_result() -> None:
    spans = StageSpans()
    out = stage("out", "sink", "parquet")
    with recording() as rec:
        with spans.active(out), tracing.span("stage_write"):
            pass
        with spans.active(out), tracing.span("sink.commit"):
            pass
        assert rec.spans()[-1].name == "sink.commit"  # the stage span is still open
        time.sleep(0.2)
        spans.finish([StageResult("out", "sink", "parquet", "ok", rows_in=5, rows_out=4, duration_s=1.23456)])
        span = rec.named("etl.stage")
    assert {rec.named(n).parent.span_id for n in ("stage_write", "sink.commit")} == {span.context.span_id}
    assert dict(span.attributes) == {
        "etl.stage": "out",
        "etl.stage.kind": "sink",
        "etl.stage.type": "parquet",
        "etl.stage.status": "ok",
        "etl.rows_in": 5,
        "etl.rows_out": 4,
        "etl.duration_s": 1.235,
    }
    # it ends where its last block ended, not when the rows were counted later
    assert 0 <= span.end_time - rec.named("sink.commit").end_time < 100_000_000


def test_a_failed_stage_span_has_error_status_and_its_error() -> None:
    spans = StageSpans()
    with recording(mask) as rec:
        with spans.active(stage("a")):
            pass
        spans.finish([StageResult("a", "source", "csv", "failed", error=f"bad password {SECRET}")])
        span = rec.named("etl.stage")
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error"] == "bad password ********"


def test_stages_that_never_started_get_no_span() -> None:
    spans = StageSpans()
    with recording() as rec:
        spans.finish([StageResult("b", "sink", "csv", "not_run")])
        assert rec.spans() == []


# --------------------------------------------------------------------------- the run's trace


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Messages(Reporter):
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def message(self, level: str, text: str) -> None:
        self.lines.append((level, text))


def test_a_receiver_that_is_not_there_is_a_warning_and_a_line_of_the_results(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    spec = spec_of(tmp_path, f"tracing: {{endpoint: '{endpoint}', timeout_s: 0.5}}\n")
    trace = RunTrace.start(spec, "r1", lambda v: v, mask, environ={})
    trace_id = tracing.trace_id()
    results = RunResults("r1", "traced", None, "p.yaml", "t0", status="success", exit_code=0)
    reporter = Messages()
    outcome = trace.finish(results, reporter)
    assert outcome is not None
    assert (outcome["trace_id"], outcome["endpoint"], outcome["exported"]) == (
        trace_id,
        f"{endpoint}/v1/traces",
        False,
    )
    assert outcome["error"]
    assert reporter.lines == [("warning", f"tracing: the spans were not all exported: {outcome['error']}")]
    assert not tracing.enabled()


def test_traceparent_continues_the_callers_trace(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    spec = spec_of(tmp_path, f"tracing: {{endpoint: '{endpoint}', timeout_s: 0.2}}\n")
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    environ = {"TRACEPARENT": f"00-{caller_trace}-{caller_span}-01"}
    trace = RunTrace.start(spec, "r1", lambda v: v, mask, environ=environ)
    assert trace.span is not None
    parent = trace.span.parent  # type: ignore[attr-defined]
    assert (tracing.trace_id(), format(parent.span_id, "016x")) == (caller_trace, caller_span)
    trace.finish(RunResults("r1", "traced", None, "p.yaml", "t0"), Reporter())


def test_a_run_that_stops_before_its_results_still_ends_its_span_as_failed(tmp_path: Path) -> None:
    """A run whose lock is held raises before it has results: leaving the trace's block ends the run span."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    spec = spec_of(tmp_path, f"tracing: {{endpoint: '{endpoint}', timeout_s: 0.2}}\n")
    with pytest.raises(RuntimeError), RunTrace.start(spec, "r1", lambda v: v, mask, environ={}) as trace:
        raise RuntimeError(f"locked by {SECRET}")
    assert trace.span is not None and not trace.span.is_recording() and not tracing.enabled()
    assert trace.span.status.description == "RuntimeError: locked by ********"  # type: ignore[attr-defined]


def test_a_malformed_traceparent_starts_a_trace_of_its_own(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, f"tracing: {{endpoint: 'http://127.0.0.1:{free_port()}', timeout_s: 0.2}}\n")
    trace = RunTrace.start(spec, "r1", lambda v: v, mask, environ={"TRACEPARENT": "not-a-traceparent"})
    assert trace.span is not None and trace.span.parent is None  # type: ignore[attr-defined]
    assert tracing.trace_id() is not None
    trace.finish(RunResults("r1", "traced", None, "p.yaml", "t0"), Reporter())


def test_the_end_of_a_run_waits_at_most_timeout_s_for_a_receiver_that_does_not_answer(tmp_path: Path) -> None:
    """A receiver that takes connections and never answers, and spans enough for four batches of 512:
    each batch would wait ``timeout_s`` in turn (the SDK's flush ignores its own timeout), the run only once."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        endpoint = f"http://127.0.0.1:{hung.getsockname()[1]}"
        spec = spec_of(tmp_path, f"tracing: {{endpoint: '{endpoint}', timeout_s: 0.5}}\n")
        trace = RunTrace.start(spec, "r1", lambda v: v, mask, environ={})
        for index in range(2000):
            with tracing.span("secret.read", index=index):
                pass
        started = time.monotonic()
        outcome = trace.finish(RunResults("r1", "traced", None, "p.yaml", "t0"), Reporter())
        waited = time.monotonic() - started
    assert outcome is not None and outcome["exported"] is False
    assert waited < 1.2


class _Published(OneShotWrite):
    def _publish(self) -> None:
        with tracing.span("inside"):
            pass

    def _discard(self) -> None:
        pass


def test_a_commit_to_s3_is_an_s3_commit_span_naming_its_bucket_with_the_publishing_inside() -> None:
    with recording() as rec:
        _Published("s3a://lake-bucket/sales/daily", "overwrite").commit()
        commit = rec.named("s3.commit")
        inside = rec.named("inside")
    assert dict(commit.attributes) == {
        "etl.target": "s3a://lake-bucket/sales/daily",
        "etl.mode": "overwrite",
        "s3.bucket": "lake-bucket",
    }
    assert inside.parent.span_id == commit.context.span_id


def test_a_commit_elsewhere_is_a_sink_commit_span() -> None:
    with recording() as rec:
        _Published("/srv/out/sales", "append").commit()
        assert dict(rec.named("sink.commit").attributes) == {"etl.target": "/srv/out/sales", "etl.mode": "append"}
