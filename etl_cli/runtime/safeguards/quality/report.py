"""The quality report of a run: per check, what was evaluated, what failed, what happened.

It is sent to the reporter (printed as a table), saved as ``<run_id>.quality.json``
beside the run results, and included in the run results under ``quality``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from etl_cli.errors import QualityGateError

Outcome = Literal["passed", "tolerated", "warned", "failed", "skipped"]
REPORT_VERSION = 1
#: failures named in a gate error message; the report has them all
_MESSAGE_LIMIT = 10


@dataclass
class CheckResult:
    """How one check went. ``rows_failed`` is None for checks that do not count rows (row_count, freshness)."""

    name: str
    stage: str
    type: str
    level: str
    action: str
    severity: str
    outcome: Outcome
    rows_evaluated: int | None = None
    rows_failed: int | None = None
    failure_rate: float | None = None
    threshold: dict[str, Any] | None = None
    rows_removed: int = 0
    samples: list[Any] = field(default_factory=list)
    observed: dict[str, Any] = field(default_factory=dict)
    defined_at: str | None = None
    note: str | None = None

    @property
    def summary(self) -> str:
        if self.rows_failed is None:
            found = ", ".join(f"{k} {v}" for k, v in self.observed.items())
        else:
            found = f"{self.rows_failed:,} of {self.rows_evaluated or 0:,} rows failed ({(self.failure_rate or 0):.2%})"
        limit = f", threshold {_threshold_text(self.threshold)}" if self.threshold else ""
        where = f" at {self.defined_at}" if self.defined_at else ""
        return f"check '{self.name}' ({self.type}) on stage '{self.stage}'{where}: {found}{limit}"


def _threshold_text(threshold: dict[str, Any]) -> str:
    return " ".join(f"{k} {v}" for k, v in threshold.items())


@dataclass
class StageQuality:
    """What the checks did to one stage's rows."""

    stage: str
    rows_evaluated: int
    rows_removed: int = 0
    rows_quarantined: int = 0
    persisted: bool = False


@dataclass
class QualityReport:
    """Every check result of a run, the stages they touched, and the contracts that were checked."""

    run_id: str
    pipeline: str
    checks: list[CheckResult] = field(default_factory=list)
    stages: list[StageQuality] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.checks or self.contracts)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.outcome == "failed"]

    @property
    def status(self) -> str:
        if self.failures:
            return "failed"
        return "warned" if any(c.outcome == "warned" for c in self.checks) else "passed"

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "checks": [asdict(c) for c in self.checks],
            "stages": [asdict(s) for s in self.stages],
            "contracts": self.contracts,
        }

    def raise_if_failed(self) -> None:
        """QualityGateError naming every breached check whose severity is error (exit 3)."""
        failures = self.failures
        if not failures:
            return
        lines = [f"  {c.summary}" for c in failures[:_MESSAGE_LIMIT]]
        if len(failures) > _MESSAGE_LIMIT:
            lines.append(f"  ... and {len(failures) - _MESSAGE_LIMIT} more (see the quality report)")
        raise QualityGateError(
            f"data-quality gate failed: {len(failures)} check(s) breached; nothing was written\n" + "\n".join(lines),
            hint="fix the data or the check (threshold:, severity: warning, action: quarantine), then run again",
        )


def quality_file(results_file: Path) -> Path:
    """``<run_id>.quality.json`` beside ``<run_id>.json``."""
    return results_file.with_name(f"{results_file.stem}.quality.json")


def write_quality(report: dict[str, Any], results_file: Path) -> Path:
    path = quality_file(results_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
