"""Checks, the dead-letter queue and replay through the ``etl-cli`` command, as cron would run it.

One small project: eight order lines, of which (counted by hand)

- 4, 5 and 7 are malformed (a text amount, a missing column, an extra column): dead letters;
- 2 and 8 have a negative amount: quarantined by ``positive_amount``;
- 3 (and 8) have an unknown status: ``known_status`` drops 3 (8 is already quarantined);
- 1 and 6 are loaded; 1 also breaks the warn-only ``small`` check (amount < 45) and is kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

ORDERS = """\
order_id,customer_id,amount,status
1,10,100.0,paid
2,11,-5.0,paid
3,12,20.0,weird
4,10,abc,paid
5,11,30.0
6,10,40.0,shipped
7,12,50.0,paid,extra
8,11,-1.0,weird
"""
RAW_MALFORMED = {"4,10,abc,paid", "5,11,30.0", "7,12,50.0,paid,extra"}

PIPELINE = """\
sources:
  - name: orders
    type: csv
    path: data/orders.csv
    schema: "order_id INT, customer_id INT, amount DOUBLE, status STRING"
    on_malformed: dead_letter
transforms:
  - name: enriched
    type: derive
    inputs: [orders]
    columns: {cents: "CAST(amount * 100 AS INT)"}
sinks:
  - {name: out, type: parquet, input: enriched, path: out/orders}
dead_letter: {type: parquet, path: out/dead_letters}
checks:
  - {name: positive_amount, type: range, stage: orders, column: amount, min: 0, action: quarantine}
  - {name: known_status, type: accepted_values, stage: orders, column: status, values: [paid, shipped], action: drop}
  - {name: small, type: expression, stage: orders, expression: "amount < 45"}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {"data/orders.csv": ORDERS, "orders/pipeline.yaml": PIPELINE}  # paths are relative to the project root
    return make_project(tmp_path / "project", files, project="name: quality\n")


def cli(project: Path, *args: str) -> Any:
    return etl_cli(*args, env={"ETL_STATE_DIR": str(project / "state")}, cwd=project)


def parquet_rows(path: Path) -> list[dict[str, Any]]:
    return ds.dataset(path, format="parquet", partitioning="hive").to_table().to_pylist()


def results(project: Path) -> dict[str, Any]:
    return json.loads((project / "results" / "latest.json").read_text())


def test_warn_drop_quarantine_and_malformed_rows_through_a_run(project: Path) -> None:
    run = cli(project, "run", "orders", "--results-dir", "results")
    assert run.returncode == 0, run.stderr

    loaded = sorted((r["order_id"], r["cents"]) for r in parquet_rows(project / "out" / "orders"))
    assert loaded == [(1, 10000), (6, 4000)]

    letters = parquet_rows(project / "out" / "dead_letters")
    malformed = [r for r in letters if r["kind"] == "malformed"]
    quarantined = [r for r in letters if r["kind"] == "quarantined"]
    assert {r["raw"] for r in malformed} == RAW_MALFORMED
    assert sorted(json.loads(r["row"])["order_id"] for r in quarantined) == [2, 8]
    assert {r["check"] for r in quarantined} == {"positive_amount"}
    run_id = results(project)["run_id"]
    assert {r["run_id"] for r in letters} == {run_id}
    assert {(r["pipeline"], r["stage"]) for r in letters} == {("orders", "orders")}
    assert all(r["failed_at"] is not None for r in letters)

    dropped = 1  # order 3
    input_lines = len(ORDERS.splitlines()) - 1
    assert len(loaded) + len(letters) + dropped == input_lines, "every input line is accounted for"

    summary = results(project)
    assert summary["dead_letters"]["by_stage"] == {"orders": {"malformed": 3, "quarantined": 2}}
    assert summary["dead_letters"]["written"] is True
    stages = {s["name"]: s for s in summary["stages"]}
    assert stages["orders"]["rows_out"] == 2 and stages["out"]["rows_out"] == 2

    quality_file = project / "results" / f"{run_id}.quality.json"
    quality = json.loads(quality_file.read_text())
    assert quality == summary["quality"]
    checks = {c["name"]: c for c in quality["checks"]}
    assert {n: (c["rows_evaluated"], c["rows_failed"], c["outcome"]) for n, c in checks.items()} == {
        "positive_amount": (5, 2, "warned"),
        "known_status": (5, 2, "warned"),
        "small": (5, 1, "warned"),
    }
    assert checks["small"]["samples"] == [{"order_id": 1, "customer_id": 10, "amount": 100.0, "status": "paid"}]
    assert quality["stages"] == [
        {"stage": "orders", "rows_evaluated": 5, "rows_removed": 3, "rows_quarantined": 2, "persisted": True}
    ]

    assert "data quality: warned" in run.stderr
    assert "positive_amount" in run.stderr and "5 row(s) written to the dead-letter queue" in run.stderr

    count = cli(project, "dlq", "count", "orders", "--format", "json")
    assert count.returncode == 0, count.stderr
    assert json.loads(count.stdout) == {
        "total": 5,
        "groups": [
            {"run_id": run_id, "stage": "orders", "kind": "quarantined", "check": "positive_amount", "rows": 2},
            {"run_id": run_id, "stage": "orders", "kind": "malformed", "check": None, "rows": 3},
        ],
    }

    # off a terminal (piped here) the text table prints every value whole: the run id is not cut
    text = cli(project, "dlq", "count", "orders")
    assert text.returncode == 0, text.stderr
    assert [line.split() for line in text.stdout.splitlines() if run_id in line] == [
        [run_id, "orders", "quarantined", "positive_amount", "2"],
        [run_id, "orders", "malformed", "—", "3"],
    ]

    show = cli(project, "dlq", "show", "orders", "--check", "positive_amount", "--run", run_id, "--format", "json")
    assert show.returncode == 0, show.stderr
    shown = [json.loads(line) for line in show.stdout.splitlines()]
    assert sorted(json.loads(s["row"])["amount"] for s in shown) == [-5.0, -1.0]
    assert {s["reason"] for s in shown} == {"failed check(s): positive_amount"}

    # Refunds are legal after all: relax the check and replay the quarantined rows. Order 2 (paid) now
    # loads; order 8 still has an unknown status and is dropped again.
    relaxed = ["--set", "checks.positive_amount.min=-10"]
    replay = cli(
        project,
        "dlq",
        "replay",
        "orders",
        *relaxed,
        "--run",
        run_id,
        "--check",
        "positive_amount",
        "--results-dir",
        "results",
    )
    assert replay.returncode == 0, replay.stderr
    assert sorted(r["order_id"] for r in parquet_rows(project / "out" / "orders")) == [1, 2, 6]
    replayed = results(project)
    assert replayed["replay"]["dead_letters"] == 2 and replayed["replay"]["sinks"] == {"out": "append"}
    assert len(parquet_rows(project / "out" / "dead_letters")) == 5, "nothing new was dead-lettered"

    again = cli(project, "dlq", "replay", "orders", *relaxed, "--run", run_id, "--check", "positive_amount")
    assert again.returncode == 2
    assert "already replayed" in again.stderr


def test_a_failing_gate_exits_3_and_writes_nothing(project: Path) -> None:
    previous = project / "out" / "orders"
    previous.mkdir(parents=True)
    (previous / "part-0.parquet").write_text("previous data")
    run = cli(project, "run", "orders", "--set", "checks.known_status.action=fail", "--results-dir", "results")
    assert run.returncode == 3, run.stderr
    assert "data-quality gate failed" in run.stderr
    assert "check 'known_status' (accepted_values) on stage 'orders'" in run.stderr
    assert "2 of 5 rows failed (40.00%)" in run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in previous.iterdir()) == ["part-0.parquet"]
    assert not (project / "out" / "dead_letters").exists(), "a failed run writes no dead letters either"
    assert sorted(p.name for p in (project / "out").iterdir()) == ["orders"], "no staging left behind"
    summary = results(project)
    assert (summary["status"], summary["exit_code"]) == ("failed", 3)
    assert summary["error"]["type"] == "QualityGateError"
    assert summary["quality"]["status"] == "failed"
    assert summary["dead_letters"]["written"] is False
    assert (project / "results" / f"{summary['run_id']}.quality.json").is_file()


def test_a_threshold_lets_a_few_failures_through(project: Path) -> None:
    run = cli(
        project,
        "run",
        "orders",
        "--set",
        "checks.known_status.action=fail",
        "--set",
        "checks.known_status.threshold.max_ratio=0.5",
        "--results-dir",
        "results",
        "--log-format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    (report,) = [e for e in events if e["event"] == "quality_report"]
    known = next(c for c in report["checks"] if c["name"] == "known_status")
    assert (known["rows_failed"], known["outcome"]) == (2, "tolerated")
