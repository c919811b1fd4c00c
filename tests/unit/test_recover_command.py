"""``etl-cli recover PIPELINE``: under the pipeline's lock, without a JVM for local targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_cli.runtime.bookkeeping.lock import run_lock
from tests.clihelp import etl_cli

from .helpers import make_project
from .test_publish_journal import RUN, counted_publish, data_files, old_files, put

PIPELINE = """
    name: p
    sources:
      - {name: orders, type: csv, path: data/orders.csv}
    sinks:
      - {name: out, type: parquet, input: orders, path: output/out}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"data/orders.csv": "id\n1\n", "p/pipeline.yaml": PIPELINE}, project="name: proj\n")


def recover(project: Path) -> tuple[int, str, str]:
    result = etl_cli("recover", "p", cwd=project, env={"ETL_STATE_DIR": str(project / "state")})
    return result.returncode, result.stdout, result.stderr


def test_nothing_to_recover_exits_0_and_says_so(project: Path) -> None:
    assert recover(project) == (0, "nothing to recover\n", "")


def test_a_killed_publish_is_rolled_back_without_starting_spark(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    put(project / "output" / "out", old_files(True))
    journal_dir = project / "state" / "journal" / "p" / "default"
    counted_publish(project / "output", journal_dir, "overwrite-partitioned", 8, monkeypatch)  # 5 of 9 moves done
    code, out, err = recover(project)
    assert code == 0, err
    assert out == (
        f"recovered: {project / 'output' / 'out'}: publish by run {RUN} (sink 'out') rolled back "
        "(5 of 9 moves undone): the data before that run is in place\n"
    )
    assert data_files(project / "output" / "out") == old_files(True)
    assert list(journal_dir.iterdir()) == []
    assert not (project / "state" / "logs").exists(), "no Spark session (it would log to state/logs)"


def test_a_run_holding_the_lock_makes_recover_exit_5_and_touch_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(project / "output" / "out", old_files(True))
    journal_dir = project / "state" / "journal" / "p" / "default"
    counted_publish(project / "output", journal_dir, "overwrite-partitioned", 8, monkeypatch)
    during = data_files(project / "output" / "out")
    with run_lock(project / "state", "p", None, "the-live-run"):
        code, _, err = recover(project)
    assert code == 5
    assert "the-live-run" in err
    assert data_files(project / "output" / "out") == during
    assert [p.name for p in journal_dir.iterdir()] == [f"{RUN}.out.json"]


def test_the_lock_holder_file_of_a_killed_run_is_removed_and_named(project: Path) -> None:
    holder = project / "state" / "locks" / "p.default.holder.json"
    holder.parent.mkdir(parents=True)
    holder.write_text(json.dumps({"run_id": "killed-run", "pid": 999999, "host": "h", "started_at": "t"}))
    code, out, _ = recover(project)
    assert code == 0
    assert "removed the lock holder file of run killed-run (pid 999999 on h)" in out
    assert not holder.exists()
