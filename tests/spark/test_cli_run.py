"""``etl-cli run`` end to end, as cron would run it: a subprocess, no terminal.

Expected rows are computed here independently of etl-cli and Spark (plain Python over
the input CSV files, or written by hand), then compared with what the run wrote.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq

from tests.clihelp import REPO, etl_cli

QUICKSTART_DATA = REPO / "pipelines" / "quickstart" / "data"
E2E = REPO / "tests" / "e2e"


def expected_quickstart_rows() -> list[tuple[str, str | None, int, Decimal, int, int]]:
    """Daily revenue per country, computed with plain Python from the sample CSVs."""
    latest: dict[str, dict[str, str]] = {}
    with (QUICKSTART_DATA / "orders.csv").open() as fh:
        for row in csv.DictReader(fh):
            seen = latest.get(row["order_id"])
            if seen is None or row["updated_at"] > seen["updated_at"]:
                latest[row["order_id"]] = row
    with (QUICKSTART_DATA / "customers.csv").open() as fh:
        country_of = {row["customer_id"]: row["country"] for row in csv.DictReader(fh)}
    groups: dict[tuple[str, str | None], list[dict[str, str]]] = defaultdict(list)
    for row in latest.values():
        if row["status"] != "cancelled" and Decimal(row["amount"]) > 0:
            day = datetime.fromisoformat(row["order_ts"]).date().isoformat()
            groups[(day, country_of.get(row["customer_id"]))].append(row)
    totals = {
        key: (len(rows), sum(Decimal(r["amount"]) for r in rows), len({r["customer_id"] for r in rows}))
        for key, rows in groups.items()
    }
    result = []
    for (day, country), (orders, revenue, buyers) in totals.items():
        rank = 1 + sum(1 for (d, _), (_, other, _) in totals.items() if d == day and other > revenue)
        result.append((day, country, orders, revenue, buyers, rank))
    return sorted(result, key=lambda r: (r[0], r[1] or ""))


def test_quickstart_writes_the_expected_daily_revenue(tmp_path: Path) -> None:
    out = tmp_path / "warehouse"
    result = etl_cli(
        "run",
        "pipelines/quickstart",
        "--set",
        f"vars.output_dir={out}",
        "--results-dir",
        str(tmp_path),
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.returncode == 0, result.stderr
    table = ds.dataset(out / "daily_revenue", format="parquet", partitioning="hive").to_table().to_pylist()
    actual = sorted(
        (str(r["order_date"]), r["country"], r["orders"], r["revenue"], r["buyers"], r["rank_in_day"]) for r in table
    )
    assert actual == sorted(expected_quickstart_rows())
    assert "\x1b[" not in result.stdout + result.stderr, "no colour codes without a terminal"
    assert "WARN" not in result.stderr and "INFO" not in result.stderr, "Spark's log noise stays out"
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["status"] == "success" and results["exit_code"] == 0
    sink = next(s for s in results["stages"] if s["name"] == "daily_revenue_out")
    assert sink["rows_out"] == len(actual)
    source = next(s for s in results["stages"] if s["name"] == "orders_raw")
    with (QUICKSTART_DATA / "orders.csv").open() as fh:
        assert source["rows_out"] == sum(1 for _ in fh) - 1


def test_every_transform_type_through_the_cli(tmp_path: Path) -> None:
    result = etl_cli(
        "run",
        str(E2E / "all_transforms"),
        "--set",
        f"vars.out={tmp_path}",
        "--log-format",
        "json",
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {e["event"] for e in events} >= {"run_started", "stage_started", "stage_finished", "run_finished"}
    assert len({e["run_id"] for e in events}) == 1

    with (tmp_path / "slim").glob("*.csv").__next__().open() as fh:
        slim = sorted((r["order_id"], r["customer_id"], r["cents"]) for r in csv.DictReader(fh))
    assert slim == [("10", "1", "12000"), ("11", "2", "6000"), ("13", "3", "9000"), ("14", "4", "1200")]

    movements = [
        json.loads(line) for f in (tmp_path / "movements").glob("*.json") for line in f.read_text().splitlines()
    ]
    assert sorted((m["order_id"], m["amount"], m["status"]) for m in movements) == [
        (10, 100.0, "shipped"),
        (11, 50.0, "paid"),
        (13, 75.0, "paid"),
        (14, 10.0, "paid"),
        (20, -20.0, "refund"),
    ]

    orphans = pq.read_table(tmp_path / "orphans").to_pylist()
    assert [(r["order_id"], r["customer_id"]) for r in orphans] == [(14, 4)]

    per_country = pq.read_table(tmp_path / "per_country").to_pylist()
    assert sorted((r["country"] or "", r["orders"], r["revenue"], r["biggest"]) for r in per_country) == [
        ("", 1, 10.0, 10.0),
        ("DE", 2, 175.0, 100.0),
        ("FR", 1, 50.0, 50.0),
    ]

    ranked = ds.dataset(tmp_path / "ranked", format="parquet", partitioning="hive").to_table().to_pylist()
    assert sorted(
        (r["order_id"], r["rank_in_country"], r["running_revenue"], r["previous_amount"]) for r in ranked
    ) == [
        (10, 1, 100.0, None),
        (11, 1, 50.0, None),
        (13, 2, 175.0, 100.0),
        (14, 1, 10.0, None),
    ]

    import pyarrow.orc as orc

    countries = [row for f in (tmp_path / "countries").glob("*.orc") for row in orc.read_table(f).to_pylist()]
    assert sorted((r["country"], r["n"]) for r in countries) == [("DE", 2), ("FR", 1)]


def test_a_failing_run_exits_4_and_leaves_every_target_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for name in ("good", "bad"):
        (out / name).mkdir(parents=True)
        (out / name / "previous.txt").write_text(f"previous {name}\n")
        (out / name / "_ETL_CLI").touch()  # an earlier run's output: etl-cli's own, so overwrite may replace it
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        f"""
sources:
  - name: orders
    type: csv
    path: {E2E / "all_transforms" / "data" / "orders.csv"}
    schema: "order_id INT, customer_id INT, amount DOUBLE, status STRING, updated_at TIMESTAMP"
transforms:
  - name: checked
    type: derive
    inputs: [orders]
    columns:
      checked_amount: IF(amount < 90, amount, raise_error('amount too large'))
sinks:
  - {{name: good, type: parquet, input: orders, path: "{out / "good"}"}}
  - {{name: bad, type: parquet, input: checked, path: "{out / "bad"}"}}
"""
    )
    result = etl_cli(
        "run", str(pipeline), "--results-dir", str(tmp_path / "results"), env={"ETL_STATE_DIR": str(tmp_path / "st")}
    )
    assert result.returncode == 4, result.stderr
    assert "sink 'bad'" in result.stderr and "amount too large" in result.stderr
    assert "Traceback" not in result.stderr
    for name in ("good", "bad"):
        assert sorted(p.name for p in (out / name).iterdir()) == ["_ETL_CLI", "previous.txt"]
    assert sorted(p.name for p in out.iterdir()) == ["bad", "good"], "no staging folders left behind"
    results = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert results["status"] == "failed" and results["exit_code"] == 4
    assert results["error"]["stage"] == "bad"
