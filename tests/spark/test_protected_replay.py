"""``dlq replay`` into a protected environment: refused without ``--confirm-env``, and once confirmed it
appends the corrected rows and its audit record says it was a replay and who confirmed it.

Runs in-process on the shared session (``execute_run`` joins it), so no JVM is started here.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from pyspark.sql import SparkSession

from etl_cli import app
from etl_cli.config.project import load_project
from etl_cli.errors import UsageError
from etl_cli.events import Reporter
from etl_cli.runtime.bookkeeping.audit_trail import read_lines, trail_path
from etl_cli.runtime.execution.run import execute_run
from etl_cli.usecases.dlq import QueueOptions, ReplayOptions, replay_dead_letters

PROJECT = "name: shop\nenvironments: {dev: {}, prod: {protected: true}}\n"
CSV = "id,amount\n1,1.5\n2,2.5\n3,abc\n"
PIPELINE = """\
name: orders
sources:
  - {name: orders, type: csv, path: orders.csv, schema: "id INT, amount DOUBLE", on_malformed: dead_letter}
sinks:
  - {name: out, type: parquet, input: orders, path: out, mode: overwrite}
dead_letter: {type: json, path: dlq}
"""


def test_a_replay_into_a_protected_environment_is_confirmed_and_recorded(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ETL_PRINCIPAL", "alice")
    (tmp_path / "etl-project.yaml").write_text(PROJECT)
    (tmp_path / "orders.csv").write_text(CSV)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    _, spec = app.load_spec(tmp_path / "pipeline.yaml", "prod")
    execute_run(spec, app.registry(), Reporter(), "run-1")
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text('{"id": 3, "amount": 3.5}\n')
    queue = QueueOptions(env="prod", runs=("run-1",))

    with pytest.raises(UsageError, match="dlq replay into it needs --confirm-env prod"):
        replay_dead_letters(tmp_path / "pipeline.yaml", queue, ReplayOptions(rows_file=fixed), Reporter())
    out = ds.dataset(tmp_path / "out", format="parquet").to_table().to_pylist()
    assert sorted(row["id"] for row in out) == [1, 2], "the refused replay wrote nothing"

    options = ReplayOptions(rows_file=fixed, confirm_env="prod")
    assert replay_dead_letters(tmp_path / "pipeline.yaml", queue, options, Reporter()) == 0
    out = ds.dataset(tmp_path / "out", format="parquet").to_table().to_pylist()
    assert sorted((row["id"], row["amount"]) for row in out) == [(1, 1.5), (2, 2.5), (3, 3.5)]

    records = [json.loads(line) for line in read_lines(trail_path(load_project(tmp_path).run_state_dir()))]
    first, refused, replayed = records
    assert (first["command"], first["run_id"], first["confirmation"]) == ("run", "run-1", None)
    assert (refused["command"], refused["outcome"], refused["exit_code"]) == ("dlq replay", "refused", 2)
    assert (replayed["command"], replayed["outcome"], replayed["environment"]) == ("dlq replay", "success", "prod")
    assert replayed["confirmation"]["flag"] == "--confirm-env prod"
    assert replayed["confirmation"]["by"] == getpass.getuser()
    assert replayed["principal"] == "alice"
    assert [w["stage"] for w in replayed["datasets"]["written"]] == ["out"]
