"""Benchmark 5, hand-written: the ``update_kafka`` job written directly in Structured Streaming.

What a PySpark developer writes for ``benchmarks/pipelines/kafka_streaming``: JSON events from
Kafka, a 1-second watermark, counts per sensor in 1-second windows, and every window a
micro-batch changed produced to a Kafka topic (output mode update), keyed by window and
sensor. Its session comes from etl-cli's session factory with the pipeline's settings (a
streaming session, two shuffle partitions, the Kafka connector), as the batch benchmarks'
hand-written jobs share etl-cli's session, so the two variants differ only in how the job is
built and run. SIGTERM stops the query gracefully, as it stops ``etl-cli run``.

    python -m benchmarks.streaming_handwritten SERVERS TOPIC OUTPUT_TOPIC CHECKPOINT JVM_LOG
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

EVENTS_DDL = "event_id BIGINT, sensor STRING, event_time TIMESTAMP, produced_ms BIGINT"


def run(servers: str, topic: str, output_topic: str, checkpoint: str, jvm_log: Path) -> None:
    """Start the query and run it until SIGTERM."""
    from etl_cli.plugins.kafka_connection import connector_package
    from etl_cli.runtime.spark.session import build_session

    spark = build_session(
        "benchmark-streaming-handwritten",
        master="local[*]",
        conf={"spark.sql.shuffle.partitions": "2"},
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
        .select(F.from_json(F.col("value").cast("string"), EVENTS_DDL, {"mode": "FAILFAST"}).alias("e"))
        .select("e.*")
        .withWatermark("event_time", "1 second")
    )
    counts = events.groupBy(F.window("event_time", "1 second").alias("w"), "sensor").agg(
        F.count(F.lit(1)).alias("events"),
        F.min("produced_ms").alias("first_produced_ms"),
        F.max("produced_ms").alias("last_produced_ms"),
        F.sum("produced_ms").alias("produced_ms_sum"),
    )
    rows = counts.select(
        F.col("w.start").alias("window_start"),
        F.col("w.end").alias("window_end"),
        "sensor",
        "events",
        "first_produced_ms",
        "last_produced_ms",
        "produced_ms_sum",
    )
    records = rows.select(
        F.concat("sensor", F.lit("@"), F.unix_millis("window_start").cast("string")).alias("key"),
        F.to_json(F.struct(*rows.columns)).alias("value"),
    )
    query = (
        records.writeStream.format("kafka")
        .option("kafka.bootstrap.servers", servers)
        .option("topic", output_topic)
        .option("checkpointLocation", checkpoint)
        .outputMode("update")
        .trigger(processingTime="0 seconds")
        .start()
    )
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
    servers, topic, output_topic, checkpoint, jvm_log = sys.argv[1:6]
    run(servers, topic, output_topic, checkpoint, Path(jvm_log))
