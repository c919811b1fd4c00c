"""A run's tracing turned on in-process, its spans kept in memory (the SDK's own in-memory exporter)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from etl_cli import tracing


@dataclass
class Recording:
    """The spans ended so far, and the run span they hang under."""

    exporter: Any
    root_span: Any
    trace_id: str

    def spans(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> Any:
        found = [span for span in self.spans() if span.name == name]
        assert len(found) == 1, [span.name for span in self.spans()]
        return found[0]


@contextmanager
def recording(mask: Callable[[str], str] = str) -> Iterator[Recording]:
    """Tracing on, as a run's set-up turns it on, with ``mask`` as the run's secret mask."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    root_span = tracer.start_span("etl.run")
    trace_id = format(root_span.get_span_context().trace_id, "032x")
    tracing.install(tracing.Installed(tracer, trace.set_span_in_context(root_span), mask, trace_id))
    try:
        yield Recording(exporter, root_span, trace_id)
    finally:
        tracing.uninstall()
        root_span.end()
        provider.shutdown()
