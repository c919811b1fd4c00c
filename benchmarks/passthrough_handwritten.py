"""Benchmark 5, stateless, hand-written: ``benchmarks/pipelines/kafka_passthrough`` written directly in PySpark.

JSON events from Kafka, sensor s15 filtered out, two derived columns, one JSON record per event produced to
Kafka; in micro-batches (a new one as soon as the previous ends) or in Spark 4.1's real-time mode, whose
trigger pyspark 4.1 has no Python form of (set on the JVM, as a PySpark developer would); with ``count``,
counting the rows it writes with an ``observe``, as etl-cli does by default. Its session comes
from etl-cli's session factory (a streaming session with the Kafka connector), as the other hand-written
benchmark jobs' do, so the variants differ only in how the job is built and run. SIGTERM stops the query.

    python -m benchmarks.passthrough_handwritten SERVERS TOPIC OUTPUT_TOPIC CHECKPOINT MODE BATCH JVM_LOG count|none
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

EVENTS_DDL = "event_id BIGINT, sensor STRING, event_time TIMESTAMP, produced_ms BIGINT"


def run(
    servers: str, topic: str, output_topic: str, checkpoint: str, mode: str, batch: str, jvm_log: Path, count: bool
) -> None:
    """Start the query and run it until SIGTERM."""
    from etl_cli.plugins.kafka_connection import connector_package
    from etl_cli.runtime.spark.session import build_session

    spark = build_session(
        "benchmark-passthrough-handwritten",
        master="local[*]",
        packages=[connector_package()],
        jvm_log=jvm_log,
        streaming=True,
    )
    from pyspark.sql import functions as F

    events = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", servers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .select(F.from_json(F.col("value").cast("string"), EVENTS_DDL).alias("e"))
        .select("e.*")
    )
    enriched = (
        events.where(F.col("sensor") != "s15")
        .withColumn("site", F.expr("concat('site-', cast(cast(substr(sensor, 2) AS INT) % 4 AS STRING))"))
        .withColumn("event_second", F.date_trunc("second", "event_time"))
    )
    if count:  # the rows written, counted as etl-cli counts a sink's (streaming.count_rows, its default)
        enriched = enriched.observe("rows", F.count(F.lit(1)).alias("rows"))
    writer = (
        enriched.select(F.to_json(F.struct(*enriched.columns)).alias("value"))
        .writeStream.format("kafka")
        .option("kafka.bootstrap.servers", servers)
        .option("topic", output_topic)
        .option("checkpointLocation", checkpoint)
    )
    if mode == "real_time":
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        writer = writer.outputMode("update")  # the one output mode Spark 4.1 runs real-time queries in
        writer._jwrite = writer._jwrite.trigger(jvm.org.apache.spark.sql.streaming.Trigger.RealTime(batch))
    else:
        writer = writer.trigger(processingTime="0 seconds")
    query = writer.start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while query.isActive and not stopping.wait(0.5):
        pass
    failure = query.exception()
    query.stop()
    spark.stop()
    if failure is not None:
        raise SystemExit(f"the streaming query failed: {failure}")


if __name__ == "__main__":
    servers, topic, output_topic, checkpoint, mode, batch, jvm_log, count = sys.argv[1:9]
    run(servers, topic, output_topic, checkpoint, mode, batch, Path(jvm_log), count == "count")
