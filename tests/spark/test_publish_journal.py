"""Real runs killed with SIGKILL while they swap partitions are recovered to the old or the new data.

Each round restores the old dataset, starts ``etl-cli run`` in its own process group, waits for
the publish journal to say ``committing`` (the swap begins), sleeps a different delay, and
SIGKILLs the Python process, the JVM, or both. ``etl-cli recover`` (or the next run) must then
leave exactly the old rows or exactly the new ones, read back with pyarrow and compared row by
row with the data written below, with no staging folder, journal or lock holder left.

Every round starts a JVM, so the rounds are few (``ROUNDS_*``) and the file stops adding rounds
after ``BUDGET_S``; ``tests/unit/test_publish_journal.py`` kills a publish before every one of
its steps, without a JVM.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from pyspark.sql import SparkSession

import etl_cli.plugins.builtin  # registers the built-in plug-ins
from etl_cli.plugins.api import RunContext, Sink, StageSpec
from etl_cli.plugins.registry import REGISTRY
from tests.clihelp import etl_cli

OLD_DAYS = [f"2024-01-{d:02d}" for d in range(1, 9)]  # 8 partitions
NEW_DAYS = [f"2024-01-{d:02d}" for d in range(3, 11)]  # 6 of them replaced, 2 added, 2 kept
OLD_ROWS = [(i * 10 + k, day, i * 10 + k) for i, day in enumerate(OLD_DAYS) for k in range(3)]
NEW_ROWS = [(1000 + i * 10 + k, day, -(i * 10 + k)) for i, day in enumerate(NEW_DAYS) for k in range(3)]
#: the dynamic partition overwrite by hand: the old rows of the days the new data lacks, and every new row
NEW_PARTITIONED = sorted([row for row in OLD_ROWS if row[1] not in NEW_DAYS] + NEW_ROWS)
SCHEMA = "id INT, day STRING, amount INT"
#: (delay after the swap began in ms, what to kill): spread over the ~50-100 ms a swap of 8 partitions takes
ROUNDS_PARTITIONED = [(0, "both"), (8, "both"), (35, "python")]
#: a plain overwrite is two renames: the window is a few milliseconds wide
ROUNDS_PLAIN = [(2, "python"), (5, "jvm")]
BUDGET_S = 240
#: the delays of further rounds while no kill has landed inside the swap yet: on a quiet machine the swap can be over
#: within 8 ms (a kill at 0 ms came before the first move, one at 8 ms after the commit), on a busy one the checks
#: before the first move can outlast 35 ms
LATER_DELAYS_MS = (2, 4, 80, 150, 300)

PIPELINE = """\
name: {name}
spark:
  master: local[1]
  conf: {{spark.sql.shuffle.partitions: 2}}
sources:
  - name: orders
    type: csv
    path: data/new.csv
    schema: "{schema}"
sinks:
  - name: out
    type: parquet
    input: orders
    path: out/{name}
    mode: overwrite
{partitioning}"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> Path:
    """Two pipelines over the new rows, and a copy of each target's old data as etl-cli wrote it."""
    root = tmp_path_factory.mktemp("killed")
    (root / "etl-project.yaml").write_text("name: killed\n")
    (root / "data").mkdir()
    lines = ["id,day,amount\n"] + [f"{i},{day},{amount}\n" for i, day, amount in NEW_ROWS]
    (root / "data" / "new.csv").write_text("".join(lines))
    for name, partitioning in (("partitioned", "    partition_by: [day]\n"), ("plain", "")):
        (root / name).mkdir()
        text = PIPELINE.format(name=name, schema=SCHEMA, partitioning=partitioning)
        (root / name / "pipeline.yaml").write_text(text)
        write_old(spark, root / "old", name, bool(partitioning))
    return root


def write_old(spark: SparkSession, folder: Path, name: str, partitioned: bool) -> None:
    options: dict[str, Any] = {"path": name, "mode": "overwrite"}
    if partitioned:
        options["partition_by"] = ("day",)
    stage = StageSpec("out", "sink", "parquet", ("orders",), MappingProxyType(options))
    plugin = REGISTRY.get("sink", "parquet")()
    assert isinstance(plugin, Sink)
    ctx = RunContext(spark=spark, project_root=folder, run_id="old-run")
    plugin.stage_write(ctx, stage, spark.createDataFrame(OLD_ROWS, SCHEMA)).commit()


def rows(target: Path) -> list[tuple[Any, ...]]:
    partitioning = ds.partitioning(pa.schema([("day", pa.string())]), flavor="hive")
    table = ds.dataset(target, format="parquet", partitioning=partitioning).to_table(columns=["id", "day", "amount"])
    return sorted(tuple(r.values()) for r in table.to_pylist())


def journals(root: Path, name: str) -> list[Path]:
    folder = root / "state" / "journal" / name / "default"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def start_run(root: Path, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NO_COLOR": "1", "ETL_STATE_DIR": str(root / "state")}
    return subprocess.Popen(
        [sys.executable, "-m", "etl_cli", "run", name],
        cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def swap_began(root: Path, name: str, run: subprocess.Popen[bytes]) -> bool:
    """Wait until the run's journal says ``committing``; False when the run ended first."""
    deadline = time.monotonic() + 180
    while run.poll() is None and time.monotonic() < deadline:
        for path in journals(root, name):
            try:
                if json.loads(path.read_text())["phase"] == "committing":
                    return True
            except (OSError, ValueError):
                pass  # being replaced at this instant
        time.sleep(0.0005)
    return False


def kill(run: subprocess.Popen[bytes], which: str) -> None:
    """SIGKILL the run's Python process, its JVM, or the whole process group (both)."""
    jvms = []
    for child in psutil.Process(run.pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a short-lived child may end while it is looked at
            if child.name() == "java":
                jvms.append(child)
    if which == "both":
        os.killpg(run.pid, signal.SIGKILL)
    elif which == "python":
        os.kill(run.pid, signal.SIGKILL)
    else:
        for jvm in jvms:
            jvm.kill()
    run.wait(timeout=60)
    # an orphaned JVM notices its Python is gone and exits; recovery starts once nothing of the run is left
    _, alive = psutil.wait_procs(jvms, timeout=30)
    for process in alive:
        process.kill()


def restore_old(root: Path, name: str) -> None:
    target = root / "out" / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(root / "old" / name, target)


def assert_clean(root: Path, name: str) -> None:
    assert [p.name for p in (root / "out").iterdir() if ".etl-" in p.name] == []
    assert journals(root, name) == []
    assert not list((root / "state" / "locks").glob("*.holder.json"))


def kill_rounds(root: Path, name: str, rounds: list[tuple[int, str]], new: list[Any], started: float) -> list[str]:
    """Run each round (kill, then ``etl-cli recover``); return what recovery said of each."""
    said = []
    for delay_ms, which in rounds:
        if time.monotonic() - started > BUDGET_S and said:
            break
        restore_old(root, name)
        run = start_run(root, name)
        if swap_began(root, name, run):
            time.sleep(delay_ms / 1000)
            kill(run, which)
        else:
            run.wait(timeout=60)
        recovered = etl_cli("recover", name, cwd=root, env={"ETL_STATE_DIR": str(root / "state")})
        assert recovered.returncode == 0, recovered.stderr
        found = rows(root / "out" / name)
        assert found in (sorted(OLD_ROWS), new), f"{name}, killed ({which}) {delay_ms} ms into the swap: {found}"
        assert_clean(root, name)
        said.append(recovered.stdout)
    return said


def inside_the_swap(said: list[str]) -> bool:
    """Whether a round's kill landed after the swap's first move (recovery undid some moves)."""
    return any("rolled back" in text and "(0 of" not in text for text in said)


def test_partitioned_overwrites_killed_during_the_swap_are_recovered_to_old_or_new(project: Path) -> None:
    said = kill_rounds(project, "partitioned", ROUNDS_PARTITIONED, NEW_PARTITIONED, time.monotonic())
    # on a busy machine the checks before the first move can outlast the short delays: wait longer, a round at a time
    for delay_ms in LATER_DELAYS_MS:
        if inside_the_swap(said):
            break
        said += kill_rounds(project, "partitioned", [(delay_ms, "both")], NEW_PARTITIONED, time.monotonic())
    assert inside_the_swap(said), "no kill landed inside the swap: " + " | ".join(said)


def test_plain_overwrites_killed_during_the_swap_are_recovered_to_old_or_new(project: Path) -> None:
    kill_rounds(project, "plain", ROUNDS_PLAIN, sorted(NEW_ROWS), time.monotonic())


def test_the_next_run_recovers_a_killed_one_before_it_publishes(project: Path) -> None:
    restore_old(project, "partitioned")
    run = start_run(project, "partitioned")
    assert swap_began(project, "partitioned", run)
    kill(run, "both")
    assert journals(project, "partitioned"), "killed as the swap began, the run left its journal"
    again = etl_cli("run", "partitioned", cwd=project, env={"ETL_STATE_DIR": str(project / "state")})
    assert again.returncode == 0, again.stderr
    assert "recovered: " in again.stderr and "rolled back" in again.stderr
    assert rows(project / "out" / "partitioned") == NEW_PARTITIONED
    assert_clean(project, "partitioned")


def test_recovery_through_hadoop_rolls_back_as_the_local_one_does(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # targets on s3a: or hdfs: are recovered through Hadoop's FileSystem; here the same on the local disk
    from etl_cli.plugins.sinks.journal import recover_journals
    from etl_cli.plugins.sinks.staging import HadoopFileSystem
    from tests.unit.test_publish_journal import counted_publish, data_files, old_files, put

    put(tmp_path / "out", old_files(True))
    counted_publish(tmp_path, tmp_path / "journal", "overwrite-partitioned", 8, monkeypatch)  # 5 of 9 moves done
    (said,) = recover_journals(tmp_path / "journal", "live", lambda uri: HadoopFileSystem(spark, uri))
    assert "rolled back (5 of 9 moves undone)" in said
    assert data_files(tmp_path / "out") == old_files(True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal", "out"]
    assert list((tmp_path / "journal").iterdir()) == []


def test_nothing_to_recover_exits_0(project: Path) -> None:
    result = etl_cli("recover", "plain", cwd=project, env={"ETL_STATE_DIR": str(project / "state")})
    assert (result.returncode, result.stdout) == (0, "nothing to recover\n")
