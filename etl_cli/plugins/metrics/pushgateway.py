"""Push a run's metrics to a Prometheus Pushgateway.

Batch jobs end before Prometheus could scrape them, so they push. The metrics of a
pipeline form one group, ``job`` + ``pipeline`` + ``env`` (+ ``labels``), and each push
is a PUT: it replaces the whole group, so no number of an earlier run (rows, checks,
stages a failed run never reached) stands beside the new run's status. The one exception,
``etl_run_last_success_timestamp_seconds``, which only successful runs measure, is read
from the group before the push and pushed again (carried.py), so an alert on "no success
for N hours" still has it after a failed run.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, ClassVar

from etl_cli.plugins.api import LABEL_NAME, MetricsExporter, MetricsSnapshot
from etl_cli.plugins.metrics.carried import carry_last_success
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
            "description": "How long each request of a push (reading the group's last success time, then "
            "replacing the group) may take; a push that fails is retried twice, then reported as a warning (the "
            "run's outcome and exit code do not depend on its metrics).",
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
        from prometheus_client import push_to_gateway
        from prometheus_client.exposition import basic_auth_handler, default_handler

        url = str(self.options["url"]).rstrip("/")
        user, password = self.options.get("username"), self.options.get("password")
        timeout = float(self.options.get("timeout_s", 5))

        def handler(
            url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
        ) -> Callable[[], None]:
            if user is not None:
                return basic_auth_handler(url, method, timeout, headers, data, str(user), str(password or ""))
            return default_handler(url, method, timeout, headers, data)

        grouping = {**snapshot.identity, **dict(self.options.get("labels") or {})}
        job = str(self.options.get("job", "etl-cli"))
        registry = snapshot.registry({})
        previous = self._exposition(url, timeout, user, password)
        carry_last_success(registry, {}, {"job": job, **grouping}, previous)
        push_to_gateway(url, job=job, registry=registry, grouping_key=grouping, timeout=timeout, handler=handler)
        return f"{url} (job {job}, {', '.join(f'{k}={v}' for k, v in grouping.items())})"

    @staticmethod
    def _exposition(url: str, timeout: float, user: Any, password: Any) -> str:
        """Everything the Pushgateway holds, in Prometheus' text format (``GET /metrics``).

        A failure raises, so the push is retried and, failing, reported; never a push that would
        drop the last success time because it could not be read.
        """
        import urllib.request  # here: validate, which imports every plug-in, never needs an HTTP client

        request = urllib.request.Request(f"{url}/metrics", headers={"Accept": "text/plain"})
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return str(response.read().decode("utf-8"))
