"""``streaming.output_mode: update`` against the real broker: window counts reach the sink while their
windows are still open (the watermark is an hour behind every event), are updated as more events
arrive, and end at the counts computed here from what the test produced.

Needs the broker of scripts/services.sh (``up kafka``, then ``eval "$(scripts/services.sh env kafka)"``);
the JDBC variant PostgreSQL too (``up pg``).
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.integration.dbhelp import pg_connect, pg_rows, pg_schema, require
from tests.integration.kafkahelp import BackgroundRun, kafka_bootstrap, new_topic, produce_json, read_topic, wait_until

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
PAGES = ("/home", "/docs", "/pricing")

PIPELINE = """
name: live_counts
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2}}}}
streaming:
  checkpoint_location: {checkpoints}
  trigger: {{processing_time: 1 second}}
  output_mode: update
sources:
  - name: clicks
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {topic}
    schema: {{click_id: BIGINT, page: STRING, event_time: TIMESTAMP}}
    metadata: []
    watermark: {{column: event_time, delay: 1 hour}}
transforms:
  - name: per_minute
    type: aggregate
    inputs: [clicks]
    window: {{column: event_time, duration: 1 minute}}
    group_by: [page]
    aggregations: {{clicks: {{function: count}}}}
"""
KAFKA_SINK = """
  - name: per_minute_key
    type: derive
    inputs: [per_minute]
    columns: {{record_key: "concat(page, ' ', date_format(window_start, 'HH:mm'))"}}
sinks:
  - name: counts_out
    type: kafka
    input: per_minute_key
    bootstrap_servers: {bootstrap}
    topic: {out_topic}
    key_column: record_key
"""
JDBC_SINK = """
sinks:
  - name: counts_out
    type: jdbc
    input: per_minute
    url: {url}
    user: {user}
    password: ${{env:PG_PASSWORD}}
    table: {table}
    mode: upsert
    keys: [window_start, page]
"""


def clicks(first: int, last: int, offset_s: int = 0) -> list[dict[str, Any]]:
    """Clicks ``first``..``last - 1``, two seconds apart from 10:00 plus ``offset_s``, pages in turn."""
    return [
        {
            "click_id": n,
            "page": PAGES[n % 3],
            "event_time": (START + timedelta(seconds=offset_s + 2 * (n - first))).isoformat(),
        }
        for n in range(first, last)
    ]


def per_minute(produced: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Clicks per (page, minute "HH:MM"), counted here from what was produced."""
    counts: Counter[tuple[str, str]] = Counter()
    for click in produced:
        counts[(click["page"], datetime.fromisoformat(click["event_time"]).strftime("%H:%M"))] += 1
    return dict(counts)


def versions(bootstrap: str, topic: str) -> dict[tuple[str, str], list[int]]:
    """Every count produced for each (page, minute), in the order produced (one key: one partition)."""
    found: dict[tuple[str, str], list[int]] = {}
    for record in read_topic(bootstrap, topic):
        page, minute = (record.key or "").split(" ")
        assert record.value is not None
        found.setdefault((page, minute), []).append(json.loads(record.value)["clicks"])
    return found


def latest(found: dict[tuple[str, str], list[int]]) -> dict[tuple[str, str], int]:
    return {key: counts[-1] for key, counts in found.items()}


def test_update_mode_writes_open_windows_to_kafka_and_updates_them(tmp_path: Path) -> None:
    bootstrap = kafka_bootstrap()
    topic, out_topic = new_topic("clicks"), new_topic("live-counts")
    pipeline = tmp_path / "live_counts" / "pipeline.yaml"
    pipeline.parent.mkdir()
    settings = {"bootstrap": bootstrap, "topic": topic, "out_topic": out_topic, "checkpoints": tmp_path / "ck"}
    pipeline.write_text((PIPELINE + KAFKA_SINK).format(**settings))
    run = BackgroundRun([str(pipeline)], tmp_path / "run.log", {"ETL_STATE_DIR": str(tmp_path / "state")})
    first = clicks(0, 45)  # 10:00:00 to 10:01:28
    produce_json(bootstrap, topic, first, key="click_id")
    try:
        run.start()
        wait_until(
            lambda: latest(versions(bootstrap, out_topic)) == per_minute(first),
            150,
            "the counts of the first clicks, in windows the watermark has not closed",
            run.assert_running,
        )
        later = clicks(100, 130, offset_s=30)  # 10:00:30 to 10:01:28 again: both windows change
        produce_json(bootstrap, topic, later, key="click_id")
        expected = per_minute(first + later)
        wait_until(
            lambda: latest(versions(bootstrap, out_topic)) == expected,
            120,
            "the updated counts",
            run.assert_running,
        )
        assert run.stop(signal.SIGTERM) == 0, run.output()[-4000:]
    finally:
        run.cleanup()

    found = versions(bootstrap, out_topic)
    assert latest(found) == expected
    for key, counts in found.items():
        assert counts == sorted(counts), f"{key}: counts only grow, one record per change"
        assert counts[0] == per_minute(first)[key] and counts[-1] == expected[key], f"{key}: {counts}"


def test_update_mode_upserts_open_windows_into_postgres(tmp_path: Path) -> None:
    bootstrap = kafka_bootstrap()
    pg = require(("ETL_TEST_PG_JDBC_URL", "ETL_TEST_PG_USER", "ETL_TEST_PG_PASSWORD"), "pg")
    topic = new_topic("clicks")
    with pg_schema() as schema:
        with pg_connect() as conn:
            conn.execute(
                f"CREATE TABLE {schema}.counts (window_start TIMESTAMP, window_end TIMESTAMP, page TEXT, "
                "clicks BIGINT, PRIMARY KEY (window_start, page))"
            )
        pipeline = tmp_path / "live_counts" / "pipeline.yaml"
        pipeline.parent.mkdir()
        settings = {
            "bootstrap": bootstrap,
            "topic": topic,
            "checkpoints": tmp_path / "ck",
            "url": pg["ETL_TEST_PG_JDBC_URL"],
            "user": pg["ETL_TEST_PG_USER"],
            "table": f"{schema}.counts",
        }
        pipeline.write_text((PIPELINE + JDBC_SINK).format(**settings))
        env = {"ETL_STATE_DIR": str(tmp_path / "state"), "PG_PASSWORD": pg["ETL_TEST_PG_PASSWORD"]}
        run = BackgroundRun([str(pipeline)], tmp_path / "run.log", env)

        def table() -> dict[tuple[str, str], int]:
            rows = pg_rows(f"SELECT page, to_char(window_start, 'HH24:MI'), clicks FROM {schema}.counts")
            return {(page, minute): int(Decimal(count)) for page, minute, count in rows}

        first = clicks(0, 45)
        produce_json(bootstrap, topic, first, key="click_id")
        try:
            run.start()
            wait_until(lambda: table() == per_minute(first), 150, "the first counts upserted", run.assert_running)
            later = clicks(100, 130, offset_s=30)
            produce_json(bootstrap, topic, later, key="click_id")
            expected = per_minute(first + later)
            wait_until(lambda: table() == expected, 120, "the updated counts upserted", run.assert_running)
            assert run.stop(signal.SIGTERM) == 0, run.output()[-4000:]
        finally:
            run.cleanup()

        assert table() == expected
