"""Every query of docs/grafana/etl-cli.json finds data in a real Prometheus, fed the way operators feed it.

etl-cli's own Pushgateway exporter pushes a batch run (stages, checks, dead letters, an open circuit breaker)
and a streaming run (a recorded Kafka query progress: tests/unit/dashboard_metrics.py) to the Pushgateway of
scripts/services.sh; a Prometheus of this test scrapes it (``honor_labels``, as docs/metrics.md configures
it) and answers each panel's query, its ``$pipeline`` variable set to the two pipelines of this test (so no
other test's pushes can make a query look answered) and ``$env`` to ``.*`` (All).
"""

from __future__ import annotations

import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl_cli.plugins.metrics.pushgateway import Pushgateway
from tests.integration.dbhelp import require
from tests.integration.promstack import Prometheus, prometheus
from tests.unit.dashboard_metrics import batch_run, dashboard, streaming_run, targets

PREFIX = f"dash_{uuid.uuid4().hex[:8]}"
JOB = f"etl-test-{PREFIX}"
PIPELINES = (f"{PREFIX}_batch", f"{PREFIX}_stream")


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    gateway = require(["ETL_TEST_PUSHGATEWAY_URL"], "pushgateway")["ETL_TEST_PUSHGATEWAY_URL"].rstrip("/")
    exporter = Pushgateway({"url": gateway, "job": JOB}, Path("."))
    try:
        exporter.export(batch_run(PIPELINES[0]))
        exporter.export(streaming_run(PIPELINES[1]))
        target = urllib.parse.urlsplit(gateway).netloc
        config = (
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - {{job_name: pushgateway, honor_labels: true, static_configs: [{{targets: ['{target}']}}]}}\n"
        )
        with prometheus(tmp_path_factory.mktemp("prometheus"), config) as server:
            server.wait_for(f'etl_stream_query_active{{job="{JOB}"}}')
            yield server
    finally:
        for pipeline in PIPELINES:
            request = urllib.request.Request(
                f"{gateway}/metrics/job/{JOB}/pipeline/{pipeline}/env/dev", method="DELETE"
            )
            urllib.request.urlopen(request, timeout=10).close()


def _ours(expr: str) -> str:
    return expr.replace("$pipeline", f"{PREFIX}_.*").replace("$env", ".*")


def test_every_query_of_the_dashboard_returns_series(scraped: Prometheus) -> None:
    empty = [f"{title}: {_ours(expr)}" for title, expr in targets(dashboard()) if not scraped.query(_ours(expr))]

    assert empty == [], "queries that found nothing:\n" + "\n".join(empty)


def test_the_pipeline_and_env_variables_list_the_pushed_pipelines(scraped: Prometheus) -> None:
    variables = {v["name"]: v["definition"] for v in dashboard()["templating"]["list"] if v["type"] == "query"}
    pipelines = variables["pipeline"].removeprefix("label_values(").rsplit(",", 1)[0]
    envs = _ours(variables["env"]).removeprefix("label_values(").rsplit(",", 1)[0]

    found = {s["metric"]["pipeline"] for s in scraped.query(pipelines)} & set(PIPELINES)
    assert found == set(PIPELINES)
    assert {s["metric"]["env"] for s in scraped.query(envs)} >= {"dev"}
