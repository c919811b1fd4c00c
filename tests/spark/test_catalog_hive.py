"""Registration in the Hive metastore, read back from the metastore by other Spark sessions.

``etl-cli run`` (a subprocess) writes orders partitioned by day and registers them in the project's
``hive_metastore`` catalog; a second process, plain PySpark with Hive support on the same embedded
metastore database, reads the table back: DESCRIBE TABLE EXTENDED, SHOW PARTITIONS, SHOW TBLPROPERTIES
and the rows by name. Every expected value is written by hand from the CSV files of
:data:`tests.support.ORDERS_BY_DAY`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from etl_cli.app import load_spec, new_run_id, registry
from etl_cli.errors import RunError
from etl_cli.events import Reporter
from etl_cli.model.catalog import HiveCatalog, Registration
from etl_cli.plan.dag import compile_plan
from etl_cli.runtime.catalog.entry import written_entry
from etl_cli.runtime.catalog.hive import HiveMetastore
from etl_cli.runtime.execution.dryrun import DryRun
from etl_cli.runtime.execution.workspace import open_workspace
from tests.clihelp import etl_cli
from tests.support import ORDERS_BY_DAY, orders_source
from tests.unit.helpers import make_project

# its runs need Spark extensions and catalogs of their own (a JVM each), not the tests' shared session
pytestmark = pytest.mark.own_jvm

PROJECT = """\
name: shop
catalogs:
  hive: {type: hive_metastore, database: lake}
"""
ORDERS = (
    """\
name: orders
vars:
  data: data/orders.csv
"""
    + orders_source("INT")
    + """\
sinks:
  - name: orders_out
    type: parquet
    input: raw
    path: out/orders
    partition_by: [day]
    catalog:
      name: hive
      table: sales.orders
      description: Orders, one folder per day.
      owner: data-team
      tags: {domain: sales}
"""
)
FOREIGN = """\
name: foreign
sources:
  - {name: raw, type: csv, path: data/orders.csv}
sinks:
  - {name: copy, type: parquet, input: raw, path: out/copy, catalog: {name: hive, table: sales.manual}}
"""
FILES = {
    "pipelines/orders/pipeline.yaml": ORDERS,
    "pipelines/foreign/pipeline.yaml": FOREIGN,
    **ORDERS_BY_DAY,
}
#: a plain PySpark session with Hive support on the project's metastore, as any Spark job would open it
READER = """\
import json, sys
from pyspark.sql import SparkSession

state, setup = sys.argv[1], sys.argv[2:]
spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.ui.enabled", "false")
    .config("spark.hadoop.javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={state}/metastore_db")
    .config("spark.sql.warehouse.dir", f"{state}/warehouse")
    .enableHiveSupport()
    .getOrCreate()
)
for statement in setup:
    spark.sql(statement)
table = "sales.orders"
print(json.dumps({
    "describe": [list(r) for r in spark.sql(f"DESCRIBE TABLE EXTENDED {table}").collect()],
    "partitions": [r[0] for r in spark.sql(f"SHOW PARTITIONS {table}").collect()],
    "properties": {r[0]: r[1] for r in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()},
    "rows": [[r.id, r.email, str(r.amount), r.day] for r in spark.table(table).orderBy("id").collect()],
}))
spark.stop()
"""


@dataclass(frozen=True)
class Metastore:
    """What the runs did and what other sessions read back from the metastore after them."""

    project: Path
    first_run: subprocess.CompletedProcess[str]
    after_first: dict[str, Any]
    foreign_run: subprocess.CompletedProcess[str]
    second_run: subprocess.CompletedProcess[str]
    after_second: dict[str, Any]

    @property
    def state(self) -> Path:
        return self.project / "state"


def run(project: Path, pipeline: str, *args: str) -> subprocess.CompletedProcess[str]:
    return etl_cli("run", f"pipelines/{pipeline}", *args, cwd=project, env={"ETL_STATE_DIR": str(project / "state")})


def read_metastore(project: Path, *setup: str) -> dict[str, Any]:
    """The table as a new Spark session sees it in the metastore (after running ``setup`` statements)."""
    script = project / "reader.py"
    script.write_text(READER)
    state = str(project / "state")
    done = subprocess.run(
        [sys.executable, str(script), state, *setup],
        cwd=project / "reader",
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@pytest.fixture(scope="module")
def metastore(tmp_path_factory: pytest.TempPathFactory) -> Metastore:
    project = make_project(tmp_path_factory.mktemp("hive"), FILES, project=PROJECT)
    (project / "reader").mkdir()
    first = run(project, "orders")
    after_first = read_metastore(project, "CREATE TABLE sales.manual (x INT) USING parquet")
    foreign = run(project, "foreign")
    second = run(project, "orders", "--set", "vars.data=data/more.csv")
    return Metastore(project, first, after_first, foreign, second, read_metastore(project))


def details(read: dict[str, Any]) -> dict[str, str]:
    """The '# Detailed Table Information' rows of DESCRIBE TABLE EXTENDED."""
    rows = read["describe"]
    start = next(i for i, row in enumerate(rows) if row[0] == "# Detailed Table Information")
    return {row[0]: row[1] for row in rows[start + 1 :]}


def columns(read: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """The column rows of DESCRIBE TABLE EXTENDED, partition columns last."""
    rows = read["describe"]
    end = next(i for i, row in enumerate(rows) if row[0].startswith("#"))
    return [(row[0], row[1], row[2]) for row in rows[:end]]


def results(project: Path, pipeline: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((project / "state" / "runs" / pipeline / "default" / "latest.json").read_text())
    return found


def test_the_run_registers_the_table_after_publishing(metastore: Metastore) -> None:
    assert metastore.first_run.returncode == 0, metastore.first_run.stderr
    sink = next(s for s in results(metastore.project, "orders")["stages"] if s["name"] == "orders_out")
    assert metastore.after_first["rows"] == [
        [1, "ann@example.com", "10.50", "2024-03-01"],
        [2, "bob@example.com", "7.25", "2024-03-01"],
        [3, "cy@example.com", "3.00", "2024-03-02"],
    ]
    assert metastore.after_first["partitions"] == ["day=2024-03-01", "day=2024-03-02"]
    assert sink["status"] == "ok"


def test_the_metastore_holds_an_external_parquet_table_over_the_published_folder(metastore: Metastore) -> None:
    table = details(metastore.after_first)
    assert (table["Database"], table["Table"], table["Type"], table["Provider"]) == (
        "sales",
        "orders",
        "EXTERNAL",
        "parquet",
    )
    assert table["Location"] == f"file:{metastore.project / 'out' / 'orders'}"
    assert (table["Owner"], table["Comment"]) == ("data-team", "Orders, one folder per day.")


def test_columns_keep_their_types_and_the_contract_tags_partition_key_last(metastore: Metastore) -> None:
    assert columns(metastore.after_first) == [
        ("id", "int", None),
        ("email", "string", "tags: pii, contact"),
        ("amount", "decimal(10,2)", None),
        ("day", "string", None),
    ]


def test_tags_and_pii_columns_are_table_properties_with_who_registered_it(metastore: Metastore) -> None:
    properties = metastore.after_first["properties"]
    assert {key: properties.get(key) for key in ("domain", "pii_columns", "etl_cli.pipeline", "etl_cli.sink")} == {
        "domain": "sales",
        "pii_columns": "email",
        "etl_cli.pipeline": "orders",
        "etl_cli.sink": "orders_out",
    }


def test_a_second_run_updates_the_table_with_the_partition_it_added(metastore: Metastore) -> None:
    assert metastore.second_run.returncode == 0, metastore.second_run.stderr
    assert metastore.after_second["partitions"] == ["day=2024-03-01", "day=2024-03-02", "day=2024-03-03"]
    assert [row[0] for row in metastore.after_second["rows"]] == [1, 2, 3, 4]
    sink = next(s for s in results(metastore.project, "orders")["stages"] if s["name"] == "orders_out")
    assert sink["details"]["catalog"] == {"target": "hive:sales.orders", "action": "updated", "partitions": 3}


def test_a_table_etl_cli_did_not_register_is_not_replaced_and_the_data_stays_published(metastore: Metastore) -> None:
    refused = metastore.foreign_run
    assert refused.returncode == 4
    assert "registering it as hive:sales.manual failed: table sales.manual exists in the Hive metastore and " in (
        refused.stderr
    )
    assert "etl-cli did not register it: it is not replaced" in refused.stderr
    published = metastore.project / "out" / "copy"
    assert (published / "_ETL_CLI").is_file() and list(published.glob("part-*.parquet"))
    assert results(metastore.project, "foreign")["status"] == "failed"


def test_the_metastore_and_its_logs_stay_in_the_state_folder(metastore: Metastore) -> None:
    assert (metastore.state / "metastore_db").is_dir()
    assert (metastore.state / "logs" / "derby.log").is_file()
    assert {"derby.log", "metastore_db", "spark-warehouse"}.isdisjoint(p.name for p in metastore.project.iterdir())


def test_catalog_show_reads_the_table_back_from_the_metastore(metastore: Metastore) -> None:
    shown = etl_cli("catalog", "show", "sales.orders", "--format", "json", cwd=metastore.project,
                    env={"ETL_STATE_DIR": str(metastore.state)})  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    entry = json.loads(shown.stdout)
    assert {key: entry[key] for key in ("catalog", "database", "name", "format", "owner", "tags", "pii_columns")} == {
        "catalog": "hive",
        "database": "sales",
        "name": "orders",
        "format": "parquet",
        "owner": "data-team",
        "tags": {"domain": "sales"},
        "pii_columns": ["email"],
    }
    assert entry["columns"] == [
        {"name": "id", "type": "int", "tags": []},
        {"name": "email", "type": "string", "tags": ["pii", "contact"]},
        {"name": "amount", "type": "decimal(10,2)", "tags": []},
    ]
    assert entry["partition_keys"] == [{"name": "day", "type": "string", "tags": []}]
    assert entry["partitions"] == ["day=2024-03-01", "day=2024-03-02", "day=2024-03-03"]


def test_catalog_search_finds_the_table_by_a_column_tag(metastore: Metastore) -> None:
    found = etl_cli("catalog", "search", "contact", cwd=metastore.project, env={"ETL_STATE_DIR": str(metastore.state)})
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == ["hive  sales.orders  column email tag contact"]


def test_a_session_without_hive_support_cannot_register(spark: Any) -> None:
    registration = Registration("orders_out", HiveCatalog("hive"), "sales", "orders", "parquet", "out/orders")
    entry = written_entry(registration, [("id", "int")], "/tmp/orders", [], {"sink": "orders_out"})
    with pytest.raises(RunError) as caught:
        HiveMetastore(spark, HiveCatalog("hive")).register(entry, {})
    assert caught.value.message == "catalog 'hive': this Spark session was started without Hive support"


class _Quiet(Reporter):
    pass


def test_dry_run_lists_the_registration_without_registering(
    tmp_path: Path, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    project = make_project(tmp_path, FILES, project=PROJECT)
    _, spec = load_spec(project / "pipelines" / "orders", None)
    with open_workspace(compile_plan(spec), registry(), _Quiet(), new_run_id(), session=spark) as workspace:
        report = DryRun(workspace, registry(), _Quiet(), None, False).analyse()
    (registered,) = [e.to_json() for e in report.effects if e.effect.action == "register"]
    assert registered == {
        "stage": "orders_out",
        "action": "register",
        "target": "hive:sales.orders",
        "mode": "create or update",
        "details": {
            "catalog": "hive (hive_metastore)",
            "location": str(project / "out" / "orders"),
            "format": "parquet",
            "partition_by": ["day"],
            "pii": ["email"],
        },
        "partitions": None,
        "partitions_total": None,
    }
    assert not (tmp_path / "state" / "metastore_db").exists()
