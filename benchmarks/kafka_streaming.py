"""Benchmark 5 — streaming: Kafka → windowed aggregation with a watermark → sink, end-to-end latency.

``etl-cli run`` of a benchmark pipeline runs as a user would run it (its own process and JVM)
on a fresh topic. A producer process writes JSON events at a steady rate (60,000 per second
by default), each carrying the wall-clock time it was produced; the pipeline counts them per
sensor in 1-second windows with a 1-second watermark. Three variants:

- ``update_kafka`` (``benchmarks/pipelines/kafka_streaming``, the low-latency configuration):
  ``streaming.output_mode: update``, every micro-batch produces the windows it changed to a
  Kafka topic created with ``message.timestamp.type=LogAppendTime``, so each output record
  carries the moment the broker made it visible. A row for a window carries its count and
  the latest ``produced_ms`` so far: the events new in an update (count minus previous count)
  were produced after the previous update's latest ``produced_ms`` and up to this one's, and
  are spread evenly between them.
- ``update_kafka_handwritten``: the same job written directly in Structured Streaming
  (``benchmarks/streaming_handwritten.py``), run and measured the same way, to compare with.
- ``append_files`` (``benchmarks/pipelines/kafka_streaming_append``): output mode append,
  each window written once to JSON Lines after the watermark has passed it; a probe polls
  the sink's commit log (``_spark_metadata``) every 50 ms and notes when each row became
  visible. A row's events are spread evenly between its first and last ``produced_ms``.

An event's latency is the moment its count became visible minus the moment it was produced.
The spreading is checked against an exact figure: every row also carries the sum of its
events' ``produced_ms``, which gives the exact mean latency. Only windows wholly inside the
measured phase count: a trickle of events starts the query, then ``WARMUP_AT_RATE_S`` at the
full rate warm the JVM up, unmeasured.

The rate counts as sustained when the producer kept to its schedule (98% of the target
or more), every event of the measured windows reached the sink, and latency did not grow
over the run (the last fifth's median within a second of the first fifth's: no backlog).
Where the time goes is read from Spark's progress reports (``durationMs`` of each
micro-batch) in the run's results and log.

Needs a Kafka broker (``scripts/services.sh up kafka``; ``ETL_TEST_KAFKA_BOOTSTRAP``, else
127.0.0.1:59092) and confluent-kafka; skipped without them, and in the smoke profile.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.machine import load_average
from benchmarks.measure import MB, PeakSampler, tree_cpu_seconds

NAME = "kafka_streaming"
TITLE = "Streaming: Kafka → 1 s windows with a 1 s watermark → sink, latency at a steady rate"
REPO = Path(__file__).resolve().parents[1]
PIPELINES = Path(__file__).resolve().parent / "pipelines"
RATE = 60_000
P95_TARGET_MS = 1000.0
SENSORS = 16
PARTITIONS = 2
_TICK_S = 0.01
#: seconds at the full rate before the measured phase: the JVM compiles the code paths of full-size
#: micro-batches (the trickle that starts the query does not), so the first measured windows do not
#: pay for a backlog built while it did
WARMUP_AT_RATE_S = 15.0

#: a window's rows as read from a sink: (moment visible, epoch seconds; the row)
Rows = list[tuple[float, dict[str, Any]]]


@dataclass(frozen=True)
class Variant:
    """One way of running benchmark 5: a pipeline and how its output is watched."""

    name: str
    pipeline: Path
    sink: str
    description: str
    #: run benchmarks/streaming_handwritten.py (the pipeline's job written in PySpark) instead of etl-cli
    handwritten: bool = False

    @property
    def log_name(self) -> str:
        return "handwritten.log" if self.handwritten else "etl-cli.log"


VARIANTS = (
    Variant(
        "update_kafka",
        PIPELINES / "kafka_streaming",
        "kafka",
        "output_mode update → Kafka topic: each micro-batch produces the windows it changed",
    ),
    Variant(
        "update_kafka_handwritten",
        PIPELINES / "kafka_streaming",
        "kafka",
        "update_kafka's job hand-written in Structured Streaming (benchmarks/streaming_handwritten.py)",
        handwritten=True,
    ),
    Variant(
        "append_files",
        PIPELINES / "kafka_streaming_append",
        "files",
        "output_mode append → JSON files: each window once, after the watermark has passed it",
    ),
)


def bootstrap_servers() -> str:
    return os.environ.get("ETL_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:59092")


def skipped_reason(profile: str) -> str | None:
    """Why benchmark 5 cannot run here (None: it can)."""
    if profile == "smoke":
        return "not in the smoke profile: it streams for tens of seconds (run --quick or the full suite)"
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:
        return "confluent-kafka is not installed (pip install 'etl-cli[dev]')"
    servers = bootstrap_servers()
    try:
        AdminClient({"bootstrap.servers": servers, "socket.timeout.ms": 5000}).list_topics(timeout=5)
    except Exception as exc:
        return f"Kafka at {servers} is not reachable ({type(exc).__name__}): scripts/services.sh up kafka"
    return None


# ----------------------------------------------------------------------------- producer (own process)


def produce(servers: str, topic: str, rate: int, seconds: float, report: str, first_id: int = 0) -> None:
    """Produce ``rate`` events per second for ``seconds``, on schedule, their ids from ``first_id`` on; write what
    happened to ``report``."""
    from confluent_kafka import Producer

    producer = Producer(
        {"bootstrap.servers": servers, "linger.ms": 5, "queue.buffering.max.messages": 2_000_000, "acks": "1"}
    )
    per_second: Counter[int] = Counter()
    started = time.time()
    sent = 0
    worst_lag_s = 0.0
    while (now := time.time()) < started + seconds:
        due = min(int((now - started) * rate), int(seconds * rate)) - sent
        worst_lag_s = max(worst_lag_s, due / rate)
        stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        millis = int(now * 1000)
        for n in range(sent, sent + due):
            event_id = first_id + n
            sensor = f"s{event_id % SENSORS}"
            value = f'{{"event_id":{event_id},"sensor":"{sensor}","event_time":"{stamp}","produced_ms":{millis}}}'
            while True:
                try:
                    producer.produce(topic, value.encode())
                    break
                except BufferError:
                    producer.poll(0.01)
        per_second[int(now)] += due
        sent += due
        producer.poll(0)
        time.sleep(max(0.0, _TICK_S - (time.time() - now)))
    producer.flush(60)
    elapsed = time.time() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)  # librdkafka's threads included
    Path(report).write_text(
        json.dumps(
            {
                "started": started,
                "elapsed_s": elapsed,
                "sent": sent,
                "rate": sent / elapsed,
                "worst_lag_s": worst_lag_s,
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                "per_second": {str(k): v for k, v in sorted(per_second.items())},
            }
        )
    )


def _produce_in_background(topic: str, rate: int, seconds: float, report: Path) -> subprocess.Popen[bytes]:
    """The producer in a process of its own, so it competes with neither the probe nor this process's GIL."""
    args = [sys.executable, "-m", "benchmarks.kafka_streaming", bootstrap_servers(), topic, str(rate), str(seconds)]
    return subprocess.Popen([*args, str(report)], cwd=REPO, stdin=subprocess.DEVNULL)


# ----------------------------------------------------------------------------- probes of the sinks


@dataclass
class FileSinkProbe:
    """Polls the file sink's commit log and keeps every committed row with the moment it was seen."""

    sink: Path
    rows: Rows = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(0.05)

    def poll(self) -> None:
        log = self.sink / "_spark_metadata"
        if not log.is_dir():
            return
        for entry in sorted(log.iterdir()):
            if entry.name in self._seen or not entry.name.split(".")[0].isdigit():
                continue
            seen_at = time.time()
            try:
                lines = entry.read_text(encoding="utf-8").splitlines()
            except OSError:
                continue
            if not lines or lines[0] != "v1":
                continue  # being written: read it on the next poll
            self._seen.add(entry.name)
            for line in lines[1:]:
                item = json.loads(line) if line.strip() else {}
                if item.get("action", "add") != "add":
                    continue
                data = Path(item["path"].removeprefix("file:").removeprefix("//"))
                if str(data) in self._seen:
                    continue
                self._seen.add(str(data))
                for row in data.read_text(encoding="utf-8").splitlines():
                    if row.strip():
                        self.rows.append((seen_at, json.loads(row)))


@dataclass
class TopicProbe:
    """Reads the output topic from its start; each record's moment is its LogAppendTime (the broker's clock).

    The topic is created with ``message.timestamp.type=LogAppendTime``: the broker stamps a record
    when it appends it, which (one replica) is when consumers can read it, so how fast this probe
    polls does not change the measurement.
    """

    topic: str
    rows: Rows = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer

        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers(),
                "group.id": f"etl-bench-probe-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 20,
            }
        )
        consumer.subscribe([self.topic])
        try:
            while not self._stop.is_set():
                message = consumer.poll(0.1)
                if message is None or message.error() is not None:
                    continue
                value = message.value()
                if value is None:
                    continue
                kind, stamp_ms = message.timestamp()
                if kind != TIMESTAMP_LOG_APPEND_TIME:
                    raise RuntimeError(f"{self.topic}: records are not stamped with LogAppendTime")
                self.rows.append((stamp_ms / 1000, json.loads(value)))
        finally:
            consumer.close()


# ----------------------------------------------------------------------------- latency


def _window_start_s(row: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(row["window_start"]).replace("Z", "+00:00")).timestamp()


def _by_window(rows: Rows) -> dict[tuple[float, str], Rows]:
    """Rows per (window, sensor), in the order their counts grew (one row each in append mode)."""
    groups: dict[tuple[float, str], Rows] = {}
    for seen_at, row in rows:
        groups.setdefault((_window_start_s(row), str(row["sensor"])), []).append((seen_at, row))
    return {key: sorted(found, key=lambda r: (int(r[1]["events"]), r[0])) for key, found in groups.items()}


def latencies_ms(rows: Rows) -> Any:
    """Every event's latency (ms), each event counted once: at the first row whose count includes it.

    The events new in a row (its count minus the previous row's) were produced after the previous
    row's latest ``produced_ms`` and up to this row's; the first row's between its first and
    latest ``produced_ms``. They are spread evenly over that span (the producer keeps a steady rate).
    """
    import numpy as np

    parts = []
    for versions in _by_window(rows).values():
        counted, previous_last = 0, None
        for seen_at, row in versions:
            new = int(row["events"]) - counted
            if new <= 0:
                continue  # the same count again (a replayed micro-batch): nothing new became visible
            last = float(row["last_produced_ms"])
            if previous_last is None:
                produced = np.linspace(float(row["first_produced_ms"]), last, new)
            else:
                produced = np.linspace(previous_last, last, new + 1)[1:]
            parts.append(seen_at * 1000 - produced)
            counted, previous_last = int(row["events"]), last
    return np.concatenate(parts) if parts else np.array([])


def exact_mean_latency_ms(rows: Rows) -> float | None:
    """The mean latency without spreading: from each row's sum of its events' ``produced_ms``."""
    visible_ms, produced_ms, events = 0.0, 0.0, 0
    for versions in _by_window(rows).values():
        counted = 0
        for seen_at, row in versions:
            new = int(row["events"]) - counted
            if new > 0:
                visible_ms += new * seen_at * 1000
                counted = int(row["events"])
        produced_ms += float(versions[-1][1]["produced_ms_sum"])
        events += counted
    return (visible_ms - produced_ms) / events if events else None


def _final_counts(rows: Rows) -> dict[tuple[float, str], int]:
    return {key: int(versions[-1][1]["events"]) for key, versions in _by_window(rows).items()}


def _summary(rows: Rows, produced: dict[str, Any], rate: int) -> dict[str, Any]:
    import numpy as np

    values = latencies_ms(rows)
    if values.size == 0:
        return {"events_measured": 0}
    by_start = sorted(rows, key=lambda r: _window_start_s(r[1]))
    starts = sorted({_window_start_s(row) for _, row in rows})
    fifth = max(1, len(starts) // 5)
    early = latencies_ms([r for r in by_start if _window_start_s(r[1]) <= starts[fifth - 1]])
    late = latencies_ms([r for r in by_start if _window_start_s(r[1]) >= starts[-fifth]])
    sent_in_windows = sum(produced["per_second"].get(str(int(second)), 0) for second in starts)
    counted = sum(_final_counts(rows).values())
    p50, p95, p99 = (float(np.percentile(values, q)) for q in (50, 95, 99))
    kept_schedule = produced["rate"] >= 0.98 * rate
    no_backlog = float(np.median(late)) <= float(np.median(early)) + 1000
    exact_mean = exact_mean_latency_ms(rows)
    return {
        "events_measured": int(values.size),
        "windows_measured": len(starts),
        "rows_read": len(rows),
        "latency_ms": {"p50": round(p50), "p95": round(p95), "p99": round(p99), "max": round(float(values.max()))},
        "mean_latency_ms": {
            "spread": round(float(values.mean())),
            "exact": None if exact_mean is None else round(exact_mean),
        },
        "median_latency_first_fifth_ms": round(float(np.median(early))),
        "median_latency_last_fifth_ms": round(float(np.median(late))),
        "events_sent_in_those_windows": sent_in_windows,
        "events_counted_in_those_windows": counted,
        "sustained": bool(kept_schedule and counted == sent_in_windows and no_backlog),
        "p95_target_ms": P95_TARGET_MS,
        "p95_met": p95 < P95_TARGET_MS,
    }


# ----------------------------------------------------------------------------- where the time goes

_BATCH_LINE = re.compile(r"micro-batch (\d+): (\d+) rows written in (\d+) ms")


def steady_batches(log: Path, since: float, until: float) -> dict[str, Any]:
    """Micro-batch durations (Spark's triggerExecution) reported in the run's JSON log in [since, until]."""
    import numpy as np

    durations, rows = [], []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            event = json.loads(line)
            moment = datetime.fromisoformat(event["ts"]).timestamp()
            found = _BATCH_LINE.search(event.get("text") or "")
            if found and since <= moment <= until:
                rows.append(int(found.group(2)))
                durations.append(int(found.group(3)))
    if not durations:
        return {"micro_batches": 0}
    return {
        "micro_batches": len(durations),
        "per_second": round(len(durations) / max(until - since, 1e-9), 2),
        "duration_ms": {q: round(float(np.percentile(durations, int(q[1:])))) for q in ("p50", "p95", "p99")},
        "rows_out_per_batch_median": round(float(np.median(rows))),
    }


def _phase_timings(results_dir: Path) -> dict[str, Any] | None:
    """Mean and maximum ms per micro-batch phase over the whole run (warm-up included), from its results."""
    latest = results_dir / "latest.json"
    if not latest.is_file():
        return None
    stages = json.loads(latest.read_text(encoding="utf-8")).get("stages", [])
    sink = next((s for s in stages if s.get("kind") == "sink"), None)
    return None if sink is None else (sink.get("details") or {}).get("duration_ms")


# ----------------------------------------------------------------------------- the run


def _create_topic(topic: str, partitions: int = PARTITIONS, config: dict[str, str] | None = None) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap_servers()})
    new = NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})
    for future in admin.create_topics([new]).values():
        future.result(30)


def _delete_topics(*topics: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap_servers()})
    for future in admin.delete_topics(list(topics)).values():
        with contextlib.suppress(Exception):  # a leftover topic of a benchmark is not worth failing the run over
            future.result(30)


def _start_pipeline(variant: Variant, sets: dict[str, str], folder: Path) -> subprocess.Popen[bytes]:
    if variant.handwritten:
        settings = ("bootstrap_servers", "topic", "output_topic", "checkpoint_dir")
        args = [sys.executable, "-m", "benchmarks.streaming_handwritten", *(sets[f"vars.{k}"] for k in settings)]
        args.append(str(folder / "jvm.log"))
    else:
        script = Path(sys.executable).with_name("etl-cli")
        command = [str(script)] if script.is_file() else [sys.executable, "-m", "etl_cli"]
        args = [*command, "run", str(variant.pipeline), "--log-format", "json"]
        args += ["--results-dir", str(folder / "results")]
        for key, value in sets.items():
            args += ["--set", f"{key}={value}"]
    env = {**os.environ, "ETL_STATE_DIR": str(folder / "state"), "NO_COLOR": "1"}
    log = (folder / variant.log_name).open("wb")
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _stop_pipeline(process: subprocess.Popen[bytes]) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
    return process.returncode


def _wait_until(condition: Callable[[], bool], timeout_s: float, alive: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        if not alive():
            return False
        time.sleep(0.2)
    return False


def _counted(rows: Rows, first_window: int, last_window: int) -> int:
    return sum(n for (start, _), n in _final_counts(list(rows)).items() if first_window <= start <= last_window)


def run_variant(variant: Variant, rate: int, seconds: float, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Warm the pipeline up with a trickle of events, then measure ``seconds`` at ``rate`` events per second."""
    topic = f"etl-bench-{uuid.uuid4().hex[:8]}"
    folder = work / "streaming" / f"{variant.name}-{topic}"
    folder.mkdir(parents=True)
    _create_topic(topic)
    sets = {"vars.topic": topic, "vars.checkpoint_dir": str(folder / "checkpoints")}
    sets["vars.bootstrap_servers"] = bootstrap_servers()
    probe: FileSinkProbe | TopicProbe
    if variant.sink == "kafka":
        _create_topic(f"{topic}-out", 1, {"message.timestamp.type": "LogAppendTime"})
        probe, sets["vars.output_topic"] = TopicProbe(f"{topic}-out"), f"{topic}-out"
    else:
        probe, sets["vars.output_dir"] = FileSinkProbe(folder / "out"), str(folder / "out")
    pipeline = _start_pipeline(variant, sets, folder)
    load_before = load_average()
    try:
        probe.start()
        log(f"{NAME} {variant.name}: waiting for the streaming run to write its first window (topic {topic})")
        warmup = _produce_in_background(topic, 500, 240, folder / "warmup.json")
        ready = _wait_until(lambda: bool(probe.rows), 240, lambda: pipeline.poll() is None)
        warmup.terminate()
        warmup.wait(30)
        if not ready:
            raise RuntimeError(f"the streaming run wrote nothing; see {folder / variant.log_name}")
        time.sleep(3)  # let the warm-up windows close before the steady phase starts
        log(f"  warming up at {rate:,} events/s for {WARMUP_AT_RATE_S:.0f} s (not measured)")
        at_rate = _produce_in_background(topic, rate, WARMUP_AT_RATE_S, folder / "warmup_at_rate.json")
        if at_rate.wait(WARMUP_AT_RATE_S + 120) != 0:
            raise RuntimeError(f"the warm-up producer failed (exit {at_rate.returncode})")
        log(f"  producing {rate:,} events/s for {seconds:.0f} s")
        cpu_before = tree_cpu_seconds(pipeline.pid)
        with PeakSampler(pipeline.pid, interval_s=0.5) as memory:
            steady = _produce_in_background(topic, rate, seconds, folder / "steady.json")
            if steady.wait(seconds + 120) != 0:
                raise RuntimeError(f"the producer failed (exit {steady.returncode})")
            produced = json.loads((folder / "steady.json").read_text())
            first_full_window = int(produced["started"]) + 1
            last_full_window = int(produced["started"] + produced["elapsed_s"]) - 1
            sent = sum(produced["per_second"].get(str(s), 0) for s in range(first_full_window, last_full_window + 1))
            _wait_until(
                lambda: _counted(probe.rows, first_full_window, last_full_window) >= sent,
                60,
                lambda: pipeline.poll() is None,
            )
        cpu_after = tree_cpu_seconds(pipeline.pid)
    finally:
        probe.stop()
        exit_code = _stop_pipeline(pipeline)
        _delete_topics(topic, f"{topic}-out")
    measured = [
        (seen, row) for seen, row in probe.rows if first_full_window <= _window_start_s(row) <= last_full_window
    ]
    result = _summary(measured, produced, rate)
    steady_end = produced["started"] + produced["elapsed_s"]
    log(f"  {variant.name}: latency {result.get('latency_ms')}, sustained: {result.get('sustained')}")
    return {
        "variant": variant.name,
        "description": variant.description,
        "pipeline": str(variant.pipeline.relative_to(REPO)),
        "handwritten": variant.handwritten,
        "produced": {k: v for k, v in produced.items() if k != "per_second"},
        "pipeline_exit_code": exit_code,
        "pipeline_cpu_s": None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 1),
        "pipeline_peak_rss_mb": None if memory.peak is None else round(memory.peak / MB),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "micro_batches_steady": steady_batches(folder / variant.log_name, produced["started"], steady_end),
        "micro_batch_phases_ms": _phase_timings(folder / "results"),
        **result,
    }


def run_streaming(rate: int, seconds: float, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Every variant, one after the other; the first (update into Kafka) is the headline figure."""
    variants = {variant.name: run_variant(variant, rate, seconds, work, log) for variant in VARIANTS}
    headline = variants[VARIANTS[0].name]
    return {
        "name": NAME,
        "title": TITLE,
        "kind": "streaming",
        "status": "ok",
        "target_rate": rate,
        "seconds": seconds,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **headline,
        "variants": variants,
    }


if __name__ == "__main__":  # the producer: SERVERS TOPIC RATE SECONDS REPORT [FIRST_ID]
    servers, topic, rate, seconds, report = sys.argv[1:6]
    produce(servers, topic, int(rate), float(seconds), report, int(sys.argv[6]) if len(sys.argv) > 6 else 0)
