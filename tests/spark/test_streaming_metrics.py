"""While a streaming run goes on, its queries' progress is exported (here to a textfile) with no outcome yet."""

from __future__ import annotations

import json
import time
from pathlib import Path

from etl_cli.app import registry
from etl_cli.events import Reporter
from etl_cli.model.metrics import MetricsSpec
from etl_cli.runtime.bookkeeping.metrics import StreamingPusher
from etl_cli.runtime.bookkeeping.results import RunResults


def test_a_running_query_exports_its_last_micro_batch(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    incoming = tmp_path / "in"
    incoming.mkdir()
    (incoming / "a.json").write_text("\n".join(json.dumps({"n": i}) for i in range(7)) + "\n")
    query = (
        spark.readStream.schema("n INT")
        .json(str(incoming))
        .writeStream.format("memory")
        .queryName("counted")
        .trigger(processingTime="1 hour")  # one batch now, the next one long after the test
        .start()
    )
    try:
        deadline = time.monotonic() + 60
        while query.lastProgress is None or query.lastProgress["numInputRows"] == 0:
            assert time.monotonic() < deadline, "the first micro-batch did not finish"
            time.sleep(0.2)
        running = RunResults("r1", "events", None, "p.yaml", started_at="2026-11-25T10:00:00.000+00:00")
        spec = MetricsSpec("textfile", {"path": "m/events.prom", "interval_s": 1}, tmp_path)
        StreamingPusher(spec, registry(), lambda: running, spark, Reporter()).push_once()
        text = (tmp_path / "m" / "events.prom").read_text()
    finally:
        query.stop()
    labels = 'env="default",pipeline="events",sink="counted"'
    assert f"etl_stream_batch_id{{{labels}}} 0.0" in text
    assert f"etl_stream_input_rows{{{labels}}} 7.0" in text
    assert "etl_stream_batch_duration_seconds{" in text
    assert 'etl_run_started_timestamp_seconds{env="default",pipeline="events"} 1.7956008e+09' in text
    assert "etl_run_success" not in text and "etl_run_exit_code" not in text, "a running run has no outcome yet"
