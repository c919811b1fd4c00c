"""SIGINT and SIGTERM during ``etl-cli run``: exit 130/143, Spark's jobs cancelled, targets untouched,
staging removed, the lock free, and run results that say what happened.

Each test runs the CLI as cron would (a subprocess without a terminal) on a pipeline whose derive
sleeps 100 ms per row inside Spark (``reflect`` of ``Thread.sleep``), so the signal lands while the
sink's Spark job is running.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl_cli.runtime.bookkeeping.lock import run_lock
from tests.clihelp import REPO
from tests.unit.helpers import PROJECT, write

SLOW_PIPELINE = """
    name: slow
    spark:
      master: local[2]
    sources:
      - name: rows
        type: csv
        path: data/rows.csv
    transforms:
      - name: slowed
        type: derive
        inputs: [rows]
        columns:
          nap: reflect('java.lang.Thread', 'sleep', cast(100 as bigint))
    sinks:
      - name: out
        type: parquet
        input: slowed
        path: output/slow
        mode: overwrite
"""


def _slow_project(root: Path) -> Path:
    write(root, "etl-project.yaml", PROJECT)
    write(root, "pipelines/slow/pipeline.yaml", SLOW_PIPELINE)
    write(root, "data/rows.csv", "id,v\n" + "".join(f"{i},{i * 2}\n" for i in range(400)))
    return root


def _start_run(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "etl_cli", "run", "pipelines/slow", "--log-format", "json"],
        cwd=root,
        env={**_environ(), "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _environ() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO)}


def _wait_for_sink_job(run: subprocess.Popen[str]) -> list[str]:
    """Read the JSON event lines until the sink's stage starts (its Spark job runs the slow derive)."""
    seen = []
    deadline = time.monotonic() + 120
    assert run.stderr is not None
    while time.monotonic() < deadline:
        line = run.stderr.readline()
        if not line:
            break
        seen.append(line)
        if '"stage_started"' in line and '"sink"' in line:
            time.sleep(2)  # well inside the job: 400 rows at 100 ms on 2 cores take 20 s
            return seen
    pytest.fail("the run never reached its sink:\n" + "".join(seen))


@pytest.mark.parametrize(
    ("signum", "code", "status"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_stops_the_run_cleanly(tmp_path: Path, signum: int, code: int, status: str) -> None:
    root = _slow_project(tmp_path)
    run = _start_run(root)
    _wait_for_sink_job(run)
    signalled = time.monotonic()
    run.send_signal(signum)
    _, stderr = run.communicate(timeout=60)
    stopped_in = time.monotonic() - signalled

    assert run.returncode == code, stderr
    assert stopped_in < 15, f"the running Spark job was not cancelled (took {stopped_in:.1f} s)"
    assert not (root / "output" / "slow").exists(), "the target appeared although the run was stopped"
    leftovers = [p.name for p in (root / "output").iterdir()] if (root / "output").exists() else []
    assert leftovers == [], f"staging left behind: {leftovers}"
    state = root / ".etl"
    assert not list((state / "locks").glob("*.holder.json")), "the lock holder file was left behind"
    with run_lock(state, "slow", "dev", "next-run"):
        pass  # the lock is free: the next run can start
    results = json.loads((state / "runs" / "slow" / "dev" / "latest.json").read_text())
    assert (results["status"], results["exit_code"]) == (status, code)
    sink = next(s for s in results["stages"] if s["name"] == "out")
    assert sink["status"] == "interrupted"


SECOND_SIGNAL = """
import os, signal, sys, threading, time
from etl_cli.runtime.execution.signals import RunSignals

with RunSignals() as signals:
    signals.attach(lambda: time.sleep(60))  # a cancel that hangs, as a dying JVM may
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(30)
print("not reached")
"""


def test_a_second_signal_stops_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SECOND_SIGNAL], env=_environ(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 130, done.stderr
    assert "not reached" not in done.stdout
    assert "again" in done.stderr
    assert time.monotonic() - started < 10
