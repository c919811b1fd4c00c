"""An alert reaches a person's receiver, with real servers only: a failing ``etl-cli run`` pushes its metrics
to the Pushgateway, Prometheus scrapes it and evaluates the rules ``etl-cli alerts export`` wrote, and
Alertmanager routes the alert to a webhook receiver listening in this test.

Needs the Pushgateway of scripts/services.sh (``scripts/services.sh up pushgateway``) and Debian's
``prometheus`` and ``prometheus-alertmanager`` (started here by tests/integration/promstack.py); without them
the test skips, except under CI, where it fails.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from tests.clihelp import etl_cli
from tests.integration import promstack
from tests.integration.dbhelp import require
from tests.unit.helpers import make_project

# three orders, and a check asking for at least ten: the run fails its quality gate (exit 3)
PIPELINE = """\
name: {name}
spark: {{master: "local[1]"}}
sources:
  - {{name: orders, type: csv, path: p/orders.csv, schema: "order_id INT, amount DOUBLE"}}
sinks:
  - {{name: out, type: parquet, input: orders, path: out/orders}}
checks:
  - {{name: enough_orders, stage: orders, type: row_count, min: 10, action: fail}}
metrics:
  type: pushgateway
  url: {gateway}
  job: {job}
"""
ALERTMANAGER = """\
route:
  receiver: webhook
  group_by: [alertname, pipeline]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: {url}
        send_resolved: false
"""
PROMETHEUS = """\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yaml]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["{alertmanager}"]}}]
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{{targets: ["{gateway}"]}}]
"""


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A webhook receiver on loopback: its URL, and the JSON bodies Alertmanager posts to it."""
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet: the test reports what it got."""

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    finally:
        server.shutdown()
        server.server_close()


def delete_group(gateway: str, job: str, pipeline: str) -> None:
    request = urllib.request.Request(f"{gateway}/metrics/job/{job}/pipeline/{pipeline}/env/default", method="DELETE")
    with urllib.request.urlopen(request, timeout=10):
        pass


def test_a_failing_run_reaches_the_webhook_receiver_through_prometheus_and_alertmanager(tmp_path: Path) -> None:
    gateway = require(["ETL_TEST_PUSHGATEWAY_URL"], "pushgateway")["ETL_TEST_PUSHGATEWAY_URL"]
    suffix = uuid.uuid4().hex[:8]
    name, job = f"alerted_{suffix}", f"etl-test-alerts-{suffix}"
    root = make_project(
        tmp_path / "project",
        {"p/orders.csv": "order_id,amount\n1,5.0\n2,7.5\n3,1.0\n", "p/pipeline.yaml": ""},
        project="name: alerted\nalerts: {for: 0s}\n",
    )
    (root / "p/pipeline.yaml").write_text(PIPELINE.format(name=name, gateway=gateway, job=job))
    rules = tmp_path / "rules.yaml"
    exported = etl_cli("alerts", "export", str(root), "--output", str(rules))
    assert exported.returncode == 0, exported.stderr
    try:
        run = etl_cli("run", str(root / "p"), env={"ETL_STATE_DIR": str(tmp_path / "state")}, cwd=root)
        assert run.returncode == 3, run.stdout + run.stderr
        with (
            webhook_receiver() as (url, received),
            promstack.alertmanager(tmp_path / "am", ALERTMANAGER.format(url=url)) as manager,
            promstack.prometheus(
                tmp_path / "prom",
                PROMETHEUS.format(alertmanager=manager.url.removeprefix("http://"), gateway=gateway.split("//")[1]),
                {"rules.yaml": rules.read_text()},
            ) as prometheus,
        ):
            alerts = _alerts_until(received, {"EtlRunFailed", "EtlQualityCheckFailed"}, timeout_s=60)
            if "EtlRunFailed" not in alerts:
                raise AssertionError(
                    f"EtlRunFailed did not reach the receiver (it got {sorted(alerts)}); Prometheus' alerts: "
                    f"{prometheus.alerts()}\nalertmanager log:\n{manager.log_text()[-2000:]}"
                )
    finally:
        delete_group(gateway, job, name)
    # the failed run and the failed check that failed it: each its own alert (Alertmanager groups by alertname),
    # posted in either order
    failed = alerts["EtlRunFailed"]
    assert failed["labels"] == {
        "alertname": "EtlRunFailed",
        "severity": "critical",
        "pipeline": name,
        "env": "default",
        "job": job,
    }
    assert failed["annotations"]["description"] == (
        f"The latest run of {name} (env default) failed with exit code 3 (docs: README, exit codes)."
    )
    assert alerts["EtlQualityCheckFailed"]["labels"] == {
        "alertname": "EtlQualityCheckFailed",
        "severity": "warning",
        "pipeline": name,
        "env": "default",
        "job": job,
        "check": "enough_orders",
        "stage": "orders",
        "outcome": "failed",
    }


def _alerts_until(received: queue.Queue[dict[str, Any]], names: set[str], timeout_s: float) -> dict[str, Any]:
    """The firing alerts the receiver got, by alertname, once every one of ``names`` came (or the time is up)."""
    alerts: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    while not names <= set(alerts) and (left := deadline - time.monotonic()) > 0:
        try:
            body = received.get(timeout=left)
        except queue.Empty:
            break
        assert body["status"] == "firing", body
        for alert in body["alerts"]:
            alerts.setdefault(alert["labels"]["alertname"], alert)
    return alerts
