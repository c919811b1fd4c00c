"""``etl-cli dag run`` without Spark: its usage errors, --resume of a recorded DAG run, and what it prints.

Runs with real children are in tests/spark/test_dag_run.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from etl_cli.cli.dag_run_view import DagRunConsole, DagRunJsonLines
from etl_cli.orchestration.dag_record import DagRunRecord, PipelineRun
from tests.clihelp import etl_cli

from .helpers import make_project

PIPELINE = """
    name: {name}
    sources:
      - {{name: raw, type: csv, path: data/{name}.csv}}
    sinks:
      - {{name: out, type: parquet, input: raw, path: output/{name}}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {f"pipelines/{n}/pipeline.yaml": PIPELINE.format(name=n) for n in ("a", "b")}
    return make_project(tmp_path, files, project="name: proj\n")


def _record(dag_run_id: str, *runs: PipelineRun) -> DagRunRecord:
    return DagRunRecord(
        dag_run_id, "/p", ["a+"], [], "dev", [], 2, None, {run.name: run for run in runs}, status="failed", exit_code=4
    )


def _write(project: Path, record: DagRunRecord) -> None:
    folder = project / ".etl" / "dag-runs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{record.dag_run_id}.json").write_text(json.dumps(record.to_json()))


def test_resuming_an_unknown_dag_run_is_a_usage_error_naming_the_recent_ones(project: Path) -> None:
    _write(project, _record("20260101T000000Z-aaaaaaaa"))
    _write(project, _record("20260102T000000Z-bbbbbbbb"))
    result = etl_cli("dag", "run", "--resume", "20260103T000000Z-cccccccc", cwd=project)
    assert result.returncode == 2
    assert "no DAG run '20260103T000000Z-cccccccc'" in result.stderr
    assert "hint: recent DAG runs: 20260102T000000Z-bbbbbbbb, 20260101T000000Z-aaaaaaaa" in result.stderr


def test_resuming_a_dag_run_that_fully_succeeded_says_so_and_exits_0(project: Path) -> None:
    _write(project, _record("20260101T000000Z-aaaaaaaa", PipelineRun("a", status="succeeded", exit_code=0)))
    result = etl_cli("dag", "run", "--resume", "20260101T000000Z-aaaaaaaa", cwd=project)
    assert (result.returncode, result.stderr) == (
        0,
        "dag run 20260101T000000Z-aaaaaaaa: every pipeline succeeded, nothing to resume\n",
    )
    assert sorted(p.name for p in (project / ".etl" / "dag-runs").iterdir()) == ["20260101T000000Z-aaaaaaaa.json"]


def test_resume_takes_the_selection_from_the_dag_run_it_resumes(project: Path) -> None:
    _write(project, _record("20260101T000000Z-aaaaaaaa", PipelineRun("a", status="failed", exit_code=4)))
    result = etl_cli(
        "dag", "run", "--resume", "20260101T000000Z-aaaaaaaa", "--select", "a", "--env", "dev", cwd=project
    )
    assert result.returncode == 2
    assert "--resume runs with the selection, env, sets and params of the DAG run it resumes: drop --select, --env" in (
        result.stderr
    )


def test_resuming_a_pipeline_the_project_no_longer_has_is_a_usage_error(project: Path) -> None:
    _write(project, _record("20260101T000000Z-aaaaaaaa", PipelineRun("gone", status="failed", exit_code=4)))
    result = etl_cli("dag", "run", "--resume", "20260101T000000Z-aaaaaaaa", cwd=project)
    assert result.returncode == 2
    assert "DAG run 20260101T000000Z-aaaaaaaa cannot be resumed: the project has no pipeline 'gone' now" in (
        result.stderr
    )


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_jobs_below_one_is_a_usage_error(project: Path, jobs: str) -> None:
    result = etl_cli("dag", "run", "--jobs", jobs, cwd=project)
    assert result.returncode == 2
    assert not (project / ".etl").exists()


def test_an_invalid_pipeline_stops_the_dag_run_before_anything_starts(project: Path) -> None:
    (project / "pipelines" / "b" / "pipeline.yaml").write_text("name: b\nsourcez: []\n")
    result = etl_cli("dag", "run", cwd=project)
    assert result.returncode == 1
    assert "pipelines/b/pipeline.yaml:2:" in result.stderr
    assert not (project / ".etl" / "dag-runs").exists()


def _finished_record() -> DagRunRecord:
    record = _record(
        "D1",
        PipelineRun("a", status="succeeded", exit_code=0, duration_s=8.25, rows_written=1204, run_id="r1"),
        PipelineRun("b", ["a"], status="failed", exit_code=4, duration_s=5.0, log_file="/s/b.log", run_id="r2"),
        PipelineRun("c", ["b"], status="skipped", skip_reason="upstream 'b' failed (exit 4)"),
    )
    record.duration_s = 13.4
    return record


def test_the_text_lines_and_summary_table_off_a_terminal() -> None:
    out = io.StringIO()
    view = DagRunConsole(Console(file=out, width=60, color_system=None, soft_wrap=True))
    record = _finished_record()
    view.dag_run_started(record)
    for run in record.pipelines.values():
        (view.pipeline_skipped if run.status == "skipped" else view.pipeline_finished)(run)
    view.dag_run_finished(record, Path("/s/dag-runs/D1.json"))
    assert out.getvalue().splitlines() == [
        "dag run D1 · 3 pipelines · jobs 2 · env dev",
        "succeeded a · exit 0 in 8.2s · 1,204 rows written",
        "failed    b · exit 4 in 5.0s · log /s/b.log",
        "skipped   c: upstream 'b' failed (exit 4)",
        "dag run failed in 13.4s (exit 4)",
        "pipeline  status     exit  rows written  time",
        "a         succeeded     0         1,204  8.2s",
        "b         failed        4             —  5.0s",
        "c         skipped       —             —     —",
        "dag run results: /s/dag-runs/D1.json",
    ]


def test_the_json_lines_carry_the_dag_run_id_and_each_pipelines_outcome() -> None:
    out = io.StringIO()
    view = DagRunJsonLines(out)
    record = _finished_record()
    view.dag_run_started(record)
    view.pipeline_finished(record.pipelines["b"])
    view.pipeline_skipped(record.pipelines["c"])
    view.dag_run_finished(record, Path("/s/dag-runs/D1.json"))
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["event"], e["dag_run_id"]) for e in events] == [
        ("dag_run_started", "D1"),
        ("pipeline_finished", "D1"),
        ("pipeline_skipped", "D1"),
        ("dag_run_finished", "D1"),
    ]
    assert events[0]["pipelines"] == ["a", "b", "c"]
    assert (events[1]["pipeline"], events[1]["status"], events[1]["exit_code"]) == ("b", "failed", 4)
    assert (events[2]["pipeline"], events[2]["status"], events[2]["reason"]) == (
        "c",
        "skipped",
        "upstream 'b' failed (exit 4)",
    )
    assert (events[3]["status"], events[3]["exit_code"], events[3]["results_file"]) == (
        "failed",
        4,
        "/s/dag-runs/D1.json",
    )
    assert [p["pipeline"] for p in events[3]["pipelines"]] == ["a", "b", "c"]
