"""What a user sees when a stage fails on Spark: the root cause, the stage, and the line of their YAML.

The first tests raise real Spark errors in the shared session and read them back with
:func:`explain`; the others run ``etl-cli run`` as cron would and read its stderr and results.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from etl_cli.runtime.execution.spark_errors import explain
from tests.clihelp import etl_cli
from tests.spark.test_missing_input import PIPELINE, TEMPLATE
from tests.unit.helpers import make_project, write

BAD_CSV = "id,amount\n1,10\n2,abc,extra\n3,30\n"
BAD_JSON = '{"id": 1}\n{"id": 2,\n{"id": 3}\n'


def raised(action: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as caught:
        action()
    return caught.value


def test_a_failed_write_of_malformed_csv_is_explained_by_the_parse_error(spark: SparkSession, tmp_path: Path) -> None:
    data = write(tmp_path, "bad.csv", BAD_CSV)
    frame = spark.read.schema("id INT, amount INT").options(header=True, mode="FAILFAST").csv(str(data))
    failure = explain(raised(lambda: frame.write.format("parquet").save(str(tmp_path / "out"))))
    assert failure.message == (
        "[MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] Malformed records are detected in record parsing: "
        "[2,null]. Cause: [MALFORMED_CSV_RECORD] Malformed CSV record: 2,abc,extra"
    )
    assert failure.file == f"file://{data}"


def test_a_missing_input_is_explained_by_its_path(spark: SparkSession, tmp_path: Path) -> None:
    failure = explain(raised(lambda: spark.read.csv(str(tmp_path / "nope.csv"))))
    assert failure.message == f"[PATH_NOT_FOUND] Path does not exist: file:{tmp_path / 'nope.csv'}."
    assert (failure.condition, failure.file) == ("PATH_NOT_FOUND", f"file:{tmp_path / 'nope.csv'}")


def test_an_unknown_column_is_explained_without_the_plan(spark: SparkSession) -> None:
    failure = explain(raised(lambda: spark.range(3).select("nosuch")))
    assert failure.message == (
        "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `nosuch` "
        "cannot be resolved. Did you mean one of the following? [`id`]."
    )


def run(tmp_path: Path, pipeline: str) -> tuple[int, str, dict[str, Any]]:
    """``etl-cli run`` from the project folder; its exit code, stderr and run results."""
    result = etl_cli(
        "run",
        pipeline,
        "--results-dir",
        str(tmp_path / "results"),
        cwd=tmp_path,
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )
    assert "Traceback" not in result.stderr
    assert "An error occurred while calling" not in result.stderr
    results = json.loads((tmp_path / "results" / "latest.json").read_text())
    return result.returncode, result.stderr, results


def run_failing(tmp_path: Path, pipeline_yaml: str) -> tuple[str, dict[str, Any]]:
    """Write ``pipeline.yaml`` and run it, expecting the run to fail with exit 4; its stderr and results."""
    write(tmp_path, "pipeline.yaml", pipeline_yaml)
    code, stderr, results = run(tmp_path, "pipeline.yaml")
    assert code == 4, stderr
    return stderr, results


def run_failing_on_orders(tmp_path: Path, stages_yaml: str) -> tuple[str, dict[str, Any]]:
    """:func:`run_failing` of ``stages_yaml`` after a csv source ``orders`` (lines 1-2 of pipeline.yaml)."""
    write(tmp_path, "data/in.csv", "id,amount\n1,10\n")
    orders = "sources:\n  - {name: orders, type: csv, path: data/in.csv}\n"
    return run_failing(tmp_path, orders + textwrap.dedent(stages_yaml).lstrip("\n"))


def test_a_malformed_csv_row_names_the_record_the_source_and_its_path_line(tmp_path: Path) -> None:
    write(tmp_path, "data/bad.csv", BAD_CSV)
    stderr, results = run_failing(
        tmp_path,
        """
        sources:
          - name: orders
            type: csv
            path: data/bad.csv
            schema: "id INT, amount INT"
            on_malformed: fail
        sinks:
          - name: out
            type: parquet
            input: orders
            path: out
        """,
    )
    assert "sink 'out' (parquet) failed (defined at pipeline.yaml:8:5)" in stderr
    assert "Malformed records are detected in record parsing: [2,null]" in stderr
    assert "Malformed CSV record: 2,abc,extra" in stderr
    assert f"File: file://{tmp_path}/data/bad.csv, read by source 'orders' (path set at pipeline.yaml:4:5)." in stderr
    assert "hint: fix the record, or set on_malformed on source 'orders'" in stderr
    failed = {s["name"]: s["error"] for s in results["stages"] if s["status"] == "failed"}
    assert "Malformed CSV record: 2,abc,extra" in failed["out"]


def test_a_bad_json_line_names_the_parse_error_and_the_source(tmp_path: Path) -> None:
    write(tmp_path, "data/bad.json", BAD_JSON)
    stderr, _ = run_failing(
        tmp_path,
        """
        sources:
          - {name: events, type: json, path: data/bad.json, schema: "id INT"}
        sinks:
          - {name: out, type: parquet, input: events, path: out}
        """,
    )
    assert "sink 'out' (parquet) failed (defined at pipeline.yaml:4:5)" in stderr
    assert "Malformed records are detected in record parsing: [null]" in stderr
    assert "Unexpected end-of-input within/between Object entries" in stderr
    assert f"File: file://{tmp_path}/data/bad.json, read by source 'events' (path set at pipeline.yaml:2:32)." in stderr


def test_a_missing_file_given_as_a_template_parameter_points_at_the_parameter(tmp_path: Path) -> None:
    make_project(tmp_path, {"templates/files.yaml": TEMPLATE, "p/pipeline.yaml": PIPELINE}, project="name: errors\n")
    code, stderr, results = run(tmp_path, "p")
    assert code == 4, stderr
    assert (
        "source 'input' (csv) failed (path set at p/pipeline.yaml:4:5): "
        f"[PATH_NOT_FOUND] Path does not exist: file:{tmp_path}/data/nope.csv." in stderr
    )
    assert results["error"]["stage"] == "input"


def test_an_unknown_column_fails_the_run_with_exit_4(tmp_path: Path) -> None:
    stderr, results = run_failing_on_orders(
        tmp_path,
        """
        transforms:
          - {name: picked, type: select, inputs: [orders], columns: [id, nosuch]}
        sinks:
          - {name: out, type: parquet, input: picked, path: out}
        """,
    )
    assert "transform 'picked' (select) failed (expression at pipeline.yaml:4:66)" in stderr  # `nosuch`
    assert "`nosuch` cannot be resolved" in stderr
    assert (results["exit_code"], results["error"]["type"], results["error"]["stage"]) == (4, "StageFailed", "picked")


def test_a_check_on_an_unknown_column_fails_the_run_with_exit_4(tmp_path: Path) -> None:
    stderr, results = run_failing_on_orders(
        tmp_path,
        """
        checks:
          - {name: one_per_id, stage: orders, type: unique, columns: [nosuch], action: fail}
        sinks:
          - {name: out, type: parquet, input: orders, path: out}
        """,
    )
    assert "pipeline.yaml:2:5: the checks on stage 'orders' cannot be evaluated" in stderr
    assert "`nosuch` cannot be resolved" in stderr
    assert (results["exit_code"], results["error"]["type"]) == (4, "RunError")
    assert not (tmp_path / "out").exists()
