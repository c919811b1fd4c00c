"""Thresholds, outcomes and durations: when a check counts as breached, and what that means."""

from __future__ import annotations

import pytest

from etl_cli.errors import QualityGateError
from etl_cli.model.quality import check_from_item, default_severity
from etl_cli.plugins.checks import CheckSpec, Threshold, parse_duration
from etl_cli.runtime.safeguards.quality.evaluate import _outcome
from etl_cli.runtime.safeguards.quality.report import CheckResult, QualityReport


@pytest.mark.parametrize(
    ("threshold", "failed", "evaluated", "breached"),
    [
        (Threshold(), 0, 100, False),
        (Threshold(), 1, 100, True),
        (Threshold(max_count=3), 3, 100, False),
        (Threshold(max_count=3), 4, 100, True),
        (Threshold(max_ratio=0.05), 5, 100, False),
        (Threshold(max_ratio=0.05), 6, 100, True),
        (Threshold(max_ratio=0.0), 1, 1_000_000, True),
        (Threshold(max_ratio=0.5), 0, 0, False),
    ],
)
def test_a_threshold_is_breached_only_above_its_limit(
    threshold: Threshold, failed: int, evaluated: int, breached: bool
) -> None:
    assert threshold.breached(failed, evaluated) is breached


def check(**item: object) -> CheckSpec:
    return check_from_item({"name": "c", "type": "not_null", "stage": "s", "columns": ["a"], **item})


def test_severity_follows_the_action_unless_set() -> None:
    assert check(action="fail").severity == "error"
    assert check(action="drop").severity == "warning"
    assert check(action="drop", severity="error").severity == "error"
    assert default_severity("warn") == "warning"


@pytest.mark.parametrize(
    ("item", "failed", "breached", "outcome"),
    [
        ({"action": "fail"}, 0, False, "passed"),
        ({"action": "fail", "threshold": {"max_count": 5}}, 2, False, "tolerated"),
        ({"action": "fail"}, 2, True, "failed"),
        ({"action": "warn"}, 2, True, "warned"),
        ({"action": "drop"}, 2, True, "warned"),
        ({"action": "quarantine", "severity": "error"}, 2, True, "failed"),
    ],
)
def test_outcome_of_a_check(item: dict[str, object], failed: int, breached: bool, outcome: str) -> None:
    assert _outcome(check(**item), failed, breached) == outcome


def test_the_gate_fails_only_on_checks_whose_outcome_is_failed() -> None:
    report = QualityReport("r1", "p")
    report.checks.append(CheckResult("soft", "s", "range", "row", "warn", "warning", "warned", 10, 3, 0.3))
    report.raise_if_failed()
    report.checks.append(CheckResult("hard", "s", "not_null", "row", "fail", "error", "failed", 10, 1, 0.1))
    with pytest.raises(QualityGateError) as caught:
        report.raise_if_failed()
    assert caught.value.exit_code == 3
    assert "check 'hard' (not_null) on stage 's'" in caught.value.message
    assert "1 of 10 rows failed (10.00%)" in caught.value.message
    assert "soft" not in caught.value.message
    assert report.status == "failed"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2 days", 172800), ("36h", 129600), ("1 day 12 hours", 129600), ("30 minutes", 1800), ("1.5 weeks", 907200)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "2", "2 parsecs", "3 days later"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
