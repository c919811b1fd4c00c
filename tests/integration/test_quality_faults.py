"""Fault injection with a real PostgreSQL: the server stops while a pipeline writes to it.

The test starts its own PostgreSQL cluster with ``scripts/services.sh`` (a private services
folder and port), so stopping it disturbs no other test or developer using the shared one.
Without PostgreSQL's binaries the test skips, except under CI (``CI`` set), where it fails.

1. A run writes 30 rows into a table holding 3 older rows; each row takes 0.4 s to pass a
   filter, so the write is in progress when the server is stopped.
2. The write fails (the server terminates the connection), is retried with the stage's
   ``retry:``, the server stays unreachable, the run gives up: exit 4, nothing published.
3. With the server back, the table still holds exactly its 3 older rows; a rerun succeeds
   and the table holds exactly the 30 new ones (mode overwrite).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.promstack import free_port
from tests.integration.serviceshelp import PrivateServices, private_services

PASSWORD = "etl-test-pw"

PIPELINE = """\
vars: {sleep_ms: 0}
spark: {master: "local[1]"}
retry: {attempts: 3, initial_delay: 0.5, max_delay: 1, jitter: 0}
sources:
  - {name: orders, type: csv, path: data/orders.csv, schema: "order_id INT, amount DOUBLE"}
transforms:
  - name: slow
    type: filter
    inputs: [orders]
    condition: >-
      length(coalesce(reflect('java.lang.Thread', 'sleep',
      CAST(${var:sleep_ms} + order_id * 0 AS BIGINT)), '')) >= 0
sinks:
  - name: target
    type: jdbc
    input: slow
    url: jdbc:postgresql://127.0.0.1:${env:PG_PORT}/etl
    table: orders_target
    user: etl
    password: ${secret:env:PG_PASSWORD}
    mode: overwrite
    num_writers: 1
    batch_size: 1
"""


def postgres_installed() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")) or bool(
        subprocess.run(["sh", "-c", "command -v pg_ctl"], capture_output=True).stdout
    )


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of this test module only, run by scripts/services.sh."""

    services: PrivateServices
    port: int

    def up(self) -> None:
        self.services.run("up", "pg")

    def down(self) -> None:
        self.services.run("down", "pg")

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="etl", password=PASSWORD, dbname="etl", autocommit=True
        ) as conn:
            cursor = conn.execute(statement)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    if not postgres_installed():
        message = "PostgreSQL is not installed: run scripts/services.sh up pg once (it installs the package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    with private_services(tmp_path_factory.mktemp("services"), {"ETL_TEST_PG_PORT": port}) as own:
        server = PrivatePostgres(own, port)
        server.up()
        yield server


def project(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    lines = ["order_id,amount", *[f"{i},{i * 1.5}" for i in range(1, 31)]]
    (root / "data" / "orders.csv").write_text("\n".join(lines) + "\n")
    (root / "etl-project.yaml").write_text("name: faults\n")
    (root / "pipeline.yaml").write_text(PIPELINE)
    return root


def start_run(root: Path, port: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "etl_cli", "run", str(root), "--log-format", "json", "--results-dir", "results", *args],
        cwd=root,
        env={**os.environ, "NO_COLOR": "1", "PG_PORT": str(port), "PG_PASSWORD": PASSWORD,
             "ETL_STATE_DIR": str(root / "state")},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def events_until(process: subprocess.Popen[str], event: str, stage: str, lines: list[str]) -> None:
    """Read the run's JSON events until ``event`` of ``stage``; keep every line read in ``lines``."""
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        if line.startswith("{"):
            record = json.loads(line)
            if record["event"] == event and record.get("stage") == stage:
                return
    pytest.fail("the run ended before " + event + " of " + stage + ":\n" + "".join(lines))


def wait_for_inserts(
    postgres: PrivatePostgres, run: subprocess.Popen[str], lines: list[str], timeout_s: float = 240
) -> None:
    """Until Spark's writer is inserting into the staging table (uncommitted rows are invisible, the query is not)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if run.poll() is not None:
            pytest.fail(f"the run ended (exit {run.returncode}) before inserting:\n{''.join(lines)}")
        active = postgres.sql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE query ILIKE 'INSERT INTO%etl_stg_%' AND pid <> pg_backend_pid()"
        )
        if active[0][0]:
            return
        time.sleep(0.2)
    pytest.fail(f"Spark never started inserting into the staging table:\n{''.join(lines)}")


def test_a_server_stopped_mid_write_fails_the_run_cleanly_and_a_rerun_completes(
    postgres: PrivatePostgres, tmp_path: Path
) -> None:
    root = project(tmp_path / "p")
    postgres.sql("DROP TABLE IF EXISTS orders_target")
    postgres.sql("CREATE TABLE orders_target (order_id INT PRIMARY KEY, amount DOUBLE PRECISION)")
    postgres.sql("INSERT INTO orders_target VALUES (100, 1.0), (101, 2.0), (102, 3.0)")

    run = start_run(root, postgres.port, "--set", "vars.sleep_ms=400")
    lines: list[str] = []
    events_until(run, "stage_started", "target", lines)
    drain = threading.Thread(target=lambda: lines.extend(run.stderr or []), daemon=True)
    drain.start()
    wait_for_inserts(postgres, run, lines)
    postgres.down()
    assert run.wait(timeout=300) == 4, "".join(lines)
    drain.join(timeout=10)
    events = [json.loads(line) for line in lines if line.startswith("{")]

    retries = [e for e in events if e["event"] == "retrying"]
    assert retries and all(e["operation"] == "write sink 'target' (jdbc)" for e in retries)
    assert retries[0]["error"].startswith("writing the staging table of sink 'target' (jdbc)"), retries[0]
    assert {e["endpoint"] for e in retries} == {f"postgresql://127.0.0.1:{postgres.port}"}
    results = json.loads((root / "results" / "latest.json").read_text())
    assert (results["status"], results["exit_code"], results["error"]["stage"]) == ("failed", 4, "target")
    endpoint = results["resilience"][f"postgresql://127.0.0.1:{postgres.port}"]
    assert endpoint["attempts"] == 3 and endpoint["failures"] == 3

    postgres.up()
    assert postgres.sql("SELECT order_id, amount FROM orders_target ORDER BY order_id") == [
        (100, 1.0),
        (101, 2.0),
        (102, 3.0),
    ], "the failed run published nothing"

    rerun = start_run(root, postgres.port)
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert postgres.sql("SELECT order_id, amount FROM orders_target ORDER BY order_id") == [
        (i, i * 1.5) for i in range(1, 31)
    ]
