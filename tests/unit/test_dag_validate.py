"""``etl-cli validate FOLDER`` checks the pipelines under it as one DAG: each problem at its file:line:col,
in the report of the pipeline it is about; a single pipeline is validated alone."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clihelp import etl_cli
from tests.unit.dag_projects import pipeline_yaml, project
from tests.unit.helpers import write


def test_an_unknown_depends_on_is_reported_at_its_line_and_fails_validation(tmp_path: Path) -> None:
    project(tmp_path, {"orders": pipeline_yaml("orders"), "report": pipeline_yaml("report", depends_on=["order"])})
    done = etl_cli("validate", "pipelines", cwd=tmp_path)
    assert done.returncode == 1
    assert (
        "pipelines/report/pipeline.yaml:2:14: error: depends_on: no pipeline named 'order' in the project"
        " [unknown-dependency]\n    hint: did you mean 'orders'?"
    ) in done.stdout


def test_a_cycle_is_reported_in_the_report_of_each_pipeline_on_it(tmp_path: Path) -> None:
    project(
        tmp_path,
        {
            "load": pipeline_yaml("load", writes=["out/raw"], depends_on=["report"]),
            "report": pipeline_yaml("report", reads=["out/raw"]),
            "other": pipeline_yaml("other"),
        },
    )
    done = etl_cli("validate", "pipelines", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    reports = {report["pipeline"]: report for report in json.loads(done.stdout)["results"]}
    where = {
        name: [(d["code"], d["line"], d["column"]) for d in report["diagnostics"] if d["severity"] == "error"]
        for name, report in reports.items()
    }
    assert where == {
        "pipelines/load/pipeline.yaml": [("dependency-cycle", 2, 14)],
        "pipelines/other/pipeline.yaml": [],
        "pipelines/report/pipeline.yaml": [("dependency-cycle", 5, 5)],
    }


def test_two_pipelines_writing_one_dataset_fail_validation_at_both_sinks(tmp_path: Path) -> None:
    project(tmp_path, {"a": pipeline_yaml("a", writes=["out/x"]), "b": pipeline_yaml("b", writes=["out/x"])})
    done = etl_cli("validate", "pipelines", cwd=tmp_path)
    assert done.returncode == 1
    message = "error: pipelines 'a' and 'b' both write out/x [sink-conflict]"
    assert f"pipelines/a/pipeline.yaml:10:5: {message}" in done.stdout
    assert f"pipelines/b/pipeline.yaml:10:5: {message}" in done.stdout


def test_a_subfolder_is_checked_against_the_whole_project(tmp_path: Path) -> None:
    project(
        tmp_path,
        {"staging/orders": pipeline_yaml("orders"), "reports/daily": pipeline_yaml("daily", depends_on=["orders"])},
    )
    done = etl_cli("validate", "pipelines/reports", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1].startswith("1 pipeline check(s): 0 error(s)")


def test_one_pipeline_is_validated_without_the_project(tmp_path: Path) -> None:
    project(tmp_path, {"report": pipeline_yaml("report", depends_on=["nothing"])})
    assert etl_cli("validate", "pipelines/report", cwd=tmp_path).returncode == 0
    assert etl_cli("validate", "pipelines", cwd=tmp_path).returncode == 1


def test_the_daily_shop_example_project_is_a_valid_dag() -> None:
    done = etl_cli("validate", "pipelines/daily_shop")
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1].startswith("6 pipeline check(s): 0 error(s)")


def test_a_folder_outside_any_project_is_one_dag(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    write(loose, "a/pipeline.yaml", pipeline_yaml("a"))
    write(loose, "b/pipeline.yaml", pipeline_yaml("b", depends_on=["a"]))
    assert etl_cli("validate", "loose", cwd=tmp_path).returncode == 0
    write(loose, "b/pipeline.yaml", pipeline_yaml("b", depends_on=["c"]))
    done = etl_cli("validate", "loose", cwd=tmp_path)
    assert done.returncode == 1
    assert "loose/b/pipeline.yaml:2:14: error: depends_on: no pipeline named 'c'" in done.stdout


def test_an_input_another_pipeline_writes_is_not_reported_missing_but_one_nobody_writes_is(tmp_path: Path) -> None:
    project(
        tmp_path,
        {
            "load": pipeline_yaml("load", reads=["data/raw.csv"], writes=["out/raw"]),
            "report": pipeline_yaml("report", reads=["./out/raw", "data/rates.csv"]),
        },
    )
    done = etl_cli("validate", "pipelines", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    reports = {report["pipeline"]: report for report in json.loads(done.stdout)["results"]}
    missing = {
        name: [d["line"] for d in report["diagnostics"] if d["code"] == "input-not-found"]
        for name, report in reports.items()
    }
    assert missing == {"pipelines/load/pipeline.yaml": [5], "pipelines/report/pipeline.yaml": [8]}
    alone = etl_cli("validate", "pipelines/report", "--format", "json", cwd=tmp_path)
    diagnostics = json.loads(alone.stdout)["results"][0]["diagnostics"]
    assert [d["line"] for d in diagnostics if d["code"] == "input-not-found"] == [5, 8]
