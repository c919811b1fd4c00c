"""``run --select``, ``run --resume`` and ``checkpoint: true`` through the CLI.

The runs go through ``etl_cli.cli.main.main`` in this process, on the tests' Spark session (a run joins
the session that is up); the missing-checkpoint refusal, which stops before Spark, runs ``etl-cli`` as a
subprocess. Expected rows are worked out by hand from ORDERS: paid orders are 1, 2 and 4, so customer
10 has 2 paid orders for 20.00 and customer 12 has 1 for 30.00.

That a selected or resumed run did not read the source is shown by deleting the source's file before it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from etl_cli.cli.main import main
from tests.clihelp import etl_cli

ORDERS = """order_id,customer_id,status,amount
1,10,paid,12.50
2,10,paid,7.50
3,11,cancelled,7.00
4,12,paid,30.00
5,12,shipped,4.00
"""
PAID = [(1, 10), (2, 10), (4, 12)]
PER_CUSTOMER = [(10, 2, Decimal("20.00")), (12, 1, Decimal("30.00"))]

PIPELINE = """
name: shop
vars:
  extra: "1 AS one"
sources:
  - name: orders
    type: csv
    path: {folder}/orders.csv
    schema: "order_id INT, customer_id INT, status STRING, amount DECIMAL(10,2)"
    checkpoint: true
transforms:
  - name: paid
    type: filter
    inputs: [orders]
    condition: "status = 'paid'"
  - name: agg
    type: aggregate
    inputs: [paid]
    group_by: [customer_id]
    aggregations:
      orders: {{function: count}}
      revenue: {{function: sum, column: amount}}
    checkpoint: true
  - name: ranked
    type: sql
    inputs: [agg]
    query: "SELECT customer_id, orders, revenue, ${{var:extra}} FROM agg"
sinks:
  - {{name: paid_out, type: parquet, input: paid, path: {folder}/out/paid}}
  - {{name: ranked_out, type: parquet, input: ranked, path: {folder}/out/ranked}}
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark: Any) -> Path:
    """A pipeline over ORDERS with its own state folder; ``spark`` is up, so runs join it."""
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE.format(folder=tmp_path))
    return tmp_path


def etl(folder: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``etl-cli run FOLDER ARGS`` in this process: the exit code and what it printed on stderr."""
    with pytest.raises(SystemExit) as exited:
        main(["run", str(folder), "--log-format", "json", *args])
    return int(exited.value.code or 0), capsys.readouterr().err


def latest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "state" / "runs" / "shop" / "default" / "latest.json").read_text())


def stages(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {stage["name"]: stage for stage in results["stages"]}


def checkpoints(folder: Path) -> Path:
    return folder / "state" / "checkpoints" / "shop" / "default"


def per_customer(path: Path) -> list[tuple[Any, ...]]:
    return sorted((r["customer_id"], r["orders"], r["revenue"]) for r in pq.read_table(path).to_pylist())


def test_a_checkpoint_holds_the_rows_of_its_stage(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = etl(folder, capsys=capsys)
    assert code == 0, err
    results = latest(folder)
    run = checkpoints(folder) / results["run_id"]
    assert per_customer(run / "agg") == PER_CUSTOMER
    assert pq.read_table(run / "orders").num_rows == 5
    manifest = json.loads((run / "agg" / "_ETL_CLI_CHECKPOINT").read_text())
    assert (manifest["stage"], manifest["run_id"], manifest["rows"]) == ("agg", results["run_id"], 2)
    assert set(results["checkpoints"]["written"]) == {"orders", "agg"}
    rows = {name: (s["rows_in"], s["rows_out"]) for name, s in stages(results).items()}
    assert rows == {
        "orders": (None, 5),
        "paid": (5, 3),
        "agg": (3, 2),
        "ranked": (2, 2),
        "paid_out": (3, 3),
        "ranked_out": (2, 2),
    }


def test_select_stage_plus_starts_from_the_checkpoint_and_writes_only_its_sinks(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert etl(folder, capsys=capsys)[0] == 0
    first = latest(folder)["run_id"]
    paid_files = sorted(p.name for p in (folder / "out" / "paid").iterdir())
    (folder / "orders.csv").unlink()  # the selected run must not read it

    code, err = etl(folder, "--select", "agg+", "--set", "vars.extra=2 AS two", capsys=capsys)

    assert code == 0, err
    rows = pq.read_table(folder / "out" / "ranked").to_pylist()
    assert sorted((r["customer_id"], r["orders"], r["revenue"], r["two"]) for r in rows) == [
        (10, 2, Decimal("20.00"), 2),
        (12, 1, Decimal("30.00"), 2),
    ]
    assert sorted(p.name for p in (folder / "out" / "paid").iterdir()) == paid_files, "paid_out is not selected"
    results = latest(folder)
    by_name = stages(results)
    assert by_name["orders"]["from_checkpoint"] == first and by_name["orders"]["rows_out"] == 5
    assert by_name["paid_out"]["status"] == "not_selected"
    assert [by_name[n]["status"] for n in ("paid", "agg", "ranked", "ranked_out")] == ["ok"] * 4
    assert results["selection"] == {
        "select": ["agg+"],
        "resume": None,
        "stages": ["paid", "agg", "ranked", "ranked_out"],
        "from_checkpoint": {"orders": first},
    }


def test_a_selection_without_a_checkpoint_to_start_from_exits_2_naming_the_stage(tmp_path: Path) -> None:
    text = PIPELINE.format(folder=tmp_path)
    (tmp_path / "pipeline.yaml").write_text(text)
    line = text.splitlines().index("  - name: paid") + 1
    result = etl_cli(
        "run",
        str(tmp_path / "pipeline.yaml"),
        "--select",
        "agg+",
        "--set",
        "sources.0.checkpoint=false",
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert f"error: pipeline.yaml:{line}:5: --select: transform 'agg' reads transform 'paid'" in result.stderr
    assert "hint: set 'checkpoint: true' on transform 'paid' and run the whole pipeline once" in result.stderr
    assert not (tmp_path / "state" / "runs").exists(), "refused before the run started"


def test_resume_recomputes_only_from_the_failed_stage(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = etl(folder, "--set", "vars.extra=no_such_column", capsys=capsys)
    assert code == 4, err
    failed = latest(folder)
    assert failed["error"]["stage"] == "ranked"
    assert not (folder / "out").exists()
    (folder / "orders.csv").unlink()  # the resumed run must not read it

    code, err = etl(folder, "--resume", failed["run_id"], capsys=capsys)

    assert code == 0, err
    assert per_customer(folder / "out" / "ranked") == PER_CUSTOMER
    paid = pq.read_table(folder / "out" / "paid").to_pylist()
    assert sorted((r["order_id"], r["customer_id"]) for r in paid) == PAID
    results = latest(folder)
    read = {name: s["from_checkpoint"] for name, s in stages(results).items() if s["from_checkpoint"]}
    assert read == {"orders": failed["run_id"], "agg": failed["run_id"]}
    assert results["selection"]["resume"] == failed["run_id"]
    assert set(results["selection"]["stages"]) == {"paid", "paid_out", "ranked", "ranked_out"}


def test_resuming_a_run_that_succeeded_is_refused(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert etl(folder, capsys=capsys)[0] == 0
    run_id = latest(folder)["run_id"]
    code, err = etl(folder, "--resume", run_id, capsys=capsys)
    assert code == 2
    assert f"--resume {run_id}: that run succeeded, there is nothing to resume" in err


def test_retention_removes_the_old_checkpoints_and_nothing_else(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep_one = ("--set", "checkpoints.retention_runs=1")
    assert etl(folder, *keep_one, capsys=capsys)[0] == 0
    first = latest(folder)["run_id"]
    foreign = checkpoints(folder) / "not-a-run" / "agg"
    foreign.mkdir(parents=True)
    (foreign / "part-0.parquet").write_bytes(b"someone else's")

    assert etl(folder, *keep_one, capsys=capsys)[0] == 0

    second = latest(folder)
    assert sorted(p.name for p in checkpoints(folder).iterdir()) == sorted(["not-a-run", second["run_id"]])
    assert (foreign / "part-0.parquet").read_bytes() == b"someone else's"
    removed = sorted(Path(p).relative_to(checkpoints(folder)).as_posix() for p in second["checkpoints"]["removed"])
    assert removed == [f"{first}/agg", f"{first}/orders"]


TAXED = """
name: shop
sources:
  - name: orders
    type: csv
    path: {folder}/orders.csv
    schema: "order_id INT, customer_id INT, status STRING, amount DECIMAL(10,2)"
transforms:
  - {{name: paid, type: filter, inputs: [orders], condition: "status = 'paid'"}}
  - {{name: taxed, type: derive, inputs: [paid], columns: {{gross: amount * 2}}, checkpoint: true}}
sinks:
  - {{name: taxed_out, type: parquet, input: taxed, path: {folder}/out/taxed}}
"""


def test_a_stage_is_never_given_the_count_of_a_checkpoint_read_after_it(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "pipeline.yaml").write_text(TAXED.format(folder=folder))
    assert etl(folder, capsys=capsys)[0] == 0
    # paid is selected but nothing in this run reads it (taxed comes from the checkpoint): it is never counted
    code, err = etl(folder, "--select", "+paid", "--select", "taxed_out", capsys=capsys)
    assert code == 0, err
    rows = {name: s["rows_out"] for name, s in stages(latest(folder)).items()}
    assert rows == {"orders": None, "paid": None, "taxed": 3, "taxed_out": 3}
