"""The studio's Run and Inspect panels in a real browser, on local Spark (one test: each starts a JVM).

The pipeline keeps the paid orders of a CSV file and writes them as Parquet. The expected rows are worked out
from the CSV text with the csv module; the Parquet written by the run is read back with pyarrow.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.studio.browser import Page, chromium, need_browser, studio

pytestmark = pytest.mark.spark

#: a first run or inspection starts a JVM: generous, for a busy machine
SPARK_MS = 300_000

ORDERS_CSV = """\
order_id,status,amount,email
1,paid,10.5,ann@example.org
2,cancelled,3.0,bob@example.org
3,paid,7.25,cy@example.org
4,refunded,1.0,dee@example.org
5,paid,2.0,eve@example.org
"""

# reads what orders writes: the project DAG has orders before report
REPORT = """\
name: report
sources:
  - name: paid_orders
    type: parquet
    path: output/orders
sinks:
  - name: report_out
    type: csv
    input: paid_orders
    path: output/report
"""

PIPELINE = """\
# Orders: the paid orders of the shop's export.
name: orders

sources:
  - name: orders_raw
    type: csv
    path: data/orders.csv
    schema: {order_id: BIGINT, status: STRING, amount: DOUBLE, email: STRING}
    sensitive: [email]   # masked wherever it is shown

transforms:
  - name: paid
    type: filter
    inputs: [orders_raw]
    condition: status = 'paid'

sinks:
  - name: orders_out
    type: parquet
    input: paid
    path: output/orders
"""


def test_run_a_pipeline_and_inspect_a_stage_with_its_sensitive_column_masked(tmp_path: Path) -> None:
    need_browser()
    root = tmp_path / "shop"
    (root / "data").mkdir(parents=True)
    (root / "etl-project.yaml").write_text("name: shop\ndefault_env: dev\nenvironments:\n  dev: {}\n", encoding="utf-8")
    (root / "data" / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    (root / "pipelines" / "orders").mkdir(parents=True)
    (root / "pipelines" / "orders" / "pipeline.yaml").write_text(PIPELINE, encoding="utf-8")
    (root / "pipelines" / "report").mkdir(parents=True)
    (root / "pipelines" / "report" / "pipeline.yaml").write_text(REPORT, encoding="utf-8")
    paid = [row for row in csv.DictReader(io.StringIO(ORDERS_CSV)) if row["status"] == "paid"]

    with studio(root) as url, chromium() as browser:
        studio_page = Page(browser, url)
        page = studio_page.page
        page.get_by_role("link", name="Open orders").click()
        studio_page.stage("paid").wait_for()

        # Run: the stages' progress, then the summary (the run's JVM ends before the inspection starts one)
        page.click("#run")
        page.wait_for_selector("#run-panel[data-status]:not([data-status=running])", timeout=SPARK_MS)
        assert page.get_attribute("#run-panel", "data-status") == "succeeded", page.inner_text("#run-panel")
        assert "exit code 0" in page.inner_text("#run-status")
        rows_out = {
            name: page.inner_text(f'#run-stages tr[data-stage="{name}"] td:nth-of-type(3)')
            for name in ("orders_raw", "paid", "orders_out")
        }
        assert rows_out["orders_raw"] == "5"
        assert rows_out["paid"] == str(len(paid))
        studio_page.screenshot("run")

        # Inspect: schema, count and rows of the filter, the sensitive column marked and masked
        studio_page.select("paid")
        page.click("#inspect")
        page.wait_for_selector("#inspect-rows", timeout=SPARK_MS)
        assert page.inner_text("#inspect-status").startswith(f"paid: {len(paid)} rows")
        schema = page.locator("#inspect-schema tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
        )
        assert schema == [
            ["order_id", "bigint", "yes", ""],
            ["status", "string", "yes", ""],
            ["amount", "double", "yes", ""],
            ["email", "string", "yes", "masked"],
        ]
        header = page.locator("#inspect-rows thead th").evaluate_all(
            "cells => cells.map(c => [c.firstChild.textContent, c.classList.contains('masked')])"
        )
        assert header == [["order_id", False], ["status", False], ["amount", False], ["email", True]]
        shown = page.locator("#inspect-rows tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
        )
        assert [[row[0], row[1], float(row[2])] for row in shown] == [
            [r["order_id"], r["status"], float(r["amount"])] for r in paid
        ]
        masks = {row[3] for row in shown}
        assert len(masks) == 1 and "@" not in masks.pop(), "the email column must be masked"
        studio_page.screenshot("inspect")

        # the project view shows the run as the pipeline's last, and report after orders in the DAG
        page.click("#nav-project")
        row = page.locator('#pipelines tr[data-pipeline="orders"]')
        row.locator(".run.success").wait_for()
        assert row.locator(".badge").inner_text() == "success"
        assert "never run" in page.inner_text('#pipelines tr[data-pipeline="report"]')
        assert page.locator('#dag a.dag-node.success[data-name="orders"]').count() == 1
        assert page.locator('#dag a.dag-node.never[data-name="report"]').count() == 1
        assert page.locator("#dag path.edge").count() == 1
        assert page.locator("#dag path.edge title").text_content().startswith("orders → report")
        studio_page.screenshot("project")
        assert studio_page.errors == []
        assert studio_page.elsewhere() == []

    import pyarrow.parquet as pq

    written = pq.read_table(root / "output" / "orders")
    assert sorted(written.column("order_id").to_pylist()) == [int(r["order_id"]) for r in paid]
