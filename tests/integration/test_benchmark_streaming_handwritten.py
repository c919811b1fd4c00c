"""Benchmark 5's hand-written job against the real broker: it produces the rows etl-cli's pipeline
produces (the same key and JSON value per window and sensor), so the benchmark compares like with like.

Needs the broker of scripts/services.sh (``up kafka``, then ``eval "$(scripts/services.sh env kafka)"``).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.clihelp import REPO
from tests.integration.kafkahelp import kafka_bootstrap, new_topic, produce_json, read_topic, wait_until

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def events() -> list[dict[str, Any]]:
    """Forty events over four seconds, four sensors, each with a distinct produced_ms."""
    return [
        {
            "event_id": n,
            "sensor": f"s{n % 4}",
            "event_time": (START + timedelta(milliseconds=100 * n)).isoformat(),
            "produced_ms": 1_000_000 + n,
        }
        for n in range(40)
    ]


def expected_rows(produced: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The row of each window and sensor, by record key, computed here from what was produced."""
    groups: dict[tuple[datetime, str], list[int]] = defaultdict(list)
    for event in produced:
        second = datetime.fromisoformat(event["event_time"]).replace(microsecond=0)
        groups[(second, event["sensor"])].append(event["produced_ms"])
    return {
        f"{sensor}@{int(start.timestamp() * 1000)}": {
            "window_start": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "window_end": (start + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "sensor": sensor,
            "events": len(stamps),
            "first_produced_ms": min(stamps),
            "last_produced_ms": max(stamps),
            "produced_ms_sum": sum(stamps),
        }
        for (start, sensor), stamps in groups.items()
    }


def latest_rows(bootstrap: str, topic: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record in read_topic(bootstrap, topic):
        assert record.key is not None and record.value is not None
        found[record.key] = json.loads(record.value)
    return found


def test_the_handwritten_streaming_job_writes_every_window_as_the_pipeline_does(tmp_path: Path) -> None:
    bootstrap = kafka_bootstrap()
    topic, out_topic = new_topic("bench-events"), new_topic("bench-counts")
    produced = events()
    produce_json(bootstrap, topic, produced)
    args = [str(tmp_path / "checkpoints"), str(tmp_path / "jvm.log")]
    log = (tmp_path / "job.log").open("wb")
    job = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.streaming_handwritten", bootstrap, topic, out_topic, *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    expected = expected_rows(produced)

    def running() -> None:
        assert job.poll() is None, (tmp_path / "job.log").read_text(errors="replace")[-4000:]

    try:
        wait_until(lambda: latest_rows(bootstrap, out_topic) == expected, 150, "every window's row", running)
    finally:
        job.send_signal(signal.SIGTERM)
        exit_code = job.wait(90)
        log.close()
    assert exit_code == 0, (tmp_path / "job.log").read_text(errors="replace")[-4000:]
    assert len(expected) == 16  # four one-second windows x four sensors
