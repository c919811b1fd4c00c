"""Registration in the AWS Glue Data Catalog of the moto server, read back with boto3's own Glue client.

``etl-cli run`` writes orders as Parquet partitioned by day to a moto S3 bucket and registers them in the
project's ``glue`` catalog, served by the same moto endpoint; the test reads the table and its partitions
back with GetTable and GetPartitions. Expected values are written by hand from the CSV files of
:data:`tests.support.ORDERS_BY_DAY`.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.clihelp import etl_cli
from tests.integration.dbhelp import S3_VARS, require, s3_bucket, s3_env, s3_keys, unique
from tests.support import ORDERS_BY_DAY, orders_source
from tests.unit.helpers import make_project

PIPELINE = (
    """\
name: orders
vars:
  data: data/orders.csv
  bucket: warehouse
"""
    + orders_source("BIGINT")
    + """\
sinks:
  - name: orders_out
    type: parquet
    input: raw
    path: s3a://${var:bucket}/lake/orders
    partition_by: [day]
    s3:
      endpoint: ${env:S3_ENDPOINT}
      region: ${env:AWS_REGION}
      path_style_access: true
      access_key: ${secret:env:AWS_ACCESS_KEY_ID}
      secret_key: ${secret:env:AWS_SECRET_ACCESS_KEY}
    catalog:
      name: glue
      table: orders
      description: Orders, one folder per day.
      owner: data-team
      tags: {domain: sales, tier: 1}
"""
)
FILES = {
    "pipelines/orders/pipeline.yaml": PIPELINE,
    **ORDERS_BY_DAY,
}
PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}
COLUMNS = [
    {"Name": "id", "Type": "bigint"},
    {"Name": "email", "Type": "string", "Parameters": {"tags": "pii,contact"}},
    {"Name": "amount", "Type": "decimal(10,2)"},
]


@dataclass(frozen=True)
class Lake:
    """A project registering in a Glue database no other test uses, and a bucket of its own."""

    project: Path
    name: str
    database: str
    bucket: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        settings = {"ETL_STATE_DIR": str(self.project / "state"), **s3_env()}
        return etl_cli(
            "run", "pipelines/orders", "--set", f"vars.bucket={self.bucket}", *args, cwd=self.project, env=settings
        )

    def catalog(self, *args: str) -> subprocess.CompletedProcess[str]:
        return etl_cli(
            "catalog", *args, cwd=self.project, env={"ETL_STATE_DIR": str(self.project / "state"), **s3_env()}
        )


def glue() -> Any:
    env = require(S3_VARS, "s3")
    return boto3.client(
        "glue",
        endpoint_url=env["ETL_TEST_S3_ENDPOINT"],
        aws_access_key_id=env["ETL_TEST_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["ETL_TEST_AWS_SECRET_ACCESS_KEY"],
        region_name=env["ETL_TEST_AWS_REGION"],
    )


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    env = require(S3_VARS, "s3")
    name, database = unique("shop"), unique("sales")
    project = f"""\
name: {name}
catalogs:
  glue:
    type: glue
    database: {database}
    region: {env["ETL_TEST_AWS_REGION"]}
    endpoint_url: {env["ETL_TEST_S3_ENDPOINT"]}
"""
    with s3_bucket("lake") as bucket:
        yield Lake(make_project(tmp_path, FILES, project=project), name, database, bucket)
        client = glue()
        with contextlib.suppress(client.exceptions.EntityNotFoundException):  # a test that failed before creating it
            for table in client.get_tables(DatabaseName=database).get("TableList", []):
                client.delete_table(DatabaseName=database, Name=table["Name"])
            client.delete_database(Name=database)


def partitions(lake: Lake) -> list[tuple[list[str], str]]:
    found = glue().get_partitions(DatabaseName=lake.database, TableName="orders")["Partitions"]
    return sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in found)


def test_a_run_creates_the_database_and_registers_the_table_it_published(lake: Lake) -> None:
    done = lake.run()
    assert done.returncode == 0, done.stderr
    table = glue().get_table(DatabaseName=lake.database, Name="orders")["Table"]
    assert (table["Name"], table["DatabaseName"], table["TableType"]) == ("orders", lake.database, "EXTERNAL_TABLE")
    assert (table["Description"], table["Owner"]) == ("Orders, one folder per day.", "data-team")
    storage = table["StorageDescriptor"]
    assert storage == {"Columns": COLUMNS, "Location": f"s3://{lake.bucket}/lake/orders", **PARQUET}
    assert table["PartitionKeys"] == [{"Name": "day", "Type": "string"}]
    parameters = table["Parameters"]
    assert {k: v for k, v in parameters.items() if k != "etl_cli.run_id"} == {
        "domain": "sales",
        "tier": "1",
        "pii_columns": "email",
        "etl_cli.tags": "domain,tier",
        "etl_cli.project": lake.name,
        "etl_cli.pipeline": "orders",
        "etl_cli.sink": "orders_out",
        "classification": "parquet",
        "EXTERNAL": "TRUE",
    }
    assert partitions(lake) == [
        (["2024-03-01"], f"s3://{lake.bucket}/lake/orders/day=2024-03-01"),
        (["2024-03-02"], f"s3://{lake.bucket}/lake/orders/day=2024-03-02"),
    ]


def test_a_second_run_updates_the_table_and_adds_only_the_new_partition(lake: Lake) -> None:
    assert lake.run().returncode == 0
    first_run = glue().get_table(DatabaseName=lake.database, Name="orders")["Table"]["Parameters"]["etl_cli.run_id"]
    second = lake.run("--set", "vars.data=data/more.csv")
    assert second.returncode == 0, second.stderr
    table = glue().get_table(DatabaseName=lake.database, Name="orders")["Table"]
    assert table["Parameters"]["etl_cli.run_id"] != first_run
    assert [values for values, _ in partitions(lake)] == [["2024-03-01"], ["2024-03-02"], ["2024-03-03"]]
    results = json.loads((lake.project / "state" / "runs" / "orders" / "default" / "latest.json").read_text())
    sink = next(s for s in results["stages"] if s["name"] == "orders_out")
    assert sink["details"]["catalog"] == {"target": "glue:" + lake.database + ".orders", "action": "updated",
                                          "partitions_added": 1}  # fmt: skip


def test_a_table_etl_cli_did_not_register_is_not_replaced_and_the_data_stays_published(lake: Lake) -> None:
    client = glue()
    client.create_database(DatabaseInput={"Name": lake.database})
    client.create_table(DatabaseName=lake.database, TableInput={"Name": "orders", "Description": "someone else's"})
    refused = lake.run()
    assert refused.returncode == 4
    assert f"registering it as glue:{lake.database}.orders failed: table {lake.database}.orders exists in Glue " in (
        refused.stderr
    )
    assert client.get_table(DatabaseName=lake.database, Name="orders")["Table"]["Description"] == "someone else's"
    published = s3_keys(lake.bucket)
    assert "lake/orders/_ETL_CLI" in published
    assert [k for k in published if k.startswith("lake/orders/day=2024-03-02/part-")]


def test_catalog_list_reads_the_project_tables_from_glue(lake: Lake) -> None:
    assert lake.run().returncode == 0
    listed = lake.catalog("list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (table,) = json.loads(listed.stdout)["tables"]
    assert (table["catalog"], table["database"], table["name"], table["format"]) == (
        "glue",
        lake.database,
        "orders",
        "parquet",
    )
    assert table["partitions"] == ["day=2024-03-01", "day=2024-03-02"]
    assert (table["pii_columns"], table["tags"]) == (["email"], {"domain": "sales", "tier": "1"})
    text = lake.catalog("list")
    assert text.stdout.splitlines()[1].split() == [
        "glue", f"{lake.database}.orders", "parquet", "2", "email", "orders.orders_out", f"s3://{lake.bucket}/lake/orders"
    ]  # fmt: skip
