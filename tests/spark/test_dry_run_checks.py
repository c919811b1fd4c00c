"""``dry-run`` analyses contracts and checks with their stages, and with ``--sample`` judges the checks on it.

The orders are those of tests/spark/orders6.py: order 3 is cancelled, order 5 (paid) has no amount.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.clihelp import etl_cli
from tests.spark.orders6 import write_project

PIPELINE = """\
name: checked
spark: {master: "local[1]", conf: {spark.sql.shuffle.partitions: 1}}
vars: {amount_action: drop}
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
  - {name: has_amount, stage: paid, type: not_null, columns: [amount], action: "${var:amount_action}"}
  - {name: enough_orders, stage: orders, type: row_count, min: 100, action: fail}
"""


def dry_run(root: Path, *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    write_project(root, PIPELINE)
    done = etl_cli("dry-run", "checked", "--format", "json", *args, cwd=root, env={"ETL_STATE_DIR": str(root / "s")})
    return done.returncode, (json.loads(done.stdout) if done.stdout.strip() else {}), done.stderr


def test_checks_are_judged_on_the_sample_and_drop_shapes_the_counts(tmp_path: Path) -> None:
    code, report, err = dry_run(tmp_path, "--sample", "6")
    assert code == 0, err
    stages = {s["name"]: s for s in report["stages"]}
    assert stages["paid"]["checks"] == ["has_amount (not_null, drop)"]
    assert stages["paid"]["rows"] == 4  # 5 paid orders, one without an amount dropped
    assert stages["paid_out"]["rows"] == 4
    checks = {c["name"]: c for c in report["quality"]["checks"]}
    assert (checks["has_amount"]["rows_evaluated"], checks["has_amount"]["rows_failed"]) == (5, 1)
    assert checks["enough_orders"]["outcome"] == "skipped"  # 6 sampled rows say nothing about the row count
    assert checks["enough_orders"]["note"] == "not judged on a sample: it needs every row"
    assert not (tmp_path / "out").exists()


def test_a_gate_breached_on_the_sample_exits_3_and_writes_nothing(tmp_path: Path) -> None:
    code, report, err = dry_run(tmp_path, "--sample", "6", "--set", "vars.amount_action=fail")
    assert code == 3, err
    [problem] = report["diagnostics"]
    assert problem["code"] == "quality-gate"
    assert "on the sample, data-quality gate failed" in problem["message"] and "has_amount" in problem["message"]
    assert not (tmp_path / "out").exists()


def test_a_check_on_a_missing_column_is_an_analysis_error_at_the_check(tmp_path: Path) -> None:
    code, report, err = dry_run(tmp_path, "--set", "checks.has_amount.columns=[amount_eur]")
    assert code == 1, err
    [problem] = report["diagnostics"]
    assert "amount_eur" in problem["message"]
    assert (problem["file"], problem["line"]) == ("checked/pipeline.yaml", 14)  # the check, not the stage
