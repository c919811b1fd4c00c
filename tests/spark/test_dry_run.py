"""``etl-cli dry-run`` through the CLI, without a terminal, on hand-written data.

tests/e2e/inspect/data/orders.csv has six orders (five paid, one with no amount) and
customers.csv three customers; every expected schema, count and partition below is read
off those files by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.clihelp import REPO, etl_cli

SHOP = "tests/e2e/inspect/shop"
BROKEN = "tests/e2e/inspect/broken"


def columns(stage: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(c["name"], c["type"]) for c in stage["schema"]]


def test_dry_run_json_reports_schemas_sample_counts_and_effects_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = etl_cli(
        "dry-run", SHOP, "--sample", "100", "--format", "json", "--set", f"vars.out={out}",
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["diagnostics"] == [] and report["sample"] == 100
    stages = {s["name"]: s for s in report["stages"]}
    assert columns(stages["orders"]) == [
        ("order_id", "int"), ("customer_id", "int"), ("amount", "double"), ("status", "string"), ("day", "date"),
    ]  # fmt: skip
    assert stages["orders"]["schema_origin"] == "declared"
    assert columns(stages["customers"]) == [
        ("customer_id", "int"), ("name", "string"), ("email", "string"), ("country", "string"),
    ]  # fmt: skip
    assert stages["customers"]["schema_origin"] == "inferred"
    assert columns(stages["with_customer"]) == [
        ("customer_id", "int"), ("order_id", "int"), ("amount", "double"), ("status", "string"), ("day", "date"),
        ("name", "string"), ("email", "string"), ("country", "string"),
    ]  # fmt: skip
    assert columns(stages["per_day"]) == [
        ("day", "date"),
        ("country", "string"),
        ("revenue", "double"),
        ("orders", "bigint"),
    ]
    assert {name: s["rows"] for name, s in stages.items() if s["kind"] != "sink"} == {
        "orders": 6, "customers": 3, "paid": 5, "with_customer": 5, "per_day": 5,
    }  # fmt: skip
    assert stages["with_customer"]["inputs"] == ["paid", "customers"]
    assert stages["orders"]["location"] == f"{SHOP}/pipeline.yaml:10:5"

    effects = {e["stage"]: e for e in report["effects"]}
    assert effects["per_day_out"] == {
        "stage": "per_day_out",
        "action": "write",
        "target": str(out / "per_day"),
        "mode": "overwrite",
        "details": {"format": "parquet", "partition_by": ["day"]},
        "partitions": ["day=2026-03-01", "day=2026-03-02", "day=2026-03-03"],
        "partitions_total": 3,
    }
    assert (effects["paid_out"]["target"], effects["paid_out"]["mode"]) == (str(out / "paid"), "append")
    assert effects["paid_out"]["partitions"] is None

    assert not out.exists(), "a dry-run writes nothing"
    assert result.stderr.strip() == "starting Spark (local[1])", "no progress display without a terminal"


def test_dry_run_text_shows_schema_trees_effects_and_spark_plans(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = etl_cli(
        "dry-run", SHOP, "--explain", "--set", f"vars.out={out}", env={"ETL_STATE_DIR": str(tmp_path / "state")}
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert f"source orders (csv)  {SHOP}/pipeline.yaml:10:5" in text
    assert "  schema (declared)\n  ├── order_id: int\n  ├── customer_id: int\n" in text
    assert "  schema (inferred)\n  ├── customer_id: int\n" in text
    assert "  inputs  paid, customers\n" in text
    assert "└── orders: bigint not null" in text
    assert f"write {out / 'per_day'}  mode overwrite  format parquet  partition_by day  (per_day_out)" in text
    assert f"write {out / 'paid'}  mode append  format csv  (paid_out)" in text
    assert text.count("== Physical Plan ==") == 7, "one plan per stage"
    assert "in the sample" not in text, "counts need --sample"
    assert text.rstrip().endswith("ok: 7 stages analysed, 2 effect(s), nothing written")
    assert not out.exists()


def test_dry_run_reports_each_problem_spark_finds_at_its_stage_file_and_line(tmp_path: Path) -> None:
    result = etl_cli("dry-run", BROKEN, "--format", "json", env={"ETL_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    found = [(d["code"], d["file"], d["line"], d["column"]) for d in report["diagnostics"]]
    where = f"{BROKEN}/pipeline.yaml"
    assert sorted(found, key=lambda f: f[2]) == [
        ("spark-analysis", where, 19, 16),  # the condition's `amount_eur`
        ("join-key-types", where, 24, 5),
        ("non-numeric-aggregate", where, 28, 5),
    ]
    messages = {d["code"]: d["message"] for d in report["diagnostics"]}
    assert "amount_eur" in messages["spark-analysis"] and "SQLSTATE" not in messages["spark-analysis"]
    assert "customers.customer_id is STRING but orders.customer_id is INT" in messages["join-key-types"]
    assert "sum over a non-numeric column: status is STRING" in messages["non-numeric-aggregate"]
    status = {s["name"]: s["status"] for s in report["stages"]}
    assert status == {
        "orders": "ok", "customers": "ok", "big": "failed", "big_ids": "skipped", "with_customer": "failed",
        "totals": "failed", "big_out": "skipped", "joined_out": "ok", "totals_out": "ok",
    }  # fmt: skip
    assert not (REPO / "tests" / "e2e" / "output" / "broken").exists()
