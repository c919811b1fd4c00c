"""JDBC against a real PostgreSQL, through ``etl-cli run`` in a subprocess: the upsert (twice, and a
merge that fails half-way), and an incremental, partitioned read into Parquet.

Expected tables are written by hand here, or read from the database with psycopg (a second
client, independent of the JVM driver etl-cli uses); Parquet output is read with pyarrow.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from tests.integration.dbhelp import (
    PIPELINES,
    latest_results,
    pg_env,
    pg_execute,
    pg_rows,
    pg_run_file,
    pg_schema,
    pg_tables,
    run_example,
    stage_result,
)

UPSERT = "csv_to_postgres_upsert"
INCREMENTAL = "postgres_to_parquet_incremental"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("customer_id,name,email,country,updated_at\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def customers(schema: str) -> list[tuple[object, ...]]:
    return pg_rows(f"SELECT customer_id, name, email, country, updated_at FROM {schema}.customers ORDER BY 1")


def test_csv_upsert_run_twice_with_changed_rows_gives_the_expected_table(tmp_path: Path) -> None:
    changed = write_csv(
        tmp_path / "changed.csv",
        [
            "2,Grace Hopper,Grace.Hopper@example.com,US,2024-03-05 08:00:00",
            "4,Amalie Emmy Noether,emmy@example.com,DE,2024-03-05 08:30:00",
            "5,Katherine Johnson,kj@old.example.com,US,2024-03-05 07:00:00",
            "5,Katherine Johnson,katherine@example.com,US,2024-03-05 09:00:00",
        ],
    )
    with pg_schema() as schema:
        pg_run_file(schema, PIPELINES / UPSERT / "setup.sql")
        table = f"vars.table={schema}.customers"

        first = run_example(UPSERT, tmp_path / "state", "--set", table, env=pg_env())
        assert first.returncode == 0, first.stderr
        assert customers(schema) == [
            (1, "Ada Lovelace", "ada@example.com", "GB", ts("2024-03-01 09:00:00")),
            (2, "Grace Hopper", "grace@example.com", "US", ts("2024-03-01 09:05:00")),
            (3, "Alan Turing", "alan@example.com", "GB", ts("2024-03-02 10:00:00")),
            (4, "Emmy Noether", "emmy@example.com", "DE", ts("2024-03-02 11:30:00")),
        ]

        expected = [
            (1, "Ada Lovelace", "ada@example.com", "GB", ts("2024-03-01 09:00:00")),
            (2, "Grace Hopper", "grace.hopper@example.com", "US", ts("2024-03-05 08:00:00")),
            (3, "Alan Turing", "alan@example.com", "GB", ts("2024-03-02 10:00:00")),
            (4, "Amalie Emmy Noether", "emmy@example.com", "DE", ts("2024-03-05 08:30:00")),
            (5, "Katherine Johnson", "katherine@example.com", "US", ts("2024-03-05 09:00:00")),
        ]
        second = run_example(UPSERT, tmp_path / "state", "--set", table, "--set", f"vars.input={changed}", env=pg_env())
        assert second.returncode == 0, second.stderr
        assert customers(schema) == expected
        assert pg_tables(schema) == ["customers"], "no staging table is left behind"
        sink = stage_result(latest_results(tmp_path / "state", UPSERT), "customers_table")
        assert sink["rows_out"] == 3
        assert sink["details"]["keys"] == ["customer_id"]


def test_a_merge_rejected_by_the_database_leaves_the_target_unchanged_and_no_staging_table(tmp_path: Path) -> None:
    before = [
        (1, "Ada Lovelace", "ada@example.com", "GB", ts("2024-03-01 09:00:00")),
        (2, "Grace Hopper", "grace@example.com", "US", ts("2024-03-01 09:05:00")),
    ]
    # the staging table accepts every row (it has the target's column types, not its constraints):
    # the CHECK constraint rejects one row only when the merge runs, after row 1 was already updated
    bad = write_csv(
        tmp_path / "bad.csv",
        [
            "1,Ada King,ada.king@example.com,GB,2024-03-06 09:00:00",
            "9,Nobody,not-an-address,FR,2024-03-06 09:00:00",
        ],
    )
    with pg_schema() as schema:
        pg_run_file(schema, PIPELINES / UPSERT / "setup.sql")
        pg_execute(
            f"INSERT INTO {schema}.customers VALUES (1, 'Ada Lovelace', 'ada@example.com', 'GB', '2024-03-01 09:00'),"
            " (2, 'Grace Hopper', 'grace@example.com', 'US', '2024-03-01 09:05')"
        )
        pg_execute(f"ALTER TABLE {schema}.customers ADD CONSTRAINT email_has_at CHECK (email LIKE '%@%')")

        result = run_example(
            UPSERT, tmp_path / "state", "--set", f"vars.table={schema}.customers", "--set", f"vars.input={bad}",
            env=pg_env(),
        )  # fmt: skip

        assert result.returncode == 4, result.stderr
        assert "email_has_at" in result.stderr
        assert customers(schema) == before
        assert pg_tables(schema) == ["customers"], "the staging table is dropped after the failed merge"


def orders_in_db(schema: str) -> list[tuple[int, Decimal, datetime]]:
    return [(r[0], r[1], r[2]) for r in pg_rows(f"SELECT order_id, amount, updated_at FROM {schema}.orders")]


def orders_in_parquet(folder: Path) -> list[tuple[int, Decimal, datetime]]:
    rows = pq.read_table(folder).to_pylist()
    return [(r["order_id"], r["amount"], r["updated_at"].replace(tzinfo=None)) for r in rows]


def test_partitioned_incremental_read_picks_up_only_new_rows_until_a_full_refresh(tmp_path: Path) -> None:
    out = tmp_path / "orders"
    state = tmp_path / "state"
    with pg_schema() as schema:
        pg_run_file(schema, PIPELINES / INCREMENTAL / "setup.sql")  # orders 1-4, updated on 2024-03-01
        pg_execute(
            f"INSERT INTO {schema}.orders SELECT i, 10 + i % 3, i * 1.5, 'paid', "
            "TIMESTAMP '2024-03-02 00:00' + i * INTERVAL '1 minute' FROM generate_series(5, 20) AS i"
        )
        args = ("--set", f"vars.table={schema}.orders", "--set", f"vars.output={out}")

        first = run_example(INCREMENTAL, state, *args, env=pg_env())
        assert first.returncode == 0, first.stderr
        assert sorted(orders_in_parquet(out)) == sorted(orders_in_db(schema))
        assert len(list(out.glob("part-*.parquet"))) == 4, "4 range queries over order_id 1..20, one file each"
        initial = orders_in_db(schema)

        pg_execute(
            f"INSERT INTO {schema}.orders VALUES (21, 14, 99.00, 'paid', '2024-03-03 10:00'),"
            " (22, 15, 5.25, 'paid', '2024-03-03 10:05')"
        )
        pg_execute(f"UPDATE {schema}.orders SET amount = 13.00, updated_at = '2024-03-03 11:00' WHERE order_id = 3")
        changed = [
            (21, Decimal("99.00"), ts("2024-03-03 10:00")),
            (22, Decimal("5.25"), ts("2024-03-03 10:05")),
            (3, Decimal("13.00"), ts("2024-03-03 11:00")),
        ]

        second = run_example(INCREMENTAL, state, *args, env=pg_env())
        assert second.returncode == 0, second.stderr
        assert stage_result(latest_results(state, INCREMENTAL), "orders")["rows_out"] == 3
        assert sorted(orders_in_parquet(out)) == sorted(initial + changed), "appended: only the 3 changed rows"
        watermark = json.loads((state / "state" / INCREMENTAL / "dev" / "orders.json").read_text())["value"]
        assert (watermark["column"], watermark["value"]) == ("updated_at", "2024-03-03 11:00:00")

        full = run_example(
            INCREMENTAL, state, *args, "--full-refresh", "--set", "sinks.orders_parquet.mode=overwrite", env=pg_env()
        )
        assert full.returncode == 0, full.stderr
        assert stage_result(latest_results(state, INCREMENTAL), "orders")["rows_out"] == 22
        assert sorted(orders_in_parquet(out)) == sorted(orders_in_db(schema))
