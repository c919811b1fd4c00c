"""The ``monitoring:`` block: the live HTTP endpoint a run serves while it goes on (docs/observability.md).

```yaml
monitoring:
  port: 9464             # default 0: a free port the system picks, printed and in the run results
  host: 0.0.0.0          # default 127.0.0.1: only this machine; any other address must be written here
  ready_max_age_s: 300   # /readyz: how old a streaming query's last progress may be
```

Streaming runs serve it unless ``enabled: false``; batch runs only with ``enabled: true`` or
``run --monitoring-port PORT``. The endpoint has no authentication, hence loopback by default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.errors import Location

DEFAULT_HOST = "127.0.0.1"
#: 0: the system picks a free port, so two streaming runs on one machine never collide by default
DEFAULT_PORT = 0
DEFAULT_READY_MAX_AGE_S = 120.0
#: the ``run`` option that switches the endpoint on for one run
PORT_OPTION = "--monitoring-port"

MONITORING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "The live endpoint a run serves while it goes on: /metrics (Prometheus), /healthz, /readyz. "
    "On by default for streaming runs, off for batch runs. See docs/observability.md#live-endpoint.",
    "properties": {
        "enabled": {
            "type": "boolean",
            "description": "Serve the endpoint. Default: true for a streaming pipeline, false for a batch one "
            "(run --monitoring-port PORT switches it on for one run).",
        },
        "host": {
            "type": "string",
            "minLength": 1,
            "default": DEFAULT_HOST,
            "description": "The address to listen on. The endpoint has no authentication: the default serves this "
            "machine only; 0.0.0.0 (e.g. in a Kubernetes pod) must be written here.",
        },
        "port": {
            "type": "integer",
            "minimum": 0,
            "maximum": 65535,
            "default": DEFAULT_PORT,
            "description": "The TCP port. 0 (default): a free port the system picks, printed when the run starts "
            "and recorded in the run results; set a fixed one for Prometheus or probes to find it. A port that "
            "cannot be bound fails the run before Spark starts.",
        },
        "ready_max_age_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": DEFAULT_READY_MAX_AGE_S,
            "description": "/readyz answers 503 when a streaming query's last progress report is older than this "
            "many seconds. Keep it above the trigger interval and the longest micro-batch.",
        },
        "description": {"type": "string", "description": "What this endpoint is for."},
    },
}


@dataclass(frozen=True)
class MonitoringSpec:
    """Whether the run serves its endpoint, where, and the readiness limit; where each came from, for errors."""

    enabled: bool = False
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    ready_max_age_s: float = DEFAULT_READY_MAX_AGE_S
    #: where the address was set (the port's line, else the host's, else the block's); None: defaults or CLI
    location: Location | None = None
    #: the setting a bind error names: ``monitoring.port`` or ``--monitoring-port``
    origin: str = "monitoring.port"

    def on_port(self, port: int) -> MonitoringSpec:
        """This endpoint switched on at ``port`` for one run (``run --monitoring-port``)."""
        return dataclasses.replace(self, enabled=True, port=port, location=None, origin=PORT_OPTION)


def monitoring_of(document: Mapping[str, Any], provenance: Provenance, streaming: bool) -> MonitoringSpec:
    """The pipeline's endpoint settings, defaults filled; on by default only when the pipeline streams."""
    raw = document.get("monitoring") or {}
    return MonitoringSpec(
        enabled=bool(raw.get("enabled", streaming)),
        host=str(raw.get("host", DEFAULT_HOST)),
        port=int(raw.get("port", DEFAULT_PORT)),
        ready_max_age_s=float(raw.get("ready_max_age_s", DEFAULT_READY_MAX_AGE_S)),
        location=_address_location(raw, provenance),
    )


def _address_location(raw: Mapping[str, Any], provenance: Provenance) -> Location | None:
    """The line a bind error points at: the port's, else the host's, else the block's (None: nothing written)."""
    for key in ("port", "host"):
        if key in raw:
            return provenance.value_location(("monitoring", key))
    return provenance.key_location(("monitoring",)) if raw else None
