"""``alerts:`` of the project file (etl_cli/config/alerts.py), pinned where mutation testing found it loose.

How a wrong value is quoted in a message (``_show``): text in quotes, any other value as YAML read it (a date as
``2024-01-01``), whole up to 60 characters and cut to 57 and ``...`` past them. A kind of ``for:`` that is no rule
kind is reported and skipped, and the kinds after it still apply (``_for``). Zero whole seconds is a duration, as
``0s`` is (``parse_duration``). A null ``max_age`` (no missing rule) leaves the durations after it read
(``_thresholds``).
"""

from __future__ import annotations

import pytest

from etl_cli.config.alerts import RULE_KINDS, AlertSettings, read_alerts
from etl_cli.diagnostics import Diagnostic

from .helpers import WRONG_VALUES_SHOWN, column, project_block, said

DEFAULT_FOR = {k: 300 if k.endswith("_lag") else 0 for k in RULE_KINDS}


def read(text: str) -> tuple[AlertSettings, list[Diagnostic]]:
    """The alerts of a project file whose text is ``text``, and the problems found."""
    found, problems = project_block(read_alerts, "alerts", text)
    return found, problems


@pytest.mark.parametrize(
    ("value", "shown"),
    WRONG_VALUES_SHOWN,
)
def test_a_wrong_value_is_quoted_whole_up_to_60_characters_and_cut_past_them(value: str, shown: str) -> None:
    settings, problems = read(f"alerts: {value}\n")
    assert settings == AlertSettings()
    assert [said(p) for p in problems] == [
        (
            "wrong-type",
            f"alerts must be a mapping, got {shown}",
            "for example: alerts: {grace: 1h, max_age: 26h}",
            1,
            9,
        )
    ]


def test_a_for_kind_that_is_no_rule_kind_is_skipped_and_the_kinds_after_it_still_apply() -> None:
    line = "  for: {zzz: 5m, run_failed: 1m}"
    settings, problems = read(f"alerts:\n{line}\n")
    known = f"known keys: {', '.join(sorted(RULE_KINDS))}"
    assert [said(p) for p in problems] == [
        ("unknown-key", "unknown key 'zzz' in alerts.for", known, 2, column(line, "zzz"))
    ]
    assert dict(settings.defaults.for_s) == {**DEFAULT_FOR, "run_failed": 60}


def test_zero_whole_seconds_is_a_duration() -> None:
    settings, problems = read("alerts:\n  grace: 0\n  for: 0\n")
    assert problems == []
    assert settings.defaults.grace_s == 0
    assert dict(settings.defaults.for_s) == dict.fromkeys(RULE_KINDS, 0)


def test_a_null_max_age_turns_the_rule_off_and_the_durations_after_it_still_apply() -> None:
    settings, problems = read("alerts:\n  max_age: 26h\n  pipelines:\n    p: {max_age: null, stalled_after: 2m}\n")
    assert problems == []
    pipeline = settings.for_pipeline("p")
    assert (pipeline.max_age_s, pipeline.stalled_after_s) == (None, 120)
    assert settings.defaults.max_age_s == 93600
