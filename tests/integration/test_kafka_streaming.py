"""Streaming runs from Kafka, through ``etl-cli run`` in a background process, against the real broker.

Exactly once is checked on what a reader of the sink sees: the files Spark's file sink
committed (its ``_spark_metadata`` log, read here with plain Python and pyarrow, and once
with Spark itself). Expected rows and per-minute counts are computed from what the test
produced.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kafkahelp import (
    BackgroundRun,
    committed_json_rows,
    committed_parquet_rows,
    kafka_bootstrap,
    keep_checking,
    new_topic,
    produce,
    produce_json,
    wait_until,
)
from tests.integration.promstack import free_port
from tests.integration.serviceshelp import PrivateServices, private_services

PIPELINE = "pipelines/kafka_to_files_streaming"
START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
PAGES = ("/home", "/docs", "/pricing")


def clicks(first: int, last: int) -> list[dict[str, Any]]:
    """Clicks ``first``..``last - 1``, two seconds apart; every seventh has no page (the pipeline drops those)."""
    return [
        {
            "click_id": n,
            "user_id": f"u{n % 5}",
            "page": None if n % 7 == 0 else PAGES[n % 3],
            "event_time": (START + timedelta(seconds=2 * n)).isoformat(),
        }
        for n in range(first, last)
    ]


def kept(produced: list[dict[str, Any]]) -> list[int]:
    return sorted(c["click_id"] for c in produced if c["page"] is not None)


def closed_minutes(produced: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Clicks per (minute, page) for the minutes the watermark (latest event time - 1 minute) has closed."""
    latest = max(datetime.fromisoformat(c["event_time"]) for c in produced)
    counts: Counter[tuple[str, str]] = Counter()
    for click in produced:
        moment = datetime.fromisoformat(click["event_time"])
        minute = moment.replace(second=0)
        if click["page"] is not None and minute + timedelta(minutes=1) <= latest - timedelta(minutes=1):
            counts[(minute.strftime("%Y-%m-%dT%H:%M"), click["page"])] += 1
    return dict(counts)


def written_minutes(rows: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(minute, page) → clicks as written, summed: a window written twice would double its count."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        counts[(row["window_start"][:16], row["page"])] += row["clicks"]
    return counts


@pytest.fixture
def bootstrap() -> str:
    return kafka_bootstrap()


@pytest.fixture
def stream(tmp_path: Path, bootstrap: str) -> Iterator[tuple[str, Path, BackgroundRun]]:
    """The example streaming pipeline on a new topic, 5 records per micro-batch, a micro-batch every 2 s."""
    topic, out = new_topic("clicks"), tmp_path / "out"
    args = [PIPELINE, "--results-dir", str(tmp_path / "results")]
    for setting in (
        f"vars.bootstrap_servers={bootstrap}",
        f"vars.topic={topic}",
        f"vars.output_dir={out}",
        f"vars.checkpoint_dir={tmp_path / 'checkpoints'}",
        "vars.trigger_interval=2 seconds",
        "sources.clicks_raw.max_offsets_per_trigger=5",
    ):
        args += ["--set", setting]
    run = BackgroundRun(args, tmp_path / "run.log", {"ETL_STATE_DIR": str(tmp_path / "state")})
    try:
        yield topic, out, run
    finally:
        run.cleanup()


def click_ids(out: Path) -> list[int]:
    return sorted(row["click_id"] for row in committed_parquet_rows(out / "clicks"))


def test_killed_and_restarted_stream_writes_every_record_exactly_once(
    stream: tuple[str, Path, BackgroundRun], bootstrap: str, tmp_path: Path, spark: Any
) -> None:
    topic, out, run = stream
    first = clicks(0, 40)
    produce_json(bootstrap, topic, first, key="click_id")
    run.start()
    wait_until(lambda: len(click_ids(out)) > 0, 120, "the first micro-batch", run.assert_running)

    run.kill()
    at_kill = click_ids(out)
    assert 0 < len(at_kill) < len(kept(first)), "the kill should land while the backlog is being worked through"
    later = clicks(40, 80)
    produce_json(bootstrap, topic, later, key="click_id")
    run.start("--set", "sources.clicks_raw.max_offsets_per_trigger=100")  # work through the backlog faster
    flush = clicks(200, 201)  # event time 10:06:40 moves the watermark past every minute produced before
    produce_json(bootstrap, topic, flush, key="click_id")
    produced = first + later + flush
    expected_minutes = closed_minutes(produced)
    wait_until(
        lambda: (
            len(click_ids(out)) >= len(kept(produced))
            and written_minutes(committed_json_rows(out / "clicks_per_minute")) == expected_minutes
        ),
        180,
        "every click and every closed minute",
        run.assert_running,
    )
    assert run.stop(signal.SIGTERM) == 0, run.output()[-4000:]

    assert click_ids(out) == kept(produced)
    assert written_minutes(committed_json_rows(out / "clicks_per_minute")) == expected_minutes
    with_spark = sorted(r.click_id for r in spark.read.parquet(str(out / "clicks")).select("click_id").collect())
    assert with_spark == kept(produced), "Spark, which follows _spark_metadata, reads each click once"
    results = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert results["status"] == "success" and results["exit_code"] == 0
    sink = next(s for s in results["stages"] if s["name"] == "clicks_out")
    assert sink["details"]["stopped_by"] == "SIGTERM" and sink["details"]["micro_batches"] >= 1


def template_pipeline(tmp_path: Path, bootstrap: str, topic: str, trigger: str, max_offsets: int) -> Path:
    """A pipeline built on templates/kafka_to_files_streaming.yaml: one topic into Parquet, one query."""
    pipeline = tmp_path / "from_template" / "pipeline.yaml"
    pipeline.parent.mkdir()
    pipeline.write_text(
        f"""
extends:
  template: kafka_to_files_streaming
  params:
    bootstrap_servers: {bootstrap}
    topic: {topic}
    schema: "click_id BIGINT, user_id STRING, page STRING, event_time TIMESTAMP"
    output_path: {tmp_path}/out
    checkpoint_location: {tmp_path}/checkpoints
    max_offsets_per_trigger: {max_offsets}
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2}}}}
streaming:
  trigger: !replace {trigger}
"""
    )
    return pipeline


@pytest.fixture
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, PrivateServices]]:
    """A broker of this test alone, so that stopping it disturbs no other test."""
    kafka_bootstrap()  # the shared broker's install (Kafka's jars): the private one starts from the same
    port, controller = free_port(), free_port()
    folder = tmp_path_factory.mktemp("services")
    with private_services(folder, {"ETL_TEST_KAFKA_PORT": port, "ETL_TEST_KAFKA_CONTROLLER_PORT": controller}) as own:
        own.run("up", "kafka")
        yield f"127.0.0.1:{port}", own


def test_stream_recovers_from_a_broker_restart(tmp_path: Path, private_broker: tuple[str, PrivateServices]) -> None:
    bootstrap, broker = private_broker
    topic, out = new_topic("restart"), tmp_path / "out"
    pipeline = template_pipeline(tmp_path, bootstrap, topic, "{processing_time: 2 seconds}", 100)
    run = BackgroundRun([str(pipeline)], tmp_path / "run.log", {"ETL_STATE_DIR": str(tmp_path / "state")})
    first = clicks(0, 15)
    produce_json(bootstrap, topic, first, key="click_id")
    try:
        run.start()
        wait_until(
            lambda: len(ids(out)) == len(first), 120, "the records produced before the restart", run.assert_running
        )
        restarted = False
        try:
            broker.run("down", "kafka")
            keep_checking(8, run.assert_running)  # the stream keeps running while the broker is away
            broker.run("up", "kafka")
            restarted = True
        finally:
            if not restarted:
                broker.run("up", "kafka")
        later = clicks(15, 35)
        produce_json(bootstrap, topic, later, key="click_id")
        wait_until(lambda: len(ids(out)) >= 35, 180, "the records produced after the restart", run.assert_running)
        assert run.stop(signal.SIGTERM) == 0, run.output()[-4000:]
    finally:
        run.cleanup()

    assert ids(out) == list(range(35))


def ids(out: Path) -> list[int]:
    return sorted(row["click_id"] for row in committed_parquet_rows(out))


def test_available_now_processes_the_backlog_and_exits(tmp_path: Path, bootstrap: str) -> None:
    topic = new_topic("backlog")
    produced = clicks(0, 23)
    produce_json(bootstrap, topic, produced, key="click_id")
    pipeline = template_pipeline(tmp_path, bootstrap, topic, "{available_now: true}", 10)
    run = BackgroundRun([str(pipeline)], tmp_path / "run.log", {"ETL_STATE_DIR": str(tmp_path / "state")})
    try:
        assert run.start().process is not None
        assert run.process.wait(180) == 0, run.output()[-4000:]
    finally:
        run.cleanup()

    rows = committed_parquet_rows(tmp_path / "out")
    assert sorted(r["click_id"] for r in rows) == [c["click_id"] for c in produced]
    assert {r["kafka_topic"] for r in rows} == {topic}
    assert "micro-batch 2:" in run.output(), "10 records per micro-batch: the backlog took three"


def test_a_failing_query_fails_the_run_with_spark_s_reason(tmp_path: Path, bootstrap: str) -> None:
    topic = new_topic("poison")
    produce_json(bootstrap, topic, clicks(0, 3), key="click_id")
    produce(bootstrap, topic, [("bad", "this is not JSON")])
    pipeline = template_pipeline(tmp_path, bootstrap, topic, "{available_now: true}", 10)
    run = BackgroundRun(
        [str(pipeline), "--results-dir", str(tmp_path / "results")],
        tmp_path / "run.log",
        {"ETL_STATE_DIR": str(tmp_path / "state")},
    )
    try:
        assert run.start().process is not None
        assert run.process.wait(180) == 4, run.output()[-4000:]
    finally:
        run.cleanup()

    assert "sink 'records_out' (parquet) failed" in run.output()
    assert "Malformed records are detected" in run.output()
    results = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert results["status"] == "failed" and results["error"]["stage"] == "records_out"
    assert committed_parquet_rows(tmp_path / "out") == [], "the micro-batch with the bad record never committed"
