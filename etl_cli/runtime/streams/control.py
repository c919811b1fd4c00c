"""The control file of a running streaming run: who runs it and how far its queries are.

A streaming run writes ``<state dir>/streams/<run id>.json`` when its queries start, rewrites it
after each poll of their progress (about once a second: written to a temporary file, then renamed
over the old one, so a reader never sees half a file) and removes it when it ends.
``etl-cli streams list|status|stop`` read these files (usecases/streams.py): a file whose process
has gone (a run killed with SIGKILL cannot remove it) is stale, reported as such and removed.

The file holds the process (pid, its start time in clock ticks since boot, so a pid reused by
another process is not taken for the run, and the host), the pipeline and environment, the run
id, where the run results will be, the monitoring endpoint's URL if any, and per query its last
progress: micro-batch id, input and processed rows per second, watermark, and the Kafka lag
(``latestOffset - endOffset`` per partition, as Spark reported them for the last micro-batch).
Nothing in it is secret: names, numbers and paths only.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.runtime.bookkeeping.metrics import kafka_offsets

if TYPE_CHECKING:
    from etl_cli.runtime.streams.streaming import SinkQuery

#: the ``kind`` of a control file: what tells etl-cli's files from anything else in the folder
KIND = "etl-cli-streaming-run"
VERSION = 1


def controls_dir(state_dir: Path) -> Path:
    """Where the control files of the project's streaming runs are."""
    return state_dir / "streams"


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, /proc/PID/stat field 22), None when it is not running.

    A zombie counts as not running: it has ended, only its exit status waits for its parent.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def process_command(pid: int) -> list[str]:
    """The command line of process ``pid`` (empty when it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_etl_cli(command: Sequence[str]) -> bool:
    """Whether a command line is etl-cli's: ``etl-cli ...``, ``python -m etl_cli ...``, or the driver program
    ``etl-cli submit`` hands to spark-submit (``etl-cli-driver.py``): the program, or the script or module
    the interpreter runs (its options before it skipped), not any later argument."""
    programs = ("etl-cli", "etl_cli", "etl-cli-driver.py")
    if not command:
        return False
    if Path(command[0]).name in programs:
        return True
    rest = list(command[1:])
    while rest and rest[0].startswith("-") and rest[0] != "-m":
        rest.pop(0)
    if len(rest) >= 2 and rest[0] == "-m":
        return rest[1] in ("etl_cli", "etl_cli.__main__")
    return bool(rest) and Path(rest[0]).name in programs


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RunControl:
    """The control file of one streaming run, from the start of its queries to its end (a context manager)."""

    def __init__(
        self,
        state_dir: Path,
        pipeline: str,
        env: str | None,
        run_id: str,
        started_at: str,
        results: Path,
        endpoint: str | None = None,
    ):
        self.path = controls_dir(state_dir) / f"{run_id}.json"
        pid = os.getpid()
        self.record: dict[str, Any] = {
            "kind": KIND,
            "version": VERSION,
            "run_id": run_id,
            "pipeline": pipeline,
            "env": env,
            "pid": pid,
            "pid_start": process_start(pid),
            "host": socket.gethostname(),
            "started_at": started_at,
            "updated_at": _now(),
            "results": str(results),
            "endpoint": endpoint,
            "queries": [],
        }
        #: why the file could not be written last time (None: it was)
        self.error: str | None = None

    def __enter__(self) -> RunControl:
        self.write()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def update(self, queries: Sequence[SinkQuery]) -> None:
        """Record the queries' progress now (called after each poll of the streaming executor).

        Never raises: the file serves ``etl-cli streams``, and must not stop the stream.
        """
        try:
            self.record["queries"] = [query_state(q) for q in queries]
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        self.record["updated_at"] = _now()
        self.write()

    def write(self) -> None:
        """Write the file whole: to a temporary file beside it, then renamed over it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self.record, indent=1) + "\n", encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as exc:  # the file serves `etl-cli streams`; a full disk must not stop the stream
            self.error = str(exc)


def query_state(sink_query: SinkQuery) -> dict[str, Any]:
    """One query's entry: what etl-cli counted and Spark's last progress report, summed up."""
    from etl_cli.runtime.bookkeeping.metrics import progress_json

    query = sink_query.query
    state: dict[str, Any] = {
        "name": sink_query.stage.name,
        "query_id": None,
        "active": False,
        "status": None,
        "rows_written": sink_query.rows if sink_query.counted else None,
        "micro_batches": sink_query.batches,
        "checkpoint": sink_query.checkpoint,
    }
    try:
        state["query_id"] = str(query.id)
        state["active"] = bool(query.isActive)
        state["status"] = query.status.get("message")
        last = query.lastProgress
    except Exception:  # a query that stopped under us: what etl-cli counted still stands
        return state
    if last:
        state.update(progress_summary(progress_json(last)))
    return state


def progress_summary(progress: Mapping[str, Any]) -> dict[str, Any]:
    """Batch id, rates, watermark and Kafka lag from a progress report (Spark's JSON)."""
    sources = [source_lag(s) for s in progress.get("sources") or ()]
    lags = [s["lag"] for s in sources if s["lag"] is not None]
    watermark = (progress.get("eventTime") or {}).get("watermark")
    return {
        "batch_id": progress.get("batchId"),
        "progress_at": progress.get("timestamp"),
        "num_input_rows": progress.get("numInputRows"),
        "input_rows_per_second": _number(progress.get("inputRowsPerSecond")),
        "processed_rows_per_second": _number(progress.get("processedRowsPerSecond")),
        # Spark reports the epoch until an event has set the watermark
        "watermark": None if not watermark or watermark.startswith("1970-01-01") else watermark,
        "lag": sum(lags) if lags else None,
        "sources": sources,
    }


def source_lag(source: Mapping[str, Any]) -> dict[str, Any]:
    """A source of a progress report: its description and, for Kafka, the records behind per partition."""
    latest, end = kafka_offsets(source.get("latestOffset")), kafka_offsets(source.get("endOffset"))
    partitions = {
        f"{topic}[{partition}]": max(offset - end[(topic, partition)], 0)
        for (topic, partition), offset in sorted(latest.items())
        if (topic, partition) in end
    }
    return {
        "description": str(source.get("description") or ""),
        "lag": sum(partitions.values()) if partitions else None,
        "partitions": partitions,
    }


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else round(number, 3)  # NaN: no rate yet


def read_control(path: Path) -> dict[str, Any] | None:
    """A control file's record, None when it is not one of etl-cli's (or vanished, or is half written)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("kind") != KIND or not isinstance(record.get("pid"), int):
        return None
    return record


def on_this_host(record: Mapping[str, Any]) -> bool:
    """Whether the run of ``record`` runs on this machine (a state dir on a shared disk holds others' too)."""
    return record.get("host") in (None, socket.gethostname())


def liveness(record: Mapping[str, Any]) -> str | None:
    """Why the run of ``record`` is not running (None: it is): its process ended, or its pid is another's now."""
    pid = int(record["pid"])
    started = process_start(pid)
    if started is None:
        return f"process {pid} is not running"
    if record.get("pid_start") is not None and started != record["pid_start"]:
        return f"process {pid} is another process now (the run's has ended)"
    if not is_etl_cli(process_command(pid)):
        return f"process {pid} is not etl-cli"
    return None


def wait_for_exit(pid: int, pid_start: int | None, timeout_s: float, poll_s: float = 0.2) -> bool:
    """Wait until process ``pid`` (started at ``pid_start``) has ended; False when it still runs after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        started = process_start(pid)
        if started is None or (pid_start is not None and started != pid_start):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


__all__ = [
    "RunControl",
    "controls_dir",
    "liveness",
    "on_this_host",
    "progress_summary",
    "read_control",
    "wait_for_exit",
]
