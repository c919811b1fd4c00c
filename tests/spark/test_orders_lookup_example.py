"""The ``pipelines/orders_lookup`` example (cast, rename, drop, lookup) run by ``etl-cli run``.

The expected rows are computed here with plain Python over the example's CSV files.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow.parquet as pq

from tests.clihelp import REPO, etl_cli

DATA = REPO / "pipelines" / "orders_lookup" / "data"


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None  # on_error: null


def expected_rows() -> list[tuple[object, ...]]:
    with (DATA / "countries.csv").open() as fh:
        countries = {r["country"]: (r["country_name"], r["region"]) for r in csv.DictReader(fh)}
    with (DATA / "orders.csv").open() as fh:
        return [
            (
                int(r["order_id"]),
                r["cust"],
                r["country"],
                _amount(r["amount"]),
                datetime.fromisoformat(r["ordered_at"]).replace(tzinfo=UTC),  # the session runs in UTC
                *countries.get(r["country"], ("unknown", "other")),
            )
            for r in csv.DictReader(fh)
        ]


def test_orders_lookup_example_writes_typed_tidied_enriched_orders(tmp_path: Path) -> None:
    out = tmp_path / "warehouse"
    result = etl_cli(
        "run",
        "pipelines/orders_lookup",
        "--set",
        f"vars.output_dir={out}",
        "--results-dir",
        str(tmp_path),
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out / "orders")
    assert table.column_names == [
        "order_id", "customer_id", "country", "amount", "ordered_at", "country_name", "region"
    ]  # fmt: skip
    actual = sorted(tuple(row.values()) for row in table.to_pylist())
    assert actual == sorted(expected_rows())
