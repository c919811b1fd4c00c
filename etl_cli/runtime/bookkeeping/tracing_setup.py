"""A run's OpenTelemetry trace: where it goes, its run span, its stage spans, its export at the end.

Off unless the pipeline's ``tracing:`` block or the standard OTLP variables ask for it
(:func:`trace_target`); only then is OpenTelemetry imported. Spans go through a
BatchSpanProcessor to an OTLP/HTTP exporter (protobuf); at the end of the run they are
flushed within ``timeout_s``. A receiver that cannot be reached is a warning and a line of
the run results (``tracing``), never a failed run. docs/observability.md#traces.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from etl_cli import tracing
from etl_cli.errors import ConfigError
from etl_cli.events import Reporter, StageResult
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.tracing import DEFAULT_SERVICE_NAME, DEFAULT_TIMEOUT_S, EXTRA_HINT, TracingSpec, tracing_installed
from etl_cli.plugins.api import StageSpec

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
    from opentelemetry.trace import Span

    from etl_cli.runtime.bookkeeping.results import RunResults

#: the standard variables, in the order they are looked at when the pipeline names no endpoint
TRACES_ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME_VARIABLE = "OTEL_SERVICE_NAME"
#: the W3C Trace Context of the caller (an Airflow task, a DAG run): the run's span becomes its child
PARENT_VARIABLES = ("TRACEPARENT", "TRACESTATE")
TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class TraceTarget:
    """Where the spans of a run go, and what said so."""

    #: the full URL spans are posted to
    url: str
    #: ``tracing.endpoint`` or the variable it came from
    source: str
    #: the export's HTTP headers, still ``${secret:...}`` references (None: the exporter's OTEL_* headers)
    headers: Mapping[str, str] | None = None
    service_name: str = DEFAULT_SERVICE_NAME
    timeout_s: float = DEFAULT_TIMEOUT_S


def trace_target(spec: TracingSpec | None, environ: Mapping[str, str]) -> TraceTarget | None:
    """Where the run's spans go, or None (tracing off).

    ``tracing.enabled: false`` turns tracing off whatever the environment says. Otherwise the
    pipeline's ``tracing.endpoint`` wins, then OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL,
    as the variable's standard says), then OTEL_EXPORTER_OTLP_ENDPOINT (a base URL). A ``tracing:``
    block with no endpoint anywhere is a ConfigError.
    """
    if spec is not None and not spec.enabled:
        return None
    found = _endpoint(spec, environ)
    if found is None:
        if spec is None:
            return None
        raise ConfigError(
            "tracing: no endpoint to send the spans to",
            location=spec.location,
            hint=f"set tracing.endpoint (e.g. http://127.0.0.1:4318) or {ENDPOINT_VARIABLE}",
        )
    url, source = found
    service_name = (spec and spec.service_name) or environ.get(SERVICE_NAME_VARIABLE) or DEFAULT_SERVICE_NAME
    if spec is None:
        return TraceTarget(url, source, service_name=service_name)
    return TraceTarget(url, source, dict(spec.headers) or None, service_name, spec.timeout_s)


def _endpoint(spec: TracingSpec | None, environ: Mapping[str, str]) -> tuple[str, str] | None:
    if spec is not None and spec.endpoint:
        return _signal_url(spec.endpoint), "tracing.endpoint"
    if environ.get(TRACES_ENDPOINT_VARIABLE):
        return environ[TRACES_ENDPOINT_VARIABLE], TRACES_ENDPOINT_VARIABLE
    if environ.get(ENDPOINT_VARIABLE):
        return _signal_url(environ[ENDPOINT_VARIABLE]), ENDPOINT_VARIABLE
    return None


def _signal_url(base: str) -> str:
    return base.rstrip("/") + TRACES_PATH


class RunTrace:
    """The trace of one run; every method is a no-op when the run does not trace."""

    def __init__(self) -> None:
        self.target: TraceTarget | None = None
        self.provider: TracerProvider | None = None
        self.span: Span | None = None
        self.exports = _ExportLog()
        self._detach: Callable[[], None] = lambda: None
        self._mask: Callable[[str], str] = str

    @classmethod
    def start(
        cls,
        spec: PipelineSpec,
        run_id: str,
        resolve: Callable[[Any], Any],
        mask: Callable[[str], str],
        environ: Mapping[str, str] = os.environ,
    ) -> RunTrace:
        """Open the run span (a child of ``TRACEPARENT``'s, if set) and turn :mod:`etl_cli.tracing` on.

        Raises ConfigError, naming the extra to install, when tracing is asked for without it.
        """
        run_trace = cls()
        target = trace_target(spec.tracing, environ)
        if target is None:
            return run_trace
        if not tracing_installed():
            where = spec.tracing.location if spec.tracing is not None else None
            raise ConfigError(
                f"tracing is on ({target.source}) but the OpenTelemetry SDK and OTLP exporter are not installed",
                location=where,
                hint=f"{EXTRA_HINT}, or turn tracing off (tracing.enabled: false, or unset {target.source})",
            )
        run_trace.target, run_trace._mask = target, mask
        run_trace._open(spec, run_id, resolve, mask, environ)
        return run_trace

    def _open(
        self,
        spec: PipelineSpec,
        run_id: str,
        resolve: Callable[[Any], Any],
        mask: Callable[[str], str],
        environ: Mapping[str, str],
    ) -> None:
        from opentelemetry import context, trace

        assert self.target is not None
        self.provider = _provider(self.target, spec, run_id, resolve, self.exports)
        tracer = self.provider.get_tracer("etl_cli")
        attributes = {"etl.pipeline": spec.name, "etl.env": spec.env or "", "etl.run_id": run_id}
        self.span = tracer.start_span("etl.run", context=_caller(environ), attributes=attributes)
        root = trace.set_span_in_context(self.span)
        token = context.attach(root)
        self._detach = lambda: context.detach(token)
        trace_id = format(self.span.get_span_context().trace_id, "032x")
        tracing.install(tracing.Installed(tracer, root, mask, trace_id))

    def __enter__(self) -> RunTrace:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """End the trace if the run left before :meth:`finish` (it stopped before it had results: a lock held...)."""
        if self.span is None or not self.span.is_recording():
            return
        error = self._mask(f"{type(exc).__name__}: {exc}") if exc is not None else None
        with suppress(Exception):  # the run's own exception is what the caller must see
            self._end(error, None)

    def finish(self, results: RunResults, reporter: Reporter) -> dict[str, Any] | None:
        """End the run span with the run's outcome, send every span; the results' ``tracing`` (None: off)."""
        if self.span is None or self.target is None:
            return None
        self.span.set_attribute("etl.status", results.status)
        if results.exit_code is not None:
            self.span.set_attribute("etl.exit_code", results.exit_code)
        error = (results.error or {}).get("message")
        try:
            outcome = self._end(error, results.status)
        except Exception as exc:  # the run's outcome stands whatever became of its trace
            tracing.uninstall()
            trace_id = format(self.span.get_span_context().trace_id, "032x")
            outcome = {"trace_id": trace_id, "endpoint": self.target.url, "exported": False}
            outcome["error"] = self._mask(f"{type(exc).__name__}: {exc}")
        if not outcome["exported"]:
            reporter.message("warning", f"tracing: the spans were not all exported: {outcome['error']}")
        return outcome

    def _end(self, error: str | None, status: str | None) -> dict[str, Any]:
        """End the run span, turn tracing off, flush and shut the exporter: what became of the spans."""
        from opentelemetry.trace import Status, StatusCode

        assert self.span is not None and self.provider is not None and self.target is not None
        if error is not None or status not in ("success", None):
            message = error or f"run {status}"
            self.span.set_status(Status(StatusCode.ERROR, message))
            self.span.set_attribute(tracing.ERROR_ATTRIBUTE, message)
        trace_id = format(self.span.get_span_context().trace_id, "032x")
        self.span.end()
        tracing.uninstall()
        self._detach()
        flushed = _flush(self.provider, self.target.timeout_s)
        if not flushed:
            self.exports.abandon()  # a batch still retrying: stop it, or the shutdown would wait for its retries
        self.provider.shutdown()
        problem = self.exports.problem(self.target.url, flushed, self.target.timeout_s)
        outcome: dict[str, Any] = {"trace_id": trace_id, "endpoint": self.target.url, "exported": problem is None}
        if problem is not None:
            outcome["error"] = self._mask(problem)
        return outcome


def _flush(provider: TracerProvider, timeout_s: float) -> bool:
    """Send the spans still queued, waiting at most ``timeout_s``: whether they all went.

    The SDK's own flush ignores its timeout (opentelemetry-python issue 4568) and sends batch after
    batch, each allowed ``timeout_s``; so it runs on a thread of its own, given up on after that.
    """
    flushed: list[bool] = []
    worker = threading.Thread(
        target=lambda: flushed.append(provider.force_flush()), name="etl-trace-flush", daemon=True
    )
    worker.start()
    worker.join(timeout_s)
    return bool(flushed) and flushed[0]


def _caller(environ: Mapping[str, str]) -> Context | None:
    """The caller's trace context from ``TRACEPARENT``/``TRACESTATE`` (None: the run starts a trace)."""
    if not environ.get("TRACEPARENT"):
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {name.lower(): environ[name] for name in PARENT_VARIABLES if environ.get(name)}
    return TraceContextTextMapPropagator().extract(carrier)


def _provider(
    target: TraceTarget, spec: PipelineSpec, run_id: str, resolve: Callable[[Any], Any], exports: _ExportLog
) -> TracerProvider:
    """A provider of its own (not the global one): a run's spans go to the run's endpoint only."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    headers = {name: str(resolve(value)) for name, value in target.headers.items()} if target.headers else None
    exporter = OTLPSpanExporter(endpoint=target.url, headers=headers, timeout=target.timeout_s)
    resource = Resource.create(
        {
            "service.name": target.service_name,
            "etl.pipeline": spec.name,
            "etl.env": spec.env or "",
            "etl.run_id": run_id,
        }
    )
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(exports.watching(exporter)))
    return provider


@dataclass
class _ExportLog:
    """What the exporter did: how many batches it could not send, and what it logged meanwhile."""

    failed_batches: int = 0
    messages: list[str] = field(default_factory=list)
    #: shuts the exporter down, once (a second shutdown of the OTLP exporter logs a warning)
    abandon: Callable[[], None] = lambda: None

    def watching(self, exporter: SpanExporter) -> SpanExporter:
        from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

        log = self
        shut = threading.Event()

        def shutdown() -> None:
            if not shut.is_set():
                shut.set()
                exporter.shutdown()

        class Watched(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                with log.captured():
                    result = exporter.export(spans)
                if result is not SpanExportResult.SUCCESS:
                    log.failed_batches += 1
                return result

            def shutdown(self) -> None:
                shutdown()

            def force_flush(self, timeout_millis: int = 30000) -> bool:
                return exporter.force_flush(timeout_millis)

        self.abandon = shutdown
        return Watched()

    @contextmanager
    def captured(self) -> Iterator[None]:
        """The exporter's log records are kept here (for the run results) instead of printed on the terminal."""
        logger = logging.getLogger("opentelemetry.exporter")
        handler = _Collect(self.messages)
        logger.addHandler(handler)
        propagate, logger.propagate = logger.propagate, False
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.propagate = propagate

    def problem(self, url: str, flushed: bool, timeout_s: float) -> str | None:
        """Why the spans did not all reach ``url`` (None: they did); the exporter's first message says most."""
        if self.failed_batches:
            detail = self.messages[0] if self.messages else "the receiver did not accept them"
            return f"{self.failed_batches} batch(es) of spans not accepted by {url}: {detail}"
        if not flushed:
            return f"the spans could not be sent to {url} within timeout_s ({timeout_s:g}s)"
        return None


class _Collect(logging.Handler):
    def __init__(self, into: list[str]):
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


class StageSpans:
    """One ``etl.stage`` span per stage, open from its start until its result (rows counted last) is known.

    A stage's work may come in several blocks (a sink is staged, then committed after the other
    stages): each block runs inside its span, which ends when the last block does, or, with
    ``end_at_results`` (a streaming run, whose queries run on after their start), when its result is known.
    """

    def __init__(self, end_at_results: bool = False) -> None:
        self.end_at_results = end_at_results
        self._open: dict[str, Span] = {}
        self._left: dict[str, int] = {}

    def active(self, stage: StageSpec) -> AbstractContextManager[object]:
        """The block of ``stage``'s work, inside its span (nothing while tracing is off)."""
        installed = tracing.installed()
        if installed is None:
            return nullcontext()
        return self._inside(installed, stage)

    @contextmanager
    def _inside(self, installed: tracing.Installed, stage: StageSpec) -> Iterator[None]:
        from opentelemetry import trace

        span = self._open.get(stage.name)
        if span is None:
            attributes = {"etl.stage": stage.name, "etl.stage.kind": stage.kind, "etl.stage.type": stage.type}
            span = self._open[stage.name] = installed.tracer.start_span("etl.stage", attributes=attributes)
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                yield
        finally:
            self._left[stage.name] = time.time_ns()

    def finish(self, results: Iterable[StageResult]) -> None:
        """End the span of each stage that started, with its result's status, rows, duration and error."""
        installed = tracing.installed()
        for result in results:
            span = self._open.pop(result.name, None)
            if span is None or installed is None:
                continue
            recorded = tracing.RecordedSpan(span, installed.mask)
            for key, value in _stage_attributes(result).items():
                recorded.set(key, value)
            if result.status == "failed":
                recorded.failed(RuntimeError(result.error), result.error or "failed")
            span.end(end_time=None if self.end_at_results else self._left.get(result.name))


def _stage_attributes(result: StageResult) -> dict[str, Any]:
    return {
        "etl.stage.status": result.status,
        "etl.rows_in": result.rows_in,
        "etl.rows_out": result.rows_out,
        "etl.duration_s": round(result.duration_s, 3),
    }


__all__ = ["RunTrace", "StageSpans", "TraceTarget", "trace_target"]
