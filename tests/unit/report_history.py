"""A run history for the tests of ``etl-cli runs report``, recorded through the real history API.

Five runs, by hand (times are 2026-12-01, UTC; checks: positive, has_customer)::

    pipeline   env   started  status       took   stages (rows out)                   checks
    orders     dev   10:00    success      10.0s  raw 100, kept 80, out 80            passed, warned
    orders     dev   10:05    success      15.0s  raw 120, kept 90, out 90, audit 90  tolerated, passed
    orders     dev   10:10    failed (3)   0.5s   raw 50, kept -, out -               failed, skipped
    customers  dev   10:20    success      2.0s   raw 7, out 7                        -
    orders     prod  10:30    success      20.0s  raw 1000, kept 900, out 900         -
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.project import HistorySettings
from etl_cli.events import StageResult
from etl_cli.runtime.bookkeeping.history import History
from etl_cli.runtime.bookkeeping.results import RunResults

O1, O2, O3 = "20261201T100000Z-aaaa1111", "20261201T100500Z-bbbb2222", "20261201T101000Z-cccc3333"
C1, P1 = "20261201T102000Z-dddd4444", "20261201T103000Z-eeee5555"


def _run(run_id: str, pipeline: str, env: str, minute: int, took: float, stages: list[StageResult]) -> RunResults:
    at = f"2026-12-01T10:{minute:02d}:00.000+00:00"
    results = RunResults(run_id, pipeline, env, f"pipelines/{pipeline}/pipeline.yaml", started_at=at, ended_at=at)
    results.duration_s, results.status, results.exit_code, results.stages = took, "success", 0, stages
    return results


def _checks(positive: str, has_customer: str) -> dict[str, object]:
    return {
        "checks": [
            {"name": "positive", "stage": "raw", "type": "range", "outcome": positive, "rows_failed": 0},
            {"name": "has_customer", "stage": "raw", "type": "not_null", "outcome": has_customer, "rows_failed": 0},
        ]
    }


def _stages(*rows: int | None, audit: int | None = None) -> list[StageResult]:
    raw, kept, out = rows
    found = [
        StageResult("raw", "source", "csv", "ok", None, raw, 1.0),
        StageResult("kept", "transform", "filter", "ok" if kept is not None else "failed", raw, kept, 0.0),
        StageResult("out", "sink", "parquet", "ok" if out is not None else "skipped", kept, out, 1.0),
    ]
    if audit is not None:
        found.append(StageResult("audit", "sink", "csv", "ok", kept, audit, 1.0))
    return found


def runs() -> list[RunResults]:
    o1 = _run(O1, "orders", "dev", 0, 10.0, _stages(100, 80, 80))
    o1.quality = _checks("passed", "warned")
    o2 = _run(O2, "orders", "dev", 5, 15.0, _stages(120, 90, 90, audit=90))
    o2.quality = _checks("tolerated", "passed")
    o3 = _run(O3, "orders", "dev", 10, 0.5, _stages(50, None, None))
    o3.quality = _checks("failed", "skipped")
    o3.status, o3.exit_code = "failed", 3
    o3.error = {"type": "QualityGateError", "message": "check positive failed", "stage": "raw"}
    customers = _run(C1, "customers", "dev", 20, 2.0, [StageResult("raw", "source", "csv", "ok", None, 7, 1.0)])
    customers.stages.append(StageResult("out", "sink", "parquet", "ok", 7, 7, 1.0))
    prod = _run(P1, "orders", "prod", 30, 20.0, _stages(1000, 900, 900))
    return [o1, o2, o3, customers, prod]


def fill(state_dir: Path) -> None:
    """Record :func:`runs` in the history of ``state_dir`` (kept whatever their age: no retention)."""
    history = History(state_dir, HistorySettings(keep_days=None))
    for results in runs():
        history.record(
            results, state_dir / "runs" / results.pipeline / (results.env or "default") / f"{results.run_id}.json"
        )
