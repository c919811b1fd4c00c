"""Dataset names follow the OpenLineage naming conventions (https://openlineage.io/docs/spec/naming)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli.lineage.naming import DatasetName, dataset_name
from etl_cli.plugins.api import StageSpec

ROOT = Path("/projects/shop")


def stage(kind: str = "source", type_: str = "csv", **options: Any) -> StageSpec:
    return StageSpec(name="s", kind=kind, type=type_, inputs=(), options=options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data/orders.csv", DatasetName("file", "/projects/shop/data/orders.csv")),
        ("./data/../data//orders/", DatasetName("file", "/projects/shop/data/orders")),
        ("/var/lake/orders", DatasetName("file", "/var/lake/orders")),
        ("file:///var/lake/orders", DatasetName("file", "/var/lake/orders")),
        (["data/one.csv"], DatasetName("file", "/projects/shop/data/one.csv")),
        ("s3a://landing/products/", DatasetName("s3://landing", "products")),
        ("s3://landing/2024/orders.csv", DatasetName("s3://landing", "2024/orders.csv")),
        ("hdfs://namenode:8020/warehouse/orders", DatasetName("hdfs://namenode:8020", "/warehouse/orders")),
    ],
)
def test_a_file_dataset_is_named_by_where_it_is(path: Any, expected: DatasetName) -> None:
    assert dataset_name(stage(path=path), ROOT) == expected


@pytest.mark.parametrize(
    ("url", "table", "expected"),
    [
        ("jdbc:postgresql://db:5432/shop", "orders", DatasetName("postgres://db:5432", "shop.public.orders")),
        ("jdbc:postgresql://db/shop?ssl=true", "sales.Orders", DatasetName("postgres://db:5432", "shop.sales.orders")),
        ("jdbc:postgresql://db/shop", '"Sales"."Orders"', DatasetName("postgres://db:5432", "shop.Sales.Orders")),
        ("jdbc:mysql://db:3306/shop", "orders", DatasetName("mysql://db:3306", "shop.orders")),
        ("jdbc:mariadb://db/shop", "archive.orders", DatasetName("mysql://db:3306", "archive.orders")),
    ],
)
def test_a_table_is_named_by_its_server_database_schema_and_name(url: str, table: str, expected: DatasetName) -> None:
    assert dataset_name(stage(type_="jdbc", url=url, table=table), ROOT) == expected


@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        ("broker1:9092,broker2:9092", DatasetName("kafka://broker1:9092", "payments")),
        (["broker2:9093", "broker1:9092"], DatasetName("kafka://broker2:9093", "payments")),
    ],
)
def test_a_topic_is_named_by_the_first_bootstrap_server(servers: Any, expected: DatasetName) -> None:
    assert dataset_name(stage(type_="kafka", bootstrap_servers=servers, topic="payments"), ROOT) == expected


@pytest.mark.parametrize(
    "options",
    [
        {"path": "s3a://${secret:vault:buckets#landing}/orders"},
        {"path": ["data/a.csv", "data/b.csv"]},
        {"url": "${secret:env:PG_URL}", "table": "orders"},
        {"url": "jdbc:postgresql://db/shop", "query": "SELECT 1"},
        {"url": "jdbc:sqlserver://db:1433;databaseName=shop", "table": "orders"},
        {"bootstrap_servers": "broker:9092", "pattern": "orders-.*"},
        {"bootstrap_servers": "broker:9092", "topic_column": "topic"},
        {"bootstrap_servers": "${secret:env:BROKERS}", "topic": "orders"},
        {"table": "orders"},
    ],
    ids=lambda options: "-".join(sorted(options)),
)
def test_a_place_that_is_not_one_known_string_offline_has_no_name(options: dict[str, Any]) -> None:
    assert dataset_name(stage(**options), ROOT) is None


def test_a_sink_is_named_as_a_source_of_the_same_place_is() -> None:
    written = dataset_name(stage(kind="sink", type_="parquet", path="lake/orders"), ROOT)
    assert written == dataset_name(stage(type_="parquet", path="/projects/shop/lake/orders/"), ROOT)
    assert written is not None and written.node_id == "dataset:file:/projects/shop/lake/orders"


def test_an_opensearch_index_is_named_by_its_node() -> None:
    def name(url: str, index: str = "people") -> DatasetName | None:
        return dataset_name(StageSpec("s", "sink", "opensearch", (), {"url": url, "index": index}), Path("/p"))

    assert name("http://search.internal:9201") == DatasetName("opensearch://search.internal:9201", "people")
    assert name("https://u:pw@search.internal") == DatasetName("opensearch://search.internal:9200", "people")
    assert name("${secret:env:OS_URL}") is None
