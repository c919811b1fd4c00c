"""The benchmark data (benchmarks/datagen.py), made by etl-cli's generator from benchmarks/pipelines/datagen.

Every declared contract is checked here with pandas on a 10,000-row set, independently of the
generator; the same seed must give the same bytes. Only the Python engine runs here (no JVM):
tests/spark/test_benchmark_datagen.py checks that the Spark path writes the same bytes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from benchmarks import datagen
from tests.clihelp import REPO

ROWS = 10_000
SEED = 7
STATUS_SHARES = {"paid": 0.60, "shipped": 0.25, "cancelled": 0.10, "refunded": 0.05}
COUNTRIES = {"DE", "FR", "NL", "NO", "PL", "SE", "ES", "IT", "BE", "AT", "DK", "FI"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> datagen.Dataset:
    return datagen.ensure_dataset(ROWS, SEED, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def orders(dataset: datagen.Dataset) -> pd.DataFrame:
    return pd.read_csv(dataset.orders_csv, keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def customers(dataset: datagen.Dataset) -> pd.DataFrame:
    return pd.read_csv(dataset.customers_csv, keep_default_na=False, dtype=str)


def ddl_names(ddl: str) -> list[str]:
    return [entry.split()[0] for entry in ddl.split(", ")]


def test_the_same_seed_gives_byte_identical_files(dataset: datagen.Dataset, tmp_path: Path) -> None:
    again = datagen.ensure_dataset(ROWS, SEED, tmp_path)
    for name in ("orders.csv", "customers.csv", "manifest.json"):
        assert (again.folder / name).read_bytes() == (dataset.folder / name).read_bytes(), name
    # an interrupted run (no manifest, a partial file) is generated again, to the same bytes
    (again.folder / "manifest.json").unlink()
    again.orders_csv.write_text("order_id\n1\n")
    assert datagen.ensure_dataset(ROWS, SEED, tmp_path).orders_csv.read_bytes() == dataset.orders_csv.read_bytes()
    manifest = json.loads((again.folder / "manifest.json").read_text())
    assert manifest["generator_version"] == datagen.GENERATOR_VERSION
    assert (manifest["rows"], manifest["customers"], manifest["seed"]) == (ROWS, 100, SEED)


def test_another_seed_gives_other_rows(tmp_path: Path) -> None:
    first = datagen.ensure_dataset(1_000, 1, tmp_path)
    second = datagen.ensure_dataset(1_000, 2, tmp_path)
    assert first.orders_csv.read_bytes() != second.orders_csv.read_bytes()


def test_the_files_have_the_columns_the_batch_benchmarks_declare(orders: pd.DataFrame, customers: pd.DataFrame) -> None:
    assert list(orders.columns) == ddl_names(datagen.ORDERS_DDL)
    assert list(customers.columns) == ddl_names(datagen.CUSTOMERS_DDL)
    for pipeline in ("batch_simple", "batch_complex", "datagen"):
        spec = yaml.safe_load((REPO / "benchmarks" / "pipelines" / pipeline / "pipeline.yaml").read_text())
        schemas = {source["name"]: source["schema"] for source in spec["sources"]}
        assert schemas["orders"] == datagen.ORDERS_DDL, pipeline
        assert schemas.get("customers", datagen.CUSTOMERS_DDL) == datagen.CUSTOMERS_DDL, pipeline


def test_orders_keep_their_declared_contracts(orders: pd.DataFrame, customers: pd.DataFrame) -> None:
    assert len(orders) == ROWS
    assert (orders != "").all().all()  # no nulls (an empty CSV field)
    ids = orders["order_id"].astype(int)
    assert ids.is_unique and (ids.min(), ids.max()) == (1, ROWS)
    assert set(orders["customer_id"]) <= set(customers["customer_id"])
    moments = pd.to_datetime(orders["order_ts"], format="%Y-%m-%d %H:%M:%S")
    assert moments.min() >= pd.Timestamp("2026-01-01") and moments.max() < pd.Timestamp("2026-01-31")
    assert moments.dt.normalize().nunique() == 30
    assert orders["amount"].str.fullmatch(r"\d{1,3}\.\d\d").all()
    amounts = orders["amount"].astype(float)
    assert amounts.min() >= 1.00 and amounts.max() <= 499.99
    assert set(orders["quantity"].astype(int)) == set(range(1, 11))
    assert set(orders["channel"]) == {"web", "app", "store"}
    shares = orders["status"].value_counts(normalize=True).to_dict()
    assert shares.keys() == STATUS_SHARES.keys()
    for status, expected in STATUS_SHARES.items():
        assert abs(shares[status] - expected) < 0.02, (status, shares)


def test_customers_keep_their_declared_contracts(customers: pd.DataFrame) -> None:
    assert len(customers) == datagen.customer_count(ROWS) == 100
    assert (customers != "").all().all()
    assert sorted(customers["customer_id"].astype(int)) == list(range(1, 101))
    assert all(re.fullmatch(r"Customer \d{7}", name) for name in customers["name"])
    assert set(customers["country"]) <= COUNTRIES
    assert set(customers["segment"]) == {"consumer", "business"}
    days = pd.to_datetime(customers["signup_date"], format="%Y-%m-%d")
    assert days.min() >= pd.Timestamp("2024-01-01") and days.max() <= pd.Timestamp("2025-11-30")


def test_the_orders_spread_over_every_customer(orders: pd.DataFrame) -> None:
    per_customer = orders["customer_id"].value_counts()
    assert len(per_customer) == 100 and per_customer.min() > 50  # about 100 each
