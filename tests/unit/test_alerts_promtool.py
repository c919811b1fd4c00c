"""The exported alerting rules, judged by Prometheus' own promtool: ``promtool check rules`` accepts the
rules of the shipped example pipelines, and ``promtool test rules`` evaluates them over series written by
hand (a failing run, a successful one, a run missing past its schedule, a stalled stream...) and compares
the alerts that fire with the ones expected here.

promtool is Debian's ``prometheus`` package, amtool its ``prometheus-alertmanager`` (scripts/test-tools.sh);
without them these tests skip, except under CI, where they fail. The Alertmanager receiver examples of
docs/observability.md are checked with ``amtool check-config`` here too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from etl_cli.usecases.alerts import ExportRequest, export_rules
from tests.clihelp import REPO, etl_cli
from tests.integration.promstack import PROMTOOL, require

from .test_alerts_rules import shop

AMTOOL = "amtool"


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("selector", ["path:pipelines/daily_shop", "kafka_to_files_streaming"])
def test_promtool_accepts_the_rules_of_the_example_pipelines(tmp_path: Path, selector: str) -> None:
    rules = tmp_path / "rules.yaml"
    done = etl_cli("alerts", "export", "--env", "prod", "--select", selector, "--output", str(rules), cwd=REPO)
    assert done.returncode == 0, done.stderr
    checked = promtool("check", "rules", str(rules), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


# the labels of the series a run pushes, as Prometheus keeps them when it scrapes the Pushgateway (honor_labels)
PUSHED = 'job="etl-cli",env="prod"'


def alert(name: str, pipeline: str, severity: str, summary: str, description: str, **labels: str) -> dict[str, Any]:
    """An alert as ``promtool test rules`` expects it: every label of the series and of the rule, and the
    annotations as Prometheus expands their templates."""
    return {
        "exp_labels": {
            "alertname": name,
            "severity": severity,
            "pipeline": pipeline,
            "job": "etl-cli",
            "env": "prod",
            **labels,
        },
        "exp_annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"docs/observability.md#{name.lower()}",
        },
    }


def check_alerts(tmp_path: Path, series: dict[str, str], expected: list[dict[str, Any]]) -> None:
    """``promtool test rules`` of the shop project's rules (``for: 0s``, env prod) over ``series``
    (selector → values, one sample a minute from time 0) against ``expected``: alert tests, each
    ``{"eval_time": ..., "alertname": ..., "exp_alerts": [...]}``."""
    project = shop(tmp_path / "project", "alerts: {for: 0s}\n")
    rules = export_rules(project, ExportRequest(env="prod")).text
    (tmp_path / "rules.yaml").write_text(rules)
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": name, "values": values} for name, values in series.items()],
                "alert_rule_test": expected,
            }
        ],
    }
    (tmp_path / "rules.test.yaml").write_text(yaml.safe_dump(test, sort_keys=False))
    done = promtool("test", "rules", "rules.test.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_failing_run_fires_and_a_successful_one_does_not(tmp_path: Path) -> None:
    series = {
        f'etl_run_success{{pipeline="nightly",{PUSHED}}}': "0x10",
        f'etl_run_exit_code{{pipeline="nightly",{PUSHED}}}': "4x10",
        f'etl_run_success{{pipeline="adhoc",{PUSHED}}}': "1x10",
        f'etl_run_exit_code{{pipeline="adhoc",{PUSHED}}}': "0x10",
    }
    failed = alert(
        "EtlRunFailed",
        "nightly",
        "critical",
        "Pipeline nightly failed",
        "The latest run of nightly (env prod) failed with exit code 4 (docs: README, exit codes).",
    )
    check_alerts(tmp_path, series, [{"eval_time": "5m", "alertname": "EtlRunFailed", "exp_alerts": [failed]}])


def test_a_run_missing_past_its_schedule_fires_after_the_longest_gap_and_the_grace(tmp_path: Path) -> None:
    # nightly fires at 02:30 Europe/Paris: its longest gap is 25h (autumn), plus 1h of grace: 26h = 93600s.
    # Its last success is at time 0, and the Pushgateway keeps serving it every minute after.
    series = {f'etl_run_last_success_timestamp_seconds{{pipeline="nightly",{PUSHED}}}': "0x1600"}
    missing = alert(
        "EtlRunMissing",
        "nightly",
        "critical",
        "Pipeline nightly has not succeeded for 26h",
        "nightly (env prod) last succeeded 1d 2h 1m 0s ago; its schedule '30 2 * * *' (Europe/Paris) leaves at "
        "most 25h between runs, plus 1h of grace.",
    )
    check_alerts(
        tmp_path,
        series,
        [
            {"eval_time": "25h", "alertname": "EtlRunMissing", "exp_alerts": []},
            {"eval_time": "26h", "alertname": "EtlRunMissing", "exp_alerts": []},
            {"eval_time": "26h1m", "alertname": "EtlRunMissing", "exp_alerts": [missing]},
        ],
    )


def test_a_stalled_stream_fires_once_its_progress_is_older_than_stalled_after(tmp_path: Path) -> None:
    # a micro-batch a minute until minute 10 (Unix time 600), then none: the last progress stays at 600
    series = {
        f'etl_stream_last_progress_timestamp_seconds{{pipeline="clicks",sink="events_out",{PUSHED}}}': "0+60x10 600x30"
    }
    stalled = alert(
        "EtlStreamStalled",
        "clicks",
        "critical",
        "The streaming queries of clicks make no progress",
        "Query events_out of clicks (env prod) reported no progress for 11m 0s (more than 10m): it stopped, or "
        "its micro-batches hang.",
        sink="events_out",
    )
    check_alerts(
        tmp_path,
        series,
        [
            {"eval_time": "10m", "alertname": "EtlStreamStalled", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "EtlStreamStalled", "exp_alerts": []},
            {"eval_time": "21m", "alertname": "EtlStreamStalled", "exp_alerts": [stalled]},
        ],
    )


def test_dead_letters_fire_above_the_threshold_summed_over_stages_and_kinds(tmp_path: Path) -> None:
    # the default threshold is 0: a run with 2 + 3 dead letters fires with 5; one with none does not
    series = {
        f'etl_dead_letter_rows{{pipeline="nightly",stage="s",kind="rejected",{PUSHED}}}': "2x5 0x5",
        f'etl_dead_letter_rows{{pipeline="nightly",stage="s",kind="malformed",{PUSHED}}}': "3x5 0x5",
    }
    letters = alert(
        "EtlDeadLetters",
        "nightly",
        "warning",
        "Pipeline nightly sent rows to its dead-letter queue",
        "The latest run of nightly (env prod) sent 5 rows to the dead-letter queue (more than 0); look at them "
        "with etl-cli dlq show nightly.",
    )
    check_alerts(
        tmp_path,
        series,
        [
            {"eval_time": "3m", "alertname": "EtlDeadLetters", "exp_alerts": [letters]},
            {"eval_time": "8m", "alertname": "EtlDeadLetters", "exp_alerts": []},
        ],
    )


def test_a_failed_check_and_an_open_circuit_fire_naming_the_check_and_the_endpoint(tmp_path: Path) -> None:
    series = {
        f'etl_quality_check_outcome{{pipeline="nightly",check="positive",stage="s",outcome="failed",{PUSHED}}}': "1x5",
        f'etl_quality_check_outcome{{pipeline="nightly",check="positive",stage="s",outcome="passed",{PUSHED}}}': "0x5",
        f'etl_circuit_breaker_state{{pipeline="adhoc",endpoint="db",state="open",{PUSHED}}}': "1x5",
        f'etl_circuit_breaker_state{{pipeline="adhoc",endpoint="db",state="closed",{PUSHED}}}': "0x5",
    }
    check = alert(
        "EtlQualityCheckFailed",
        "nightly",
        "warning",
        "A data-quality check of nightly failed",
        "Check positive on stage s of nightly (env prod) failed in the latest run: its failing rows breached a "
        "severity error threshold, so the run stopped before writing.",
        check="positive",
        stage="s",
        outcome="failed",
    )
    circuit = alert(
        "EtlCircuitOpen",
        "adhoc",
        "warning",
        "A circuit breaker of adhoc is open",
        "The circuit breaker of endpoint db was open when the latest run of adhoc (env prod) ended: the endpoint "
        "kept failing and calls to it were refused.",
        endpoint="db",
        state="open",
    )
    check_alerts(
        tmp_path,
        series,
        [
            {"eval_time": "2m", "alertname": "EtlQualityCheckFailed", "exp_alerts": [check]},
            {"eval_time": "2m", "alertname": "EtlCircuitOpen", "exp_alerts": [circuit]},
        ],
    )


def receiver_examples() -> list[str]:
    """The ``alertmanager.yml`` examples of docs/observability.md's "Alerts" section: each YAML block whose
    first line is ``# alertmanager.yml: ...``."""
    text = (REPO / "docs" / "observability.md").read_text()
    section = text.split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("```", 1)[0] for block in section.split("```yaml\n")[1:]]
    return [block for block in blocks if block.startswith("# alertmanager.yml: ")]


def test_the_docs_show_a_slack_a_pagerduty_and_an_email_receiver() -> None:
    kinds = [yaml.safe_load(block)["receivers"] for block in receiver_examples()]
    configs = [{key for receiver in receivers for key in receiver if key.endswith("_configs")} for receivers in kinds]
    assert configs == [{"slack_configs"}, {"pagerduty_configs"}, {"email_configs"}]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_amtool_accepts_each_receiver_example_of_the_docs(tmp_path: Path, index: int) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(receiver_examples()[index])
    done = subprocess.run([require(AMTOOL), "check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
