"""S3 (moto) through ``etl-cli run``: two buckets with their own settings upserted into MariaDB, and
PostgreSQL exported to partitioned Parquet in a bucket, read back with boto3 and pyarrow.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.dataset as ds
import pytest
from pyarrow import fs

from tests.integration.dbhelp import (
    PIPELINES,
    S3_VARS,
    latest_results,
    mysql_connect,
    mysql_database,
    mysql_env,
    mysql_rows,
    mysql_run_file,
    pg_env,
    pg_execute,
    pg_rows,
    pg_run_file,
    pg_schema,
    require,
    run_example,
    s3_bucket,
    s3_client,
    s3_env,
    s3_keys,
    stage_result,
)

TO_MARIADB = "s3_to_mariadb"
TO_S3 = "postgres_to_s3"
#: each bucket of s3_to_mariadb gets its own credentials (moto accepts any)
BUCKET_CREDENTIALS = {
    "LANDING_ACCESS_KEY": "landing-key",
    "LANDING_SECRET_KEY": "landing-secret-value",
    "PARTNER_ACCESS_KEY": "partner-key",
    "PARTNER_SECRET_KEY": "partner-secret-value",
}


@pytest.fixture
def buckets() -> Iterator[tuple[str, str]]:
    with s3_bucket("landing") as landing, s3_bucket("partner") as partner:
        yield landing, partner


def put(bucket: str, key: str, text: str) -> None:
    s3_client().put_object(Bucket=bucket, Key=key, Body=text.encode())


def inventory(database: str) -> list[tuple[object, ...]]:
    return mysql_rows(database, "SELECT sku, name, price, warehouse, quantity FROM inventory ORDER BY sku")


def test_two_buckets_with_their_own_settings_upsert_into_mariadb_and_a_second_run_changes_nothing(
    tmp_path: Path, buckets: tuple[str, str]
) -> None:
    landing, partner = buckets
    put(landing, "products/products.csv", (PIPELINES / TO_MARIADB / "data" / "products.csv").read_text())
    put(partner, "stock/stock.json", (PIPELINES / TO_MARIADB / "data" / "stock.json").read_text())
    env = {**mysql_env(), **s3_env(), **BUCKET_CREDENTIALS}
    with mysql_database() as database:
        mysql_run_file(database, PIPELINES / TO_MARIADB / "setup.sql")
        conn = mysql_connect(database)
        with conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO inventory VALUES ('A-100', 'Cup (old name)', 3.99, 'south', 1),"
                " ('Z-999', 'Kept as is', 1.00, 'east', 7)"
            )
        conn.close()
        args = (
            "--set", f"vars.landing=s3a://{landing}/products/",
            "--set", f"vars.partner=s3a://{partner}/stock/",
            "--set", f"vars.table={database}.inventory",
        )  # fmt: skip
        expected = [
            ("A-100", "Espresso cup", Decimal("4.50"), "north", 120),  # updated
            ("A-200", "Milk jug", Decimal("12.00"), "north", 15),  # inserted
            ("B-300", "Grinder", Decimal("89.90"), "south", 4),  # inserted
            ("Z-999", "Kept as is", Decimal("1.00"), "east", 7),  # not in the files: untouched
        ]

        for _ in range(2):  # the second identical run must leave the same table
            result = run_example(TO_MARIADB, tmp_path / "state", *args, env=env)
            assert result.returncode == 0, result.stderr
            assert inventory(database) == expected
        assert mysql_rows(database, "SHOW TABLES") == [("inventory",)], "no staging table is left behind"
        sink = stage_result(latest_results(tmp_path / "state", TO_MARIADB), "inventory_table")
        assert sink["rows_out"] == 3 and sink["details"]["keys"] == ["sku"]


def s3_parquet(bucket: str, prefix: str) -> list[tuple[int, Decimal, str]]:
    """Rows of a hive-partitioned Parquet folder in S3, read with pyarrow's own S3 client."""
    settings = require(S3_VARS, "s3")
    endpoint = urlsplit(settings["ETL_TEST_S3_ENDPOINT"])
    s3 = fs.S3FileSystem(
        access_key=settings["ETL_TEST_AWS_ACCESS_KEY_ID"],
        secret_key=settings["ETL_TEST_AWS_SECRET_ACCESS_KEY"],
        region=settings["ETL_TEST_AWS_REGION"],
        endpoint_override=endpoint.netloc,
        scheme=endpoint.scheme,
    )
    table = ds.dataset(f"{bucket}/{prefix}", filesystem=s3, format="parquet", partitioning="hive").to_table()
    return sorted((r["order_id"], r["amount"], str(r["order_date"])) for r in table.to_pylist())


def orders_by_day(schema: str, since: date | None = None) -> list[tuple[int, Decimal, str]]:
    where = f" WHERE updated_at >= '{since}'" if since else ""
    rows = pg_rows(f"SELECT order_id, amount, to_char(updated_at, 'YYYY-MM-DD') FROM {schema}.orders{where}")
    return sorted((r[0], r[1], r[2]) for r in rows)


def folders(keys: dict[str, str]) -> dict[str, dict[str, str]]:
    """Objects by partition folder (order_date=...)."""
    grouped: dict[str, dict[str, str]] = {}
    for key, etag in keys.items():
        part = next((p for p in key.split("/") if p.startswith("order_date=")), None)
        if part:
            grouped.setdefault(part, {})[key] = etag
    return grouped


def test_postgres_to_partitioned_parquet_in_a_bucket_and_a_second_run_replacing_some_days(tmp_path: Path) -> None:
    prefix = "exports/orders"
    env = {**pg_env(), **s3_env()}
    with pg_schema() as schema, s3_bucket("warehouse") as bucket:
        pg_run_file(schema, PIPELINES / "postgres_to_parquet_incremental" / "setup.sql")  # 4 orders, 2024-03-01
        pg_execute(
            f"INSERT INTO {schema}.orders VALUES (5, 12, 7.00, 'paid', '2024-03-02 09:00'),"
            " (6, 13, 8.50, 'paid', '2024-03-02 10:00')"
        )
        args = (
            "--set", f"vars.table={schema}.orders",
            "--set", f"vars.bucket={bucket}",
            "--set", f"vars.prefix={prefix}",
        )  # fmt: skip

        first = run_example(TO_S3, tmp_path / "state", *args, env=env)
        assert first.returncode == 0, first.stderr
        assert s3_parquet(bucket, prefix) == orders_by_day(schema)
        written = s3_keys(bucket)
        assert set(folders(written)) == {"order_date=2024-03-01", "order_date=2024-03-02"}
        assert not [k for k in written if ".etl-" in k], "no staging objects are left in the bucket"

        pg_execute(f"UPDATE {schema}.orders SET amount = 9.99 WHERE order_id = 6")
        pg_execute(f"INSERT INTO {schema}.orders VALUES (7, 10, 3.00, 'paid', '2024-03-03 08:00')")
        recent = f"sources.orders.query=SELECT * FROM {schema}.orders WHERE updated_at >= '2024-03-02'"
        second = run_example(TO_S3, tmp_path / "state", *args, "--set", recent, env=env)
        assert second.returncode == 0, second.stderr

        after = folders(s3_keys(bucket))
        assert after["order_date=2024-03-01"] == folders(written)["order_date=2024-03-01"], "day 1 is untouched"
        assert set(after["order_date=2024-03-02"]).isdisjoint(folders(written)["order_date=2024-03-02"])
        assert set(after) == {"order_date=2024-03-01", "order_date=2024-03-02", "order_date=2024-03-03"}
        assert s3_parquet(bucket, prefix) == orders_by_day(schema)
        sink = stage_result(latest_results(tmp_path / "state", TO_S3), "orders_s3")
        assert sink["details"]["partitions_replaced"] == 2
