"""``etl-cli debug`` applies a stage's contract and checks as a run does, and judges them at the stage.

The orders are those of tests/spark/orders6.py: order 3 is cancelled, order 5 (paid) has no amount.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv

from tests.clihelp import etl_cli
from tests.spark.orders6 import write_project

PIPELINE = """\
name: checked
spark: {master: "local[1]", conf: {spark.sql.shuffle.partitions: 1}}
vars: {min_orders: 1}
sources:
  - name: orders
    type: csv
    path: checked/orders.csv
    schema: "order_id INT, customer_id INT, amount DOUBLE, status STRING"
transforms:
  - {name: paid, type: filter, inputs: [orders], condition: "status = 'paid'"}
sinks:
  - {name: paid_out, type: csv, input: paid, path: out/paid}
checks:
  - {name: has_amount, stage: paid, type: not_null, columns: [amount], action: drop}
  - {name: known_status, stage: orders, type: accepted_values, column: status, values: [paid], action: warn}
  - {name: enough_orders, stage: orders, type: row_count, min: "${var:min_orders}", action: fail}
"""


def project(root: Path) -> Path:
    return write_project(root, PIPELINE)


def debug(root: Path, *args: str) -> tuple[int, str]:
    done = etl_cli("debug", str(project(root)), *args, cwd=root, env={"ETL_STATE_DIR": str(root / "state")})
    return done.returncode, done.stdout + done.stderr


def test_checks_are_judged_at_their_stage_and_drop_removes_rows(tmp_path: Path) -> None:
    code, output = debug(tmp_path, "--write")
    assert code == 0, output
    # orders: the cancelled order is not an accepted status; paid: the order without an amount is dropped
    assert output.count("data quality: warned") == 2
    assert "type filter · rows in 6 · rows out 4" in output
    assert "type csv · rows in 4 · staged" in output
    assert "written: sink paid_out · 4 rows" in output
    written = pacsv.read_csv(next((tmp_path / "out" / "paid").glob("*.csv"))).to_pylist()
    assert sorted(r["order_id"] for r in written) == [1, 2, 4, 6]


def test_a_breached_gate_is_shown_and_stops_write_before_any_sink(tmp_path: Path) -> None:
    code, output = debug(tmp_path, "--write", "--set", "vars.min_orders=100")
    assert code == 3, output
    assert "data quality: failed: a run would stop before writing" in output
    assert "data-quality gate failed" in output and "enough_orders" in output
    assert not (tmp_path / "out").exists()


def test_without_write_a_breached_gate_is_only_reported(tmp_path: Path) -> None:
    code, output = debug(tmp_path, "--set", "vars.min_orders=100")
    assert code == 0, output
    assert "data quality: failed: a run would stop before writing" in output
    assert "type csv · rows in 4 · not written" in output


def test_on_a_sample_checks_that_need_every_row_are_skipped(tmp_path: Path) -> None:
    code, output = debug(tmp_path, "--sample", "3", "--set", "vars.min_orders=100")
    assert code == 0, output
    assert "data quality: failed" not in output
    assert "skipped" in output  # enough_orders: a row count on 3 sampled rows says nothing
    assert "type csv · rows out 3" in output
