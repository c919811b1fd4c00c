"""A streaming sink's rows are counted from Spark's progress reports: each micro-batch once, however often polled."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from etl_cli.plugins.api import StageSpec
from etl_cli.runtime.streams.streaming import SinkQuery
from tests.support import RecordingReporter


class PublicOnly:
    """A query seen only through PySpark's public API, as on Spark Connect (no JVM handle)."""

    def __init__(self, query) -> None:  # type: ignore[no-untyped-def]
        self.id = query.id
        self._query = query

    @property
    def recentProgress(self):  # type: ignore[no-untyped-def]
        return self._query.recentProgress


def _wait_for_batches(query, count: int) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while sum(1 for p in query.recentProgress if p.numInputRows) < count:
        assert time.monotonic() < deadline, f"micro-batch {count} did not finish"
        time.sleep(0.1)


@pytest.mark.parametrize("through_jvm", [True, False], ids=["classic", "public-api"])
def test_every_micro_batch_is_counted_once_across_polls(spark, tmp_path: Path, through_jvm: bool) -> None:  # type: ignore[no-untyped-def]
    incoming = tmp_path / "in"
    incoming.mkdir()
    (incoming / "a.json").write_text("\n".join(json.dumps({"n": i}) for i in range(5)) + "\n")
    observed = (
        spark.readStream.schema("n INT").json(str(incoming)).observe("etl_sink_out", F.count(F.lit(1)).alias("rows"))
    )
    query = observed.writeStream.format("memory").queryName("polled").trigger(processingTime="100 milliseconds").start()
    stage = StageSpec(name="out", kind="sink", type="memory", inputs=("events",), options={})
    polled = query if through_jvm else PublicOnly(query)
    sink = SinkQuery(stage, polled, str(tmp_path / "checkpoint"), time.perf_counter(), "etl_sink_out")
    reporter = RecordingReporter()
    try:
        _wait_for_batches(query, 1)
        sink.poll(reporter)
        sink.poll(reporter)  # nothing new: nothing counted twice
        assert (sink.rows, sink.batches) == (5, 1)
        (incoming / "b.json").write_text("\n".join(json.dumps({"n": i}) for i in range(3)) + "\n")
        _wait_for_batches(query, 2)
        time.sleep(0.5)  # idle triggers report progress too: they are skipped, not counted
        sink.poll(reporter)
        sink.poll(reporter)
    finally:
        query.stop()
    assert (sink.rows, sink.batches, sink.last_batch) == (8, 2, 1)
    batches = [line for line in reporter.texts if "micro-batch" in line]
    assert len(batches) == 2
    assert batches[0].startswith("out: micro-batch 0: 5 rows written in ")
    assert batches[1].startswith("out: micro-batch 1: 3 rows written in ")
    assert sink.timings.batches == 2
