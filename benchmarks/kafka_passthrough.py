"""Benchmark 5, stateless: Kafka → filter, derive → Kafka, in micro-batch and in real-time mode, latency per event.

``benchmarks/pipelines/kafka_passthrough`` drops one sensor in sixteen and derives two columns; each kept
event becomes one record in an output topic created with ``message.timestamp.type=LogAppendTime``, so its
timestamp is the moment the broker made it visible. An event's latency is that moment minus the
``produced_ms`` it carries (the producer's clock, the same machine): exact per event, no spreading.
Six variants, one after the other on a fresh topic each, the same producer (benchmarks/kafka_streaming.py)
at the same rate:

- ``micro_batch``: ``etl-cli run`` of the pipeline as written (a micro-batch as soon as the previous ends);
- ``real_time``: the same with ``--set streaming.trigger={real_time: "5 minutes"}`` (Spark 4.1's real-time
  mode: the tasks stay up and pass each event on as they read it);
- ``real_time_uncounted``: the same with ``streaming.count_rows: false`` (no ``observe`` counting the rows);
- ``micro_batch_handwritten``, ``real_time_handwritten`` and ``real_time_handwritten_uncounted``: the same job
  written directly in Structured Streaming (``benchmarks/passthrough_handwritten.py``), counting the rows it
  writes with the same ``observe`` as etl-cli (the fair comparison), and without (the uncounted ratio).

A trickle of events starts the query, ``WARMUP_AT_RATE_S`` at the full rate warm the JVM up (those events
carry ids from ``WARMUP_IDS`` on and are not measured), then the measured phase produces ids 0.. at the
rate. Every event is counted once: the measured ids in the output must be exactly the produced ones the
filter keeps, none missing, none twice. Needs the broker (``scripts/services.sh up kafka``).

While the job runs, this process only watches how many records the output topic holds (its partitions'
high watermarks, a few requests a second); it reads and parses the output once the job has written the
last expected record. The broker's timestamps make reading later exact, and the two cores are left to the
broker, the producer and the job under test (a reader parsing 56,000 records a second took a third of a
core from them).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.kafka_streaming import (
    PARTITIONS,
    REPO,
    Rows,
    _create_topic,
    _delete_topics,
    _stop_pipeline,
    _wait_until,
    bootstrap_servers,
    skipped_reason,
)
from benchmarks.machine import load_average
from benchmarks.measure import MB, PeakSampler, tree_cpu_seconds

NAME = "kafka_real_time"
TITLE = "Streaming, stateless: Kafka → filter, derive → Kafka, micro-batch against real-time mode"
PIPELINE = Path(__file__).resolve().parent / "pipelines" / "kafka_passthrough"
RATE = 60_000
P95_TARGET_MS = 100.0
REAL_TIME_BATCH = "5 minutes"
WARMUP_AT_RATE_S = 15.0
#: ids of the warm-up events start here (the measured phase's start at 0)
WARMUP_IDS = 1_000_000_000
#: the pipeline's filter drops this sensor's events
DROPPED_SENSOR = 15
SENSORS = 16

__all__ = ["NAME", "TITLE", "run_real_time", "skipped_reason"]


@dataclass(frozen=True)
class Variant:
    name: str
    real_time: bool
    handwritten: bool
    description: str
    #: whether the job counts the rows it writes (etl-cli's default; the hand-written job with the same observe)
    counted: bool = True


VARIANTS = (
    Variant("micro_batch", False, False, "etl-cli run, trigger processing_time 0 seconds"),
    Variant("real_time", True, False, f'etl-cli run, trigger real_time "{REAL_TIME_BATCH}"'),
    Variant(
        "real_time_uncounted", True, False, "etl-cli run in real-time mode with streaming.count_rows: false", False
    ),
    Variant("micro_batch_handwritten", False, True, "hand-written in PySpark, micro-batches, counting the rows"),
    Variant("real_time_handwritten", True, True, "hand-written in PySpark, real-time mode, counting the rows"),
    Variant("real_time_handwritten_uncounted", True, True, "hand-written in PySpark, real-time mode, no count", False),
)


def kept(event_id: int) -> bool:
    """Whether the pipeline's filter keeps the event (the producer names sensors ``s{id % 16}``)."""
    return event_id % SENSORS != DROPPED_SENSOR


def _produce(topic: str, rate: int, seconds: float, report: Path, first_id: int) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "benchmarks.kafka_streaming", bootstrap_servers(), topic, str(rate), str(seconds)]
    return subprocess.Popen([*args, str(report), str(first_id)], cwd=REPO, stdin=subprocess.DEVNULL)


def _start(variant: Variant, topic: str, output_topic: str, folder: Path) -> subprocess.Popen[bytes]:
    checkpoint = str(folder / "checkpoints")
    if variant.handwritten:
        mode = "real_time" if variant.real_time else "micro_batch"
        args = [sys.executable, "-m", "benchmarks.passthrough_handwritten", bootstrap_servers(), topic, output_topic]
        args += [checkpoint, mode, REAL_TIME_BATCH, str(folder / "jvm.log"), "count" if variant.counted else "none"]
    else:
        script = Path(sys.executable).with_name("etl-cli")
        command = [str(script)] if script.is_file() else [sys.executable, "-m", "etl_cli"]
        args = [*command, "run", str(PIPELINE), "--log-format", "json", "--results-dir", str(folder / "results")]
        sets = {
            "vars.bootstrap_servers": bootstrap_servers(),
            "vars.topic": topic,
            "vars.output_topic": output_topic,
            "vars.checkpoint_dir": checkpoint,
        }
        if variant.real_time:
            sets["streaming.trigger"] = f'{{real_time: "{REAL_TIME_BATCH}"}}'
        if not variant.counted:
            sets["streaming.count_rows"] = "false"
        for key, value in sets.items():
            args += ["--set", f"{key}={value}"]
    env = {**os.environ, "ETL_STATE_DIR": str(folder / "state"), "NO_COLOR": "1"}
    log = (folder / "run.log").open("wb")
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def summarise(rows: list[tuple[float, dict[str, Any]]], sent: int, rate: int, produced_rate: float) -> dict[str, Any]:
    """Latency percentiles of the measured events, and whether each was counted exactly once."""
    import numpy as np

    measured = [(seen, row) for seen, row in rows if int(row["event_id"]) < WARMUP_IDS]
    ids = Counter(int(row["event_id"]) for _, row in measured)
    expected = {n for n in range(sent) if kept(n)}
    duplicates = sum(count - 1 for count in ids.values() if count > 1)
    missing = len(expected - set(ids))
    unexpected = len(set(ids) - expected)
    first_seen: dict[int, float] = {}
    for seen, row in measured:
        event_id = int(row["event_id"])
        first_seen[event_id] = min(first_seen.get(event_id, seen), seen)
    produced_ms = {int(row["event_id"]): float(row["produced_ms"]) for _, row in measured}
    values = np.array([first_seen[n] * 1000 - produced_ms[n] for n in sorted(first_seen)])
    if values.size == 0:
        return {"events_measured": 0, "events_expected": len(expected), "counted_once": False}
    fifth = max(1, values.size // 5)
    p50, p95, p99 = (float(np.percentile(values, q)) for q in (50, 95, 99))
    no_backlog = float(np.median(values[-fifth:])) <= float(np.median(values[:fifth])) + 1000
    counted_once = duplicates == 0 and missing == 0 and unexpected == 0
    return {
        "events_measured": int(values.size),
        "events_expected": len(expected),
        "duplicates": duplicates,
        "missing": missing,
        "unexpected": unexpected,
        "counted_once": counted_once,
        "latency_ms": {"p50": round(p50), "p95": round(p95), "p99": round(p99), "max": round(float(values.max()))},
        "median_latency_first_fifth_ms": round(float(np.median(values[:fifth]))),
        "median_latency_last_fifth_ms": round(float(np.median(values[-fifth:]))),
        "sustained": bool(produced_rate >= 0.98 * rate and counted_once and no_backlog),
        "p95_target_ms": P95_TARGET_MS,
        "p95_met": p95 < P95_TARGET_MS,
    }


def _broker() -> Any:
    """The Kafka broker's process when it runs on this machine (psutil), else None."""
    try:
        import psutil
    except ImportError:
        return None
    for candidate in psutil.process_iter(["cmdline"]):
        if "kafka.Kafka" in (candidate.info.get("cmdline") or []):
            return candidate
    return None


def _cpu_seconds(process: Any) -> float | None:
    if process is None:
        return None
    try:
        times = process.cpu_times()
    except Exception:  # the broker went away: its CPU is unknown, not zero
        return None
    return float(times.user + times.system)


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _difference(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 1)


class OutputTopic:
    """The output topic, watched by its size while the job runs and read whole after it.

    Each record's moment is its LogAppendTime (the topic is created with ``message.timestamp.type=LogAppendTime``:
    the broker stamps a record when it appends it, which with one replica is when consumers can read it), so
    when the records are read does not change the measurement.
    """

    def __init__(self, topic: str) -> None:
        from confluent_kafka import Consumer

        self.topic = topic
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers(),
                "group.id": f"etl-bench-output-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
            }
        )

    def size(self) -> int:
        """How many records the topic holds: the sum of its partitions' high watermarks."""
        from confluent_kafka import TopicPartition

        return sum(
            self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1] for p in range(PARTITIONS)
        )

    def settled_size(self, quiet_s: float, timeout_s: float) -> int:
        """The topic's size once it has not grown for ``quiet_s`` (at most ``timeout_s`` of waiting)."""
        deadline = time.monotonic() + timeout_s
        size, since = self.size(), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
            time.sleep(0.2)
            if (now := self.size()) != size:
                size, since = now, time.monotonic()
        return size

    def read(self) -> Rows:
        """Every record of the topic, from its start: (LogAppendTime in seconds, the parsed value)."""
        from confluent_kafka import OFFSET_BEGINNING, TIMESTAMP_LOG_APPEND_TIME, TopicPartition

        ends = {
            p: self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]
            for p in range(PARTITIONS)
        }
        self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        rows: Rows = []
        done = {p for p, end in ends.items() if end == 0}
        idle_since = time.monotonic()
        while len(done) < len(ends) and time.monotonic() - idle_since < 30:
            messages = self.consumer.consume(num_messages=10_000, timeout=1)
            if messages:
                idle_since = time.monotonic()
            for message in messages:
                value, partition, offset = message.value(), message.partition(), message.offset()
                if message.error() is not None or value is None or partition is None or offset is None:
                    continue
                kind, stamp_ms = message.timestamp()
                if kind != TIMESTAMP_LOG_APPEND_TIME:
                    raise RuntimeError(f"{self.topic}: records are not stamped with LogAppendTime")
                rows.append((stamp_ms / 1000, json.loads(value)))
                if offset + 1 >= ends[partition]:
                    done.add(partition)
        return rows

    def close(self) -> None:
        self.consumer.close()


def run_variant(variant: Variant, rate: int, seconds: float, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    topic = f"etl-bench-rt-{uuid.uuid4().hex[:8]}"
    output_topic = f"{topic}-out"
    folder = work / "streaming" / f"{NAME}-{variant.name}-{topic}"
    folder.mkdir(parents=True)
    _create_topic(topic, PARTITIONS)
    _create_topic(output_topic, PARTITIONS, {"message.timestamp.type": "LogAppendTime"})
    output = OutputTopic(output_topic)
    broker = _broker()
    process = _start(variant, topic, output_topic, folder)
    load_before = load_average()
    try:
        log(f"{NAME} {variant.name}: waiting for the first events to come through (topic {topic})")
        trickle = _produce(topic, 200, 240, folder / "trickle.json", WARMUP_IDS * 2)
        ready = _wait_until(lambda: output.size() > 0, 240, lambda: process.poll() is None)
        trickle.terminate()
        trickle.wait(30)
        if not ready:
            raise RuntimeError(f"the streaming run wrote nothing; see {folder / 'run.log'}")
        log(f"  warming up at {rate:,} events/s for {WARMUP_AT_RATE_S:.0f} s (not measured)")
        before_warmup = output.settled_size(quiet_s=3, timeout_s=60)
        warmup = _produce(topic, rate, WARMUP_AT_RATE_S, folder / "warmup.json", WARMUP_IDS)
        if warmup.wait(WARMUP_AT_RATE_S + 120) != 0:
            raise RuntimeError(f"the warm-up producer failed (exit {warmup.returncode})")
        warmed = json.loads((folder / "warmup.json").read_text())["sent"]
        before_steady = before_warmup + sum(1 for n in range(warmed) if kept(WARMUP_IDS + n))
        _wait_until(lambda: output.size() >= before_steady, 60, lambda: process.poll() is None)
        time.sleep(2)
        log(f"  producing {rate:,} events/s for {seconds:.0f} s")
        cpu_before = tree_cpu_seconds(process.pid)
        broker_before, harness_before = _cpu_seconds(broker), _own_cpu_seconds()
        with PeakSampler(process.pid, interval_s=0.5) as memory:
            steady = _produce(topic, rate, seconds, folder / "steady.json", 0)
            if steady.wait(seconds + 120) != 0:
                raise RuntimeError(f"the producer failed (exit {steady.returncode})")
            produced = json.loads((folder / "steady.json").read_text())
            expected = sum(1 for n in range(produced["sent"]) if kept(n))
            _wait_until(lambda: output.size() >= before_steady + expected, 60, lambda: process.poll() is None)
            time.sleep(1)  # a replayed record, were there one, would come now
        cpu_after = tree_cpu_seconds(process.pid)
        broker_after, harness_after = _cpu_seconds(broker), _own_cpu_seconds()
        rows = output.read()
    finally:
        output.close()
        exit_code = _stop_pipeline(process)
        _delete_topics(topic, output_topic)
    result = summarise(rows, produced["sent"], rate, produced["rate"])
    log(f"  {variant.name}: latency {result.get('latency_ms')}, counted once: {result.get('counted_once')}")
    return {
        "variant": variant.name,
        "description": variant.description,
        "handwritten": variant.handwritten,
        "real_time": variant.real_time,
        "counted": variant.counted,
        "produced": {k: v for k, v in produced.items() if k != "per_second"},
        "pipeline_exit_code": exit_code,
        "pipeline_cpu_s": None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 1),
        "pipeline_peak_rss_mb": None if memory.peak is None else round(memory.peak / MB),
        # what else used the two cores while the events were produced: the producer (its whole run), the broker
        # and this process (it only watches the output topic's size then)
        "producer_cpu_s": produced.get("cpu_s"),
        "broker_cpu_s": _difference(broker_before, broker_after),
        "harness_cpu_s": _difference(harness_before, harness_after),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        **result,
    }


def run_real_time(rate: int, seconds: float, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Every variant, one after the other; etl-cli in real-time mode is the headline figure."""
    variants = {variant.name: run_variant(variant, rate, seconds, work, log) for variant in VARIANTS}
    headline = variants["real_time"]
    return {
        "name": NAME,
        "title": TITLE,
        "kind": "streaming_latency",
        "status": "ok",
        "target_rate": rate,
        "seconds": seconds,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **headline,
        "variants": variants,
    }
