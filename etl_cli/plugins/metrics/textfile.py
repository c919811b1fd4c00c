"""Write a run's metrics to a file for node_exporter's textfile collector.

The file is replaced atomically (written beside, then renamed), so node_exporter never
reads half of it, and whole: nothing of the previous run stays but the last success time
(carried.py). Its samples carry ``pipeline`` and ``env`` labels; give each pipeline and
environment a file of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from etl_cli.plugins.api import LABEL_NAME, MetricsExporter, MetricsSnapshot, resolve_path
from etl_cli.plugins.metrics.carried import carry_last_success
from etl_cli.plugins.registry import register


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
        previous = path.read_text(encoding="utf-8") if path.is_file() else None
        carry_last_success(registry, labels, labels, previous)
        write_to_textfile(str(path), registry)
        return str(path)
