"""What the JDBC and S3 tests share: the services of scripts/services.sh, Python clients to prepare
and check them independently of etl-cli (psycopg, PyMySQL, boto3), scratch schemas, databases and
buckets no other test run uses, and ``etl-cli run`` of an example pipeline in a subprocess.

A test asking for a service starts it (tests/integration/serviceshelp.py); with services of your own,
export their settings (``eval "$(scripts/services.sh env pg mysql s3)"`` shows the names). When a service
cannot be had the tests skip, except under CI (``CI`` set), where a missing service is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import REPO, etl_cli
from tests.integration.serviceshelp import ensure

PG_VARS = ("ETL_TEST_PG_HOST", "ETL_TEST_PG_PORT", "ETL_TEST_PG_USER", "ETL_TEST_PG_PASSWORD", "ETL_TEST_PG_DB")
MYSQL_VARS = (
    "ETL_TEST_MYSQL_HOST",
    "ETL_TEST_MYSQL_PORT",
    "ETL_TEST_MYSQL_USER",
    "ETL_TEST_MYSQL_PASSWORD",
    "ETL_TEST_MYSQL_DB",
)
S3_VARS = (
    "ETL_TEST_S3_ENDPOINT",
    "ETL_TEST_AWS_ACCESS_KEY_ID",
    "ETL_TEST_AWS_SECRET_ACCESS_KEY",
    "ETL_TEST_AWS_REGION",
)
PIPELINES = REPO / "pipelines"


def require(names: Sequence[str], services: str) -> dict[str, str]:
    """The services' settings, once they are up (serviceshelp starts them); a failure under CI, a skip elsewhere."""
    problem = ensure(*services.split()) if not all(os.environ.get(n) for n in names) else None
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        message = (
            f"test services not available ({', '.join(missing)} unset): run scripts/services.sh up {services} "
            f'and eval "$(scripts/services.sh env {services})"' + (f"\n{problem}" if problem else "")
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return {n: os.environ[n] for n in names}


def unique(label: str) -> str:
    """A lower-case name no other test run uses (schemas, databases, buckets)."""
    return f"etl_{label}_{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- PostgreSQL


def pg_connect() -> Any:
    import psycopg

    env = require(PG_VARS, "pg")
    return psycopg.connect(
        host=env["ETL_TEST_PG_HOST"],
        port=int(env["ETL_TEST_PG_PORT"]),
        user=env["ETL_TEST_PG_USER"],
        password=env["ETL_TEST_PG_PASSWORD"],
        dbname=env["ETL_TEST_PG_DB"],
        autocommit=True,
    )


@contextmanager
def pg_schema() -> Iterator[str]:
    """A scratch schema, dropped with everything in it afterwards."""
    schema = unique("pg")
    with pg_connect() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        try:
            yield schema
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def pg_run_file(schema: str, sql_file: Path) -> None:
    """Run an example's setup.sql inside ``schema``."""
    with pg_connect() as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(sql_file.read_text(encoding="utf-8"))


def pg_rows(sql: str) -> list[tuple[Any, ...]]:
    with pg_connect() as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


def pg_execute(sql: str) -> None:
    with pg_connect() as conn:
        conn.execute(sql)


def pg_tables(schema: str) -> list[str]:
    return sorted(
        r[0] for r in pg_rows(f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'")
    )


@dataclass(frozen=True)
class JdbcLogin:
    """How a JDBC stage reaches a test service: its url, user and password."""

    url: str
    user: str
    password: str


def pg_jdbc() -> JdbcLogin:
    """The PostgreSQL service as a JDBC stage names it."""
    env = require(PG_VARS, "pg")
    url = f"jdbc:postgresql://{env['ETL_TEST_PG_HOST']}:{env['ETL_TEST_PG_PORT']}/{env['ETL_TEST_PG_DB']}"
    return JdbcLogin(url, env["ETL_TEST_PG_USER"], env["ETL_TEST_PG_PASSWORD"])


def pg_env() -> dict[str, str]:
    """The environment the example pipelines read their PostgreSQL settings from."""
    env = require(PG_VARS, "pg")
    return {
        "PG_HOST": env["ETL_TEST_PG_HOST"],
        "PG_PORT": env["ETL_TEST_PG_PORT"],
        "PG_DB": env["ETL_TEST_PG_DB"],
        "PG_USER": env["ETL_TEST_PG_USER"],
        "PG_PASSWORD": env["ETL_TEST_PG_PASSWORD"],
    }


# --------------------------------------------------------------------------- MariaDB


def mysql_connect(database: str | None = None) -> Any:
    import pymysql

    env = require(MYSQL_VARS, "mysql")
    return pymysql.connect(
        host=env["ETL_TEST_MYSQL_HOST"],
        port=int(env["ETL_TEST_MYSQL_PORT"]),
        user=env["ETL_TEST_MYSQL_USER"],
        password=env["ETL_TEST_MYSQL_PASSWORD"],
        database=database or env["ETL_TEST_MYSQL_DB"],
        autocommit=True,
    )


@contextmanager
def mysql_database() -> Iterator[str]:
    """A scratch database (the etl user may create databases named etl_*), dropped afterwards."""
    name = unique("my")
    conn = mysql_connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        yield name
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.close()


def mysql_rows(database: str, sql: str) -> list[tuple[Any, ...]]:
    conn = mysql_connect(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
    finally:
        conn.close()


def mysql_execute(database: str, statements: Sequence[str]) -> None:
    """Run ``statements`` in ``database``, in order."""
    conn = mysql_connect(database)
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def mysql_jdbc(database: str) -> JdbcLogin:
    """The MariaDB service, database ``database``, as a JDBC stage names it."""
    env = require(MYSQL_VARS, "mysql")
    url = f"jdbc:mariadb://{env['ETL_TEST_MYSQL_HOST']}:{env['ETL_TEST_MYSQL_PORT']}/{database}"
    return JdbcLogin(url, env["ETL_TEST_MYSQL_USER"], env["ETL_TEST_MYSQL_PASSWORD"])


def mysql_run_file(database: str, sql_file: Path) -> None:
    conn = mysql_connect(database)
    try:
        with conn.cursor() as cursor:
            for statement in sql_file.read_text(encoding="utf-8").split(";"):
                body = "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))
                if body.strip():
                    cursor.execute(body)
    finally:
        conn.close()


def mysql_env() -> dict[str, str]:
    env = require(MYSQL_VARS, "mysql")
    return {
        "MYSQL_HOST": env["ETL_TEST_MYSQL_HOST"],
        "MYSQL_PORT": env["ETL_TEST_MYSQL_PORT"],
        "MYSQL_DB": env["ETL_TEST_MYSQL_DB"],
        "MYSQL_USER": env["ETL_TEST_MYSQL_USER"],
        "MYSQL_PASSWORD": env["ETL_TEST_MYSQL_PASSWORD"],
    }


# --------------------------------------------------------------------------- S3 (moto)


def s3_client() -> Any:
    import boto3

    env = require(S3_VARS, "s3")
    return boto3.client(
        "s3",
        endpoint_url=env["ETL_TEST_S3_ENDPOINT"],
        aws_access_key_id=env["ETL_TEST_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["ETL_TEST_AWS_SECRET_ACCESS_KEY"],
        region_name=env["ETL_TEST_AWS_REGION"],
    )


@contextmanager
def s3_bucket(label: str) -> Iterator[str]:
    """A scratch bucket, emptied and removed afterwards."""
    client = s3_client()
    name = unique(label).replace("_", "-")
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        for item in client.list_objects_v2(Bucket=name).get("Contents", []):
            client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)


def s3_keys(bucket: str) -> dict[str, str]:
    """Every object key of ``bucket`` with its ETag (which changes when an object is rewritten)."""
    found = s3_client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: item["ETag"] for item in found}


def s3_env() -> dict[str, str]:
    env = require(S3_VARS, "s3")
    return {
        "S3_ENDPOINT": env["ETL_TEST_S3_ENDPOINT"],
        "AWS_REGION": env["ETL_TEST_AWS_REGION"],
        "AWS_ACCESS_KEY_ID": env["ETL_TEST_AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": env["ETL_TEST_AWS_SECRET_ACCESS_KEY"],
    }


# --------------------------------------------------------------------------- runs


def run_example(
    name: str, state_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``etl-cli run pipelines/<name> ARGS`` with its state (watermarks, run results) in ``state_dir``."""
    settings = {"ETL_STATE_DIR": str(state_dir), "ETL_ENV": "dev", **(env or {})}
    return etl_cli("run", str(PIPELINES / name), *args, env=settings)


def latest_results(state_dir: Path, pipeline: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((state_dir / "runs" / pipeline / "dev" / "latest.json").read_text())
    return data


def stage_result(results: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in results["stages"] if s["name"] == name)
    return found
