"""``etl-cli lineage`` as a user runs it: text and JSON, ``--column`` with ``--upstream``/``--downstream``, the
usage errors, and no JVM (the corpus cases of tests/lineage/corpus are the projects)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clihelp import REPO, etl_cli
from tests.unit.test_cli_imports import imported_modules, under

CORPUS = Path(__file__).with_name("corpus")
FILTER = CORPUS / "filter_declared"
CHAIN = CORPUS / "pipeline_chain"
WHERE = "tests/lineage/corpus/filter_declared/shop/pipeline.yaml"
DATA = f"dataset:file:{FILTER.resolve()}"

#: the text of the sink of filter_declared and the dataset it writes, the same whatever the selection
OUT_TEXT = f"""\
shop.out  (parquet sink)  {WHERE}:13:5
  writes {DATA}/output/paid
  from shop.paid
  columns: id, status, amount

{DATA}/output/paid  (dataset)
  columns: id, status, amount
"""
FILTER_TEXT = (
    f"""\
shop.orders  (csv source)  {WHERE}:3:5
  reads {DATA}/data/orders.csv
  columns: id, status, amount

{DATA}/data/orders.csv  (dataset)
  columns: id, status, amount

shop.paid  (filter transform)  {WHERE}:8:5
  id      ← orders.id
  status  ← orders.status
  amount  ← orders.amount
  (rows)  ← orders.status, orders.amount  filter: status = 'paid' AND amount > 10

"""
    + OUT_TEXT
)

DOWNSTREAM_OF_STATUS = (
    f"""\
what depends on shop.orders.status

shop.orders  (csv source)  {WHERE}:3:5
  reads {DATA}/data/orders.csv
  columns: status

shop.paid  (filter transform)  {WHERE}:8:5
  id      ← (rows)
  status  ← orders.status
  amount  ← (rows)
  (rows)  ← orders.status  filter: status = 'paid' AND amount > 10

"""
    + OUT_TEXT
)


def test_the_text_lists_each_stage_and_where_each_of_its_columns_comes_from() -> None:
    result = etl_cli("lineage", str(FILTER.relative_to(REPO) / "shop"))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == FILTER_TEXT


def test_downstream_of_a_column_shows_what_a_change_of_it_reaches() -> None:
    result = etl_cli("lineage", str(FILTER.relative_to(REPO)), "--column", "shop.orders.status", "--downstream")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == DOWNSTREAM_OF_STATUS


def test_the_json_holds_every_node_and_edge_of_the_project() -> None:
    result = etl_cli("lineage", str(CHAIN), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    root = CHAIN.resolve()
    assert [node["id"] for node in data["nodes"]] == sorted([
        "audit.big", "audit.out", "audit.totals", "ingest.clean", "ingest.eur", "ingest.raw", "report.orders",
        "report.out", "report.totals", f"dataset:file:{root}/data/orders.csv", f"dataset:file:{root}/lake/orders",
        f"dataset:file:{root}/output/totals", f"dataset:file:{root}/output/big_totals",
    ])  # fmt: skip
    ingest = 3 + (3 + 2) + 4 + 4  # file → raw → eur (3 kept, amount_eur from 2) → clean → lake
    report = 4 + 3 + 2 + 2  # lake → orders → totals (currency, total from amount_eur and by currency) → out → file
    audit = 2 + (2 + 1) + 2 + 2  # file → totals → big (2 kept, 1 filter) → out → file
    assert len(data["edges"]) == ingest + report + audit
    assert data["unknowns"] == []


def test_upstream_of_a_dataset_column_named_by_its_path_crosses_into_the_pipeline_that_writes_it() -> None:
    lake = CHAIN.relative_to(REPO) / "lake" / "orders"
    result = etl_cli("lineage", str(CHAIN), "--column", f"{lake}.amount_eur", "--upstream", "--format", "json")
    assert result.returncode == 0, result.stderr
    nodes = [node["id"] for node in json.loads(result.stdout)["nodes"]]
    assert nodes == [f"dataset:file:{CHAIN.resolve()}/data/orders.csv", f"dataset:file:{CHAIN.resolve()}/lake/orders",
                     "ingest.clean", "ingest.eur", "ingest.raw"]  # fmt: skip


def test_a_stage_name_two_pipelines_share_is_refused_with_both_names() -> None:
    result = etl_cli("lineage", str(CHAIN), "--column", "out.total")
    assert result.returncode == 2
    assert "several stages or datasets are named out: audit.out, report.out" in result.stderr


def test_a_misspelt_column_is_refused_with_the_likely_one() -> None:
    result = etl_cli("lineage", str(CHAIN), "--column", "report.totals.totl")
    assert result.returncode == 2
    assert "report.totals has no column 'totl'" in result.stderr
    assert "did you mean 'total'?" in result.stderr


def test_upstream_and_downstream_need_a_column_and_exclude_each_other() -> None:
    alone = etl_cli("lineage", str(CHAIN), "--upstream")
    both = etl_cli("lineage", str(CHAIN), "--column", "report.totals.total", "--upstream", "--downstream")
    assert (alone.returncode, both.returncode) == (2, 2)
    assert "--upstream and --downstream need --column" in alone.stderr
    assert "--upstream and --downstream exclude each other" in both.stderr


def test_lineage_starts_no_jvm_and_imports_no_spark() -> None:
    modules, result = imported_modules("lineage", str(CHAIN), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert under(modules, "pyspark", "py4j") == []
    assert "sqlglot" in modules
