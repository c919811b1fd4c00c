"""What the OpenLineage run tests share: a small project, three ways for its run to end, and ``etl-cli run``.

The pipeline reads a CSV without a declared schema (START then knows no columns, the later event
Spark's), filters it and builds one transform that decides the outcome: an aggregation (success),
a derive that raises on a row (failure), or one that sleeps 100 ms per row inside Spark, so a
signal lands while the sink's job runs (interruption).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.clihelp import REPO
from tests.unit.helpers import make_project

ORDERS = """
    name: orders
    spark:
      master: local[2]
    sources:
      - name: raw
        type: csv
        path: data/orders.csv
    transforms:
      - name: paid
        type: filter
        inputs: [raw]
        condition: status = 'paid'
      - name: per_customer
        inputs: [paid]
"""
SINK = """
    sinks:
      - name: out
        type: parquet
        input: per_customer
        path: output/per_customer
        mode: overwrite
"""
#: the last transform of each outcome, as the items of ``per_customer`` (indented under it)
SUCCEEDS = "type: aggregate\ngroup_by: [customer]\naggregations:\n  total: {function: sum, column: amount}\n"
FAILS = "type: derive\ncolumns:\n  checked: IF(amount < 90, amount, raise_error('too much'))\n"
IS_SLOW = "type: derive\ncolumns:\n  nap: reflect('java.lang.Thread', 'sleep', cast(100 as bigint))\n"
DATA = "id,customer,amount,status\n1,ann,10.0,paid\n2,bob,95.5,paid\n3,ann,5.0,paid\n4,cid,7.0,open\n"
#: 400 rows at 100 ms each on 2 cores: 20 s of Spark job to interrupt
SLOW_DATA = "id,customer,amount,status\n" + "".join(f"{i},c{i},1.0,paid\n" for i in range(400))
PARENT_ID = "0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a"
PARENT = f"airflow/nightly.orders/{PARENT_ID}"


def orders_project(root: Path, lineage: str, last_transform: str, data: str = DATA) -> Path:
    """A project (environment dev) with ``lineage`` (a YAML block), its orders pipeline ending in ``last_transform``."""
    pipeline = textwrap.dedent(ORDERS) + textwrap.indent(last_transform, " " * 4) + textwrap.dedent(SINK)
    project = "name: shop\ndefault_env: dev\nenvironments: {dev: {}}\n" + textwrap.dedent(lineage)
    return make_project(root, {"pipelines/orders/pipeline.yaml": pipeline, "data/orders.csv": data}, project=project)


def environ(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), **(extra or {})}


def run_orders(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``etl-cli run pipelines/orders ARGS`` in ``root``, to the end."""
    return subprocess.run(
        [sys.executable, "-m", "etl_cli", "run", "pipelines/orders", *args],
        cwd=root,
        env=environ(env),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def interrupt_orders(root: Path, env: dict[str, str] | None = None) -> int:
    """Start ``etl-cli run`` on the slow pipeline, SIGINT it while the sink's job runs; its exit code."""
    run = subprocess.Popen(
        [sys.executable, "-m", "etl_cli", "run", "pipelines/orders", "--log-format", "json"],
        cwd=root,
        env=environ(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_the_sink(run)
        run.send_signal(signal.SIGINT)
        run.communicate(timeout=120)
    finally:
        run.kill()
    return run.returncode


def _wait_for_the_sink(run: subprocess.Popen[str]) -> None:
    """Read the JSON event lines until the sink's stage starts (its Spark job runs the slow derive)."""
    assert run.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = run.stderr.readline()
        if not line:
            break
        if '"stage_started"' in line and '"sink"' in line:
            time.sleep(2)  # well inside the job
            return
    pytest.fail("the run never reached its sink")
