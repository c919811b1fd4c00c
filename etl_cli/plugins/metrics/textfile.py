"""Write a run's metrics to a file for node_exporter's textfile collector.

The file is replaced atomically (written beside, then renamed), so node_exporter never
reads half of it. Its samples carry ``pipeline`` and ``env`` labels; give each pipeline
and environment a file of its own. ``etl_run_last_success_timestamp_seconds`` is only
measured by successful runs: a failed run copies it over from the file it replaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from etl_cli.plugins.api import LABEL_NAME, MetricsExporter, MetricsSnapshot, resolve_path
from etl_cli.plugins.registry import register

LAST_SUCCESS = "etl_run_last_success_timestamp_seconds"


@register
class Textfile(MetricsExporter):
    type = "textfile"
    description = (
        "Write the run's metrics in Prometheus' text format to a file that node_exporter's textfile collector "
        "reads (--collector.textfile.directory). See docs/metrics.md."
    )
    required_options = ("path",)
    options_schema: ClassVar[dict[str, Any]] = {
        "path": {
            "type": "string",
            "pattern": r"\.prom$",
            "description": "The file to write, ending in .prom, e.g. /var/lib/node_exporter/textfile/orders.prom "
            "(relative paths are relative to the project root).",
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "propertyNames": LABEL_NAME,
            "description": "More labels for every sample, e.g. {team: payments}.",
        },
        "interval_s": {
            "type": "number",
            "minimum": 1,
            "default": 15,
            "description": "Streaming runs: rewrite the file at most this often while the queries run.",
        },
    }

    def export(self, snapshot: MetricsSnapshot) -> str:
        from prometheus_client import write_to_textfile

        path = Path(resolve_path(str(self.options["path"]), self.project_root))
        path.parent.mkdir(parents=True, exist_ok=True)
        labels = {**snapshot.identity, **dict(self.options.get("labels") or {})}
        registry = snapshot.registry(labels)
        if registry.get_sample_value(LAST_SUCCESS, labels) is None:
            previous = _previous_last_success(path, labels)
            if previous is not None:
                registry.register(_Carried(previous, labels))
        write_to_textfile(str(path), registry)
        return str(path)


def _previous_last_success(path: Path, labels: dict[str, str]) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    if not path.is_file():
        return None
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            if sample.name == LAST_SUCCESS and sample.labels == labels:
                return float(sample.value)
    return None


class _Carried:
    """A collector yielding the last success time of an earlier run."""

    def __init__(self, value: float, labels: dict[str, str]):
        self.value, self.labels = value, labels

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            LAST_SUCCESS, "When the pipeline last succeeded (Unix time).", labels=list(self.labels)
        )
        family.add_metric(list(self.labels.values()), self.value)
        yield family
