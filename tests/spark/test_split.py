"""The ``pipelines/orders_split`` example run by ``etl-cli run``: each order in the first output it matches.

The expected outputs are computed here with plain Python over the example's CSV file, by the rule
docs/transforms.md states (first true condition in the order written; false or null takes nothing).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from tests.clihelp import REPO, etl_cli

DATA = REPO / "pipelines" / "orders_split" / "data" / "orders.csv"


def expected_outputs() -> dict[str, set[int]]:
    """The order ids of each output: big (amount >= 1000), then EU, then US, the rest last."""
    found: dict[str, set[int]] = {"big": set(), "eu": set(), "us": set(), "other": set()}
    with DATA.open() as fh:
        for row in csv.DictReader(fh):
            amount = Decimal(row["amount"]) if row["amount"] else None
            if amount is not None and amount >= 1000:
                found["big"].add(int(row["order_id"]))
            elif row["region"] in ("EU", "US"):
                found[row["region"].lower()].add(int(row["order_id"]))
            else:
                found["other"].add(int(row["order_id"]))
    return found


def test_orders_split_puts_each_order_in_the_first_output_whose_condition_holds(tmp_path: Path) -> None:
    out = tmp_path / "warehouse"
    result = etl_cli(
        "run", "pipelines/orders_split", "--set", f"vars.output_dir={out}", "--results-dir", str(tmp_path),
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = {name: {row["order_id"] for row in pq.read_table(out / name).to_pylist()} for name in expected_outputs()}
    assert written == expected_outputs()
    # by hand: 3 (EU, exactly 1000) is big, not EU; 7 and 8 have no amount, so they go by region
    assert written["big"] == {2, 3} and written["eu"] == {1, 7} and written["other"] == {4, 5}
    assert pq.read_table(out / "eu").column_names == ["order_id", "region", "amount"]
