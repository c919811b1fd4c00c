"""The run's metrics: what a run's results become in Prometheus' text format, and the ``metrics:`` block."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.events import StageResult
from etl_cli.model.check import check_pipeline
from etl_cli.model.metrics import MetricsSpec
from etl_cli.runtime.bookkeeping.metrics import RunMetrics, export_run_metrics
from etl_cli.runtime.bookkeeping.results import RunResults
from tests.support import RecordingReporter

from .helpers import make_project

STARTED, ENDED = "2026-11-25T10:00:00.000+00:00", "2026-11-25T10:00:30.000+00:00"


def results(status: str = "success", exit_code: int = 0) -> RunResults:
    found = RunResults("r1", "orders", "prod", "p.yaml", started_at=STARTED, ended_at=ENDED, duration_s=30.0)
    found.status, found.exit_code = status, exit_code
    found.stages = [
        StageResult("raw", "source", "csv", "ok", rows_out=100, duration_s=2.0),
        StageResult("out", "sink", "parquet", "ok", rows_in=90, rows_out=90, duration_s=3.5),
    ]
    found.quality = {
        "checks": [
            {"name": "amount_positive", "stage": "raw", "type": "range", "action": "drop", "outcome": "warned",
             "rows_evaluated": 100, "rows_failed": 10, "failure_rate": 0.1},
            {"name": "enough_rows", "stage": "raw", "type": "row_count", "action": "fail", "outcome": "passed",
             "rows_evaluated": None, "rows_failed": None, "failure_rate": None},
        ],
        "stages": [{"stage": "raw", "rows_evaluated": 100, "rows_removed": 10, "rows_quarantined": 0}],
        "contracts": [{"stage": "raw", "policy": "strict", "status": "ok"}],
    }  # fmt: skip
    found.dead_letters = {"written": True, "rows": 4, "by_stage": {"raw": {"malformed": 4}}}
    found.resilience = {
        "jdbc:postgresql://db:5432": {"attempts": 5, "failures": 3, "retries": 2, "rejected": 1, "state": "open",
                                      "circuit_opened": 1, "circuit_half_opened": 0, "circuit_closed": 0},
    }  # fmt: skip
    return found


def exposition(run: RunResults, labels: dict[str, str] | None = None) -> set[str]:
    text = generate_latest(RunMetrics(run).registry(labels or {})).decode()
    return {line for line in text.splitlines() if not line.startswith("#")}


ENDPOINT = 'endpoint="jdbc:postgresql://db:5432"'


@pytest.mark.parametrize(
    "expected",
    [
        pytest.param(
            {
                "etl_run_success 1.0",
                "etl_run_exit_code 0.0",
                "etl_run_duration_seconds 30.0",
                "etl_run_started_timestamp_seconds 1.7956008e+09",
                "etl_run_finished_timestamp_seconds 1.79560083e+09",
                "etl_run_last_success_timestamp_seconds 1.79560083e+09",
            },
            id="run-outcome-and-times",
        ),
        pytest.param(
            {
                'etl_stage_rows_out{kind="source",stage="raw"} 100.0',
                'etl_stage_rows_in{kind="sink",stage="out"} 90.0',
                'etl_stage_rows_out{kind="sink",stage="out"} 90.0',
                'etl_stage_duration_seconds{kind="sink",stage="out"} 3.5',
                'etl_stage_status{kind="sink",stage="out",status="ok"} 1.0',
            },
            id="stage-rows-durations-and-status",
        ),
        pytest.param(
            {
                f"etl_endpoint_attempts{{{ENDPOINT}}} 5.0",
                f"etl_endpoint_failures{{{ENDPOINT}}} 3.0",
                f"etl_endpoint_retries{{{ENDPOINT}}} 2.0",
                f"etl_endpoint_rejected{{{ENDPOINT}}} 1.0",
                f'etl_circuit_breaker_state{{{ENDPOINT},state="open"}} 1.0',
                f'etl_circuit_breaker_state{{{ENDPOINT},state="closed"}} 0.0',
                f'etl_circuit_breaker_transitions{{{ENDPOINT},state="open"}} 1.0',
            },
            id="retries-and-circuit-breaker-per-endpoint",
        ),
    ],
)
def test_the_latest_run_is_exposed_as_gauges(expected: set[str]) -> None:
    assert expected <= exposition(results())


def test_a_failed_run_reports_its_exit_code_and_no_last_success() -> None:
    lines = exposition(results("failed", 3))
    assert {"etl_run_success 0.0", "etl_run_exit_code 3.0"} <= lines
    assert not any(line.startswith("etl_run_last_success") for line in lines)


def test_a_source_stage_has_no_rows_in() -> None:
    assert not any(line.startswith('etl_stage_rows_in{kind="source"') for line in exposition(results())), (
        "a source reads no input"
    )


def test_quality_checks_contracts_and_dead_letters() -> None:
    lines = exposition(results())
    labels = 'action="drop",check="amount_positive",stage="raw",type="range"'
    assert {
        f"etl_quality_rows_evaluated{{{labels}}} 100.0",
        f"etl_quality_rows_failed{{{labels}}} 10.0",
        f"etl_quality_failure_ratio{{{labels}}} 0.1",
        'etl_quality_check_outcome{check="amount_positive",outcome="warned",stage="raw"} 1.0',
        'etl_quality_check_outcome{check="amount_positive",outcome="passed",stage="raw"} 0.0',
        'etl_quality_check_outcome{check="enough_rows",outcome="passed",stage="raw"} 1.0',
        'etl_quality_rows_removed{stage="raw"} 10.0',
        'etl_contract_ok{policy="strict",stage="raw"} 1.0',
        'etl_dead_letter_rows{kind="malformed",stage="raw"} 4.0',
        "etl_dead_letter_written 1.0",
    } <= lines
    assert not any("enough_rows" in line and "rows_failed" in line for line in lines), "row_count counts no rows"


def test_extra_labels_go_on_every_sample() -> None:
    lines = exposition(results(), {"pipeline": "orders", "env": "prod"})
    assert 'etl_run_success{env="prod",pipeline="orders"} 1.0' in lines
    assert 'etl_stage_rows_out{env="prod",kind="source",pipeline="orders",stage="raw"} 100.0' in lines


def test_textfile_keeps_the_last_success_through_a_failed_run(tmp_path: Path) -> None:
    spec = MetricsSpec("textfile", {"path": "metrics/orders.prom"}, tmp_path)
    reporter = RecordingReporter()
    export_run_metrics(spec, results(), registry(), reporter)
    outcome = export_run_metrics(spec, results("failed", 4), registry(), reporter)
    text = (tmp_path / "metrics" / "orders.prom").read_text()
    assert outcome == {"exporter": "textfile", "exported": True, "target": str(tmp_path / "metrics" / "orders.prom")}
    assert 'etl_run_exit_code{env="prod",pipeline="orders"} 4.0' in text
    assert 'etl_run_last_success_timestamp_seconds{env="prod",pipeline="orders"} 1.79560083e+09' in text
    assert reporter.messages[-1] == ("info", f"metrics exported to {tmp_path / 'metrics' / 'orders.prom'}")


def test_textfile_keeps_no_rows_of_the_previous_run_after_a_failed_one(tmp_path: Path) -> None:
    spec = MetricsSpec("textfile", {"path": "orders.prom"}, tmp_path)
    export_run_metrics(spec, results(), registry(), RecordingReporter())
    failed = results("failed", 4)
    failed.stages = [StageResult("raw", "source", "csv", "failed", duration_s=1.0)]
    failed.quality = failed.dead_letters = failed.resilience = None
    export_run_metrics(spec, failed, registry(), RecordingReporter())
    text = (tmp_path / "orders.prom").read_text()
    stale = ("etl_stage_rows", "etl_quality", "etl_dead_letter", "etl_endpoint", "etl_circuit")
    assert [line for line in text.splitlines() if line.startswith(stale)] == []
    assert 'etl_stage_status{env="prod",kind="source",pipeline="orders",stage="raw",status="failed"} 1.0' in text


def test_an_exporter_that_fails_costs_a_warning_not_the_run(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the folder should be")
    spec = MetricsSpec("textfile", {"path": "taken/orders.prom"}, tmp_path)
    reporter = RecordingReporter()
    outcome = export_run_metrics(spec, results(), registry(), reporter)
    assert outcome is not None and outcome["exported"] is False
    assert reporter.messages[0][0] == "warning" and "metrics were not exported (textfile)" in reporter.messages[0][1]


def validate(tmp_path: Path, metrics: str) -> list[str]:
    head = (
        "sources:\n  - {name: a, type: csv, path: a.csv}\nsinks:\n  - {name: out, type: parquet, input: a, path: out}\n"
    )
    make_project(tmp_path, {"p/pipeline.yaml": head + metrics, "a.csv": "id\n1\n"})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    return [f"{d.location.line}:{d.location.column} {d.code} {d.message}" for d in diagnostics if d.location]


def test_a_valid_metrics_block_passes(tmp_path: Path) -> None:
    assert validate(tmp_path, "metrics: {type: pushgateway, url: 'http://pg:9091', labels: {team: data}}\n") == []


def test_metrics_block_problems_are_reported_at_their_lines(tmp_path: Path) -> None:
    found = validate(
        tmp_path,
        "metrics:\n  type: pushgateway\n  url: pushgateway:9091\n  labels: {stage: x}\n  password: hunter2\n",
    )
    assert found == [
        "7:8 schema metrics.url: 'pushgateway:9091' does not match '^https?://[^/]+'",
        "8:11 invalid-value metrics.labels: 'stage' is not allowed here",
        "9:13 literal-credential metrics.password is a credential written as plain text "
        "(an error in protected environments)",
    ]


def test_unknown_exporter_type_names_the_choices(tmp_path: Path) -> None:
    found = validate(tmp_path, "metrics: {type: statsd, url: 'http://x'}\n")
    assert found == [
        "5:17 invalid-value invalid value 'statsd' for metrics.type; expected one of: pushgateway, textfile"
    ]
