"""Schema contracts, run in-process through the executor on the shared session."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from etl_cli import app
from etl_cli.errors import QualityGateError
from etl_cli.events import Reporter
from etl_cli.plan.dag import compile_plan
from etl_cli.plugins.api import RunContext
from etl_cli.runtime.execution.executor import Executor, StageFailed
from tests.support import RecordingReporter
from tests.unit.helpers import make_project

CSV = "id,name,amount\n1,ann,10.5\n2,bob,\n3,,7.0\n"


def run(spark: SparkSession, root: Path, contract: str, reporter: Reporter | None = None) -> Executor:
    pipeline = textwrap.dedent(
        """\
        sources:
          - name: orders
            type: csv
            path: orders.csv
            schema: "id INT, name STRING, amount DOUBLE"
        transforms:
          - name: shaped
            type: derive
            inputs: [orders]
            columns: {cents: "CAST(amount * 100 AS BIGINT)"}
        {contract}
        sinks:
          - {name: out, type: parquet, input: shaped, path: out}
        """
    ).replace("{contract}", textwrap.indent(textwrap.dedent(contract).strip(), "    "))
    make_project(root, {"orders.csv": CSV, "pipeline.yaml": pipeline})
    _, spec = app.load_spec(root / "pipeline.yaml", None)
    executor = Executor(compile_plan(spec), RunContext(spark, root, "r1"), app.registry(), reporter or Reporter())
    executor.run()
    return executor


def test_a_strict_contract_names_every_missing_extra_and_mistyped_column(spark: SparkSession, tmp_path: Path) -> None:
    contract = """
        contract:
          columns:
            id: INT
            name: STRING
            amount: DECIMAL(10,2)
            currency: STRING
    """
    with pytest.raises(StageFailed) as caught:
        run(spark, tmp_path, contract)
    message = caught.value.message
    assert caught.value.exit_code == 4
    assert "transform 'shaped' (derive)" in message
    assert f"contract at {tmp_path / 'pipeline.yaml'}:11:5" in message
    assert "missing: currency STRING" in message
    assert "wrong type: amount is double, the contract says decimal(10,2)" in message
    assert "extra: cents bigint" in message
    assert not (tmp_path / "out").exists()


def test_allow_extra_removes_columns_the_contract_does_not_name(spark: SparkSession, tmp_path: Path) -> None:
    recorder = RecordingReporter()
    run(spark, tmp_path, "contract: {columns: {id: INT, amount: DOUBLE}, policy: allow_extra}", recorder)
    assert pq.read_table(tmp_path / "out").column_names == ["id", "amount"]
    assert recorder.reports[0]["contracts"][0]["removed_columns"] == ["name string", "cents bigint"]


def test_evolve_keeps_new_columns_and_says_so(spark: SparkSession, tmp_path: Path) -> None:
    recorder = RecordingReporter()
    run(spark, tmp_path, "contract: {columns: {id: INT, name: STRING, amount: DOUBLE}, policy: evolve}", recorder)
    assert pq.read_table(tmp_path / "out").column_names == ["id", "name", "amount", "cents"]
    assert recorder.reports[0]["contracts"][0]["new_columns"] == ["cents bigint"]
    assert any("new columns" in m and "cents bigint" in m for m in recorder.texts)


def test_a_non_nullable_column_with_a_null_stops_the_run_before_writing(spark: SparkSession, tmp_path: Path) -> None:
    contract = """
        contract:
          columns: {id: INT, name: {type: STRING, nullable: false}, amount: DOUBLE, cents: BIGINT}
    """
    recorder = RecordingReporter()
    with pytest.raises(QualityGateError, match="check 'contract_not_null'"):
        run(spark, tmp_path, contract, recorder)
    (check,) = recorder.reports[0]["checks"]
    assert (check["stage"], check["rows_failed"], check["outcome"]) == ("shaped", 1, "failed")
    assert not (tmp_path / "out").exists()
