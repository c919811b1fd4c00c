"""Property checks through the real ``etl-cli test`` on Spark: properties that hold pass, and a deduplicate on
the wrong key fails ``unique`` with its input shrunk to the two rows that share a key.

One invocation (one Spark session) runs both tests; the examples are few and small to keep it short.
"""

from __future__ import annotations

import re

import pytest

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

PIPELINE = """
    name: dd
    sources:
      - name: orders_raw
        type: csv
        path: data/orders.csv
        schema: {order_id: BIGINT, updated_at: TIMESTAMP, amount: "DECIMAL(10,2)"}
    transforms:
      - name: latest
        type: deduplicate
        inputs: [orders_raw]
        keys: [order_id]
        order_by: [updated_at desc]
      - name: wrong
        type: deduplicate
        inputs: [orders_raw]
        keys: [order_id, updated_at]
      - name: per_order
        type: aggregate
        inputs: [orders_raw]
        group_by: [order_id]
        aggregations:
          total: {function: sum, column: amount}
    checks:
      - {name: few_orders, stage: orders_raw, type: range, column: order_id, min: 1, max: 4}
      - {name: complete, stage: orders_raw, type: not_null, columns: [order_id, updated_at, amount]}
    sinks:
      - {name: out, type: parquet, input: latest, path: output/dd}
      - {name: totals, type: parquet, input: per_order, path: output/totals}
      - {name: wrong_out, type: parquet, input: wrong, path: output/wrong}
"""

TESTS = """
    tests:
      - name: latest keeps one row per order
        examples: 4
        max_rows: 12
        properties:
          - {stage: out, unique: [order_id]}
          - {from: orders_raw, to: latest, row_count: not_more}
          - {from: orders_raw, to: totals, sum: amount, as: total}
          - {stage: out, not_null: [order_id]}
      - name: dedupe on the wrong key
        examples: 6
        max_rows: 12
        properties:
          - {stage: wrong, unique: [order_id]}
"""


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    root = make_project(tmp_path_factory.mktemp("project"), {"dd/pipeline.yaml": PIPELINE, "dd/tests/p.yaml": TESTS})
    done = etl_cli("test", "dd", cwd=root, env={"ETL_STATE_DIR": str(root / "state")})
    return done.returncode, done.stdout + done.stderr


def test_properties_that_hold_pass(output: tuple[int, str]) -> None:
    assert re.search(r"^PASS  dd/tests/p.yaml::latest keeps one row per order ", output[1], re.M), output[1]


def test_a_dedupe_on_the_wrong_key_fails_unique_and_shrinks_to_two_rows_with_equal_key(output: tuple[int, str]) -> None:
    code, text = output
    assert code == 1
    assert re.search(r"^FAIL  dd/tests/p.yaml::dedupe on the wrong key ", text, re.M), text
    block = text.split("dedupe on the wrong key", 1)[1]
    assert "property 1 failed: unique [order_id] in wrong" in block
    assert re.search(r"smallest failing input found \(2 row\(s\), after \d+ shrink run\(s\)\)", block), block
    rows = re.findall(r"- \{order_id: (\d+), updated_at: ([^,]+), amount: ([^}]+)\}", block)
    assert len(rows) == 2, block
    (key_a, time_a, amount_a), (key_b, time_b, amount_b) = rows
    assert key_a == key_b and time_a != time_b
    assert amount_a == amount_b  # simpler values: the amount became the smaller of the two
    assert f"wrong: 2 rows have order_id = {key_a}" in block
    assert "1 passed, 1 failed, 0 error(s)" in text
