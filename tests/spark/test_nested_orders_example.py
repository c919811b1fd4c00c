"""pipelines/nested_orders end to end (explode, flatten, case, pivot, fill_nulls over nested JSON), against the
revenue computed here in plain Python from the same JSON file."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from tests.clihelp import REPO, etl_cli

ORDERS = REPO / "pipelines" / "nested_orders" / "data" / "orders.jsonl"
REGIONS = {"FR": "Europe", "DE": "Europe", "US": "Americas"}
CATEGORIES = ("books", "games", "music")


def expected_revenue() -> list[dict[str, object]]:
    """Revenue per region and listed category; 0 where a region sold none of a category."""
    revenue: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(CATEGORIES, Decimal("0.00")))
    for line in ORDERS.read_text().splitlines():
        order = json.loads(line)
        region = REGIONS.get(order["customer"]["address"]["country"], "Other")
        for item in order["lines"]:
            sums = revenue[region]  # a region with lines has its row, even if none is of a listed category
            if item["category"] in CATEGORIES:
                sums[item["category"]] += item["qty"] * Decimal(str(item["price"]))
    return sorted(({"region": region, **sums} for region, sums in revenue.items()), key=lambda r: str(r["region"]))


def test_nested_orders_writes_revenue_by_region_and_category(tmp_path: Path) -> None:
    result = etl_cli(
        "run",
        "pipelines/nested_orders",
        "--set",
        f"vars.output_dir={tmp_path / 'out'}",
        "--results-dir",
        str(tmp_path),
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.returncode == 0, result.stderr
    table = pq.read_table(tmp_path / "out" / "revenue_by_category")
    assert table.column_names == ["region", *CATEGORIES]
    assert sorted(table.to_pylist(), key=lambda r: r["region"]) == expected_revenue()
