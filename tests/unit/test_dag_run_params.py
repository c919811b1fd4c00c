"""``etl-cli dag run --param NAME=VALUE``: each child gets the values its pipeline declares, checked up front.

The project: a declares ``ds`` (a required date) and ``n`` (an int, default 1); b declares nothing; c declares
``n`` (a required int); d declares ``ds`` (a required date). Runs with real children are in
tests/spark/test_dag_run_params.py.
"""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from rich.console import Console

from etl_cli.cli.dag_run_view import DagRunConsole, DagRunJsonLines
from etl_cli.errors import UsageError
from etl_cli.orchestration.dag_record import DagRunRecord, PipelineRun
from etl_cli.orchestration.dag_run import DagRunner
from etl_cli.orchestration.launch import LaunchRequest, LaunchResult
from etl_cli.usecases.dag_run import DagRunOptions, dag_run_plan
from tests.clihelp import etl_cli

from .helpers import make_project
from .test_dag_run import Observer

BODY = """\
sources:
  - {{name: raw, type: csv, path: data/{name}.csv}}
sinks:
  - {{name: out, type: parquet, input: raw, path: output/{name}}}
"""
PARAMS = {
    "a": "params:\n  ds: {type: date}\n  n: {type: int, default: 1}\n",
    "b": "",
    "c": "params:\n  n: {type: int}\n",
    "d": "params:\n  ds: {type: date}\n",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {f"pipelines/{n}/pipeline.yaml": f"name: {n}\n{p}" + BODY.format(name=n) for n, p in PARAMS.items()}
    return make_project(tmp_path, files, project="name: proj\n")


def _plan_params(project: Path, *params: str, select: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    plan = dag_run_plan(DagRunOptions(start=project, selectors=select, params=params))
    assert plan is not None
    return dict(plan.child_params)


def _refused(project: Path, *params: str, select: tuple[str, ...] = ()) -> UsageError:
    with pytest.raises(UsageError) as caught:
        dag_run_plan(DagRunOptions(start=project, selectors=select, params=params))
    return caught.value


def test_each_child_gets_exactly_the_params_its_pipeline_declares(project: Path) -> None:
    assert _plan_params(project, "ds=2026-01-31", "n=3") == {
        "a": ("ds=2026-01-31", "n=3"),
        "b": (),
        "c": ("n=3",),
        "d": ("ds=2026-01-31",),
    }


def test_a_parameter_with_a_default_is_not_passed_when_not_given(project: Path) -> None:
    assert _plan_params(project, "ds=2026-01-31", select=("a",)) == {"a": ("ds=2026-01-31",)}


def test_a_name_no_selected_pipeline_declares_is_refused_with_did_you_mean(project: Path) -> None:
    error = _refused(project, "dss=2026-01-31", "n=3")
    assert error.message == "--param dss: no selected pipeline declares a parameter 'dss'"
    assert error.hint == "did you mean 'ds'?"


def test_a_name_declared_only_by_an_unselected_pipeline_is_refused(project: Path) -> None:
    error = _refused(project, "ds=2026-01-31", select=("b",))
    assert error.message == "--param ds: no selected pipeline declares a parameter 'ds'"
    assert error.hint == "the selected pipelines declare no parameters"


def test_a_value_not_of_its_type_names_every_pipeline_that_declares_it(project: Path) -> None:
    error = _refused(project, "ds=2026-01-31", "n=three")
    lines = error.message.splitlines()
    assert lines[0] == "the --param values do not suit 2 selected pipelines:"
    assert lines[1].startswith("  pipeline a: --param n=three: 'three' is not a whole number; parameter 'n' is a")
    assert "pipelines/a/pipeline.yaml:4:3" in lines[1]
    assert lines[2].startswith("  pipeline c: --param n=three: 'three' is not a whole number")
    assert "pipelines/c/pipeline.yaml:3:3" in lines[2]
    assert len(lines) == 3


def test_a_value_one_selected_pipeline_refuses_names_that_pipeline(project: Path) -> None:
    error = _refused(project, "ds=2026-02-30", select=("d",))
    assert error.message.startswith("pipeline d: --param ds=2026-02-30: '2026-02-30' is not a day of the calendar")
    assert "pipelines/d/pipeline.yaml:3:3" in error.message
    assert error.hint == "write --param ds=VALUE with VALUE YYYY-MM-DD, e.g. 2026-01-31"


def test_a_required_parameter_no_param_gives_names_the_pipelines_that_need_it(project: Path) -> None:
    error = _refused(project, "n=3", select=("a", "b"))
    assert error.message.startswith("parameter 'ds' is required by pipeline a and no --param ds=VALUE was given")
    assert "pipelines/a/pipeline.yaml:3:3" in error.message
    assert error.hint == "add --param ds=VALUE (YYYY-MM-DD, e.g. 2026-01-31)"


def test_every_required_parameter_missing_is_named(project: Path) -> None:
    error = _refused(project)
    assert error.message.splitlines() == [
        "parameter 'ds' is required by pipelines a, d and no --param ds=VALUE was given (declared at "
        f"{project / 'pipelines/a/pipeline.yaml'}:3:3, {project / 'pipelines/d/pipeline.yaml'}:3:3)",
        "parameter 'n' is required by pipeline c and no --param n=VALUE was given (declared at "
        f"{project / 'pipelines/c/pipeline.yaml'}:3:3)",
    ]
    assert (
        error.hint == "add --param ds=VALUE (YYYY-MM-DD, e.g. 2026-01-31) and --param n=VALUE (a whole number, e.g. 42)"
    )


def test_the_runner_gives_each_child_its_own_params_and_the_record_keeps_them(project: Path) -> None:
    plan = dag_run_plan(DagRunOptions(start=project, params=("ds=2026-01-31", "n=3", "n=4")))
    assert plan is not None
    requests: list[LaunchRequest] = []

    def launcher(request: LaunchRequest, stop: threading.Event | None) -> LaunchResult:
        requests.append(request)
        return LaunchResult(request.run_id, 0, "success", 0.1, None)

    record = DagRunner(plan, Observer(), launcher=launcher).run()
    assert {r.pipeline_file.parent.name: r.params for r in requests} == {
        "a": ("ds=2026-01-31", "n=4"),
        "b": (),
        "c": ("n=4",),
        "d": ("ds=2026-01-31",),
    }
    assert record.params == ["ds=2026-01-31", "n=4"]
    assert {name: run.params for name, run in record.pipelines.items()} == {
        "a": ["ds=2026-01-31", "n=4"],
        "b": [],
        "c": ["n=4"],
        "d": ["ds=2026-01-31"],
    }


def _write(project: Path, record: DagRunRecord) -> None:
    folder = project / ".etl" / "dag-runs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{record.dag_run_id}.json").write_text(json.dumps(record.to_json()))


def _failed_record(params: list[str]) -> DagRunRecord:
    runs = {
        "a": PipelineRun("a", status="succeeded", exit_code=0),
        "c": PipelineRun("c", status="failed", exit_code=4),
    }
    return DagRunRecord("D1", "/p", [], [], None, [], 1, None, runs, params=params, status="failed", exit_code=4)


def test_a_resume_gives_the_recorded_params_to_what_it_runs_again(project: Path) -> None:
    _write(project, _failed_record(["ds=2026-01-31", "n=3"]))
    plan = dag_run_plan(DagRunOptions(start=project, resume="D1"))
    assert plan is not None
    assert dict(plan.child_params) == {"c": ("n=3",)}, "ds, declared only by a (succeeded), is not passed"
    assert plan.params == ("ds=2026-01-31", "n=3")


def test_a_resume_checks_the_recorded_params_again(project: Path) -> None:
    _write(project, _failed_record(["ds=2026-01-31"]))
    with pytest.raises(UsageError) as caught:
        dag_run_plan(DagRunOptions(start=project, resume="D1"))
    assert caught.value.message.startswith("parameter 'n' is required by pipeline c and no --param n=VALUE")


def test_a_dag_run_recorded_before_params_reads_back_with_none() -> None:
    data = _failed_record([]).to_json()
    del data["params"]
    for run in data["pipelines"]:
        del run["params"]
    record = DagRunRecord.from_json(data)
    assert (record.params, record.pipelines["c"].params) == ([], [])


def test_param_with_resume_is_refused(project: Path) -> None:
    _write(project, _failed_record(["n=3"]))
    result = etl_cli("dag", "run", "--resume", "D1", "--param", "n=5", cwd=project)
    assert result.returncode == 2
    assert "--resume runs with the selection, env, sets and params of the DAG run it resumes: drop --param" in (
        result.stderr
    )


def test_an_unknown_param_exits_2_before_anything_runs(project: Path) -> None:
    result = etl_cli("dag", "run", "--param", "dss=2026-01-31", "--param", "n=3", cwd=project)
    assert result.returncode == 2
    assert "--param dss: no selected pipeline declares a parameter 'dss'" in result.stderr
    assert "hint: did you mean 'ds'?" in result.stderr
    assert not (project / ".etl" / "dag-runs").exists()


def _started_record(params: list[str]) -> DagRunRecord:
    return DagRunRecord("D2", "/p", [], [], "dev", [], 1, None, {"a": PipelineRun("a")}, params=params)


def test_the_console_header_shows_the_params() -> None:
    out = io.StringIO()
    DagRunConsole(Console(file=out, width=200, color_system=None)).dag_run_started(_started_record(["ds=2026-01-31"]))
    assert out.getvalue() == "dag run D2 · 1 pipeline · jobs 1 · env dev · params ds=2026-01-31\n"


def test_the_json_lines_start_event_carries_the_params() -> None:
    out = io.StringIO()
    DagRunJsonLines(out).dag_run_started(_started_record(["ds=2026-01-31"]))
    assert json.loads(out.getvalue())["params"] == ["ds=2026-01-31"]
