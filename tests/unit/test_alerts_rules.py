"""``etl-cli alerts export``: which rules each pipeline gets, their expressions and thresholds (computed by
hand from the schedules and settings below), and the errors of ``alerts:`` in etl-project.yaml.

The rules' behaviour in Prometheus is checked by promtool (tests/unit/test_alerts_promtool.py) and end to
end by tests/integration/test_alerts_e2e.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from etl_cli.config.alerts import format_duration, parse_duration
from etl_cli.errors import ConfigError, UsageError
from etl_cli.model.schedule import ScheduleSpec
from etl_cli.orchestration.alerts import longest_gap
from etl_cli.usecases.alerts import ExportRequest, export_rules
from tests.clihelp import etl_cli

from .helpers import make_project

NIGHTLY = """\
name: nightly
schedule: {cron: '30 2 * * *', timezone: Europe/Paris}
sources: [{name: s, type: csv, path: in.csv}]
sinks: [{name: o, type: parquet, input: s, path: out/nightly}]
checks: [{name: positive, stage: s, type: range, column: amount, min: 0, action: drop}]
dead_letter: {type: parquet, path: dlq/nightly}
"""
ADHOC = """\
name: adhoc
sources: [{name: s, type: csv, path: in.csv}]
sinks: [{name: o, type: parquet, input: s, path: out/adhoc}]
"""
CLICKS = """\
name: clicks
streaming: {checkpoint_location: ck, trigger: {processing_time: 10 seconds}}
sources:
  - name: events
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: events
    schema: {id: BIGINT, page: STRING, event_time: TIMESTAMP}
    watermark: {column: event_time, delay: 1 minute}
sinks: [{name: events_out, type: parquet, input: events, path: out/clicks, mode: append}]
"""


def shop(root: Path, alerts: str = "") -> Path:
    files = {
        "in.csv": "id,amount\n1,10\n",
        "pipelines/nightly/pipeline.yaml": NIGHTLY,
        "pipelines/adhoc/pipeline.yaml": ADHOC,
        "pipelines/clicks/pipeline.yaml": CLICKS,
    }
    return make_project(root, files, project="name: shop\nenvironments: {dev: {}, prod: {}}\n" + alerts)


def rules(root: Path, *selectors: str, env: str | None = None) -> list[dict[str, Any]]:
    text = export_rules(root, ExportRequest(selectors=selectors, env=env)).text
    [group] = yaml.safe_load(text)["groups"]
    assert group["name"] == "etl-cli:shop"
    return list(group["rules"])


def by_alert(found: list[dict[str, Any]], pipeline: str) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in found if rule["labels"]["pipeline"] == pipeline}


# --------------------------------------------------------------------------- the longest gap of a schedule


@pytest.mark.parametrize(
    ("cron", "zone", "expected"),
    [
        ("30 2 * * *", "UTC", timedelta(days=1)),
        # the night clocks go back (27 Oct 2024), 02:30 comes 25 hours after the day before's
        ("30 2 * * *", "Europe/Paris", timedelta(hours=25)),
        ("0 6 * * MON-FRI", "UTC", timedelta(days=3)),  # Friday 06:00 to Monday 06:00
        ("*/15 1-3 * * *", "UTC", timedelta(hours=21, minutes=15)),  # 03:45 to 01:00 the next day
        ("* * * * *", "UTC", timedelta(minutes=1)),
        ("0 0 1 * *", "UTC", timedelta(days=31)),
        ("* * * 1-11 *", "UTC", timedelta(days=31, minutes=1)),  # 30 Nov 23:59 to 1 Jan 00:00
        # 02:30 CEST on 27 Oct 2024 (00:30 UTC), then 01:30 CET on the 28th (00:30 UTC)
        ("30 1,2 * * *", "Europe/Paris", timedelta(hours=24)),
    ],
)
def test_the_longest_gap_between_fire_times_in_real_time(cron: str, zone: str, expected: timedelta) -> None:
    assert longest_gap(ScheduleSpec(cron, zone)) == expected


def test_a_schedule_firing_once_in_four_years_has_no_gap() -> None:
    assert longest_gap(ScheduleSpec("0 0 29 2 *")) is None


@pytest.mark.parametrize(("text", "seconds"), [("0s", 0), ("90s", 90), ("1h30m", 5400), ("2d", 172800), (45, 45)])
def test_durations_are_read_as_prometheus_writes_them(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "30m1h", "-5", -5, True, "1.5h"])
def test_what_is_not_a_duration(text: object) -> None:
    assert parse_duration(text) is None


def test_durations_are_written_in_hours_minutes_and_seconds() -> None:
    assert [format_duration(s) for s in (0, 59, 5400, 93600, 90061)] == ["0s", "59s", "1h30m", "26h", "25h1m1s"]


# --------------------------------------------------------------------------- which rules each pipeline gets


def test_a_scheduled_batch_pipeline_with_checks_and_dead_letters(tmp_path: Path) -> None:
    found = by_alert(rules(shop(tmp_path), "nightly"), "nightly")
    assert list(found) == ["EtlRunFailed", "EtlRunMissing", "EtlQualityCheckFailed", "EtlDeadLetters", "EtlCircuitOpen"]
    assert found["EtlRunFailed"]["expr"] == (
        'etl_run_exit_code{pipeline="nightly"} and etl_run_success{pipeline="nightly"} == 0'
    )
    # the longest gap is 25h (Europe/Paris, autumn), plus the default grace of 1h
    assert found["EtlRunMissing"]["expr"] == (
        'time() - etl_run_last_success_timestamp_seconds{pipeline="nightly"} > 93600'
    )
    assert found["EtlQualityCheckFailed"]["expr"] == (
        'etl_quality_check_outcome{pipeline="nightly",outcome="failed"} == 1'
    )
    assert found["EtlDeadLetters"]["expr"] == 'sum without (stage, kind) (etl_dead_letter_rows{pipeline="nightly"}) > 0'
    assert found["EtlCircuitOpen"]["expr"] == 'etl_circuit_breaker_state{pipeline="nightly",state="open"} == 1'


def test_every_rule_names_its_severity_pipeline_and_runbook(tmp_path: Path) -> None:
    found = by_alert(rules(shop(tmp_path), "nightly"), "nightly")
    assert found["EtlRunFailed"]["labels"] == {"severity": "critical", "pipeline": "nightly"}
    assert found["EtlRunFailed"]["for"] == "0s"
    annotations = found["EtlRunMissing"]["annotations"]
    assert annotations["summary"] == "Pipeline nightly has not succeeded for 26h"
    assert "'30 2 * * *' (Europe/Paris) leaves at most 25h between runs, plus 1h of grace" in annotations["description"]
    assert annotations["runbook_url"] == "docs/observability.md#etlrunmissing"


def test_an_unscheduled_pipeline_gets_no_missing_rule_and_a_note(tmp_path: Path) -> None:
    exported = export_rules(shop(tmp_path), ExportRequest(selectors=("adhoc",)))
    [group] = yaml.safe_load(exported.text)["groups"]
    assert [rule["alert"] for rule in group["rules"]] == ["EtlRunFailed", "EtlCircuitOpen"]
    assert exported.notes == ["adhoc: no schedule and no alerts max_age: no rule for a missing run"]


def test_a_schedule_without_a_gap_gets_no_missing_rule_and_says_why(tmp_path: Path) -> None:
    root = make_project(
        tmp_path, {"p/pipeline.yaml": ADHOC + "schedule: {cron: '0 0 29 2 *'}\n"}, project="name: shop\n"
    )
    exported = export_rules(root, ExportRequest())
    assert "EtlRunMissing" not in exported.text
    assert exported.notes == [
        "adhoc: its schedule '0 0 29 2 *' fires less than twice in 4 years and it has no alerts max_age: "
        "no rule for a missing run"
    ]


def test_max_age_makes_the_missing_rule_of_an_unscheduled_pipeline(tmp_path: Path) -> None:
    found = by_alert(rules(shop(tmp_path, "alerts: {max_age: 2d}\n"), "adhoc"), "adhoc")
    assert (
        found["EtlRunMissing"]["expr"] == 'time() - etl_run_last_success_timestamp_seconds{pipeline="adhoc"} > 172800'
    )


def test_a_continuous_streaming_pipeline_gets_lag_and_stall_rules_instead_of_missing(tmp_path: Path) -> None:
    found = by_alert(rules(shop(tmp_path, "alerts: {max_age: 2d}\n"), "clicks"), "clicks")
    assert list(found) == [
        "EtlRunFailed",
        "EtlCircuitOpen",
        "EtlStreamWatermarkLag",
        "EtlStreamConsumerLag",
        "EtlStreamStalled",
    ]
    assert found["EtlStreamWatermarkLag"]["expr"] == 'etl_stream_watermark_lag_seconds{pipeline="clicks"} > 900'
    assert found["EtlStreamWatermarkLag"]["for"] == "5m"
    assert found["EtlStreamConsumerLag"]["expr"] == (
        'sum without (partition) (etl_stream_kafka_consumer_lag{pipeline="clicks"}) > 10000'
    )
    assert found["EtlStreamStalled"]["expr"] == (
        'time() - etl_stream_last_progress_timestamp_seconds{pipeline="clicks"} > 600'
    )


def test_env_selects_that_environments_series_and_labels_the_rules(tmp_path: Path) -> None:
    found = by_alert(rules(shop(tmp_path), "nightly", env="prod"), "nightly")
    rule = found["EtlCircuitOpen"]
    assert rule["expr"] == 'etl_circuit_breaker_state{pipeline="nightly",env="prod",state="open"} == 1'
    assert rule["labels"] == {"severity": "warning", "pipeline": "nightly", "env": "prod"}


def test_rules_follow_the_project_order_and_the_selection(tmp_path: Path) -> None:
    found = rules(shop(tmp_path), "nightly", "adhoc")
    assert list(dict.fromkeys(rule["labels"]["pipeline"] for rule in found)) == ["adhoc", "nightly"]


def test_the_same_project_exports_the_same_text(tmp_path: Path) -> None:
    root = shop(tmp_path)
    first = export_rules(root, ExportRequest()).text
    assert export_rules(root, ExportRequest()).text == first


# --------------------------------------------------------------------------- settings


SETTINGS = """\
alerts:
  grace: 30m
  dead_letter_rows: 100
  watermark_lag: 1h
  for: {run_failed: 2m}
  labels: {team: data}
  runbook_url: https://wiki.example.com/etl
  pipelines:
    nightly: {grace: 2h, labels: {team: finance}, for: 0s}
"""


def test_settings_and_a_pipelines_own_entry_over_them(tmp_path: Path) -> None:
    found = rules(shop(tmp_path, SETTINGS))
    nightly, clicks = by_alert(found, "nightly"), by_alert(found, "clicks")
    # 25h + 2h of the pipeline's own grace
    assert nightly["EtlRunMissing"]["expr"].endswith("> 97200")
    assert nightly["EtlDeadLetters"]["expr"].endswith("> 100")
    assert nightly["EtlRunFailed"]["labels"]["team"] == "finance"
    assert nightly["EtlRunFailed"]["for"] == "0s"
    assert clicks["EtlRunFailed"]["for"] == "2m"
    assert clicks["EtlRunFailed"]["labels"]["team"] == "data"
    assert clicks["EtlStreamWatermarkLag"]["expr"].endswith("> 3600")
    assert clicks["EtlRunFailed"]["annotations"]["runbook_url"] == "https://wiki.example.com/etl#etlrunfailed"


def test_one_for_duration_applies_to_every_rule(tmp_path: Path) -> None:
    found = rules(shop(tmp_path, "alerts: {for: 2m}\n"), "clicks", "nightly")
    assert {rule["for"] for rule in found} == {"2m"}
    assert len(found) == 10  # nightly's 5 rules and clicks' 5


@pytest.mark.parametrize(
    ("alerts", "line", "message"),
    [
        ("alerts:\n  grace: soon\n", 2, "alerts.grace must be a duration such as 90s, 30m, 1h30m or 2d, got 'soon'"),
        ("alerts:\n  dead_letter_rows: -1\n", 2, "alerts.dead_letter_rows must be a whole number of at least 0"),
        ("alerts:\n  gracee: 1h\n", 2, "unknown key 'gracee' in alerts"),
        ("alerts:\n  for: {run_failde: 1m}\n", 2, "unknown key 'run_failde' in alerts.for"),
        ("alerts:\n  labels: {severity: page}\n", 2, "alerts.labels: 'severity' is set by every rule"),
        (
            "alerts:\n  pipelines:\n    nightly: {max_age: x}\n",
            3,
            "alerts.pipelines.nightly.max_age must be a duration",
        ),
    ],
)
def test_a_wrong_setting_is_an_error_at_its_line(tmp_path: Path, alerts: str, line: int, message: str) -> None:
    root = shop(tmp_path, alerts)
    with pytest.raises(ConfigError) as raised:
        export_rules(root, ExportRequest())
    [problem] = raised.value.diagnostics  # type: ignore[attr-defined]
    assert message in problem.message
    assert problem.location.file.endswith("etl-project.yaml") and problem.location.line == line + 2


def test_an_entry_for_a_pipeline_the_project_does_not_have(tmp_path: Path) -> None:
    root = shop(tmp_path, "alerts:\n  pipelines:\n    nightley: {grace: 1h}\n")
    with pytest.raises(ConfigError) as raised:
        export_rules(root, ExportRequest())
    [problem] = raised.value.diagnostics  # type: ignore[attr-defined]
    assert problem.message == "alerts.pipelines.nightley: the project has no pipeline named 'nightley'"
    assert problem.hint == "did you mean 'nightly'?"
    assert problem.location.line == 5


def test_a_selection_of_nothing_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        export_rules(shop(tmp_path), ExportRequest(selectors=("nightly",), exclude=("nightly",)))


# --------------------------------------------------------------------------- the command


def test_the_command_writes_the_file_and_names_its_pipelines(tmp_path: Path) -> None:
    root = shop(tmp_path / "p")
    done = etl_cli("alerts", "export", str(root), "--select", "nightly", "--output", str(tmp_path / "r.yaml"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert f"wrote {tmp_path / 'r.yaml'} (nightly)" in done.stderr
    assert yaml.safe_load((tmp_path / "r.yaml").read_text())["groups"][0]["rules"][0]["alert"] == "EtlRunFailed"


def test_the_command_exits_1_on_a_wrong_setting_naming_its_line(tmp_path: Path) -> None:
    root = shop(tmp_path, "alerts:\n  grace: soon\n")
    done = etl_cli("alerts", "export", str(root))
    assert done.returncode == 1
    assert "etl-project.yaml:4:10" in done.stderr and "alerts.grace must be a duration" in done.stderr


def test_without_output_the_rules_go_to_stdout_and_the_notes_to_stderr(tmp_path: Path) -> None:
    done = etl_cli("alerts", "export", str(shop(tmp_path)), "--select", "adhoc")
    assert done.returncode == 0, done.stderr
    assert [rule["alert"] for rule in yaml.safe_load(done.stdout)["groups"][0]["rules"]] == [
        "EtlRunFailed",
        "EtlCircuitOpen",
    ]
    assert done.stderr == "note: adhoc: no schedule and no alerts max_age: no rule for a missing run\n"
