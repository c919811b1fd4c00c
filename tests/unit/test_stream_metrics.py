"""The streaming metrics, from progress reports recorded from a real run (tests/unit/progress/).

The reports are ``StreamingQuery.lastProgress`` of pipelines/kafka_to_files_streaming reading a Kafka
topic of 40 clicks, 15 per micro-batch: ``kafka_aggregate_behind`` is the windowed aggregate's second
batch (offsets 15 to 30 of 40, so 10 records behind), ``kafka_files_caught_up`` the file sink's batch that
reached offset 40, ``kafka_aggregate_first_batch`` the aggregate's first batch (no watermark yet).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl_cli.runtime.bookkeeping.metrics import progress_json, stream_families

RECORDED = Path(__file__).with_name("progress")
TOPIC = "etl-test-record-7dfc80e9a0"
NOW = datetime(2024, 5, 1, 10, 5, tzinfo=UTC).timestamp()


def recorded(name: str) -> dict[str, Any]:
    return dict(json.loads((RECORDED / f"{name}.json").read_text()))


def samples(*names: str, now: float = NOW) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Metric name → its samples, from the recorded reports ``names``."""
    return {f.name: f.samples for f in stream_families([recorded(n) for n in names], now=now)}


def test_consumer_lag_is_the_latest_offset_minus_the_processed_end_offset() -> None:
    found = samples("kafka_aggregate_behind")["etl_stream_kafka_consumer_lag"]
    assert found == [({"sink": "clicks_per_minute_out", "topic": TOPIC, "partition": "0"}, 10.0)]


def test_consumer_lag_is_zero_once_the_query_has_caught_up() -> None:
    found = samples("kafka_files_caught_up")["etl_stream_kafka_consumer_lag"]
    assert found == [({"sink": "clicks_out", "topic": TOPIC, "partition": "0"}, 0.0)]


def test_watermark_lag_is_wall_time_minus_the_watermark() -> None:
    found = samples("kafka_aggregate_behind")
    watermark = datetime(2024, 5, 1, 9, 59, 26, tzinfo=UTC).timestamp()
    assert found["etl_stream_watermark_timestamp_seconds"] == [({"sink": "clicks_per_minute_out"}, watermark)]
    assert found["etl_stream_watermark_lag_seconds"] == [({"sink": "clicks_per_minute_out"}, 334.0)]


def test_no_watermark_lag_before_an_event_has_set_the_watermark() -> None:
    found = samples("kafka_aggregate_first_batch")
    assert found["etl_stream_watermark_timestamp_seconds"] == [({"sink": "clicks_per_minute_out"}, 0.0)]
    assert found["etl_stream_watermark_lag_seconds"] == []


def test_state_rows_and_memory_per_stateful_operator() -> None:
    found = samples("kafka_aggregate_behind")
    labels = {"sink": "clicks_per_minute_out", "operator": "stateStoreSave"}
    assert found["etl_stream_state_rows"] == [(labels, 3.0)]
    assert found["etl_stream_state_memory_bytes"] == [(labels, 4488.0)]
    assert found["etl_stream_late_rows_dropped"] == [({"sink": "clicks_per_minute_out"}, 0.0)]


def test_a_query_without_state_has_no_state_metrics() -> None:
    found = samples("kafka_files_caught_up")
    assert found["etl_stream_state_rows"] == found["etl_stream_late_rows_dropped"] == []


def test_late_rows_dropped_add_up_over_the_stateful_operators() -> None:
    report = recorded("kafka_aggregate_behind")
    first = {**report["stateOperators"][0], "numRowsDroppedByWatermark": 4}
    report["stateOperators"] = [first, {**first, "numRowsDroppedByWatermark": 3}]
    found = {f.name: f.samples for f in stream_families([report], now=NOW)}
    assert found["etl_stream_late_rows_dropped"] == [({"sink": "clicks_per_minute_out"}, 7.0)]
    operators = [labels["operator"] for labels, _ in found["etl_stream_state_rows"]]
    assert operators == ["stateStoreSave", "stateStoreSave_2"], "two operators of one kind stay two series"


def test_last_progress_time_and_query_active() -> None:
    found = samples("kafka_aggregate_behind", "kafka_files_caught_up")
    reported = datetime(2026, 12, 5, 16, 35, 33, 472000, tzinfo=UTC).timestamp()
    assert found["etl_stream_last_progress_timestamp_seconds"][0] == ({"sink": "clicks_per_minute_out"}, reported)
    assert found["etl_stream_query_active"] == [({"sink": "clicks_per_minute_out"}, 1.0), ({"sink": "clicks_out"}, 1.0)]


def test_the_progress_pyspark_returns_is_read_through_its_json() -> None:
    """PySpark 4's lastProgress holds offsets as Python reprs; the lag comes out the same."""
    from pyspark.sql.streaming.listener import StreamingQueryProgress

    report = StreamingQueryProgress.fromJson(recorded("kafka_aggregate_behind"))
    assert report["sources"][0]["endOffset"] == str({TOPIC: {"0": 30}}), "the repr this test is about"
    found = {f.name: f.samples for f in stream_families([progress_json(report)], now=NOW)}
    assert found["etl_stream_kafka_consumer_lag"] == [
        ({"sink": "clicks_per_minute_out", "topic": TOPIC, "partition": "0"}, 10.0)
    ]
