"""Run metrics reach a real Prometheus Pushgateway: rows per stage, check results, the run's
outcome, retries and the circuit breaker; a failed run keeps the last success time and
nothing else of the run before; a Pushgateway that cannot be reached costs a warning, not the run.

Start it with ``scripts/services.sh up pushgateway`` and ``eval "$(scripts/services.sh env pushgateway)"``.
Without it these tests skip, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import json
import socket
import urllib.request
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.clihelp import etl_cli
from tests.integration.dbhelp import require
from tests.unit.helpers import write

# 10 orders: two negative amounts (dropped by a check), one without a customer (warned about)
ORDERS = """order_id,customer_id,amount
1,10,5.00
2,11,-1.00
3,12,7.50
4,,3.00
5,13,-2.50
6,14,9.99
7,15,1.00
8,16,2.00
9,17,4.00
10,18,6.00
"""
PIPELINE = """\
name: metered
spark: {master: "local[1]"}
sources:
  - {name: orders, type: csv, path: metered/orders.csv, schema: "order_id INT, customer_id INT, amount DOUBLE"}
transforms:
  - {name: big, type: filter, inputs: [orders], condition: "amount > 3"}
sinks:
  - {name: out, type: parquet, input: big, path: out}
checks:
  - {name: positive_amount, stage: orders, type: range, column: amount, min: 0, action: drop}
  - {name: has_customer, stage: orders, type: not_null, columns: [customer_id], action: warn}
  - {name: enough_orders, stage: orders, type: row_count, min: "${var:min_rows}", action: fail}
vars: {min_rows: 1}
metrics:
  type: pushgateway
  url: ${env:ETL_TEST_PUSHGATEWAY_URL}
  job: ${env:METRICS_JOB}
"""


@pytest.fixture()
def gateway() -> str:
    return require(["ETL_TEST_PUSHGATEWAY_URL"], "pushgateway")["ETL_TEST_PUSHGATEWAY_URL"]


def project(root: Path, pipeline: str = PIPELINE) -> Path:
    write(root, "etl-project.yaml", "name: metered\n")
    write(root, "metered/orders.csv", ORDERS)
    write(root, "metered/pipeline.yaml", pipeline)
    return root / "metered"


def scrape(gateway: str, job: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The Pushgateway's samples of ``job``, keyed by name and labels (without the grouping labels)."""
    with urllib.request.urlopen(f"{gateway}/metrics", timeout=10) as response:
        text = response.read().decode()
    grouping = {"job", "instance", "pipeline", "env"}
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("job") == job and sample.name.startswith("etl_"):
                assert sample.labels["pipeline"] == "metered" and sample.labels["env"] == "default"
                labels = frozenset((k, v) for k, v in sample.labels.items() if k not in grouping)
                found[(sample.name, labels)] = sample.value
    return found


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def run(root: Path, job: str, *args: str) -> tuple[int, str, dict]:  # type: ignore[type-arg]
    state = root / "state"
    done = etl_cli("run", str(root / "metered"), *args, env={"METRICS_JOB": job, "ETL_STATE_DIR": str(state)}, cwd=root)
    results = json.loads(next((state / "runs" / "metered" / "default").glob("latest.json")).read_text())
    return done.returncode, done.stdout + done.stderr, results


def test_a_run_pushes_rows_checks_and_outcome(tmp_path: Path, gateway: str) -> None:
    job = f"etl-test-{uuid.uuid4().hex[:8]}"
    project(tmp_path)
    code, output, results = run(tmp_path, job)
    assert code == 0, output
    assert results["metrics"] == {
        "exporter": "pushgateway",
        "exported": True,
        "target": f"{gateway} (job {job}, pipeline=metered, env=default)",
    }
    found = scrape(gateway, job)
    assert found[key("etl_run_success")] == 1
    assert found[key("etl_run_exit_code")] == 0
    assert found[key("etl_run_last_success_timestamp_seconds")] == found[key("etl_run_finished_timestamp_seconds")]
    # computed from ORDERS by hand: 10 rows read, 2 dropped, of the 8 left 5 have amount > 3
    assert found[key("etl_stage_rows_out", stage="orders", kind="source")] == 8
    assert found[key("etl_stage_rows_out", stage="big", kind="transform")] == 5
    assert found[key("etl_stage_rows_out", stage="out", kind="sink")] == 5
    drop = {"check": "positive_amount", "stage": "orders", "type": "range", "action": "drop"}
    warn = {"check": "has_customer", "stage": "orders", "type": "not_null", "action": "warn"}
    assert found[key("etl_quality_rows_evaluated", **drop)] == 10
    assert found[key("etl_quality_rows_failed", **drop)] == 2
    assert found[key("etl_quality_rows_failed", **warn)] == 1
    assert found[key("etl_quality_failure_ratio", **warn)] == pytest.approx(0.1)
    assert found[key("etl_quality_check_outcome", check="has_customer", stage="orders", outcome="warned")] == 1
    assert found[key("etl_quality_check_outcome", check="enough_orders", stage="orders", outcome="passed")] == 1
    assert found[key("etl_quality_rows_removed", stage="orders")] == 2


def test_a_failed_run_pushes_its_exit_code_and_keeps_the_last_success(tmp_path: Path, gateway: str) -> None:
    job = f"etl-test-{uuid.uuid4().hex[:8]}"
    project(tmp_path)
    assert run(tmp_path, job)[0] == 0
    succeeded = scrape(gateway, job)[key("etl_run_last_success_timestamp_seconds")]
    code, output, _ = run(tmp_path, job, "--set", "vars.min_rows=100")
    assert code == 3, output
    found = scrape(gateway, job)
    assert found[key("etl_run_success")] == 0
    assert found[key("etl_run_exit_code")] == 3
    assert found[key("etl_run_last_success_timestamp_seconds")] == succeeded
    assert found[key("etl_run_finished_timestamp_seconds")] > succeeded
    assert found[key("etl_quality_check_outcome", check="enough_orders", stage="orders", outcome="failed")] == 1


def test_a_failed_run_leaves_none_of_the_previous_runs_numbers_standing(tmp_path: Path, gateway: str) -> None:
    job = f"etl-test-{uuid.uuid4().hex[:8]}"
    project(tmp_path)
    assert run(tmp_path, job)[0] == 0
    before = scrape(gateway, job)
    assert before[key("etl_stage_rows_out", stage="out", kind="sink")] == 5
    code, output, results = run(tmp_path, job, "--set", "sources.orders.path=metered/missing.csv")
    assert code == 4, output
    assert [stage["rows_out"] for stage in results["stages"]] == [None, None, None]
    found = scrape(gateway, job)
    # the failed run counted no rows and evaluated no check: nothing of the kind may stand beside its status
    counted = sorted(name for name, _ in found if name.startswith(("etl_stage_rows_", "etl_quality_")))
    assert counted == []
    assert found[key("etl_stage_status", stage="orders", kind="source", status="failed")] == 1
    assert found[key("etl_stage_status", stage="out", kind="sink", status="not_run")] == 1
    assert key("etl_stage_status", stage="out", kind="sink", status="ok") not in found
    assert found[key("etl_run_success")] == 0
    assert found[key("etl_run_exit_code")] == 4
    # the one number a failed run carries over: when the pipeline last succeeded
    assert found[key("etl_run_last_success_timestamp_seconds")] == before[key("etl_run_last_success_timestamp_seconds")]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_retries_and_an_open_circuit_are_pushed(tmp_path: Path, gateway: str) -> None:
    job = f"etl-test-{uuid.uuid4().hex[:8]}"
    port = closed_port()
    pipeline = f"""\
name: metered
spark: {{master: "local[1]"}}
retry: {{attempts: 3, initial_delay: 0.1, max_delay: 0.2, jitter: 0}}
circuit_breaker: {{failure_threshold: 2, reset_timeout: 600}}
sources:
  - name: accounts
    type: jdbc
    url: jdbc:postgresql://127.0.0.1:{port}/nowhere
    table: accounts
    user: etl
    password: ${{env:NOT_A_SECRET:-x}}
sinks:
  - {{name: out, type: parquet, input: accounts, path: out}}
metrics: {{type: pushgateway, url: "${{env:ETL_TEST_PUSHGATEWAY_URL}}", job: "${{env:METRICS_JOB}}"}}
"""
    project(tmp_path, pipeline)
    code, output, results = run(tmp_path, job)
    assert code == 4, output
    endpoint = f"postgresql://127.0.0.1:{port}"
    assert list(results["resilience"]) == [endpoint]
    found = scrape(gateway, job)
    # attempt 1 and 2 fail (connection refused) and open the circuit; attempt 3 is refused without trying
    assert found[key("etl_endpoint_attempts", endpoint=endpoint)] == 2
    assert found[key("etl_endpoint_failures", endpoint=endpoint)] == 2
    assert found[key("etl_endpoint_retries", endpoint=endpoint)] == 2
    assert found[key("etl_endpoint_rejected", endpoint=endpoint)] == 1
    assert found[key("etl_circuit_breaker_state", endpoint=endpoint, state="open")] == 1
    assert found[key("etl_circuit_breaker_state", endpoint=endpoint, state="closed")] == 0
    assert found[key("etl_circuit_breaker_transitions", endpoint=endpoint, state="open")] == 1
    assert found[key("etl_run_exit_code")] == 4


def test_an_unreachable_pushgateway_costs_a_warning_not_the_run(tmp_path: Path) -> None:
    project(tmp_path)
    code, output, results = run(tmp_path, "unused", "--set", f"metrics.url=http://127.0.0.1:{closed_port()}")
    assert code == 0, output
    assert "metrics were not exported (pushgateway)" in output
    assert results["status"] == "success"
    assert results["metrics"]["exported"] is False and "Connection refused" in results["metrics"]["error"]
    assert (tmp_path / "out").is_dir()
