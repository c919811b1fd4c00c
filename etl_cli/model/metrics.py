"""The ``metrics:`` block: which exporter receives the run's metrics, and its options.

```yaml
metrics:
  type: pushgateway            # or textfile
  url: http://pushgateway:9091
  labels: {team: payments}
```

One exporter per pipeline; an environment overlay usually sets it (``overlays/prod.yaml``),
and ``--set metrics.url=...`` overrides it for one run. No block, no metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.errors import Location
from etl_cli.plugins.registry import Registry


@dataclass(frozen=True)
class MetricsSpec:
    """The pipeline's exporter: its type, its options (secrets still as references), where it was set."""

    type: str
    options: Mapping[str, Any]
    project_root: Path
    location: Location | None = None


def metrics_of(document: Mapping[str, Any], provenance: Provenance, project_root: Path) -> MetricsSpec | None:
    raw = document.get("metrics")
    if not raw:
        return None
    options = {k: v for k, v in raw.items() if k not in ("type", "description")}
    return MetricsSpec(raw["type"], options, project_root, provenance.key_location(("metrics",)))


def metrics_schema(registry: Registry, defs: dict[str, Any]) -> dict[str, Any]:
    """The ``metrics`` property: one definition per exporter type, chosen by ``type``."""
    branches = []
    types = registry.types("metrics")
    for plugin in registry.plugins("metrics"):
        ref = f"metrics.{plugin.type}"
        defs[ref] = {
            "type": "object",
            "title": f"metrics {plugin.type}",
            "description": plugin.description,
            "additionalProperties": False,
            "required": ["type", *plugin.required_options],
            "properties": {
                "type": {"const": plugin.type},
                "description": {"type": "string", "description": "What these metrics are for."},
                **plugin.options_schema,
            },
        }
        branches.append(
            {
                "if": {"properties": {"type": {"const": plugin.type}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/{ref}"},
            }
        )
    return {
        "type": "object",
        "description": "Where the run's metrics go (Prometheus): rows per stage, check results, dead letters, "
        "retries and circuit breakers, the run's outcome. See docs/metrics.md.",
        "required": ["type"],
        "properties": {
            "type": {"enum": types, "description": f"The exporter: {', '.join(types)}."},
        },
        "allOf": branches,
    }
