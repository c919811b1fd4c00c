"""Row-level security on Spark: two principals read different rows of one source; a refused run.

The expected rows are written by hand from the CSV below; the runs share the test session's Spark.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from etl_cli import app
from etl_cli.events import Reporter
from etl_cli.plan.dag import compile_plan
from etl_cli.runtime.execution.run import execute_run
from etl_cli.runtime.execution.stepping import Stepper
from etl_cli.runtime.execution.workspace import open_workspace
from tests.clihelp import etl_cli

pytestmark = pytest.mark.spark

ORDERS = """\
order_id,tenant_id,region
1,7,eu
2,9,O'Brien
3,7,us
4,8,eu
5,9,eu
"""
PROJECT = """\
name: rls
principals:
  alice: {tenant: 7, region: eu}
  bob: {tenant: 9, region: "O'Brien"}
  root: {groups: [admins]}
access:
  tenant_rows:
    sources: [orders]
    filter: "tenant_id = ${principal:tenant}"
    exempt: {groups: [admins]}
    required: true
"""
PIPELINE = """\
name: orders
sources:
  - name: orders
    type: csv
    path: data/orders.csv
    options: {header: true}
    schema: "order_id INT, tenant_id INT, region STRING"
sinks:
  - name: out
    type: parquet
    input: orders
    path: output/orders
    mode: overwrite
"""


def _project(tmp_path: Path, project: str = PROJECT) -> Path:
    (tmp_path / "etl-project.yaml").write_text(project, encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text(ORDERS, encoding="utf-8")
    folder = tmp_path / "pipelines" / "orders"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(PIPELINE, encoding="utf-8")
    return folder


def _run_as(spark: object, folder: Path, principal: str, results: Path) -> tuple[list[int], dict[str, object]]:
    _, spec = app.load_spec(folder, None)
    spec = app.as_principal(spec, principal)
    _, path = execute_run(spec, app.registry(), Reporter(), app.new_run_id(), results_dir=results, session=spark)
    written = pq.read_table(folder.parents[1] / "output" / "orders").column("order_id").to_pylist()
    return sorted(written), json.loads(path.read_text(encoding="utf-8"))


def test_two_principals_read_different_rows_and_the_results_say_which(
    spark: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    folder = _project(tmp_path)
    rows, results = _run_as(spark, folder, "alice", tmp_path / "runs")
    assert rows == [1, 3]  # tenant 7
    assert results["access"] == {
        "principal": "alice",
        "source": "option",
        "filters": [{"source": "orders", "rule": "tenant_rows", "filter": "tenant_id = 7"}],
        "exempt": [],
    }
    rows, results = _run_as(spark, folder, "bob", tmp_path / "runs")
    assert rows == [2, 5]  # tenant 9
    assert results["access"]["filters"][0]["filter"] == "tenant_id = 9"
    rows, results = _run_as(spark, folder, "root", tmp_path / "runs")
    assert rows == [1, 2, 3, 4, 5]  # admins are exempt
    assert results["access"]["exempt"] == [{"source": "orders", "rule": "tenant_rows"}]


def test_a_value_with_a_quote_filters_as_one_string_in_a_debug_session(
    spark: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    folder = _project(tmp_path, PROJECT.replace("tenant_id = ${principal:tenant}", "region = ${principal:region}"))
    _, spec = app.load_spec(folder, None)
    for principal, expected in (("bob", {("2", "9", "O'Brien")}), ("alice", {("1", "7", "eu"), ("4", "8", "eu"),
                                                                             ("5", "9", "eu")})):  # fmt: skip
        plan = compile_plan(app.as_principal(spec, principal))
        with open_workspace(plan, app.registry(), Reporter(), app.new_run_id(), session=spark) as workspace:
            stepper = Stepper(workspace, app.registry(), Reporter(), limit=10, sample=None, write=False)
            try:
                snapshot = stepper.step()
            finally:
                stepper.close()
        assert snapshot.stage.name == "orders"
        assert set(snapshot.rows) == expected


def test_a_run_without_a_declared_principal_is_refused_before_spark_starts(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    result = etl_cli(
        "run",
        str(folder),
        "--results-dir",
        str(tmp_path / "runs"),
        env={"ETL_STATE_DIR": str(tmp_path / "state"), "ETL_PRINCIPAL": "mallory"},
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    assert "the project's access rules refuse to read as 'mallory'" in result.stderr
    assert "declare 'mallory' under principals: in etl-project.yaml" in result.stderr
    assert "Spark start-up" not in result.stderr + result.stdout
    results = json.loads((tmp_path / "runs" / "latest.json").read_text(encoding="utf-8"))
    assert (results["exit_code"], results["status"]) == (1, "failed")
    assert results["access"] == {"principal": "mallory", "source": "env", "filters": [], "refused": True}
    assert not (tmp_path / "output").exists()
