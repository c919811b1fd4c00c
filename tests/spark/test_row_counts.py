"""Rows in and out per stage in the run results, including stages counted by their reader.

A stage read only by a sink, or only by a transform that keeps the row count (derive without
explode, window), is not observed itself: it takes its reader's count. These tests check the
counts against numbers worked out by hand from the input rows written here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from etl_cli import app
from etl_cli.events import Reporter
from etl_cli.runtime.execution.run import execute_run

# six orders: four paid (one of them with amount 0), one cancelled, one shipped
ORDERS = """order_id,customer_id,status,amount,tags
1,10,paid,12.50,a|b
2,10,paid,0.00,a
3,11,cancelled,7.00,b|c|d
4,12,shipped,30.00,c
5,12,paid,4.25,a|d
6,13,paid,9.99,b
"""


def run_pipeline(
    spark: Any, tmp_path: Path, transforms: str, sink_input: str, source_options: str = ""
) -> dict[str, dict[str, Any]]:
    """Run a pipeline over ORDERS on the test session; return the run results' stages by name."""
    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "pipeline.yaml").write_text(
        f"""
name: counts
sources:
  - name: orders
    type: csv
    path: {tmp_path / "orders.csv"}
    schema: "order_id INT, customer_id INT, status STRING, amount DECIMAL(10,2), tags STRING"
    {source_options}
transforms:
{transforms}
sinks:
  - name: out
    type: parquet
    input: {sink_input}
    path: {tmp_path / "out"}
"""
    )
    _, spec = app.load_spec(tmp_path / "pipeline.yaml", None)
    _, results_file = execute_run(
        spec, app.registry(), Reporter(), app.new_run_id(), results_dir=tmp_path / "results", session=spark
    )
    return {stage["name"]: stage for stage in json.loads(Path(results_file).read_text())["stages"]}


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))


def test_a_chain_of_row_keeping_stages_reports_every_count(spark: Any, tmp_path: Path) -> None:
    stages = run_pipeline(
        spark,
        tmp_path,
        """
  - {name: paid, type: filter, inputs: [orders], condition: "status = 'paid' AND amount > 0"}
  - {name: taxed, type: derive, inputs: [paid], columns: {gross: "amount * 1.2"}}
  - name: ranked
    type: window
    inputs: [taxed]
    partition_by: [customer_id]
    order_by: [amount desc]
    columns: {rank: {function: rank}}
""",
        "ranked",
    )
    assert (stages["orders"]["rows_out"], stages["paid"]["rows_in"]) == (6, 6)
    assert [stages[name]["rows_out"] for name in ("paid", "taxed", "ranked")] == [3, 3, 3]
    assert [stages[name]["rows_in"] for name in ("taxed", "ranked", "out")] == [3, 3, 3]


def test_a_derive_that_explodes_rows_is_counted_apart_from_its_input(spark: Any, tmp_path: Path) -> None:
    stages = run_pipeline(
        spark,
        tmp_path,
        """
  - {name: paid, type: filter, inputs: [orders], condition: "status = 'paid'"}
  - {name: tagged, type: derive, inputs: [paid], columns: {tag: "explode(split(tags, '[|]'))"}}
""",
        "tagged",
    )
    # paid orders 1, 2, 5, 6 carry 2 + 1 + 2 + 1 tags
    assert (stages["paid"]["rows_out"], stages["tagged"]["rows_in"], stages["tagged"]["rows_out"]) == (4, 4, 6)
    assert stages["out"]["rows_out"] == 6


def test_a_stage_read_twice_counts_its_own_rows(spark: Any, tmp_path: Path) -> None:
    stages = run_pipeline(
        spark,
        tmp_path,
        """
  - {name: valid, type: filter, inputs: [orders], condition: "status <> 'cancelled'"}
  - {name: big, type: filter, inputs: [valid], condition: "amount >= 10"}
  - {name: small, type: filter, inputs: [valid], condition: "amount < 10"}
  - {name: both, type: union, inputs: [big, small]}
""",
        "both",
    )
    assert [stages[name]["rows_out"] for name in ("valid", "big", "small", "both")] == [5, 2, 3, 5]
    assert stages["both"]["rows_in"] == 5


def test_a_source_with_count_rows_false_is_not_counted_and_its_filter_still_is(spark: Any, tmp_path: Path) -> None:
    stages = run_pipeline(
        spark,
        tmp_path,
        """
  - {name: paid, type: filter, inputs: [orders], condition: "status = 'paid' AND amount > 0"}
""",
        "paid",
        source_options="count_rows: false",
    )
    assert (stages["orders"]["rows_out"], stages["paid"]["rows_in"]) == (None, None)
    assert (stages["paid"]["rows_out"], stages["out"]["rows_out"]) == (3, 3)


def test_a_source_with_count_rows_false_lets_spark_push_the_filter_into_the_reader(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl_cli.plugins.sinks import files

    written: list[str] = []

    def observe_rows(df: Any, observation: Any) -> Any:
        written.append(df._jdf.queryExecution().executedPlan().toString())
        return files_observe_rows(df, observation)

    files_observe_rows = files.observe_rows
    monkeypatch.setattr(files, "observe_rows", observe_rows)
    filter_stage = """
  - {name: paid, type: filter, inputs: [orders], condition: "status = 'paid'"}
"""
    run_pipeline(spark, tmp_path, filter_stage, "paid")
    run_pipeline(spark, tmp_path, filter_stage, "paid", source_options="count_rows: false")
    counted, uncounted = written
    assert "EqualTo(status,paid)" not in counted  # the source's count stands between the reader and the filter
    assert "EqualTo(status,paid)" in uncounted  # PushedFilters: [IsNotNull(status), EqualTo(status,paid)]
