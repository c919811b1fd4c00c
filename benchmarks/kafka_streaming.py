"""Benchmark 5 — streaming: Kafka → windowed aggregation with a watermark → files, end-to-end latency.

``etl-cli run benchmarks/pipelines/kafka_streaming`` runs as a user would run it (its own
process and JVM) on a fresh topic. A producer process writes JSON events at a steady rate
(60,000 per second by default), each carrying the wall-clock time it was produced; the
pipeline counts them per sensor in 1-second windows with a 1-second watermark and appends
each window's result to JSON Lines once the watermark has passed it. A probe polls the
sink's commit log (``_spark_metadata``) every 50 ms and notes when each window's result
became visible. An event's latency is that moment minus the moment it was produced; the
events of a result row were produced between its ``first_produced_ms`` and
``last_produced_ms``, at a steady rate, so each row stands for that many evenly spread
latencies. Only windows wholly inside the steady phase count.

The rate counts as sustained when the producer kept to its schedule (98% of the target
or more), every event of the measured windows reached the sink, and latency did not grow
over the run (the last fifth's median within a second of the first fifth's: no backlog).

Needs a Kafka broker (``scripts/services.sh up kafka``; ``ETL_TEST_KAFKA_BOOTSTRAP``, else
127.0.0.1:59092) and confluent-kafka; skipped without them, and in the smoke profile.
"""

from __future__ import annotations

import contextlib
import json
import os
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

from benchmarks.measure import MB, PeakSampler, tree_cpu_seconds

NAME = "kafka_streaming"
TITLE = "Streaming: Kafka → 1 s windows with a 1 s watermark → JSON files, latency at a steady rate"
REPO = Path(__file__).resolve().parents[1]
PIPELINE = Path(__file__).resolve().parent / "pipelines" / "kafka_streaming"
RATE = 60_000
P95_TARGET_MS = 1000.0
SENSORS = 16
PARTITIONS = 2
_TICK_S = 0.01


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


def produce(servers: str, topic: str, rate: int, seconds: float, report: str) -> None:
    """Produce ``rate`` events per second for ``seconds``, on schedule; write what happened to ``report``."""
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
            value = f'{{"event_id":{n},"sensor":"s{n % SENSORS}","event_time":"{stamp}","produced_ms":{millis}}}'
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
    Path(report).write_text(
        json.dumps(
            {
                "started": started,
                "elapsed_s": elapsed,
                "sent": sent,
                "rate": sent / elapsed,
                "worst_lag_s": worst_lag_s,
                "per_second": {str(k): v for k, v in sorted(per_second.items())},
            }
        )
    )


def _produce_in_background(topic: str, rate: int, seconds: float, report: Path) -> subprocess.Popen[bytes]:
    """The producer in a process of its own, so it competes with neither the probe nor this process's GIL."""
    args = [sys.executable, "-m", "benchmarks.kafka_streaming", bootstrap_servers(), topic, str(rate), str(seconds)]
    return subprocess.Popen([*args, str(report)], cwd=REPO, stdin=subprocess.DEVNULL)


# ----------------------------------------------------------------------------- probe of the sink


@dataclass
class SinkProbe:
    """Polls the file sink's commit log and keeps every committed row with the moment it was seen."""

    sink: Path
    rows: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
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


# ----------------------------------------------------------------------------- the run


def _create_topic(topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap_servers()})
    for future in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]).values():
        future.result(30)


def _delete_topic(topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap_servers()})
    for future in admin.delete_topics([topic]).values():
        with contextlib.suppress(Exception):  # a leftover topic of a benchmark is not worth failing the run over
            future.result(30)


def _start_pipeline(topic: str, folder: Path) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("etl-cli")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "etl_cli"]
    sets = {
        "vars.topic": topic,
        "vars.output_dir": str(folder / "out"),
        "vars.checkpoint_dir": str(folder / "checkpoints"),
        "vars.bootstrap_servers": bootstrap_servers(),
    }
    args = [*command, "run", str(PIPELINE), "--log-format", "json"]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    env = {**os.environ, "ETL_STATE_DIR": str(folder / "state"), "NO_COLOR": "1"}
    log = (folder / "etl-cli.log").open("wb")
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


def _window_start_s(row: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(row["window_start"]).replace("Z", "+00:00")).timestamp()


def latencies_ms(rows: list[tuple[float, dict[str, Any]]]) -> Any:
    """Every event's latency (ms): each row spreads its events evenly over when they were produced."""
    import numpy as np

    parts = [
        seen_at * 1000 - np.linspace(row["first_produced_ms"], row["last_produced_ms"], int(row["events"]))
        for seen_at, row in rows
        if int(row["events"]) > 0
    ]
    return np.concatenate(parts) if parts else np.array([])


def _summary(rows: list[tuple[float, dict[str, Any]]], produced: dict[str, Any], rate: int) -> dict[str, Any]:
    import numpy as np

    values = latencies_ms(rows)
    if values.size == 0:
        return {"events_measured": 0}
    by_start = sorted(rows, key=lambda r: _window_start_s(r[1]))
    fifth = max(1, len(by_start) // 5)
    early, late = latencies_ms(by_start[:fifth]), latencies_ms(by_start[-fifth:])
    windows = {int(_window_start_s(row)) for _, row in rows}
    sent_in_windows = sum(produced["per_second"].get(str(second), 0) for second in windows)
    counted = sum(int(row["events"]) for _, row in rows)
    p50, p95, p99 = (float(np.percentile(values, q)) for q in (50, 95, 99))
    kept_schedule = produced["rate"] >= 0.98 * rate
    no_backlog = float(np.median(late)) <= float(np.median(early)) + 1000
    return {
        "events_measured": int(values.size),
        "windows_measured": len(windows),
        "latency_ms": {"p50": round(p50), "p95": round(p95), "p99": round(p99), "max": round(float(values.max()))},
        "median_latency_first_fifth_ms": round(float(np.median(early))),
        "median_latency_last_fifth_ms": round(float(np.median(late))),
        "events_sent_in_those_windows": sent_in_windows,
        "events_counted_in_those_windows": counted,
        "sustained": bool(kept_schedule and counted == sent_in_windows and no_backlog),
        "p95_target_ms": P95_TARGET_MS,
        "p95_met": p95 < P95_TARGET_MS,
    }


def run_streaming(rate: int, seconds: float, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Warm the pipeline up with a trickle of events, then measure ``seconds`` at ``rate`` events per second."""
    topic = f"etl-bench-{uuid.uuid4().hex[:8]}"
    folder = work / "streaming" / topic
    folder.mkdir(parents=True)
    _create_topic(topic)
    probe = SinkProbe(folder / "out")
    pipeline = _start_pipeline(topic, folder)
    try:
        probe.start()
        log(f"{NAME}: waiting for the streaming run to write its first window (topic {topic})")
        warmup = _produce_in_background(topic, 500, 240, folder / "warmup.json")
        ready = _wait_until(lambda: bool(probe.rows), 240, lambda: pipeline.poll() is None)
        warmup.terminate()
        warmup.wait(30)
        if not ready:
            raise RuntimeError(f"the streaming run wrote nothing; see {folder / 'etl-cli.log'}")
        time.sleep(3)  # let the warm-up windows close before the steady phase starts
        log(f"  producing {rate:,} events/s for {seconds:.0f} s")
        cpu_before = tree_cpu_seconds(pipeline.pid)
        with PeakSampler(pipeline.pid, interval_s=0.5) as memory:
            steady = _produce_in_background(topic, rate, seconds, folder / "steady.json")
            if steady.wait(seconds + 120) != 0:
                raise RuntimeError(f"the producer failed (exit {steady.returncode})")
            produced = json.loads((folder / "steady.json").read_text())
            last_full_window = int(produced["started"] + produced["elapsed_s"]) - 1
            _wait_until(
                lambda: any(_window_start_s(r) >= last_full_window for _, r in probe.rows),
                60,
                lambda: pipeline.poll() is None,
            )
        cpu_after = tree_cpu_seconds(pipeline.pid)
    finally:
        probe.stop()
        exit_code = _stop_pipeline(pipeline)
        _delete_topic(topic)
    first_full_window = int(produced["started"]) + 1
    measured = [
        (seen, row) for seen, row in probe.rows if first_full_window <= _window_start_s(row) <= last_full_window
    ]
    result = _summary(measured, produced, rate)
    log(f"  latency {result.get('latency_ms')}, sustained: {result.get('sustained')}")
    return {
        "name": NAME,
        "title": TITLE,
        "kind": "streaming",
        "status": "ok",
        "target_rate": rate,
        "seconds": seconds,
        "produced": {k: v for k, v in produced.items() if k != "per_second"},
        "pipeline_exit_code": exit_code,
        "pipeline_cpu_s": None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 1),
        "pipeline_peak_rss_mb": None if memory.peak is None else round(memory.peak / MB),
        **result,
    }


if __name__ == "__main__":  # the producer: SERVERS TOPIC RATE SECONDS REPORT
    servers, topic, rate, seconds, report = sys.argv[1:6]
    produce(servers, topic, int(rate), float(seconds), report)
