"""``alerts:`` of the project file read in-process (etl_cli/config/alerts.py): ``for:`` and ``labels:`` as the
project and each pipeline lay them, the runbook, pipelines' entries, and every problem's code, message and place.

tests/unit/test_alerts_rules.py checks the rules the export writes from these settings; this file pins how
the settings are read, where mutation testing (docs/testing.md) found them least tested.
"""

from __future__ import annotations

import pytest

from etl_cli.config.alerts import RULE_KINDS, AlertSettings, read_alerts
from etl_cli.diagnostics import Diagnostic

from .helpers import column, project_block, said

DEFAULT_FOR = {k: 300 if k.endswith("_lag") else 0 for k in RULE_KINDS}


def read(text: str) -> tuple[AlertSettings, list[Diagnostic]]:
    """The alerts of a project file whose text is ``text``, and the problems found."""
    found, problems = project_block(read_alerts, "alerts", text)
    return found, problems


def test_one_for_duration_sets_every_rule() -> None:
    settings, problems = read("alerts:\n  for: 2m\n")
    assert problems == []
    assert dict(settings.defaults.for_s) == dict.fromkeys(RULE_KINDS, 120)


def test_for_by_rule_kind_changes_only_those_kinds() -> None:
    settings, problems = read("alerts:\n  for: {watermark_lag: 10m, run_failed: 30s}\n")
    assert problems == []
    assert dict(settings.defaults.for_s) == {**DEFAULT_FOR, "watermark_lag": 600, "run_failed": 30}


def test_a_pipeline_for_is_laid_over_the_project_kind_by_kind() -> None:
    settings, problems = read(
        "alerts:\n  for: {run_failed: 1m, dead_letters: 2m}\n  pipelines:\n    orders: {for: {run_failed: 5m}}\n"
    )
    assert problems == []
    orders = dict(settings.for_pipeline("orders").for_s)
    assert orders == {**DEFAULT_FOR, "run_failed": 300, "dead_letters": 120}
    assert dict(settings.for_pipeline("other").for_s) == {**DEFAULT_FOR, "run_failed": 60, "dead_letters": 120}


def test_a_for_that_is_no_duration_is_refused_with_the_rule_kinds() -> None:
    line = "  for: soon"
    settings, (problem,) = read(f"alerts:\n{line}\n")
    message = f"alerts.for must be a duration, or a duration by rule ({', '.join(RULE_KINDS)}), got 'soon'"
    assert said(problem) == ("invalid-duration", message, "for example: 5m", 2, column(line, "soon"))
    assert dict(settings.defaults.for_s) == DEFAULT_FOR


def test_a_kind_of_for_that_is_no_duration_or_no_kind() -> None:
    line = "  for: {run_failed: later, stream_stalled: 1m, run_faild: 2m}"
    settings, problems = read(f"alerts:\n{line}\n")
    assert [said(p) for p in problems] == [
        (
            "unknown-key",
            "unknown key 'run_faild' in alerts.for",
            "did you mean 'run_failed'?",
            2,
            column(line, "run_faild"),
        ),
        (
            "invalid-duration",
            "alerts.for.run_failed must be a duration such as 0s, 5m or 1h, got 'later'",
            None,
            2,
            column(line, "later"),
        ),
    ]
    # what was right is kept; the unknown kind is not added
    assert dict(settings.defaults.for_s) == {**DEFAULT_FOR, "stream_stalled": 60}


def test_labels_are_text_and_laid_over_the_project_name_by_name() -> None:
    settings, problems = read(
        "alerts:\n"
        "  labels: {team: data, tier: 1, ratio: 0.5}\n"
        "  pipelines:\n"
        "    revenue: {labels: {team: finance, _private: x}}\n"
    )
    assert problems == []
    assert dict(settings.defaults.labels) == {"team": "data", "tier": "1", "ratio": "0.5"}
    assert dict(settings.for_pipeline("revenue").labels) == {
        "team": "finance",
        "tier": "1",
        "ratio": "0.5",
        "_private": "x",
    }


def test_null_labels_keep_the_project_labels() -> None:
    settings, problems = read("alerts:\n  labels: {team: data}\n  pipelines:\n    a: {labels: null}\n")
    assert problems == []
    assert dict(settings.for_pipeline("a").labels) == {"team": "data"}


def test_labels_that_are_not_a_mapping() -> None:
    line = "  labels: [team]"
    settings, (problem,) = read(f"alerts:\n{line}\n")
    message = "alerts.labels must map label names to values, got ['team']"
    assert said(problem) == ("wrong-type", message, "for example: labels: {team: data}", 2, column(line, "[team]"))
    assert dict(settings.defaults.labels) == {}


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("severity", "is set by every rule"),
        ("alertname", "is set by every rule"),
        ("pipeline", "is set by every rule"),
        ("env", "is set by every rule"),
        ("team-name", "is not a Prometheus label name"),
        ("1team", "is not a Prometheus label name"),
    ],
)
def test_a_label_that_is_reserved_or_no_label_name_is_refused_at_its_name(name: str, why: str) -> None:
    line = f"  labels: {{team: data, {name}: x}}"
    settings, (problem,) = read(f"alerts:\n{line}\n")
    assert said(problem) == ("invalid-label", f"alerts.labels: '{name}' {why}", None, 2, column(line, name))
    assert dict(settings.defaults.labels) == {"team": "data"}


@pytest.mark.parametrize(
    ("value", "shown"), [("true", "True"), ("[a]", "['a']"), ("{a: 1}", "{'a': 1}"), ("null", "None")]
)
def test_a_label_value_must_be_text(value: str, shown: str) -> None:
    line = f"  labels: {{team: {value}}}"
    settings, (problem,) = read(f"alerts:\n{line}\n")
    at = column(line, f"team: {value}") + len("team: ")
    assert said(problem) == ("wrong-type", f"alerts.labels.team must be text, got {shown}", None, 2, at)
    assert dict(settings.defaults.labels) == {}


def test_a_pipelines_label_problem_names_the_pipeline() -> None:
    _, (problem,) = read("alerts:\n  pipelines:\n    orders: {labels: {severity: low}}\n")
    assert problem.message == "alerts.pipelines.orders.labels: 'severity' is set by every rule"


def test_the_runbook_url_and_its_default() -> None:
    assert read("alerts: {grace: 1h}\n")[0].runbook_url == "docs/observability.md"
    settings, problems = read("alerts:\n  runbook_url: https://wiki.example.com/etl\n")
    assert problems == [] and settings.runbook_url == "https://wiki.example.com/etl"
    line = "  runbook_url: ''"
    settings, (problem,) = read(f"alerts:\n{line}\n")
    assert said(problem) == ("wrong-type", "alerts.runbook_url must be a URL, got ''", None, 2, column(line, "''"))
    assert settings.runbook_url == "docs/observability.md"
    _, (problem,) = read("alerts:\n  runbook_url: 3\n")
    assert problem.message == "alerts.runbook_url must be a URL, got 3"


def test_pipelines_entries_their_places_and_problems() -> None:
    text = (
        "alerts:\n  max_age: 26h\n  pipelines:\n    orders: {max_age: 2d}\n    broken: 7\n    open: {max_age: null}\n"
    )
    settings, (problem,) = read(text)
    assert said(problem) == ("wrong-type", "alerts.pipelines.broken must be a mapping, got 7", None, 5, 13)
    assert list(settings.pipelines) == ["orders", "open"]
    assert settings.for_pipeline("orders").max_age_s == 172800
    assert settings.for_pipeline("open").max_age_s is None
    assert settings.for_pipeline("unlisted").max_age_s == 93600
    location = settings.locations["orders"]
    assert location is not None and (location.line, location.column) == (4, 5)
    _, (problem,) = read("alerts:\n  pipelines: [orders]\n")
    assert said(problem) == (
        "wrong-type",
        "alerts.pipelines must map pipeline names to their settings, got ['orders']",
        "for example: pipelines: {orders: {max_age: 2d}}",
        2,
        14,
    )
    _, (problem,) = read("alerts:\n  pipelines:\n    orders: {runbook_url: x}\n")
    assert problem.code == "unknown-key" and problem.message == "unknown key 'runbook_url' in alerts.pipelines.orders"


def test_alerts_that_are_not_a_mapping_and_unknown_keys() -> None:
    settings, (problem,) = read("alerts: 1h\n")
    assert settings == AlertSettings()
    assert said(problem) == (
        "wrong-type",
        "alerts must be a mapping, got '1h'",
        "for example: alerts: {grace: 1h, max_age: 26h}",
        1,
        9,
    )
    _, (problem,) = read("alerts:\n  gracee: 1h\n")
    assert (problem.code, problem.hint) == ("unknown-key", "did you mean 'grace'?")
    _, (problem,) = read("alerts:\n  zzz: 1\n")
    assert problem.hint is not None and problem.hint.startswith(
        "known keys: consumer_lag, dead_letter_rows, for, grace"
    )


@pytest.mark.parametrize(("value", "shown"), [("-1", "-1"), ("1.5", "1.5"), ("many", "'many'"), ("true", "True")])
def test_counts_must_be_whole_numbers_of_at_least_zero(value: str, shown: str) -> None:
    line = f"  dead_letter_rows: {value}"
    settings, (problem,) = read(f"alerts:\n{line}\n")
    message = f"alerts.dead_letter_rows must be a whole number of at least 0, got {shown}"
    assert said(problem) == ("wrong-type", message, None, 2, column(line, value))
    assert settings.defaults.dead_letter_rows == 0


def test_durations_and_counts_that_are_right_are_kept() -> None:
    settings, problems = read(
        "alerts: {grace: 30m, max_age: 1d, watermark_lag: 90s, stalled_after: 1h30m,\n"
        "         dead_letter_rows: 0, consumer_lag: 5}\n"
    )
    assert problems == []
    d = settings.defaults
    assert (d.grace_s, d.max_age_s, d.watermark_lag_s, d.stalled_after_s, d.dead_letter_rows, d.consumer_lag) == (
        1800,
        86400,
        90,
        5400,
        0,
        5,
    )
    _, (problem,) = read("alerts:\n  grace: 1 hour\n")
    assert problem.message == "alerts.grace must be a duration such as 90s, 30m, 1h30m or 2d, got '1 hour'"
    assert problem.code == "invalid-duration"
