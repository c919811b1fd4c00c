"""Spans around the work a run does, for its OpenTelemetry trace (docs/observability.md#traces).

Any layer may open a span (plug-ins, secrets, the runtime): ``with tracing.span("jdbc.write",
table=...) as span: ... span.set("rows", n)``. Tracing is off until the run's set-up
(runtime/bookkeeping/tracing_setup.py) installs a tracer; until then every call here is a
no-op that imports nothing, so a run without tracing pays one global read per span and never
loads OpenTelemetry.

Every string that reaches a span (attributes, error messages) goes through the run's secret
mask first: a span is text that leaves the process, like a log line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span as OtelSpan
    from opentelemetry.trace import Tracer

#: the attribute holding a failed span's error message (its exception's type is in the span's event)
ERROR_ATTRIBUTE = "error"


class Span:
    """What the code inside a ``with span(...)`` block may add: attributes known only once it worked."""

    def set(self, key: str, value: Any) -> None:
        """Set the attribute ``key`` (None: leave it out). Nothing happens while tracing is off."""


class _NoSpanBlock(AbstractContextManager[Span]):
    """The block :func:`span` returns while tracing is off: one shared object, nothing recorded."""

    def __init__(self) -> None:
        self.span = Span()

    def __enter__(self) -> Span:
        return self.span

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None


_NO_SPAN = _NoSpanBlock()


@dataclass(frozen=True)
class Installed:
    """A run's tracer while it traces, and what every span of the run shares."""

    tracer: Tracer
    #: the run span's context: the parent of spans opened where no span is current (Spark's callback threads)
    root: Context
    #: hides the run's secret values in every string a span records
    mask: Callable[[str], str]
    trace_id: str


_installed: Installed | None = None


def install(installed: Installed) -> None:
    """Turn tracing on (the run's set-up does, once its run span is open)."""
    global _installed
    _installed = installed


def uninstall() -> None:
    """Turn tracing off again: the run is over, later spans would belong to no trace."""
    global _installed
    _installed = None


def enabled() -> bool:
    """Whether spans are recorded (a run is tracing)."""
    return _installed is not None


def trace_id() -> str | None:
    """The run's trace id, 32 hex digits, or None while tracing is off."""
    installed = _installed
    return installed.trace_id if installed is not None else None


def span(name: str, **attributes: Any) -> AbstractContextManager[Span]:
    """A child span of the current one (or of the run's) around the block; an exception marks it failed."""
    installed = _installed
    if installed is None:
        return _NO_SPAN
    return _recorded(installed, name, attributes)


@contextmanager
def _recorded(installed: Installed, name: str, attributes: dict[str, Any]) -> Iterator[Span]:
    from opentelemetry import trace

    current = trace.get_current_span().get_span_context().is_valid
    parent = None if current else installed.root
    with installed.tracer.start_as_current_span(
        name, context=parent, record_exception=False, set_status_on_exception=False
    ) as otel_span:
        recorded = RecordedSpan(otel_span, installed.mask)
        for key, value in attributes.items():
            recorded.set(key, value)
        try:
            yield recorded
        except BaseException as exc:
            recorded.failed(exc)
            raise


class RecordedSpan(Span):
    """A live OpenTelemetry span behind :class:`Span`, every string masked before it is set."""

    def __init__(self, otel_span: OtelSpan, mask: Callable[[str], str]):
        self.otel_span = otel_span
        self.mask = mask

    def set(self, key: str, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, bool | int | float):
            value = self.mask(str(value))
        self.otel_span.set_attribute(key, value)

    def failed(self, exc: BaseException, message: str | None = None) -> None:
        """Mark the span failed: status ERROR, the error message (masked), an ``exception`` event.

        The event holds the exception's type and masked message, never its stack trace, whose
        last line repeats the unmasked message.
        """
        from opentelemetry.trace import Status, StatusCode

        text = self.mask(message or f"{type(exc).__name__}: {exc}")
        self.otel_span.set_status(Status(StatusCode.ERROR, text))
        self.otel_span.set_attribute(ERROR_ATTRIBUTE, text)
        self.otel_span.add_event("exception", {"exception.type": type(exc).__name__, "exception.message": text})


def installed() -> Installed | None:
    """The run's tracer and shared settings while it traces (for spans opened and ended apart, in the runtime)."""
    return _installed
