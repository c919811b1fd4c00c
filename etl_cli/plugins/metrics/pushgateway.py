"""Push a run's metrics to a Prometheus Pushgateway.

Batch jobs end before Prometheus could scrape them, so they push. The metrics of a
pipeline form one group, ``job`` + ``pipeline`` + ``env`` (+ ``labels``), and each push
is a POST: it replaces the metrics of the same names in that group and keeps the others,
so ``etl_run_last_success_timestamp_seconds`` (pushed only by successful runs) survives a
failed run, which is what an alert on "no success for N hours" needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from etl_cli.plugins.api import LABEL_NAME, MetricsExporter, MetricsSnapshot
from etl_cli.plugins.registry import register


@register
class Pushgateway(MetricsExporter):
    type = "pushgateway"
    description = (
        "Push the run's metrics to a Prometheus Pushgateway when the run ends (streaming runs: also after "
        "micro-batches, at most every interval_s). See docs/metrics.md."
    )
    required_options = ("url",)
    options_schema: ClassVar[dict[str, Any]] = {
        "url": {
            "type": "string",
            "pattern": "^https?://[^/]+",
            "description": "The Pushgateway's address, e.g. http://pushgateway:9091.",
        },
        "job": {
            "type": "string",
            "minLength": 1,
            "default": "etl-cli",
            "description": "The job label of the pushed group (with pipeline and env).",
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "propertyNames": LABEL_NAME,
            "description": "More grouping labels, e.g. {team: payments}. Metric names and labels stay the same.",
        },
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 5,
            "description": "How long one push may take; a push that fails is retried twice, then reported as a "
            "warning (the run's outcome and exit code do not depend on its metrics).",
        },
        "interval_s": {
            "type": "number",
            "minimum": 1,
            "default": 15,
            "description": "Streaming runs: push at most this often while the queries run.",
        },
        "username": {"type": "string", "description": "HTTP basic auth user, when the Pushgateway asks for one."},
        "password": {
            "type": "string",
            "description": "HTTP basic auth password: a reference such as ${secret:vault:ops/pushgateway#password}.",
        },
    }

    def export(self, snapshot: MetricsSnapshot) -> str:
        from prometheus_client import pushadd_to_gateway
        from prometheus_client.exposition import basic_auth_handler, default_handler

        url = str(self.options["url"]).rstrip("/")
        user, password = self.options.get("username"), self.options.get("password")

        def handler(
            url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
        ) -> Callable[[], None]:
            if user is not None:
                return basic_auth_handler(url, method, timeout, headers, data, str(user), str(password or ""))
            return default_handler(url, method, timeout, headers, data)

        grouping = {**snapshot.identity, **dict(self.options.get("labels") or {})}
        job = str(self.options.get("job", "etl-cli"))
        pushadd_to_gateway(
            url,
            job=job,
            registry=snapshot.registry({}),
            grouping_key=grouping,
            timeout=float(self.options.get("timeout_s", 5)),
            handler=handler,
        )
        return f"{url} (job {job}, {', '.join(f'{k}={v}' for k, v in grouping.items())})"
