"""Runs whose metrics feed every panel of docs/grafana/etl-cli.json, for its tests.

A batch run (stages, checks, dead letters, an endpoint with an open circuit breaker) and a
streaming run still going on, whose query's last progress is a real one: a StreamingQueryProgress
Spark 4.0 reported for a Kafka source (2 partitions) under a watermarked one-minute window count,
tests/integration/recorded/kafka_window_progress.json (recorded with local Spark and the broker
of scripts/services.sh; 5 records behind the latest offset on each partition).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from etl_cli.events import StageResult
from etl_cli.runtime.bookkeeping.metrics import RunMetrics
from etl_cli.runtime.bookkeeping.results import RunResults

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "docs" / "grafana" / "etl-cli.json"
PROGRESS = REPO / "tests" / "integration" / "recorded" / "kafka_window_progress.json"


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text(encoding="utf-8")))


def targets(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query of the dashboard's panels."""
    return [(p["title"], t.get("expr", "")) for p in board["panels"] for t in p.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\betl_[a-z0-9_]+", expr))


def batch_run(pipeline: str) -> RunMetrics:
    """A run that went through: 3 stages, two checks (one warned), dead letters, a breaker left open."""
    at = "2026-12-05T10:00:00+00:00"
    results = RunResults("r1", pipeline, "dev", "pipeline.yaml", at, ended_at="2026-12-05T10:00:42+00:00")
    results.status, results.exit_code, results.duration_s = "success", 0, 42.0
    results.stages = [
        StageResult("orders", "source", "csv", "ok", None, 10, 1.5),
        StageResult("paid", "transform", "filter", "ok", 10, 8, 0.0),
        StageResult("paid_out", "sink", "parquet", "ok", 8, 8, 3.0),
    ]
    check = {"stage": "orders", "rows_evaluated": 10, "rows_failed": 2, "failure_rate": 0.2}
    results.quality = {
        "checks": [
            {**check, "name": "positive", "type": "range", "action": "quarantine", "outcome": "tolerated"},
            {**check, "name": "has_customer", "type": "not_null", "action": "warn", "outcome": "warned"},
        ],
        "stages": [{"stage": "orders", "rows_removed": 2, "rows_quarantined": 2}],
    }
    results.dead_letters = {"by_stage": {"orders": {"quarantined": 2}}, "written": True}
    results.resilience = {
        "jdbc:warehouse": {
            "attempts": 5,
            "failures": 5,
            "retries": 4,
            "rejected": 1,
            "state": "open",
            "circuit_opened": 1,
        }
    }
    return RunMetrics(results)


def streaming_run(pipeline: str) -> RunMetrics:
    """A streaming run still going on, with its query's recorded last progress."""
    results = RunResults("r2", pipeline, "dev", "pipeline.yaml", "2026-12-05T16:30:00+00:00")
    return RunMetrics(results, [json.loads(PROGRESS.read_text(encoding="utf-8"))])
