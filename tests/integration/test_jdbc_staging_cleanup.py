"""Staging tables left behind by dead runs of a pipeline are dropped, and only those.

On PostgreSQL a real run is killed with SIGKILL while Spark loads its (UNLOGGED) staging table;
the next run of the pipeline drops that table (its recovery, before the first stage, calls
``JdbcSink.recover``). On MariaDB ``JdbcSink.recover``, called as ``etl-cli recover`` does, drops
the tables of dead runs and keeps the one of a live run. Either way the
staging tables of another pipeline, of the same pipeline in another environment, and a table of
the user's with a similar name are left alone. The tables are listed with psycopg and PyMySQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from etl_cli.plugins.jdbc.dialects import MARIADB, POSTGRESQL
from etl_cli.plugins.jdbc.staging import StagingName, owner_tag, staging_name
from tests.clihelp import REPO, etl_cli
from tests.integration.dbhelp import (
    mysql_database,
    mysql_execute,
    mysql_jdbc,
    mysql_rows,
    pg_execute,
    pg_jdbc,
    pg_rows,
    pg_schema,
    pg_tables,
)

PIPELINE = "stale_staging"
ROWS = 300_000  # enough for Spark's load into the staging table to take a few seconds
PIPELINE_YAML = """\
name: stale_staging
vars:
  input: big.csv
spark:
  master: local[1]
sources:
  - name: orders_csv
    type: csv
    path: ${{var:input}}
    schema: {{order_id: BIGINT, amount: INT}}
sinks:
  - name: out
    type: jdbc
    input: orders_csv
    url: {url}
    user: {user}
    password: ${{secret:env:DB_PASSWORD}}
    table: {schema}.orders
    mode: upsert
    num_writers: 1
    batch_size: 50
"""


def project(root: Path, schema: str) -> Path:
    login = pg_jdbc()
    (root / "etl-project.yaml").write_text("name: staging\n", encoding="utf-8")
    (root / "big.csv").write_text(
        "order_id,amount\n" + "".join(f"{i},{i % 97}\n" for i in range(ROWS)), encoding="utf-8"
    )
    (root / "small.csv").write_text("order_id,amount\n1,10\n2,20\n", encoding="utf-8")
    text = PIPELINE_YAML.format(url=login.url, user=login.user, schema=schema)
    (root / "pipeline.yaml").write_text(text, encoding="utf-8")
    return root / "pipeline.yaml"


def staging_tables(schema: str) -> list[str]:
    return [t for t in pg_tables(schema) if t.startswith("etl_stg_")]


def run_env(root: Path) -> dict[str, str]:
    """The environment of a run in the default environment (ETL_ENV empty), its state under ``root``."""
    return {**os.environ, "NO_COLOR": "1", "ETL_ENV": "", "ETL_STATE_DIR": str(root / "state"),
            "DB_PASSWORD": pg_jdbc().password}  # fmt: skip


def kill_while_staging(pipeline: Path, schema: str, tries: int = 3) -> str:
    """Start ``etl-cli run`` and SIGKILL it as soon as its staging table exists; return that table's name."""
    for _ in range(tries):
        process = subprocess.Popen(
            [sys.executable, "-m", "etl_cli", "run", str(pipeline)],
            cwd=pipeline.parent, env=run_env(pipeline.parent),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 180
        try:
            while process.poll() is None and time.monotonic() < deadline:
                found = staging_tables(schema)
                if found:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait(timeout=30)
                    return found[0]
                time.sleep(0.05)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
    pytest.fail(f"no run was caught while staging in {tries} tries")


def test_the_next_run_drops_the_staging_table_of_a_killed_run_and_nothing_else(tmp_path: Path) -> None:
    with pg_schema() as schema:
        pg_execute(f"CREATE TABLE {schema}.orders (order_id BIGINT PRIMARY KEY, amount INT)")
        pipeline = project(tmp_path, schema)

        killed = kill_while_staging(pipeline, schema)
        time.sleep(1)  # the killed run's JVM ends once its parent's pipe closes
        assert staging_tables(schema) == [killed], "SIGKILL leaves the staging table behind"
        assert pg_rows(f"SELECT count(*) FROM {schema}.orders") == [(0,)], "and the target untouched"
        parsed = StagingName.parse(killed)
        assert parsed is not None and parsed.owner == owner_tag(PIPELINE, None)

        # what the run must leave alone, made as the sink makes its staging tables
        others = [
            staging_name("another_pipeline", None, "20240301T000000Z-0badf00d", "out/None/1", "orders"),
            staging_name(PIPELINE, "prod", "20240301T000000Z-0badf00d", "out/None/1", "orders"),
        ]
        for name in others:
            pg_execute(POSTGRESQL.create_like(f'"{schema}"."{name}"', f'"{schema}"."orders"', ["order_id", "amount"]))
        pg_execute(f"CREATE TABLE {schema}.etl_stg_orders_backup (order_id BIGINT)")

        second = etl_cli("run", str(pipeline), "--set", "vars.input=small.csv", env=run_env(tmp_path), cwd=tmp_path)

        assert second.returncode == 0, second.stderr
        assert sorted(pg_tables(schema)) == sorted(["orders", "etl_stg_orders_backup", *others])
        assert pg_rows(f"SELECT order_id, amount FROM {schema}.orders ORDER BY 1") == [(1, 10), (2, 20)]
        assert f"{schema}.{killed}: dropped the staging table of a dead run" in second.stderr


#: recovery as ``etl-cli recover`` runs it: a Spark session of its own (the JDBC driver on its classpath)
RECOVER = """
import json, os, sys
from pathlib import Path
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.jdbc.dialects import MARIADB_PACKAGE
from etl_cli.plugins.sinks.jdbc import JdbcSink
from etl_cli.runtime.spark.session import build_session

given = json.loads(sys.argv[1])
spark = build_session("recover-test", master="local[1]", packages=[MARIADB_PACKAGE])
ctx = RunContext(spark, Path("."), run_id="the-recovery", pipeline=given["pipeline"], env=given["env"])
options = {**given["options"], "password": os.environ["DB_PASSWORD"]}
print(json.dumps(JdbcSink().recover(ctx, StageSpec("out", "sink", "jdbc", ("x",), options), given["live"])))
"""


def mysql_tables(database: str) -> list[str]:
    return sorted(r[0] for r in mysql_rows(database, "SHOW TABLES"))


def test_recovery_drops_the_dead_runs_tables_of_the_pipeline_and_keeps_the_live_runs(tmp_path: Path) -> None:
    with mysql_database() as database:
        made = {
            "dead": staging_name(PIPELINE, "dev", "run-killed", "out/None/1", "orders"),
            "dead_too": staging_name(PIPELINE, "dev", "run-killed-earlier", "out/None/2", "orders"),
            "live": staging_name(PIPELINE, "dev", "run-live", "out/None/3", "orders"),
            "other_env": staging_name(PIPELINE, "prod", "run-killed", "out/None/1", "orders"),
            "other_pipeline": staging_name("another_pipeline", "dev", "run-killed", "out/None/1", "orders"),
        }
        mysql_execute(
            database,
            [
                "CREATE TABLE orders (order_id BIGINT PRIMARY KEY, amount INT)",
                "CREATE TABLE etl_stg_orders_backup (order_id BIGINT)",
                *(MARIADB.create_like(f"`{database}`.`{n}`", "orders", ["order_id", "amount"]) for n in made.values()),
            ],
        )
        login = mysql_jdbc(database)
        given: dict[str, Any] = {
            "pipeline": PIPELINE,
            "env": "dev",
            "live": ["run-live"],
            "options": {"url": login.url, "user": login.user, "table": "orders", "mode": "upsert"},
        }

        result = subprocess.run(
            [sys.executable, "-c", RECOVER, json.dumps(given)],
            cwd=REPO, capture_output=True, text=True, timeout=300,
            env={**os.environ, "DB_PASSWORD": login.password},
        )  # fmt: skip

        assert result.returncode == 0, result.stderr
        dropped = json.loads(result.stdout.strip().splitlines()[-1])
        said = ": dropped the staging table of a dead run"
        assert sorted(dropped) == sorted([f"{database}.{made['dead']}{said}", f"{database}.{made['dead_too']}{said}"])
        kept = ["orders", "etl_stg_orders_backup", made["live"], made["other_env"], made["other_pipeline"]]
        assert mysql_tables(database) == sorted(kept)
