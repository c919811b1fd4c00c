"""The DAG-run results JSON: ``<state_dir>/dag-runs/<dag_run_id>.json``, one per ``etl-cli dag run``.

It is rewritten atomically each time a pipeline starts, finishes or is skipped, so a DAG run killed at any
moment leaves a whole, readable file that says how far it got; ``dag run --resume`` reads it back.
Documented field by field in docs/orchestration.md ("Running the DAG").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl_cli.orchestration.records import read_record_file, write_record_file

DAG_RUN_VERSION = 1
#: what ``dag-runs/`` holds under the project's state folder
DAG_RUNS_DIR = "dag-runs"

PENDING, RUNNING = "pending", "running"
SUCCEEDED, FAILED, SKIPPED, NOT_RUN = "succeeded", "failed", "skipped", "not_run"

#: exit codes of ``run``, worst first: the DAG run exits with the worst of its pipelines'. A stop by a signal
#: comes first (the DAG run is incomplete), then a failed run, a quality gate that held data back, an invalid
#: pipeline, a usage error, and last a lock held by another run (nothing wrong, only busy).
EXIT_PRECEDENCE = (143, 130, 4, 3, 1, 2, 5, 0)
#: an exit code ``run`` never gives (a child killed by SIGKILL: 137) counts as a failed run
_UNKNOWN_EXIT = 4


def worst_exit_code(codes: Iterable[int]) -> int:
    """The code of ``codes`` that comes first in :data:`EXIT_PRECEDENCE` (0 when there are none)."""
    known = [code if code in EXIT_PRECEDENCE else _UNKNOWN_EXIT for code in codes]
    return min(known, key=EXIT_PRECEDENCE.index, default=0)


def now() -> str:
    """A time as the run results write it: UTC, ISO 8601, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_dag_run_id() -> str:
    """``20260105T101500Z-1a2b3c4d``: the same shape as a run id, so ids sort by start time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


@dataclass
class PipelineRun:
    """One pipeline of a DAG run: what became of it, and where its run results and log are."""

    name: str
    #: the selected pipelines it waits for (direct upstream within this DAG run)
    upstream: list[str] = field(default_factory=list)
    #: pending or running while the DAG run goes on; then succeeded, failed, skipped or not_run
    status: str = PENDING
    exit_code: int | None = None
    #: the ``--run-id`` of its ``etl-cli run`` child
    run_id: str | None = None
    results_file: str | None = None
    log_file: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    #: rows its sinks wrote, from its run results (None without them)
    rows_written: int | None = None
    #: why it was skipped or not run
    skip_reason: str | None = None
    #: why it failed without an exit code of its own (its child process could not be started)
    error: str | None = None
    #: the ``--param NAME=VALUE`` its child was given: those of the DAG run's its pipeline declares
    params: list[str] = field(default_factory=list)


@dataclass
class DagRunRecord:
    """A whole DAG run: how it was asked for, and each selected pipeline in the DAG's order."""

    dag_run_id: str
    project: str
    selectors: list[str]
    exclude: list[str]
    env: str | None
    sets: list[str]
    jobs: int
    results_dir: str | None
    pipelines: dict[str, PipelineRun]
    #: the DAG run this one resumes (``--resume``), else None
    resumes: str | None = None
    #: ``--param NAME=VALUE`` as given (one per name; a resume takes them again)
    params: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=now)
    ended_at: str | None = None
    duration_s: float | None = None
    #: running, then succeeded, failed, interrupted (SIGINT) or terminated (SIGTERM)
    status: str = RUNNING
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": DAG_RUN_VERSION}
        data.update({f.name: getattr(self, f.name) for f in fields(self) if f.name != "pipelines"})
        data["pipelines"] = [asdict(run) for run in self.pipelines.values()]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DagRunRecord:
        known = {f.name for f in fields(cls)} - {"pipelines"}
        runs = [PipelineRun(**{k: v for k, v in item.items() if k in _RUN_FIELDS}) for item in data["pipelines"]]
        return cls(**{k: v for k, v in data.items() if k in known}, pipelines={run.name: run for run in runs})


_RUN_FIELDS = {f.name for f in fields(PipelineRun)}


def names_to_resume(record: DagRunRecord) -> list[str]:
    """The pipelines ``dag run --resume`` runs again: every one that did not succeed, in the DAG run's order.

    That is failed, skipped and not_run, and also pending or running, which a DAG run killed with SIGKILL
    leaves behind.
    """
    return [name for name, run in record.pipelines.items() if run.status != SUCCEEDED]


def write_record(record: DagRunRecord, folder: Path) -> Path:
    """Write ``<dag_run_id>.json`` atomically."""
    return write_record_file(folder, record.dag_run_id, record.to_json())


def read_record(folder: Path, dag_run_id: str) -> DagRunRecord:
    """The DAG run ``dag_run_id`` as written; an id with no file is a usage error naming the recent ids."""
    return read_record_file(folder, dag_run_id, DagRunRecord.from_json, "DAG run", "DAG runs", "DAG-run results file")


def rows_written(results_file: Path | None) -> int | None:
    """Rows the sinks of a run wrote, summed from its run results (None when unreadable or nothing reported)."""
    if results_file is None:
        return None
    try:
        stages = json.loads(results_file.read_text(encoding="utf-8")).get("stages") or []
    except (OSError, ValueError, AttributeError):
        return None
    counts = [s["rows_out"] for s in stages if s.get("kind") == "sink" and isinstance(s.get("rows_out"), int)]
    return sum(counts) if counts else None
