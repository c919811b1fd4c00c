"""``etl-cli submit`` against the Spark standalone cluster of scripts/services.sh (a master and two workers).

The quickstart pipeline goes through spark-submit in client deploy mode (the driver here, the executors on
the workers); its rows are compared with the daily revenue computed in plain Python from the sample CSVs,
and the master's own JSON status must list the application. A run that fails on the cluster exits 4, as
``etl-cli run`` does. Cluster deploy mode, which Spark refuses for Python on standalone clusters, is
refused before anything is built.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.clihelp import etl_cli
from tests.spark.test_cli_run import expected_quickstart_rows

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.services("spark-cluster")]


def _master() -> str:
    return os.environ["ETL_TEST_SPARK_MASTER"]


def _applications() -> list[dict[str, object]]:
    """The applications the master knows (running and finished), from its web UI's JSON."""
    with urllib.request.urlopen(os.environ["ETL_TEST_SPARK_MASTER_UI"] + "/json/", timeout=10) as response:
        state = json.load(response)
    return [*state.get("activeapps", []), *state.get("completedapps", [])]


def test_cluster_deploy_mode_on_a_standalone_cluster_is_refused_up_front(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    result = etl_cli(
        "submit", "pipelines/quickstart", "--master", _master(), "--deploy-mode", "cluster",
        "--staging-dir", str(staging),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "YARN and Kubernetes" in result.stderr and "--deploy-mode client" in result.stderr
    assert not staging.exists(), "nothing is built for a submission that cannot run"


def test_quickstart_submitted_in_client_mode_writes_the_expected_rows(tmp_path: Path) -> None:
    out = tmp_path / "warehouse"
    app_name = f"etl-cli-submit-{uuid.uuid4().hex[:8]}"
    state = tmp_path / "state"
    result = etl_cli(
        "submit", "pipelines/quickstart", "--master", _master(),
        "--set", f"vars.output_dir={out}", "--set", f"spark.app_name={app_name}",
        env={"ETL_STATE_DIR": str(state)}, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = ds.dataset(out / "daily_revenue", format="parquet", partitioning="hive").to_table().to_pylist()
    actual = sorted(
        (str(r["order_date"]), r["country"], r["orders"], r["revenue"], r["buyers"], r["rank_in_day"]) for r in table
    )
    assert actual == sorted(expected_quickstart_rows())
    ran = [app for app in _applications() if app.get("name") == app_name]
    assert ran, f"the master lists no application {app_name}: the run did not use the cluster"
    assert int(str(ran[0].get("cores", 0))) >= 1
    results = [json.loads(p.read_text()) for p in (state / "runs" / "quickstart").rglob("*.json")]
    assert list({r["run_id"]: r["status"] for r in results if r.get("run_id")}.values()) == ["success"]

    # the same through the cluster, with an input that is not there: the run's exit code, 4
    failed = etl_cli(
        "submit", "pipelines/quickstart", "--master", _master(),
        "--set", f"vars.data_dir={tmp_path / 'missing'}", "--set", f"vars.output_dir={out}",
        env={"ETL_STATE_DIR": str(state)}, timeout=600,
    )  # fmt: skip
    assert failed.returncode == 4, failed.stderr
    said = failed.stdout + failed.stderr
    assert "PATH_NOT_FOUND" in said and str(tmp_path / "missing" / "orders.csv") in said
