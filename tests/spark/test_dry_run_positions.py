"""dry-run analyses every stage it can, and Spark's SQL positions are reported at the user's YAML expression.

The source's columns are inferred (no ``schema:``), so ``validate`` cannot check the expressions
offline and only Spark finds the misspelt columns. Every expected line and column below is read
off ``PIPELINE`` by hand (the ``# line N`` comments).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

PIPELINE = """\
name: spots
spark: {master: "local[1]", conf: {spark.sql.shuffle.partitions: 1}}
sources:
  - name: orders
    type: csv
    path: spots/orders.csv
transforms:
  - name: priced
    type: derive
    inputs: [orders]
    columns:
      total: amount * 2
      label: upper(regoin)
  - name: priced_ids
    type: select
    inputs: [priced]
    columns: [order_id]
  - name: priced_top
    type: filter
    inputs: [priced_ids]
    condition: order_id > 1
  - name: per_region
    type: sql
    inputs: [orders]
    query: |
      SELECT region,
             sum(amout) AS total
      FROM orders
      GROUP BY region
  - name: big
    type: filter
    inputs: [orders]
    condition: "amount > 10"
  - name: by_size
    type: split
    inputs: [orders]
    outputs:
      small: amount < 10
      large: amout >= 10
  - name: by_name
    type: split
    inputs: [orders]
    outputs:
      named: upper(region)
sinks:
  - {name: top_out, type: csv, input: priced_top, path: out/top}
  - {name: region_out, type: csv, input: per_region, path: out/region}
  - {name: big_out, type: csv, input: big, path: out/big}
checks:
  - {name: all_small, stage: big, type: expression, expression: "amount < 25", action: fail}
"""
ORDERS = "order_id,region,amount\n1,EU,5\n2,US,20\n3,EU,30\n"
FILE = "spots/pipeline.yaml"
#: ``label: upper(regoin)`` is line 13; its value starts at column 14, ``regoin`` 6 characters into it
DERIVE_SPOT = (13, 20)
#: the query's second line is line 27: 6 spaces of indentation, then ``       sum(`` (11 characters)
SQL_SPOT = (27, 18)
#: ``large: amout >= 10`` is line 39, its value starts at column 14
SPLIT_SPOT = (39, 14)


def _project(root: Path) -> Path:
    return make_project(root, {"spots/pipeline.yaml": PIPELINE, "spots/orders.csv": ORDERS}, project="name: p\n")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One dry-run of the pipeline, shared by the tests below (Spark starts once)."""
    root = _project(tmp_path_factory.mktemp("spots"))
    done = etl_cli(
        "dry-run", "spots", "--sample", "10", "--format", "json", cwd=root, env={"ETL_STATE_DIR": str(root / "state")}
    )
    assert done.returncode == 1, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _diagnostic(report: dict[str, Any], stage: str) -> dict[str, Any]:
    [found] = [d for d in report["diagnostics"] if f"'{stage}'" in d["message"]]
    return found


def test_a_misspelt_column_in_a_derive_expression_is_reported_at_the_column_in_the_yaml(
    report: dict[str, Any],
) -> None:
    found = _diagnostic(report, "priced")
    assert (found["code"], found["file"], found["line"], found["column"]) == ("spark-analysis", FILE, *DERIVE_SPOT)
    assert "UNRESOLVED_COLUMN" in found["message"] and "regoin" in found["message"]
    assert "pos" not in found["message"]  # Spark's position in the SQL it was given is not the user's


def test_a_misspelt_column_in_a_multi_line_sql_query_is_reported_at_its_line_and_column(
    report: dict[str, Any],
) -> None:
    found = _diagnostic(report, "per_region")
    assert (found["code"], found["file"], found["line"], found["column"]) == ("spark-analysis", FILE, *SQL_SPOT)
    assert "amout" in found["message"]


def test_every_stage_whose_inputs_are_fine_is_analysed_and_the_others_name_the_stage_that_failed(
    report: dict[str, Any],
) -> None:
    stages = {s["name"]: (s["status"], s["note"]) for s in report["stages"]}
    not_analysed = "not analysed: it depends on 'priced', which failed"
    assert stages == {
        "orders": ("ok", None),
        "priced": ("failed", None),
        "priced_ids": ("skipped", not_analysed),
        "priced_top": ("skipped", not_analysed),
        "per_region": ("failed", None),
        "big": ("ok", None),
        "top_out": ("skipped", not_analysed),
        "region_out": ("skipped", "not analysed: it depends on 'per_region', which failed"),
        "big_out": ("ok", None),
        "by_size": ("failed", None),
        "small": ("skipped", "not analysed: it depends on 'by_size', which failed"),
        "large": ("skipped", "not analysed: it depends on 'by_size', which failed"),
        "by_name": ("failed", None),
        "named": ("skipped", "not analysed: it depends on 'by_name', which failed"),
    }
    codes = sorted(d["code"] for d in report["diagnostics"] if d["code"] != "quality-gate")
    assert codes == ["invalid-stage", "spark-analysis", "spark-analysis", "spark-analysis"]  # once each


def test_the_checks_of_analysed_stages_are_judged_on_the_sample_though_other_stages_failed(
    report: dict[str, Any],
) -> None:
    [gate] = [d for d in report["diagnostics"] if d["code"] == "quality-gate"]
    assert "all_small" in gate["message"]  # big keeps orders 2 (20) and 3 (30): 30 < 25 is false
    [check] = report["quality"]["checks"]
    assert (check["name"], check["outcome"]) == ("all_small", "failed")


def test_a_misspelt_column_in_a_split_condition_is_reported_at_the_condition(report: dict[str, Any]) -> None:
    found = _diagnostic(report, "by_size")
    assert (found["code"], found["file"], found["line"], found["column"]) == ("spark-analysis", FILE, *SPLIT_SPOT)
    assert "amout" in found["message"]


def test_a_split_condition_that_is_not_a_boolean_is_refused_at_the_split(report: dict[str, Any]) -> None:
    found = _diagnostic(report, "by_name")
    assert (found["file"], found["line"], found["column"]) == (FILE, 40, 5)  # `- name: by_name`
    assert "the condition of output 'named' is string, not a boolean" in found["message"]


def test_run_names_the_expression_that_spark_could_not_resolve(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = etl_cli("run", "spots", cwd=root, env={"ETL_STATE_DIR": str(root / "state")})
    assert done.returncode == 4, done.stderr
    assert f"{FILE}:{DERIVE_SPOT[0]}:{DERIVE_SPOT[1]}" in done.stderr
    assert "line 1 pos" not in done.stderr
