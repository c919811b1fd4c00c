"""What a registration writes to each catalog, and how it is read back, without a catalog: expected values by hand."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from etl_cli.errors import ConfigError
from etl_cli.model.catalog import GlueCatalog, HiveCatalog, Registration
from etl_cli.plugins.sinks.filetree import LocalFiles
from etl_cli.runtime.catalog.entry import Column, TableEntry, written_entry
from etl_cli.runtime.catalog.glue import entry_of, glue_client, partition_input, table_input
from etl_cli.runtime.catalog.hive import create_table_sql, hive_settings
from etl_cli.runtime.catalog.partitions import partition_folders, partition_values

GLUE = GlueCatalog("lake", "sales")
REGISTRATION = Registration(
    sink="orders_out",
    catalog=GLUE,
    database="sales",
    table="orders",
    format="parquet",
    path="s3a://bucket/orders",
    partition_by=("day",),
    description="Orders, one folder per day.",
    owner="data-team",
    tags={"domain": "sales"},
    column_tags={"email": ("pii", "contact")},
)
FIELDS = [("id", "bigint"), ("email", "string"), ("day", "date")]
BY = {"project": "shop", "pipeline": "orders", "sink": "orders_out", "run_id": "r1"}

#: the table properties of :func:`entry`: its tags, PII columns and who registered it
PROPERTIES = {
    "domain": "sales",
    "pii_columns": "email",
    "etl_cli.tags": "domain",
    "etl_cli.project": "shop",
    "etl_cli.pipeline": "orders",
    "etl_cli.sink": "orders_out",
    "etl_cli.run_id": "r1",
}


def entry(**changes: Any) -> TableEntry:
    written = written_entry(REGISTRATION, FIELDS, "s3://bucket/orders", ["day=2024-03-01", "day=2024-03-02"], BY)
    return TableEntry(**{**written.__dict__, **changes})


def test_a_written_entry_splits_data_columns_from_partition_keys_and_tags_columns() -> None:
    written = entry()
    assert written.columns == (Column("id", "bigint"), Column("email", "string", ("pii", "contact")))
    assert written.partition_keys == (Column("day", "date"),)
    assert (written.qualified_name, written.pii_columns) == ("sales.orders", ("email",))


def test_the_properties_hold_the_tags_the_pii_columns_and_who_registered_the_table() -> None:
    assert entry().properties() == PROPERTIES


def test_glue_gets_an_external_parquet_table_with_partition_keys_and_column_tags() -> None:
    assert table_input(entry(), {}) == {
        "Name": "orders",
        "TableType": "EXTERNAL_TABLE",
        "Description": "Orders, one folder per day.",
        "Owner": "data-team",
        "Parameters": {**PROPERTIES, "classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": "day", "Type": "date"}],
        "StorageDescriptor": {
            "Columns": [
                {"Name": "id", "Type": "bigint"},
                {"Name": "email", "Type": "string", "Parameters": {"tags": "pii,contact"}},
            ],
            "Location": "s3://bucket/orders",
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {
                "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                "Parameters": {"serialization.format": "1"},
            },
        },
    }


def test_a_glue_partition_is_located_in_its_folder_with_the_values_unescaped() -> None:
    partition = partition_input(entry(), "day=2024%2F03", {})
    assert partition["Values"] == ["2024/03"]
    assert partition["StorageDescriptor"]["Location"] == "s3://bucket/orders/day=2024%2F03"


def test_a_csv_table_in_glue_reads_the_separator_and_skips_the_header_line() -> None:
    table = table_input(entry(format="csv"), {"sep": ";", "header": "true"})
    assert table["Parameters"]["skip.header.line.count"] == "1"
    assert table["StorageDescriptor"]["SerdeInfo"] == {
        "SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde",
        "Parameters": {"separatorChar": ";", "quoteChar": '"', "escapeChar": "\\"},
    }


def test_a_glue_table_reads_back_as_the_entry_it_was_written_from() -> None:
    written = entry()
    table = {**table_input(written, {}), "DatabaseName": "sales", "CatalogId": "123456789012"}
    partitions = [{"Values": ["2024-03-02"]}, {"Values": ["2024-03-01"]}]
    assert entry_of("lake", table, partitions) == written


def test_hive_gets_an_external_data_source_table_over_the_published_folder() -> None:
    hive = Registration("orders_out", HiveCatalog("hive"), "sales", "orders", "csv", "out/orders", ("day",))
    written = written_entry(hive, FIELDS, "/data/it's/orders", [], {"sink": "orders_out"})
    tagged = TableEntry(
        **{**written.__dict__, "columns": (Column("id", "bigint"), Column("email", "string", ("pii",)))}
    )
    assert create_table_sql(tagged, {"header": "true"}) == (
        "CREATE TABLE `sales`.`orders` (`id` bigint, `email` string COMMENT 'tags: pii', `day` date)\n"
        "USING csv\n"
        "OPTIONS ('header' 'true')\n"
        "PARTITIONED BY (`day`)\n"
        "LOCATION '/data/it\\'s/orders'\n"
        "TBLPROPERTIES ('pii_columns' = 'email', 'etl_cli.sink' = 'orders_out')"
    )


def test_a_session_with_the_metastore_keeps_everything_under_the_state_folder(tmp_path: Path) -> None:
    settings = hive_settings(HiveCatalog("hive"), tmp_path / "state", {"spark.driver.extraJavaOptions": "-Da=1"})
    assert settings == {
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={tmp_path}/state/metastore_db;"
        "create=true",
        "spark.sql.warehouse.dir": f"{tmp_path}/state/warehouse",
        "spark.driver.extraJavaOptions": f"-Da=1 -Dderby.stream.error.file={tmp_path}/state/logs/derby.log",
    }


def test_the_partitions_are_the_key_value_folders_of_the_target(tmp_path: Path) -> None:
    for folder in ("day=1/hour=0", "day=1/hour=5", "day=2/hour=0", "_temporary/x", ".etl-staging/day=9/hour=1"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "day=2" / "part-0.parquet").write_text("")
    assert partition_folders(LocalFiles(), str(tmp_path), ("day", "hour")) == [
        "day=1/hour=0",
        "day=1/hour=5",
        "day=2/hour=0",
    ]
    assert partition_folders(LocalFiles(), str(tmp_path), ()) == []


def test_partition_values_are_unescaped_as_spark_escaped_them() -> None:
    assert partition_values("a=1/b=x%2Fy%3D") == ["1", "x/y="]


def test_search_matches_names_descriptions_columns_and_tags_ignoring_case() -> None:
    found = entry()
    assert found.matches("ORDERS") == ["name", "description"]
    assert found.matches("mail") == ["column email"]
    assert found.matches("pii") == ["column email tag pii"]
    assert found.matches("domain=sales") == ["tag domain=sales"]
    assert found.matches("nothing") == []


def test_glue_without_boto3_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def without_boto3(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "boto3":
            raise ImportError("No module named 'boto3'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_boto3)
    with pytest.raises(ConfigError) as caught:
        glue_client(GLUE)
    assert (caught.value.message, caught.value.hint) == (
        "catalog 'lake' (glue) needs boto3, which is not installed",
        "pip install 'etl-cli[aws]'",
    )
