"""The run-results JSON: one file per run, for cron wrappers, CI and humans."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from etl_cli.events import StageResult

RESULTS_VERSION = 1


@dataclass
class RunResults:
    """Everything a run reports about itself (documented in docs/run.md)."""

    run_id: str
    pipeline: str
    env: str | None
    pipeline_file: str
    started_at: str
    ended_at: str | None = None
    duration_s: float | None = None
    status: str = "running"
    exit_code: int | None = None
    master: str | None = None
    spark_version: str | None = None
    #: seconds from asking for a Spark session to having one (JVM launch, packages): in no stage's duration
    spark_startup_s: float | None = None
    stages: list[StageResult] = field(default_factory=list)
    error: dict[str, Any] | None = None
    #: the quality report (also in ``<run_id>.quality.json``), when the pipeline has checks or contracts
    quality: dict[str, Any] | None = None
    #: what this run sent to the dead-letter queue, when the pipeline has one
    dead_letters: dict[str, Any] | None = None
    #: per external endpoint: attempts, failures, retries, circuit-breaker state and transitions
    resilience: dict[str, Any] | None = None
    #: for ``etl-cli dlq replay``: what was replayed
    replay: dict[str, Any] | None = None
    #: where the run's metrics went (the pipeline's ``metrics:``): exporter, exported, target or error
    metrics: dict[str, Any] | None = None
    #: ``run --profile``: each stage's share of the operator time Spark measured (execution/profiling.py)
    profile: dict[str, Any] | None = None
    #: with ``lineage:``: the OpenLineage run id and job, and whether each event was sent (docs/lineage.md)
    lineage: dict[str, Any] | None = None
    #: ``run --select``/``--resume``: what was asked, the stages computed and those read from checkpoints
    selection: dict[str, Any] | None = None
    #: with ``checkpoint: true`` stages: the checkpoints written, read, and removed by retention
    checkpoints: dict[str, Any] | None = None
    #: the run-time parameters (``params:``) by name: value, type and source (--param, default or unset)
    params: dict[str, Any] | None = None
    #: with the ``monitoring:`` endpoint on: its URL, host, port and paths (docs/observability.md#live-endpoint)
    monitoring: dict[str, Any] | None = None
    #: with tracing on: the trace id, where the spans went, exported or the error (docs/observability.md#traces)
    tracing: dict[str, Any] | None = None
    #: the run history (``<state_dir>/history.sqlite``): recorded or the warning, what retention removed
    history: dict[str, Any] | None = None
    #: the encryption keys ``encrypt``/``decrypt`` used: name, provider, data-key version (never key material)
    keys: list[dict[str, Any]] | None = None
    #: the principal the run read as, where its name came from, and each source's row filter (``access:`` rules)
    access: dict[str, Any] | None = None
    #: the run's record in the audit trail (``<state_dir>/audit/trail.jsonl``): seq, hash, shipped
    audit: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = RESULTS_VERSION
        return data


def results_dir(state_dir: Path, pipeline: str, env: str | None) -> Path:
    return state_dir / "runs" / pipeline / (env or "default")


def results_file(folder: Path, run_id: str) -> Path:
    """Where the results of run ``run_id`` go in ``folder``."""
    return folder / f"{run_id}.json"


def write_results(results: RunResults, folder: Path) -> Path:
    """Write ``<run_id>.json`` and ``latest.json`` atomically (write, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results.to_json(), indent=2, default=str) + "\n"
    target = results_file(folder, results.run_id)
    for path in (target, folder / "latest.json"):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return target
