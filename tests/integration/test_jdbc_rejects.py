"""Rows the database refuses go to the dead-letter queue (``on_reject: dead_letter``), against a real
PostgreSQL and MariaDB: the good rows are loaded, the refused ones are dead letters naming the constraint,
and with the default ``on_reject: fail`` one refused row fails the run and changes nothing.

The tables are read back with psycopg and PyMySQL (clients independent of the JVM driver etl-cli uses),
the queue with ``etl-cli dlq show --format json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.integration.dbhelp import (
    mysql_connect,
    mysql_database,
    mysql_env,
    mysql_rows,
    pg_env,
    pg_execute,
    pg_rows,
    pg_schema,
    pg_tables,
)

PG_TABLE = """
CREATE TABLE {table} (
    item_id  BIGINT PRIMARY KEY,
    name     VARCHAR(8) NOT NULL,
    qty      INTEGER CONSTRAINT qty_positive CHECK (qty > 0),
    price    NUMERIC(6, 2)
)"""
MYSQL_TABLE = """
CREATE TABLE {table} (
    item_id  BIGINT PRIMARY KEY,
    name     VARCHAR(8) NOT NULL,
    qty      INT,
    price    DECIMAL(6, 2),
    CONSTRAINT qty_positive CHECK (qty > 0)
)"""
#: the items already in the table before each run
BEFORE = [(1, "apple", 5, "1.50"), (2, "pear", 3, "2.00")]
#: rows 11, 12, 13 and 14 are refused: name too long, no name, qty not positive, price out of range
ROWS = [
    "1,apple,7,1.60",
    "10,plum,4,0.80",
    "11,watermelon,1,3.00",
    "12,,2,1.00",
    "13,fig,0,4.00",
    "14,kiwi,2,12345.00",
    "15,lime,9,0.30",
]
REFUSED = {
    11: ("watermelon", "too long"),
    12: (None, "name"),
    13: ("fig", "qty_positive"),
    14: ("kiwi", "out of range|overflow"),
}
UPSERTED = [(1, "apple", 7, "1.60"), (2, "pear", 3, "2.00"), (10, "plum", 4, "0.80"), (15, "lime", 9, "0.30")]
APPENDED = [(1, "apple", 5, "1.50"), (2, "pear", 3, "2.00"), (10, "plum", 4, "0.80"), (15, "lime", 9, "0.30")]

PIPELINE = """\
name: items
spark:
  master: local[2]
  conf: {{spark.sql.shuffle.partitions: 2}}
sources:
  - name: items_csv
    type: csv
    path: items.csv
    schema: {{item_id: BIGINT, name: STRING, qty: INT, price: "DECIMAL(10,2)"}}
sinks:
  - name: items_table
    type: jdbc
    input: items_csv
    url: {url}
    table: {table}
    user: {user}
    password: ${{secret:env:DB_PASSWORD}}
    mode: {mode}
{extra}
"""
DEAD_LETTER = "dead_letter: {type: parquet, path: dead_letters}\n"


def project(root: Path, url: str, table: str, user: str, mode: str, on_reject: str | None, rows: list[str]) -> Path:
    """A project writing ``rows`` (CSV lines) into ``table``; with ``on_reject``, a parquet dead-letter queue."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "etl-project.yaml").write_text("name: rejects\n", encoding="utf-8")
    (root / "items.csv").write_text("item_id,name,qty,price\n" + "\n".join(rows) + "\n", encoding="utf-8")
    extra = f"    on_reject: {on_reject}\n{DEAD_LETTER}" if on_reject else ""
    text = PIPELINE.format(url=url, table=table, user=user, mode=mode, extra=extra)
    (root / "pipeline.yaml").write_text(text, encoding="utf-8")
    return root


def run(root: Path, password: str, *args: str) -> Any:
    env = {"ETL_STATE_DIR": str(root / "state"), "DB_PASSWORD": password}
    return etl_cli(*args, str(root / "pipeline.yaml"), env=env, cwd=root)


def results(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "state" / "runs" / "items" / "default" / "latest.json").read_text())
    return data


def dead_letters(root: Path, password: str) -> list[dict[str, Any]]:
    shown = run(root, password, "dlq", "show", "--format", "json", "--limit", "100")
    assert shown.returncode == 0, shown.stderr
    return [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]


def assert_refused_rows_are_dead_letters(root: Path, password: str, rows: list[str]) -> None:
    letters = dead_letters(root, password)
    by_id = {json.loads(letter["row"])["item_id"]: letter for letter in letters}
    assert sorted(by_id) == sorted(REFUSED)
    for item_id, (name, reason) in REFUSED.items():
        letter = by_id[item_id]
        assert (letter["stage"], letter["kind"]) == ("items_table", "rejected")
        assert letter["run_id"] == results(root)["run_id"]
        assert json.loads(letter["row"])["name"] == name
        assert any(word in letter["reason"].lower() for word in reason.split("|")), letter["reason"]
    stages = {s["name"]: s for s in results(root)["stages"]}
    sink = stages["items_table"]
    assert (sink["rows_in"], sink["rows_out"]) == (len(rows), len(rows) - len(REFUSED))
    assert sink["details"]["rows_rejected"] == len(REFUSED)
    assert stages["items_csv"]["rows_out"] == len(rows), "rows in = rows written + rows rejected"
    assert results(root)["dead_letters"]["by_stage"] == {"items_table": {"rejected": len(REFUSED)}}


# --------------------------------------------------------------------------- PostgreSQL


def pg_project(root: Path, schema: str, mode: str, on_reject: str | None, rows: list[str] = ROWS) -> Path:
    env = pg_env()
    url = f"jdbc:postgresql://{env['PG_HOST']}:{env['PG_PORT']}/{env['PG_DB']}"
    pg_execute(PG_TABLE.format(table=f"{schema}.items"))
    values = ", ".join(f"({i}, '{n}', {q}, {p})" for i, n, q, p in BEFORE)
    pg_execute(f"INSERT INTO {schema}.items VALUES {values}")
    return project(root, url, f"{schema}.items", env["PG_USER"], mode, on_reject, rows)


def pg_items(schema: str) -> list[tuple[Any, ...]]:
    rows = pg_rows(f"SELECT item_id, name, qty, price FROM {schema}.items ORDER BY 1")
    return [(i, n, q, f"{p:.2f}") for i, n, q, p in rows]


@pytest.mark.parametrize(("mode", "expected"), [("upsert", UPSERTED), ("append", APPENDED)])
def test_postgres_loads_the_good_rows_and_dead_letters_the_refused_ones(
    tmp_path: Path, mode: str, expected: list[tuple[Any, ...]]
) -> None:
    rows = ROWS if mode == "upsert" else ROWS[1:]  # appending item 1 again would break the primary key
    with pg_schema() as schema:
        root = pg_project(tmp_path, schema, mode, "dead_letter", rows)

        result = run(root, pg_env()["PG_PASSWORD"], "run")

        assert result.returncode == 0, result.stderr
        assert pg_items(schema) == expected
        assert pg_tables(schema) == ["items"], "no staging table is left behind"
        assert_refused_rows_are_dead_letters(root, pg_env()["PG_PASSWORD"], rows)


def test_postgres_refuses_a_bad_row_by_default_and_leaves_the_table_unchanged(tmp_path: Path) -> None:
    with pg_schema() as schema:
        root = pg_project(tmp_path, schema, "upsert", None)
        before = pg_items(schema)

        result = run(root, pg_env()["PG_PASSWORD"], "run")

        assert result.returncode == 4, result.stderr
        assert pg_items(schema) == before
        assert pg_tables(schema) == ["items"]


def test_postgres_upsert_of_a_repeated_key_fails_naming_the_key_and_leaves_the_table_unchanged(tmp_path: Path) -> None:
    with pg_schema() as schema:
        root = pg_project(tmp_path, schema, "upsert", None, ["10,plum,4,0.80", "10,plum,5,0.90", "15,lime,9,0.30"])
        before = pg_items(schema)

        result = run(root, pg_env()["PG_PASSWORD"], "run")

        assert result.returncode == 4, result.stderr
        assert "repeat keys: item_id=10 (2 rows)" in result.stderr
        assert pg_items(schema) == before
        assert pg_tables(schema) == ["items"]


def test_postgres_dead_letter_replay_loads_the_fixed_rows_into_that_sink(tmp_path: Path) -> None:
    password = pg_env()["PG_PASSWORD"]
    with pg_schema() as schema:
        root = pg_project(tmp_path, schema, "upsert", "dead_letter")
        assert run(root, password, "run").returncode == 0
        first_run = results(root)["run_id"]
        counted = run(root, password, "dlq", "count", "--format", "json")
        assert json.loads(counted.stdout)["groups"] == [
            {"run_id": first_run, "stage": "items_table", "kind": "rejected", "check": None, "rows": len(REFUSED)}
        ]
        pg_execute(f"ALTER TABLE {schema}.items DROP CONSTRAINT qty_positive")

        replay = run(root, password, "dlq", "replay", "--run", first_run, "--stage", "items_table")

        assert replay.returncode == 0, replay.stderr
        assert (13, "fig", 0, "4.00") in pg_items(schema), "the row refused by the dropped CHECK is loaded"
        assert len(pg_items(schema)) == len(UPSERTED) + 1, "the still-refused rows are not"
        assert results(root)["dead_letters"]["by_stage"]["items_table"] == {"rejected": len(REFUSED) - 1}


# --------------------------------------------------------------------------- MariaDB


def mysql_project(root: Path, database: str, mode: str, on_reject: str | None, rows: list[str] = ROWS) -> Path:
    env = mysql_env()
    url = f"jdbc:mariadb://{env['MYSQL_HOST']}:{env['MYSQL_PORT']}/{database}"
    conn = mysql_connect(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(MYSQL_TABLE.format(table="items"))
            cursor.executemany("INSERT INTO items VALUES (%s, %s, %s, %s)", BEFORE)
    finally:
        conn.close()
    return project(root, url, f"{database}.items", env["MYSQL_USER"], mode, on_reject, rows)


def mysql_items(database: str) -> list[tuple[Any, ...]]:
    rows = mysql_rows(database, "SELECT item_id, name, qty, price FROM items ORDER BY 1")
    return [(i, n, q, f"{p:.2f}") for i, n, q, p in rows]


def mysql_tables(database: str) -> list[str]:
    return sorted(r[0] for r in mysql_rows(database, "SHOW TABLES"))


@pytest.mark.parametrize(("mode", "expected"), [("upsert", UPSERTED), ("append", APPENDED)])
def test_mariadb_loads_the_good_rows_and_dead_letters_the_refused_ones(
    tmp_path: Path, mode: str, expected: list[tuple[Any, ...]]
) -> None:
    rows = ROWS if mode == "upsert" else ROWS[1:]
    with mysql_database() as database:
        root = mysql_project(tmp_path, database, mode, "dead_letter", rows)

        result = run(root, mysql_env()["MYSQL_PASSWORD"], "run")

        assert result.returncode == 0, result.stderr
        assert mysql_items(database) == expected
        assert mysql_tables(database) == ["items"], "no staging table is left behind"
        assert_refused_rows_are_dead_letters(root, mysql_env()["MYSQL_PASSWORD"], rows)


def test_mariadb_refuses_a_bad_row_by_default_and_leaves_the_table_unchanged(tmp_path: Path) -> None:
    with mysql_database() as database:
        root = mysql_project(tmp_path, database, "upsert", None)
        before = mysql_items(database)

        result = run(root, mysql_env()["MYSQL_PASSWORD"], "run")

        assert result.returncode == 4, result.stderr
        assert mysql_items(database) == before
        assert mysql_tables(database) == ["items"]
