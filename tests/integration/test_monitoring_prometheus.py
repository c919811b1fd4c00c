"""A real Prometheus scrapes the live endpoint of a streaming run reading a real Kafka topic.

The example pipeline (pipelines/kafka_to_files_streaming: two queries, one of them a windowed
aggregate with state) runs as ``etl-cli run`` in the background with its endpoint on a fixed port,
10 records per micro-batch, one every 2 seconds; Prometheus (tests/integration/promstack.py) scrapes
it every second. Expected values come from what the test produced: 30 records, so the first
micro-batch leaves 20 behind and the last catches up.
"""

from __future__ import annotations

import json
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kafkahelp import BackgroundRun, kafka_bootstrap, new_topic, produce_json
from tests.integration.promstack import Prometheus, free_port, prometheus
from tests.integration.test_kafka_streaming import PIPELINE, clicks, kept

PRODUCED = 30
PER_BATCH = 10
SCRAPE = """
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: etl
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
"""


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[BackgroundRun, str, int]]:
    """The streaming run (not started yet) on a new topic holding the produced records, and its endpoint port."""
    bootstrap, topic, port = kafka_bootstrap(), new_topic("monitored"), free_port()
    produce_json(bootstrap, topic, clicks(0, PRODUCED), key="click_id")
    args = [PIPELINE, "--results-dir", str(tmp_path / "results")]
    for setting in (
        f"vars.bootstrap_servers={bootstrap}",
        f"vars.topic={topic}",
        f"vars.output_dir={tmp_path / 'out'}",
        f"vars.checkpoint_dir={tmp_path / 'checkpoints'}",
        "vars.trigger_interval=2 seconds",
        f"sources.clicks_raw.max_offsets_per_trigger={PER_BATCH}",
        f"monitoring.port={port}",
    ):
        args += ["--set", setting]
    run = BackgroundRun(args, tmp_path / "run.log", {"ETL_STATE_DIR": str(tmp_path / "state")})
    try:
        yield run, topic, port
    finally:
        run.cleanup()


def value(result: list[dict[str, Any]]) -> float:
    [sample] = result
    return float(sample["value"][1])


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_prometheus_scrapes_the_streaming_metrics_of_a_running_pipeline(
    running: tuple[BackgroundRun, str, int], tmp_path: Path
) -> None:
    run, topic, port = running
    with prometheus(tmp_path / "prometheus", SCRAPE.format(port=port)) as server:
        run.start()
        lag = f'etl_stream_kafka_consumer_lag{{sink="clicks_out",topic="{topic}",partition="0"}}'
        caught_up = server.wait_for(lag, lambda r: len(r) == 1 and value(r) == 0, timeout=180)
        run.assert_running()
        assert_scraped(server, caught_up[0]["metric"], lag)
        status, health = get_json(f"http://127.0.0.1:{port}/healthz")
        assert (status, health["spark"], health["pipeline"]) == (200, "alive", "kafka_to_files_streaming")
        status, ready = get_json(f"http://127.0.0.1:{port}/readyz")
        assert (status, ready["status"]) == (200, "ready"), ready
        assert [q["name"] for q in ready["queries"]] == ["clicks_out", "clicks_per_minute_out"]

        assert run.stop(signal.SIGTERM) == 0, run.output()[-4000:]

    results = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert results["monitoring"]["url"] == f"http://127.0.0.1:{port}"
    sink = next(s for s in results["stages"] if s["name"] == "clicks_out")
    assert sink["rows_out"] == len(kept(clicks(0, PRODUCED)))
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)


def assert_scraped(server: Prometheus, labels: dict[str, str], lag: str) -> None:
    """What Prometheus holds once the query has caught up: labels, backlog and batches agreeing, state.

    A micro-batch that overran the trigger interval is followed at once by the next, so a scrape
    a second apart may miss a backlog (20 after the first batch, under load); what every scrape
    must show is the backlog and the batches read so far adding up to what was produced.
    """
    assert (labels["job"], labels["pipeline"], labels["env"]) == ("etl", "kafka_to_files_streaming", "dev")
    read = f'(etl_stream_batch_id{{sink="clicks_out"}} + 1) * {PER_BATCH}'
    total = f"({lag} + ignoring(topic, partition) {read})[10m:1s]"
    assert value(server.query(f"min_over_time({total})")) == PRODUCED
    assert value(server.query(f"max_over_time({total})")) == PRODUCED
    assert value(server.query(f"max_over_time({lag}[10m])")) in (PRODUCED - PER_BATCH, PRODUCED - 2 * PER_BATCH)
    assert value(server.query('max_over_time(etl_stream_input_rows{sink="clicks_out"}[10m])')) == PER_BATCH
    batches = value(server.query('max_over_time(etl_stream_batch_id{sink="clicks_out"}[10m])')) + 1
    assert batches * PER_BATCH == PRODUCED, "full micro-batches (ids from 0) add up to the records produced"
    # a query shows up once it has reported progress: on a loaded machine the windowed aggregate's
    # first micro-batch may finish after clicks_out has caught up, so wait for both
    both = ["clicks_out", "clicks_per_minute_out"]
    server.wait_for("etl_stream_query_active == 1", lambda r: sorted(s["metric"]["sink"] for s in r) == both, 120)
    state = server.query('etl_stream_state_rows{sink="clicks_per_minute_out",operator="stateStoreSave"}')
    assert value(state) > 0
    assert value(server.query('etl_stream_watermark_lag_seconds{sink="clicks_out"}')) > 0
    assert value(server.query('up{job="etl"}')) == 1
