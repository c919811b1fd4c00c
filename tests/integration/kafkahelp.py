"""What the Kafka tests share: the broker from scripts/services.sh, a real Kafka client (confluent-kafka)
to produce and read records, a reader of Spark's file-sink log, and ``etl-cli run`` as a background process.

A test asking for the broker starts it (tests/integration/serviceshelp.py); with a broker of your own,
export its address (ETL_TEST_KAFKA_BOOTSTRAP). When there is no broker the tests skip, except under CI
(``CI`` set), where a missing broker is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import REPO
from tests.integration.serviceshelp import ensure


def require(condition: bool, message: str) -> None:
    """A missing prerequisite: a failure under CI, a skip (saying what to do) elsewhere."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def kafka_bootstrap() -> str:
    """The test broker's address (ETL_TEST_KAFKA_BOOTSTRAP)."""
    problem = None if os.environ.get("ETL_TEST_KAFKA_BOOTSTRAP") else ensure("kafka")
    value = os.environ.get("ETL_TEST_KAFKA_BOOTSTRAP", "")
    require(
        bool(value),
        "Kafka not available (ETL_TEST_KAFKA_BOOTSTRAP unset): run scripts/services.sh up kafka and "
        'eval "$(scripts/services.sh env kafka)"' + (f"\n{problem}" if problem else ""),
    )
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        require(False, "the Kafka tests produce with confluent-kafka: pip install -e '.[dev]'")
    return value


def new_topic(label: str) -> str:
    """A topic name no other test run uses (the broker creates it on first use)."""
    return f"etl-test-{label}-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Delivered:
    """Where the broker stored one produced record."""

    key: str | None
    value: str | None
    partition: int
    offset: int
    timestamp_ms: int


def produce(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[str | None, str | None]],
    timestamps_ms: Iterable[int] | None = None,
) -> list[Delivered]:
    """Produce ``(key, value)`` records in order and wait until the broker has acknowledged every one."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    delivered: list[Delivered] = []
    errors: list[str] = []

    def report(err: Any, message: Any) -> None:
        if err is not None:
            errors.append(str(err))
            return
        key, value = message.key(), message.value()
        delivered.append(
            Delivered(
                key.decode() if key is not None else None,
                value.decode() if value is not None else None,
                message.partition(),
                message.offset(),
                message.timestamp()[1],
            )
        )

    stamps = iter(timestamps_ms) if timestamps_ms is not None else None
    for key, value in records:
        extra = {"timestamp": next(stamps)} if stamps is not None else {}
        producer.produce(topic, key=key, value=value, on_delivery=report, **extra)
    remaining = producer.flush(60)
    assert remaining == 0 and not errors, f"producing to {topic} failed: {errors or f'{remaining} unacknowledged'}"
    return sorted(delivered, key=lambda d: (d.partition, d.offset))


def produce_json(
    bootstrap: str, topic: str, values: Iterable[dict[str, Any]], key: str | None = None
) -> list[Delivered]:
    """Produce one JSON record per mapping; the key is the mapping's ``key`` field when given."""
    return produce(bootstrap, topic, [(str(v[key]) if key else None, json.dumps(v)) for v in values])


def read_topic(bootstrap: str, topic: str) -> list[Delivered]:
    """Every record in ``topic`` right now, read with a plain consumer up to each partition's end."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"etl-test-{uuid.uuid4().hex}"})
    try:
        metadata = consumer.list_topics(topic, timeout=30)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            return []
        records: list[Delivered] = []
        for partition in found.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
            if high > low:
                records += _read_partition(consumer, topic, partition, low, high)
        return records
    finally:
        consumer.close()


def _read_partition(consumer: Any, topic: str, partition: int, low: int, high: int) -> list[Delivered]:
    from confluent_kafka import TopicPartition

    consumer.assign([TopicPartition(topic, partition, low)])
    records: list[Delivered] = []
    deadline = time.monotonic() + 60
    while (not records or records[-1].offset < high - 1) and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error() is not None:
            continue
        key, value = message.key(), message.value()
        records.append(
            Delivered(
                key.decode() if key is not None else None,
                value.decode() if value is not None else None,
                partition,
                message.offset(),
                message.timestamp()[1],
            )
        )
    assert records and records[-1].offset == high - 1, f"could not read {topic}[{partition}] up to offset {high}"
    return records


# --------------------------------------------------------------------------- Spark's file-sink log


def committed_files(sink: Path) -> list[Path]:
    """The data files the streaming file sink at ``sink`` committed, from its ``_spark_metadata`` log.

    The log holds one file per micro-batch (``0``, ``1``...), the first line ``v1`` and then one
    JSON object per file with ``path`` and ``action`` (add or delete); every tenth batch is a
    ``N.compact`` file repeating everything before it. Files of a batch that never committed
    (its process was killed) are in the folder but not in the log.
    """
    log = sink / "_spark_metadata"
    if not log.is_dir():
        return []
    batches = {int(p.name.split(".")[0]): p for p in log.iterdir() if p.name.split(".")[0].isdigit()}
    compacted = [b for b, p in batches.items() if p.name.endswith(".compact")]
    first = max(compacted) if compacted else 0
    files: dict[str, Path] = {}
    for batch in sorted(b for b in batches if b >= first):
        for line in batches[batch].read_text(encoding="utf-8").splitlines()[1:]:
            if not line.strip():
                continue
            entry = json.loads(line)
            path = Path(entry["path"].removeprefix("file:").removeprefix("//"))
            if entry.get("action", "add") == "add":
                files[str(path)] = path
            else:
                files.pop(str(path), None)
    return sorted(files.values())


def committed_parquet_rows(sink: Path) -> list[dict[str, Any]]:
    """Rows of the committed Parquet files of a streaming sink."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for path in committed_files(sink):
        rows += pq.read_table(path).to_pylist()
    return rows


def committed_json_rows(sink: Path) -> list[dict[str, Any]]:
    """Rows of the committed JSON Lines files of a streaming sink."""
    rows: list[dict[str, Any]] = []
    for path in committed_files(sink):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def wait_until(
    condition: Callable[[], bool], timeout_s: float, what: str, check: Callable[[], None] = lambda: None
) -> None:
    """Poll ``condition`` every half second; fail after ``timeout_s`` naming ``what``. ``check`` may fail early."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        check()
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}")


def keep_checking(seconds: float, check: Callable[[], None]) -> None:
    """Let ``seconds`` pass, calling ``check`` (which may fail the test) every half second."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check()
        time.sleep(0.5)


# --------------------------------------------------------------------------- etl-cli run in the background


class BackgroundRun:
    """``etl-cli run ARGS`` in its own process group, its output in a log file."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str]):
        self.args = args
        self.log = log
        self.env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1", **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *more_args: str) -> BackgroundRun:
        """Start the run (again), with ``more_args`` after the usual ones."""
        with self.log.open("ab") as out:
            out.write(f"\n=== start {time.strftime('%H:%M:%S')}\n".encode())
            self.process = subprocess.Popen(
                [sys.executable, "-m", "etl_cli", "run", *self.args, *more_args],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def assert_running(self) -> None:
        """Fail at once, with the output, when the run ended while the test waits for it."""
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"etl-cli run exited with {self.process.returncode}:\n{self.output()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL the etl-cli process only, as a crash would, and wait until its Spark JVM has gone too."""
        assert self.process is not None
        family = _descendants(self.pid)
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(30)
        wait_until(lambda: not any(_alive(pid) for pid in family), 60, "the killed run's JVM to exit")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 120) -> int:
        """Send ``sig`` and wait for the exit code."""
        assert self.process is not None
        os.kill(self.pid, sig)
        return self.process.wait(timeout_s)

    def cleanup(self) -> None:
        """Whatever happened, leave no process of this run behind."""
        if self.process is None:
            return
        for pid in [self.pid, *_descendants(self.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(30)


def _parents() -> dict[int, int]:
    """pid → parent pid of every live process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            found[int(entry.name)] = int(fields[1])
    return found


def _descendants(pid: int) -> list[int]:
    """Children of ``pid``, their children... (the Spark JVM runs in a session of its own, so not by group)."""
    parents = _parents()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found += children
        todo += children
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"
