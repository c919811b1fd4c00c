"""``etl-debug`` stepped through in a real terminal, and ``etl-cli debug`` without one.

The pipeline is tests/e2e/inspect/shop on six hand-written orders and three customers;
every count, row and null below is read off those CSV files by hand.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pyarrow.dataset as ds

from tests.clihelp import REPO, etl_cli
from tests.ptyhelp import Terminal

SHOP = "tests/e2e/inspect/shop"


def test_stepping_in_a_terminal_next_sql_more_save_continue_quit(tmp_path: Path) -> None:
    out, fixtures = tmp_path / "out", tmp_path / "fixtures"
    term = Terminal(
        "etl-debug", SHOP, "--stage", "per_day", "--break-at", "customers", "--limit", "3",
        "--set", f"vars.out={out}", cwd=REPO, env={"ETL_STATE_DIR": str(tmp_path / "state")}, timeout=240,
    )  # fmt: skip
    term.expect("1/5 source orders · rows out 6")
    term.expect("2/5 source customers")
    term.expect("nulls: email 1 · 0 in the other 3")
    term.expect("masked (sensitive): email")
    term.expect("debug customers> ")
    assert "ann@example.com" not in term.screen and "********" in term.screen

    term.line("sql SELECT name, email FROM customers WHERE country = 'FR'")
    term.expect("debug customers> ")
    assert re.search(r"│ Bob\s+│ \*{8}\s+│", term.screen) and "bob@example.com" not in term.screen

    term.line(f"save {fixtures / 'customers'}")
    term.expect("given: {customers: {file: ")  # how a test file (docs/testing.md) reads the fixture
    term.expect("debug customers> ")

    term.line("n")
    term.expect("3/5 transform paid")
    term.expect("rows in 6 · rows out 5")
    term.expect("debug paid> ")
    term.line("sql SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status")
    term.expect("debug paid> ")
    assert re.search(r"│ cancelled\s+│ 1\s+│", term.screen) and re.search(r"│ paid\s+│ 5\s+│", term.screen)

    term.line("more")
    term.expect("rows 4-5")
    term.expect("debug paid> ")

    term.line("c per_day")
    term.expect("4/5 transform with_customer · rows in 8 · rows out 5")
    term.expect("5/5 transform per_day")
    term.expect("nulls: revenue 1 · 0 in the other 3")
    term.expect("debug per_day> ")

    term.line("sql INSERT INTO orders VALUES (7, 1, 1.0, 'paid', DATE'2026-03-04')")
    term.expect("only queries can run here")
    term.line("q")
    assert term.wait() == 0, term.screen

    lines = [json.loads(line) for line in (fixtures / "customers.jsonl").read_text().splitlines()]
    assert lines == [
        {"customer_id": 1, "name": "Ann", "email": "********", "country": "DE"},
        {"customer_id": 2, "name": "Bob", "email": "********", "country": "FR"},
        {"customer_id": 3, "name": "Cid", "country": "DE"},
    ]
    schema = json.loads((fixtures / "customers.schema.json").read_text())
    assert [(f["name"], f["type"]) for f in schema["fields"]] == [
        ("customer_id", "integer"), ("name", "string"), ("email", "string"), ("country", "string"),
    ]  # fmt: skip
    assert not out.exists(), "debug writes sinks only with --write"


def test_without_a_terminal_every_stage_is_printed_and_write_publishes_the_sinks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = etl_cli(
        "debug", SHOP, "--write", "--limit", "2", "--set", f"vars.out={out}",
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for header in ("source orders", "source customers", "transform paid", "transform with_customer", "sink paid_out",
                   "transform per_day", "sink per_day_out"):  # fmt: skip
        assert re.search(rf"\d/7 {header} ─", text), header
    assert not re.search(r"debug \w+> ", text), "no prompt without a terminal"
    assert "first 2 rows" in text and "nulls: amount 1 · 0 in the other 4" in text
    assert "ann@example.com" not in text and "bob@example.com" not in text
    assert "written: sink per_day_out · 5 rows" in text and "written: sink paid_out · 5 rows" in text

    rows = ds.dataset(out / "per_day", format="parquet", partitioning="hive").to_table().to_pylist()
    assert sorted((str(r["day"]), r["country"], r["revenue"], r["orders"]) for r in rows) == [
        (str(date(2026, 3, 1)), "DE", 10.0, 1),
        (str(date(2026, 3, 1)), "FR", 20.0, 1),
        (str(date(2026, 3, 2)), "DE", 7.0, 1),
        (str(date(2026, 3, 2)), "FR", None, 1),
        (str(date(2026, 3, 3)), "DE", 12.5, 1),
    ]
