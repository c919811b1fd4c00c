"""``dry-run`` warns when an aggregate returns more decimal places than the column it reads (avg over DECIMAL)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

# avg over DECIMAL(15,2) is DECIMAL(19,6) in Spark: four more places than the prices have
PIPELINE = """\
name: prices
spark: {master: "local[1]", conf: {spark.sql.shuffle.partitions: 1}}
sources:
  - name: items
    type: csv
    path: prices/items.csv
    schema: "shop STRING, price DECIMAL(15,2)"
transforms:
  - name: per_shop
    type: aggregate
    inputs: [items]
    group_by: [shop]
    aggregations:
      total: {function: sum, column: price}
      mean_price: {function: avg, column: price}
      mean_rounded: {expr: "round(avg(price), 2)"}
      mean_cast: {expr: "cast(avg(price) as decimal(15,2))"}
  - name: per_shop_sql
    type: sql
    inputs: [items]
    query: SELECT shop, avg(price) AS mean_price, sum(price) AS total FROM items GROUP BY shop
sinks:
  - {name: out, type: csv, input: per_shop, path: out/per_shop}
  - {name: out_sql, type: csv, input: per_shop_sql, path: out/per_shop_sql}
"""
ITEMS = "shop,price\na,1.10\na,2.25\nb,3.00\n"


def test_avg_over_a_decimal_is_a_warning_at_its_output_and_the_rounded_ones_are_not(tmp_path: Path) -> None:
    make_project(tmp_path, {"prices/items.csv": ITEMS, "prices/pipeline.yaml": PIPELINE}, project="name: p\n")
    done = etl_cli("dry-run", "prices", "--format", "json", cwd=tmp_path, env={"ETL_STATE_DIR": str(tmp_path / "s")})

    assert done.returncode == 0, done.stderr  # a warning: the dry-run still passes
    report = json.loads(done.stdout)
    [warning, in_sql] = report["diagnostics"]
    assert (warning["severity"], warning["code"]) == ("warning", "decimal-scale")
    assert (warning["file"], warning["line"]) == ("prices/pipeline.yaml", 15)  # the mean_price line
    assert "'per_shop'" in warning["message"] and "mean_price" in warning["message"]
    assert "decimal(19,6)" in warning["message"] and "decimal(15,2)" in warning["message"]
    assert "cast(avg(price) as decimal(15,2))" in warning["hint"] and "round(avg(price), 2)" in warning["hint"]
    # in SQL the output has no line of its own: the warning sits at the stage
    assert (in_sql["code"], in_sql["line"]) == ("decimal-scale", 18)
    assert "'per_shop_sql'" in in_sql["message"] and "mean_price is decimal(19,6)" in in_sql["message"]
