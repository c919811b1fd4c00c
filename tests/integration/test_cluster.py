"""The example pipelines on a real Spark standalone cluster, through ``etl-cli run --master spark://...``.

The cluster is scripts/services.d/spark-cluster.sh's: a master and two workers (one core each) on
127.0.0.1, run from the installed pyspark distribution. Each test runs an unchanged example pipeline
on it and checks

- the rows it wrote, against rows computed independently: the same expected rows the local runs of
  these examples are checked against (tests/spark/test_cli_run.py, tests/spark/test_review_scoring_example.py),
  hand-written table rows for the JDBC upsert, the produced records for Kafka;
- that the work ran on the workers: the master lists the application as finished (the session was stopped,
  nothing left on the cluster) with cores granted, and the workers list its executors (one on each worker
  when nothing else holds a core meanwhile: the cluster may be shared);
- for the quickstart, Spark's event log: every task ran on an executor the workers started, none on the driver.

The Python UDFs of review_scoring run in the executors' Python workers (this interpreter, see
build_session); the JDBC driver and the Kafka connector reach the executors as jars the driver serves.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.clihelp import etl_cli
from tests.integration.dbhelp import PIPELINES, pg_connect, pg_env, pg_rows, pg_run_file, pg_schema
from tests.integration.kafkahelp import kafka_bootstrap, new_topic, produce_json
from tests.integration.serviceshelp import ensure, unavailable
from tests.spark.test_cli_run import expected_quickstart_rows
from tests.spark.test_review_scoring_example import expected_rows as expected_review_rows

# its runs go to the Spark cluster, each with a driver of its own
pytestmark = pytest.mark.own_jvm


@dataclass(frozen=True)
class Cluster:
    """The test cluster: its master URL and the master's web UI (whose /json/ lists workers and applications)."""

    master: str
    ui: str

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.ui}/json/", timeout=10) as answer:
            found: dict[str, Any] = json.load(answer)
            return found

    def finished_app(self, name: str, timeout_s: float = 15) -> dict[str, Any]:
        """The completed application called ``name`` (the master records the end a moment after the driver's)."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.state()
            done = [app for app in state["completedapps"] if app["name"] == name]
            active = [app for app in state["activeapps"] if app["name"] == name]
            if done and not active:
                assert len(done) == 1, done
                return done[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not finished on the cluster: active {active}, completed {done}")
            time.sleep(0.5)

    def executors_of(self, app_id: str) -> dict[str, list[int]]:
        """Each worker's web UI address with the ids of the executors it ran for ``app_id``."""
        found = {}
        for worker in self.state()["workers"]:
            with urllib.request.urlopen(f"{worker['webuiaddress']}/json/", timeout=10) as answer:
                listing = json.load(answer)
            executors = listing["executors"] + listing["finishedexecutors"]
            found[worker["webuiaddress"]] = sorted(e["id"] for e in executors if e["appid"] == app_id)
        return found


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    """The cluster of scripts/services.sh (started on first use, shared by the module)."""
    problem = None if os.environ.get("ETL_TEST_SPARK_MASTER") else ensure("spark-cluster")
    master, ui = os.environ.get("ETL_TEST_SPARK_MASTER"), os.environ.get("ETL_TEST_SPARK_MASTER_UI")
    if not master or not ui:
        unavailable(f"the Spark cluster is not available: scripts/services.sh up spark-cluster\n{problem or ''}")
    found = Cluster(master, ui)
    alive = [w for w in found.state()["workers"] if w["state"] == "ALIVE"]
    assert len(alive) == 2, f"the test cluster has two workers: {alive}"
    return found


def run_on(cluster: Cluster, tmp_path: Path, pipeline: str, *sets: str, env: dict[str, str] | None = None) -> str:
    """``etl-cli run PIPELINE --master <cluster>`` under a fresh application name; checks it ran on both workers.

    Returns the application's id on the cluster.
    """
    app_name = f"etl-cli-cluster-test-{uuid.uuid4().hex[:8]}"
    args = [arg for value in (*sets, f"spark.app_name={app_name}") for arg in ("--set", value)]
    result = etl_cli(
        "run", str(PIPELINES / pipeline), "--master", cluster.master, *args,
        "--results-dir", str(tmp_path / "results"),
        # the driver listens on loopback too: the executors reach it at 127.0.0.1
        env={"ETL_STATE_DIR": str(tmp_path / "state"), "ETL_ENV": "dev", "SPARK_LOCAL_IP": "127.0.0.1", **(env or {})},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert results["master"] == cluster.master
    app = cluster.finished_app(app_name)
    assert app["state"] == "FINISHED", app  # stopped by the run, not killed or left waiting
    assert app["cores"] >= 1, f"cores granted on the workers: {app}"
    # both workers, when nothing else holds a core (the cluster is shared by whatever runs on it meanwhile)
    per_worker = cluster.executors_of(app["id"])
    assert any(per_worker.values()), f"the workers ran executors of {app['id']}: {per_worker}"
    return str(app["id"])


def test_quickstart_on_the_cluster_writes_what_a_local_run_writes(cluster: Cluster, tmp_path: Path) -> None:
    out, events = tmp_path / "warehouse", tmp_path / "events"
    events.mkdir()
    conf = tmp_path / "spark-conf"  # spark-defaults.conf of this run only: Spark's event log, read below
    conf.mkdir()
    settings = {"enabled": "true", "rolling.enabled": "false", "compress": "false", "dir": f"file:{events}"}
    (conf / "spark-defaults.conf").write_text("".join(f"spark.eventLog.{k} {v}\n" for k, v in settings.items()))

    app_id = run_on(cluster, tmp_path, "quickstart", f"vars.output_dir={out}", env={"SPARK_CONF_DIR": str(conf)})

    table = ds.dataset(out / "daily_revenue", format="parquet", partitioning="hive").to_table().to_pylist()
    actual = sorted(
        (str(r["order_date"]), r["country"], r["orders"], r["revenue"], r["buyers"], r["rank_in_day"]) for r in table
    )
    assert actual == sorted(expected_quickstart_rows())
    log = [json.loads(line) for line in (events / app_id).read_text().splitlines()]
    added = {e["Executor ID"]: e["Executor Info"] for e in log if e["Event"] == "SparkListenerExecutorAdded"}
    tasks = [e["Task Info"]["Executor ID"] for e in log if e["Event"] == "SparkListenerTaskEnd"]
    assert tasks and set(tasks) <= set(added), f"every task on an executor of the workers: {set(tasks)}, {added}"
    worker_uis = {w["webuiaddress"].rsplit(":", 1)[1] for w in cluster.state()["workers"]}
    assert {info["Log Urls"]["stderr"].split("/")[2].rsplit(":", 1)[1] for info in added.values()} <= worker_uis


def test_python_udfs_run_in_the_executors_python(cluster: Cluster, tmp_path: Path) -> None:
    """review_scoring's text transform is Python UDFs (vaderSentiment): the executors' Python workers need it."""
    out = tmp_path / "out"

    run_on(cluster, tmp_path, "review_scoring", f"vars.output_dir={out}")

    expected = expected_review_rows()
    assert sorted(tuple(row.values()) for row in pq.read_table(out / "reviews").to_pylist()) == expected
    by_product = ds.dataset(out / "by_product", format="csv").to_table().to_pylist()
    counts: dict[str, int] = {}
    for _, product, *_ in expected:
        counts[product] = counts.get(product, 0) + 1
    assert {r["product"]: r["reviews"] for r in by_product} == counts


def test_jdbc_upsert_from_the_executors(cluster: Cluster, tmp_path: Path) -> None:
    """The executors write through the PostgreSQL driver jar the driver serves them."""
    with pg_schema() as schema:
        pg_run_file(schema, PIPELINES / "csv_to_postgres_upsert" / "setup.sql")
        with pg_connect() as conn:
            conn.execute(
                f"INSERT INTO {schema}.customers VALUES "
                "(2, 'G. Hopper', 'grace@old.example.com', 'US', '2024-02-01 08:00:00'), "
                "(9, 'Barbara Liskov', 'barbara@example.com', 'US', '2024-02-02 08:00:00')"
            )

        run_on(cluster, tmp_path, "csv_to_postgres_upsert", f"vars.table={schema}.customers", env=pg_env())

        ts = datetime.fromisoformat
        assert pg_rows(f"SELECT * FROM {schema}.customers ORDER BY 1") == [
            (1, "Ada Lovelace", "ada@example.com", "GB", ts("2024-03-01 09:00:00")),
            (2, "Grace Hopper", "grace@example.com", "US", ts("2024-03-01 09:05:00")),
            (3, "Alan Turing", "alan@example.com", "GB", ts("2024-03-02 10:00:00")),
            (4, "Emmy Noether", "emmy@example.com", "DE", ts("2024-03-02 11:30:00")),
            (9, "Barbara Liskov", "barbara@example.com", "US", ts("2024-02-02 08:00:00")),
        ]


def test_kafka_batch_read_by_the_executors(cluster: Cluster, tmp_path: Path) -> None:
    """The executors read the topic through the Kafka connector's jars."""
    bootstrap = kafka_bootstrap()
    topic, out = new_topic("cluster"), tmp_path / "out"
    start = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    orders = [
        {"order_id": n, "customer": f"c{n % 4}", "amount": f"{n * 3}.25", "order_ts": start + timedelta(hours=7 * n)}
        for n in range(1, 21)
    ]
    for order in orders:
        order["order_ts"] = order["order_ts"].isoformat()
    delivered = produce_json(bootstrap, topic, orders, key="order_id")

    run_on(
        cluster, tmp_path, "kafka_to_parquet_batch",
        f"vars.bootstrap_servers={bootstrap}", f"vars.topic={topic}", f"vars.output_dir={out}",
    )  # fmt: skip

    expected = sorted(
        (
            o["order_id"], o["customer"], Decimal(o["amount"]),
            datetime.fromisoformat(o["order_ts"]).date().isoformat(), str(o["order_id"]), record.offset,
        )
        for o, record in zip(orders, delivered, strict=True)
    )  # fmt: skip
    table = ds.dataset(out / "orders", format="parquet", partitioning="hive").to_table().to_pylist()
    actual = sorted(
        (r["order_id"], r["customer"], r["amount"], str(r["order_date"]), r["kafka_key"], r["kafka_offset"])
        for r in table
    )
    assert actual == expected
