"""An overwrite never deletes what etl-cli did not write (docs/run.md, "What overwrite refuses").

Every dataset a file sink publishes carries a ``_ETL_CLI`` marker; an overwrite of a non-empty
target without it is refused before anything is written, and again just before the swap, unless
the sink says ``replace_foreign: true``. Foreign files are compared byte for byte afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from pyspark.sql import SparkSession

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli import app
from etl_cli.errors import ConfigError, ExitCode, Location
from etl_cli.events import Reporter
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.registry import REGISTRY
from etl_cli.runtime.execution.dryrun import DryRun
from etl_cli.runtime.execution.executor import StageFailed
from etl_cli.runtime.execution.run import execute_run
from etl_cli.runtime.execution.workspace import Workspace
from etl_cli.secrets.redaction import Redactor

SCHEMA = "id INT, country STRING"
OLD = [(1, "FR"), (2, "DE")]
NEW = [(3, "DE"), (4, "US")]
SINK_LINE = Location("pipeline.yaml", 12, 5)


def stage_write(
    spark: SparkSession, root: Path, rows: list[tuple[Any, ...]], run_id: str, **options: Any
) -> PendingWrite:
    options.setdefault("path", "out")
    stage = StageSpec("orders_out", "sink", "parquet", ("orders",), MappingProxyType(options), SINK_LINE)
    plugin = REGISTRY.get("sink", "parquet")()
    assert isinstance(plugin, Sink)
    ctx = RunContext(spark=spark, project_root=root, run_id=run_id, pipeline="orders")
    return plugin.stage_write(ctx, stage, spark.createDataFrame(rows, SCHEMA))


def publish(spark: SparkSession, root: Path, rows: list[tuple[Any, ...]], run_id: str, **options: Any) -> None:
    stage_write(spark, root, rows, run_id, **options).commit()


def read_back(spark: SparkSession, path: Path) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in spark.read.parquet(str(path)).select("id", "country").collect())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def foreign_folder(root: Path) -> dict[str, bytes]:
    """A folder at the sink's target holding someone else's files; returns them, bytes and all."""
    files = {"report.xlsx": b"\x50\x4b\x03\x04 quarterly numbers", "notes/todo.txt": b"call the bank\n"}
    for relative, data in files.items():
        (root / "out" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "out" / relative).write_bytes(data)
    return files


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if ".etl-" in p.name)


def test_every_published_dataset_carries_a_marker_that_readers_skip(spark: SparkSession, tmp_path: Path) -> None:
    publish(spark, tmp_path, OLD, "run-1")
    marker = json.loads((tmp_path / "out" / "_ETL_CLI").read_text())
    assert (marker["writer"], marker["pipeline"], marker["sink"], marker["run_id"]) == (
        "etl-cli", "orders", "orders_out", "run-1",
    )  # fmt: skip
    assert read_back(spark, tmp_path / "out") == [(1, "FR"), (2, "DE")]


def test_a_second_overwrite_of_its_own_output_replaces_it(spark: SparkSession, tmp_path: Path) -> None:
    publish(spark, tmp_path, OLD, "run-1")
    publish(spark, tmp_path, NEW, "run-2", mode="overwrite")
    assert read_back(spark, tmp_path / "out") == [(3, "DE"), (4, "US")]
    assert json.loads((tmp_path / "out" / "_ETL_CLI").read_text())["run_id"] == "run-2"


def test_an_overwrite_of_a_folder_of_foreign_files_is_refused_and_they_survive(
    spark: SparkSession, tmp_path: Path
) -> None:
    files = foreign_folder(tmp_path)
    with pytest.raises(ConfigError) as refused:
        stage_write(spark, tmp_path, NEW, "run-1", mode="overwrite")
    assert refused.value.location == SINK_LINE
    assert "etl-cli did not write" in refused.value.message and "_ETL_CLI" in refused.value.message
    assert "replace_foreign: true" in (refused.value.hint or "")
    assert f"{tmp_path / 'out'}/_ETL_CLI" in (refused.value.hint or "")
    assert snapshot(tmp_path / "out") == files
    assert leftovers(tmp_path) == []


def test_a_partitioned_overwrite_of_foreign_partitions_is_refused(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / "out" / "country=DE").mkdir(parents=True)
    (tmp_path / "out" / "country=DE" / "data.csv").write_bytes(b"2,DE\n")
    with pytest.raises(ConfigError, match="etl-cli did not write"):
        stage_write(spark, tmp_path, NEW, "run-1", partition_by=["country"])
    assert snapshot(tmp_path / "out") == {"country=DE/data.csv": b"2,DE\n"}


def test_a_file_at_the_target_is_foreign(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / "out").write_bytes(b"not a dataset")
    with pytest.raises(ConfigError, match="etl-cli did not write"):
        stage_write(spark, tmp_path, NEW, "run-1")
    assert (tmp_path / "out").read_bytes() == b"not a dataset"


def test_replace_foreign_lets_the_overwrite_replace_the_folder(spark: SparkSession, tmp_path: Path) -> None:
    foreign_folder(tmp_path)
    publish(spark, tmp_path, NEW, "run-1", replace_foreign=True)
    assert read_back(spark, tmp_path / "out") == [(3, "DE"), (4, "US")]
    assert not (tmp_path / "out" / "report.xlsx").exists()
    assert (tmp_path / "out" / "_ETL_CLI").is_file()


def test_an_empty_folder_is_not_foreign(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    publish(spark, tmp_path, NEW, "run-1")
    assert read_back(spark, tmp_path / "out") == [(3, "DE"), (4, "US")]


def test_an_older_dataset_marked_by_hand_as_the_hint_says_can_be_overwritten(
    spark: SparkSession, tmp_path: Path
) -> None:
    publish(spark, tmp_path, OLD, "run-1")
    (tmp_path / "out" / "_ETL_CLI").unlink()  # as an etl-cli older than the marker left it
    with pytest.raises(ConfigError, match="etl-cli did not write"):
        stage_write(spark, tmp_path, NEW, "run-2")
    (tmp_path / "out" / "_ETL_CLI").touch()
    publish(spark, tmp_path, NEW, "run-2")
    assert read_back(spark, tmp_path / "out") == [(3, "DE"), (4, "US")]


def test_append_into_a_foreign_folder_adds_files_and_deletes_none(spark: SparkSession, tmp_path: Path) -> None:
    files = foreign_folder(tmp_path)
    publish(spark, tmp_path, NEW, "run-1", mode="append")
    after = snapshot(tmp_path / "out")
    assert {name: after[name] for name in files} == files
    parquet = [name for name in after if name.endswith(".parquet") and not name.startswith(".")]
    assert sorted(tuple(r) for r in spark.read.parquet(*[str(tmp_path / "out" / p) for p in parquet]).collect()) == [
        (3, "DE"), (4, "US"),
    ]  # fmt: skip
    assert "_ETL_CLI" not in after, "appending does not make the folder etl-cli's"


def test_foreign_files_appearing_while_the_run_wrote_are_refused_at_commit(spark: SparkSession, tmp_path: Path) -> None:
    write = stage_write(spark, tmp_path, NEW, "run-1")
    files = foreign_folder(tmp_path)
    with pytest.raises(ConfigError, match="etl-cli did not write"):
        write.commit()
    write.abort()
    assert snapshot(tmp_path / "out") == files
    assert leftovers(tmp_path) == []


def test_the_project_root_as_a_target_is_refused_at_run_time_too(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("project file\n")
    (tmp_path / "_ETL_CLI").touch()  # even marked: the place itself is guarded
    with pytest.raises(ConfigError, match="the project root"):
        stage_write(spark, tmp_path, NEW, "run-1", path=".")
    assert (tmp_path / "keep.txt").read_text() == "project file\n"


PIPELINE = """\
name: orders
sources:
  - name: orders
    type: csv
    path: data/orders.csv
    schema: "id INT, country STRING"
sinks:
  - name: orders_out
    type: parquet
    input: orders
    path: out
    mode: overwrite
"""


def project_onto_foreign_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, bytes], PipelineSpec]:
    """A project whose overwrite sink targets a folder of someone else's files: root, those files, the spec."""
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "etl-project.yaml").write_text("name: t\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("3,DE\n4,US\n")
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    files = foreign_folder(tmp_path)
    _, spec = app.load_spec(tmp_path / "pipeline.yaml", None)
    return tmp_path, files, spec


def test_a_run_onto_foreign_files_fails_naming_the_sink_line_and_deletes_nothing(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, files, spec = project_onto_foreign_files(tmp_path, monkeypatch)
    with pytest.raises(StageFailed) as failed:
        execute_run(spec, app.registry(), Reporter(), "run-1", session=spark)
    assert failed.value.exit_code == ExitCode.RUN_FAILED
    assert "pipeline.yaml:8:5" in failed.value.message
    assert "etl-cli did not write" in failed.value.message
    assert snapshot(root / "out") == files


def test_dry_run_reports_foreign_files_at_the_target_as_an_error_not_an_effect(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, files, spec = project_onto_foreign_files(tmp_path, monkeypatch)
    from etl_cli.plan.dag import compile_plan

    ctx = RunContext(spark=spark, project_root=root, run_id="dry-1")
    workspace = Workspace(compile_plan(spec), ctx, Redactor(), "local[2]")
    report = DryRun(workspace, app.registry(), Reporter(), None, False).analyse()
    assert [(d.code, d.location.line if d.location else None) for d in report.diagnostics] == [("invalid-stage", 8)]
    assert "etl-cli did not write" in report.diagnostics[0].message
    assert report.effects == []
    assert report.exit_code == 1
    assert snapshot(root / "out") == files
