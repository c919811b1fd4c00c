"""No SQL through configuration: names given to a JDBC stage (in YAML or with ``--set``) against a
real PostgreSQL (which runs stacked statements) and MariaDB, through ``etl-cli run``.

A name that could end the identifier or start a statement is refused before anything connects
(exit 1); a quoted name, however strange, reaches the database as one identifier (the run fails
naming it, exit 4). Either way the victim table is still there with its rows, as psycopg and
PyMySQL (clients independent of the JVM driver etl-cli uses) read it afterwards.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.integration import dbhelp

ORDERS_TABLES = ("orders", "orders_copy")
VICTIM_ROWS = [(1, "keep me"), (2, "and me")]
PIPELINE = """\
name: injection
spark:
  master: local[1]
sources:
  - name: src
    type: jdbc
    url: {url}
    user: {user}
    password: ${{secret:env:DB_PASSWORD}}
    table: {space}.orders
{source_extra}sinks:
  - name: out
    type: jdbc
    input: src
    url: {url}
    user: {user}
    password: ${{secret:env:DB_PASSWORD}}
    table: {space}.orders_copy
    mode: upsert
"""


@dataclass(frozen=True)
class Database:
    """A scratch schema (PostgreSQL) or database (MariaDB) holding orders, orders_copy, victim, and
    "Orders 2024" and "Copy 2024" with the columns "Order Id" and "Updated At"."""

    url: str
    user: str
    password: str
    space: str
    victim: Callable[[], list[tuple[Any, ...]]]
    #: the rows of the table "Copy 2024"
    copy: Callable[[], list[tuple[Any, ...]]]


@contextmanager
def postgres() -> Iterator[Database]:
    login = dbhelp.pg_jdbc()
    with dbhelp.pg_schema() as schema:
        for table in ORDERS_TABLES:
            dbhelp.pg_execute(f"CREATE TABLE {schema}.{table} (order_id BIGINT PRIMARY KEY, updated_at TIMESTAMP)")
        dbhelp.pg_execute(f"INSERT INTO {schema}.orders VALUES (1, '2024-03-01 09:00'), (2, '2024-03-02 09:00')")
        for table in ('"Orders 2024"', '"Copy 2024"'):
            dbhelp.pg_execute(f'CREATE TABLE {schema}.{table} ("Order Id" BIGINT PRIMARY KEY, "Updated At" TIMESTAMP)')
        dbhelp.pg_execute(
            f"""INSERT INTO {schema}."Orders 2024" VALUES (7, '2024-03-01 09:00'), (8, '2024-03-02 09:00')"""
        )
        dbhelp.pg_execute(f"CREATE TABLE {schema}.victim (id INT PRIMARY KEY, note TEXT)")
        dbhelp.pg_execute(f"INSERT INTO {schema}.victim VALUES (1, 'keep me'), (2, 'and me')")
        yield Database(
            login.url, login.user, login.password, schema,
            lambda: victim_rows(lambda sql: dbhelp.pg_rows(sql), schema),
            lambda: dbhelp.pg_rows(f'SELECT "Order Id", "Updated At" FROM {schema}."Copy 2024" ORDER BY 1'),
        )  # fmt: skip


@contextmanager
def mariadb() -> Iterator[Database]:
    quoted = ("`Orders 2024`", "`Copy 2024`")
    with dbhelp.mysql_database() as database:
        dbhelp.mysql_execute(
            database,
            [
                *(f"CREATE TABLE {t} (order_id BIGINT PRIMARY KEY, updated_at DATETIME)" for t in ORDERS_TABLES),
                "INSERT INTO orders VALUES (1, '2024-03-01 09:00'), (2, '2024-03-02 09:00')",
                *(f"CREATE TABLE {t} (`Order Id` BIGINT PRIMARY KEY, `Updated At` DATETIME)" for t in quoted),
                "INSERT INTO `Orders 2024` VALUES (7, '2024-03-01 09:00'), (8, '2024-03-02 09:00')",
                "CREATE TABLE victim (id INT PRIMARY KEY, note TEXT)",
                "INSERT INTO victim VALUES (1, 'keep me'), (2, 'and me')",
            ],
        )
        login = dbhelp.mysql_jdbc(database)
        yield Database(
            login.url, login.user, login.password, database,
            lambda: victim_rows(lambda sql: dbhelp.mysql_rows(database, sql), database),
            lambda: dbhelp.mysql_rows(database, "SELECT `Order Id`, `Updated At` FROM `Copy 2024` ORDER BY 1"),
        )  # fmt: skip


def victim_rows(query: Callable[[str], list[tuple[Any, ...]]], space: str) -> list[tuple[Any, ...]]:
    """The victim's rows, or [] when the table is gone."""
    try:
        return query(f"SELECT id, note FROM {space}.victim ORDER BY id")
    except Exception as exc:  # psycopg's UndefinedTable, PyMySQL's ProgrammingError
        if "victim" in str(exc):
            return []
        raise


@pytest.fixture(params=["postgresql", "mariadb"])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    with postgres() if request.param == "postgresql" else mariadb() as database:
        yield database


def project(root: Path, db: Database, source_extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "etl-project.yaml").write_text("name: injection\n", encoding="utf-8")
    text = PIPELINE.format(url=db.url, user=db.user, space=db.space, source_extra=source_extra)
    (root / "pipeline.yaml").write_text(text, encoding="utf-8")
    return root / "pipeline.yaml"


def run(pipeline: Path, db: Database, *sets: str) -> subprocess.CompletedProcess[str]:
    args = [arg for value in sets for arg in ("--set", value)]
    env = {"ETL_STATE_DIR": str(pipeline.parent / "state"), "DB_PASSWORD": db.password}
    return etl_cli("run", str(pipeline), *args, env=env, cwd=pipeline.parent)


def pasted_payloads(space: str) -> list[list[str]]:
    """``--set`` values that, pasted into the SQL around a read or a write, would drop the victim."""
    drop = f"DROP TABLE {space}.victim"
    return [
        [f"sources.src.table={space}.orders; {drop}; --"],
        [f"sources.src.table=(SELECT 1 AS order_id) x; {drop}; --"],
        ["sources.src.num_partitions=2", f"sources.src.partition_column=order_id) FROM {space}.orders; {drop}; --"],
        [f"sources.src.incremental.column=updated_at) FROM {space}.orders; {drop}; --"],
        [f"sinks.out.table={space}.orders_copy; {drop}"],
        [f"sinks.out.keys=[order_id, 'x`; {drop}; --']"],
    ]


def test_pasted_sql_in_a_name_is_refused_before_anything_connects(tmp_path: Path, db: Database) -> None:
    pipeline = project(tmp_path, db)
    for sets in pasted_payloads(db.space):
        result = run(pipeline, db, *sets)
        assert result.returncode == 1, (sets, result.stderr)
        assert "<command line>" in result.stderr or "--set" in result.stderr, result.stderr
        assert db.victim() == VICTIM_ROWS, sets


def test_pasted_sql_written_in_the_yaml_is_refused_at_its_line(tmp_path: Path, db: Database) -> None:
    extra = f"    partition_column: order_id) FROM {db.space}.orders; DROP TABLE {db.space}.victim; --\n"
    pipeline = project(tmp_path, db, extra + "    num_partitions: 2\n")

    result = run(pipeline, db)

    assert result.returncode == 1, result.stderr
    assert f"{pipeline.name}:11:23" in result.stderr, result.stderr
    assert db.victim() == VICTIM_ROWS


def test_a_quoted_name_reaches_the_database_as_one_identifier(tmp_path: Path, db: Database) -> None:
    pipeline = project(tmp_path, db)
    payload = "orders; DROP TABLE victim; --"
    runs = [
        [f"sources.src.table='{db.space}.\"{payload}\"'"],
        ["sources.src.num_partitions=2", f"sources.src.partition_column='\"{payload}\"'"],
        [f"sources.src.incremental.column='\"{payload}\"'"],
    ]
    for sets in runs:
        result = run(pipeline, db, *sets)
        assert result.returncode == 4, (sets, result.stderr)
        assert payload in result.stderr, result.stderr
        assert db.victim() == VICTIM_ROWS, sets


def test_quoted_names_with_case_and_spaces_are_read_and_written(tmp_path: Path, db: Database) -> None:
    pipeline = project(tmp_path, db)

    result = run(
        pipeline, db,
        f"sources.src.table='{db.space}.\"Orders 2024\"'",
        "sources.src.num_partitions=2",
        "sources.src.partition_column='\"Order Id\"'",
        "sources.src.incremental.column='\"Updated At\"'",
        f"sinks.out.table='{db.space}.\"Copy 2024\"'",
        "sinks.out.keys=['\"Order Id\"']",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert db.copy() == [(7, datetime(2024, 3, 1, 9, 0)), (8, datetime(2024, 3, 2, 9, 0))]
