"""The ``tracing:`` block: where a run's OpenTelemetry spans go (docs/observability.md#traces).

Tracing is off unless the pipeline has a ``tracing:`` block or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` variables are set; the
run's set-up (runtime/bookkeeping/tracing_setup.py) weighs the two.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, warning
from etl_cli.errors import Location

EXTRA_HINT = "pip install 'etl-cli[tracing]'"
DEFAULT_SERVICE_NAME = "etl-cli"
#: seconds the run waits at its end for the spans to be sent
DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TracingSpec:
    """A pipeline's ``tracing:`` settings (the block as written, defaults filled)."""

    #: false: no trace, whatever the environment says
    enabled: bool = True
    #: the OTLP/HTTP receiver's base URL (``/v1/traces`` is added); None: from the environment
    endpoint: str | None = None
    #: HTTP headers sent with every export, values still ``${secret:...}`` references
    headers: Mapping[str, str] = field(default_factory=dict)
    #: None: ``OTEL_SERVICE_NAME``, else etl-cli
    service_name: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    location: Location | None = None


TRACING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Export an OpenTelemetry trace of each run over OTLP/HTTP: a span for the run, one per "
    "stage, one per external call. Needs the tracing extra. See docs/observability.md#traces.",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean", "description": "false: no trace, even when OTEL_EXPORTER_OTLP_* is set."},
        "endpoint": {
            "type": "string",
            "pattern": "^https?://",
            "description": "The OTLP/HTTP receiver's base URL, e.g. http://127.0.0.1:4318 (spans are posted to "
            "its path /v1/traces). Default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT.",
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": 'HTTP headers of every export, e.g. {Authorization: "Bearer ${secret:env:OTLP_TOKEN}"}.',
        },
        "service_name": {
            "type": "string",
            "minLength": 1,
            "description": "The traces' service.name (default: OTEL_SERVICE_NAME, else etl-cli).",
        },
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": f"Seconds to wait for the receiver at the end of the run (default: {DEFAULT_TIMEOUT_S:g}).",
        },
    },
}


def tracing_of(document: Mapping[str, Any], provenance: Provenance) -> TracingSpec | None:
    """The pipeline's ``tracing:`` block, None when it has none (the environment may still turn tracing on)."""
    raw = document.get("tracing")
    if raw is None:
        return None
    return TracingSpec(
        enabled=raw.get("enabled", True),
        endpoint=raw.get("endpoint"),
        headers=dict(raw.get("headers") or {}),
        service_name=raw.get("service_name"),
        timeout_s=float(raw.get("timeout_s", DEFAULT_TIMEOUT_S)),
        location=provenance.key_location(("tracing",)),
    )


def check_tracing(document: Mapping[str, Any], provenance: Provenance) -> list[Diagnostic]:
    """A warning when ``tracing:`` is on and the tracing extra is missing (the run then stops at its start).

    Only the module's presence is looked up (no import), so ``validate`` stays fast.
    """
    raw = document.get("tracing")
    if not isinstance(raw, dict) or raw.get("enabled") is False or tracing_installed():
        return []
    message = "tracing: exporting traces needs the OpenTelemetry SDK and OTLP exporter, which are not installed"
    hint = f"{EXTRA_HINT}, or set tracing.enabled: false"
    return [warning("missing-extra", message, provenance.key_location(("tracing",)), hint)]


def tracing_installed() -> bool:
    """Whether the tracing extra (the SDK and its OTLP/HTTP exporter) is installed."""
    for module in ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter"):
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except ImportError:  # a parent package that is missing, or broken
            return False
    return True
