"""Built-in file sinks: every format and mode, and the atomicity users rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import RunError
from etl_cli.plugins.api import Effect, PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.registry import REGISTRY
from etl_cli.plugins.sinks.staging import HadoopFileSystem
from tests.support import frozen

SCHEMA = "id INT, country STRING, amount INT"
OLD = [(1, "FR", 10), (2, "DE", 20), (3, "DE", 30)]
NEW = [(4, "DE", 40), (5, "US", 50)]
RUN_ID = "run-1"


def sink(type_name: str = "parquet") -> Sink:
    plugin = REGISTRY.get("sink", type_name)()
    assert isinstance(plugin, Sink)
    return plugin


def stage_write(
    spark: SparkSession, root: Path, df: DataFrame, type_name: str = "parquet", run_id: str = RUN_ID, **options: Any
) -> PendingWrite:
    """Stage a write of ``df`` by the sink ``type_name`` to ``out`` under ``root`` (unless ``path`` is given)."""
    options.setdefault("path", "out")
    stage = StageSpec(name="orders_out", kind="sink", type=type_name, inputs=("orders",), options=frozen(options))
    return sink(type_name).stage_write(RunContext(spark=spark, project_root=root, run_id=run_id), stage, df)


def publish(spark: SparkSession, root: Path, rows: list[tuple[Any, ...]], **options: Any) -> PendingWrite:
    """Stage and commit a write of ``rows`` (a whole successful run)."""
    write = stage_write(spark, root, spark.createDataFrame(rows, SCHEMA), **options)
    write.commit()
    return write


def read_back(spark: SparkSession, path: Path, file_format: str = "parquet") -> list[tuple[Any, ...]]:
    reader = spark.read.format(file_format)
    if file_format in ("csv", "json"):
        reader = reader.schema(SCHEMA).option("header", True)
    return sorted(tuple(r) for r in reader.load(str(path)).select("id", "country", "amount").collect())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes, to compare a target before and after."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(root: Path) -> list[str]:
    """Staging or replaced folders left next to targets in ``root``."""
    return sorted(p.name for p in root.iterdir() if ".etl-" in p.name)


def failing_frame(spark: SparkSession) -> DataFrame:
    """Rows whose amount column raises at run time for the third row, after others were written."""
    df = spark.createDataFrame([(6, "FR", 1), (7, "FR", 2), (8, "FR", 3)], SCHEMA).repartition(3)
    return df.withColumn("amount", F.expr("if(amount < 3, amount, raise_error('amount too large'))"))


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["parquet", "csv", "json", "orc"])
def test_each_format_writes_every_row_and_counts_them(spark: SparkSession, tmp_path: Path, file_format: str):
    write = publish(spark, tmp_path, OLD, type_name=file_format)
    assert write.rows == 3
    assert read_back(spark, tmp_path / "out", file_format) == [(1, "FR", 10), (2, "DE", 20), (3, "DE", 30)]


def test_csv_writes_a_header_line_by_default(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, [(1, "FR", 10)], type_name="csv", coalesce=1)
    (part,) = (tmp_path / "out").glob("part-*.csv")
    assert part.read_text() == "id,country,amount\n1,FR,10\n"


def test_csv_without_header_writes_only_rows(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, [(1, "FR", 10)], type_name="csv", header=False, coalesce=1, options={"sep": ";"})
    (part,) = (tmp_path / "out").glob("part-*.csv")
    assert part.read_text() == "1;FR;10\n"


def test_coalesce_sets_the_number_of_files(spark: SparkSession, tmp_path: Path):
    df = spark.createDataFrame(OLD, SCHEMA).repartition(3)
    stage_write(spark, tmp_path, df, coalesce=1).commit()
    assert len(list((tmp_path / "out").glob("part-*.parquet"))) == 1


def test_partition_by_writes_one_folder_per_value(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, OLD, partition_by=["country"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == ["country=DE", "country=FR"]
    assert read_back(spark, tmp_path / "out") == [(1, "FR", 10), (2, "DE", 20), (3, "DE", 30)]


def test_effects_name_the_resolved_target_format_and_mode(tmp_path: Path):
    stage = StageSpec("orders_out", "sink", "csv", ("orders",), {"path": "out/orders", "partition_by": ("day",)})
    assert sink("csv").effects(stage, tmp_path) == [
        Effect(
            stage="orders_out",
            action="write",
            target=str(tmp_path / "out" / "orders"),
            mode="overwrite",
            details={"format": "csv", "partition_by": ["day"]},
        )
    ]


# --- staging and commit ----------------------------------------------------------------------


def test_nothing_is_visible_at_the_target_before_commit(spark: SparkSession, tmp_path: Path):
    write = stage_write(spark, tmp_path, spark.createDataFrame(OLD, SCHEMA))
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == [f".out.etl-staging-{RUN_ID}"]
    write.commit()
    assert read_back(spark, tmp_path / "out") == sorted(OLD)
    assert leftovers(tmp_path) == []


def test_abort_removes_the_staging_folder_and_commit_after_abort_is_refused(spark: SparkSession, tmp_path: Path):
    write = stage_write(spark, tmp_path, spark.createDataFrame(OLD, SCHEMA))
    write.abort()
    assert leftovers(tmp_path) == []
    with pytest.raises(RunError, match="already aborted"):
        write.commit()
    assert not (tmp_path / "out").exists()


def test_abort_after_commit_keeps_the_published_data(spark: SparkSession, tmp_path: Path):
    write = publish(spark, tmp_path, OLD)
    write.abort()
    assert read_back(spark, tmp_path / "out") == sorted(OLD)


def test_an_empty_dataframe_counts_zero_rows(spark: SparkSession, tmp_path: Path):
    write = publish(spark, tmp_path, [])
    assert write.rows == 0
    assert read_back(spark, tmp_path / "out") == []


# --- atomicity -------------------------------------------------------------------------------


def test_a_write_failing_midway_leaves_the_existing_target_byte_for_byte_and_no_staging(
    spark: SparkSession, tmp_path: Path
):
    publish(spark, tmp_path, OLD, run_id="earlier")
    before = snapshot(tmp_path / "out")
    with pytest.raises(Exception, match="amount too large"):
        stage_write(spark, tmp_path, failing_frame(spark))
    assert snapshot(tmp_path / "out") == before
    assert leftovers(tmp_path) == []


def test_a_failing_partitioned_append_leaves_the_target_unchanged(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, OLD, run_id="earlier", partition_by=["country"])
    before = snapshot(tmp_path / "out")
    with pytest.raises(Exception, match="amount too large"):
        stage_write(spark, tmp_path, failing_frame(spark), mode="append", partition_by=["country"])
    assert snapshot(tmp_path / "out") == before
    assert leftovers(tmp_path) == []


def test_a_swap_failing_halfway_puts_the_old_partitions_back(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    publish(spark, tmp_path, OLD, run_id="earlier", partition_by=["country"])
    before = snapshot(tmp_path / "out")
    write = stage_write(spark, tmp_path, spark.createDataFrame(NEW, SCHEMA), partition_by=["country"])
    real_rename = HadoopFileSystem.rename

    def rename_failing_on_us(self: HadoopFileSystem, source: str, destination: str) -> None:
        if destination.endswith("out/country=US"):
            raise RunError("disk unplugged")
        real_rename(self, source, destination)

    monkeypatch.setattr(HadoopFileSystem, "rename", rename_failing_on_us)
    with pytest.raises(RunError, match="disk unplugged"):
        write.commit()
    monkeypatch.undo()
    write.abort()
    assert snapshot(tmp_path / "out") == before
    assert leftovers(tmp_path) == []


# --- overwrite -------------------------------------------------------------------------------


def test_overwrite_replaces_the_old_data_completely(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, OLD, run_id="earlier")
    write = publish(spark, tmp_path, NEW, mode="overwrite")
    assert read_back(spark, tmp_path / "out") == [(4, "DE", 40), (5, "US", 50)]
    assert write.rows == 2
    assert leftovers(tmp_path) == []


def test_partitioned_overwrite_replaces_only_the_partitions_in_the_new_data(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, OLD, run_id="earlier", partition_by=["country"])
    france_before = snapshot(tmp_path / "out" / "country=FR")
    write = publish(spark, tmp_path, NEW, partition_by=["country"])
    assert snapshot(tmp_path / "out" / "country=FR") == france_before
    assert read_back(spark, tmp_path / "out") == [(1, "FR", 10), (4, "DE", 40), (5, "US", 50)]
    assert getattr(write, "details", {})["partitions_replaced"] == 2
    assert leftovers(tmp_path) == []


def test_partitioned_overwrite_swaps_nested_partitions_one_by_one(spark: SparkSession, tmp_path: Path):
    schema = "id INT, year INT, month INT"
    first = spark.createDataFrame([(1, 2024, 1), (2, 2024, 2), (3, 2025, 1)], schema)
    stage_write(spark, tmp_path, first, run_id="earlier", partition_by=["year", "month"]).commit()
    second = spark.createDataFrame([(4, 2024, 2)], schema)
    stage_write(spark, tmp_path, second, partition_by=["year", "month"]).commit()
    result = spark.read.parquet(str(tmp_path / "out")).select("id", "year", "month").collect()
    assert sorted(tuple(r) for r in result) == [(1, 2024, 1), (3, 2025, 1), (4, 2024, 2)]


# --- append, error, ignore -------------------------------------------------------------------


def test_append_adds_the_new_rows_to_the_existing_ones(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, OLD, run_id="earlier")
    before = snapshot(tmp_path / "out")
    write = publish(spark, tmp_path, NEW, mode="append")
    assert read_back(spark, tmp_path / "out") == sorted(OLD + NEW)
    assert before.items() <= snapshot(tmp_path / "out").items()
    assert write.rows == 2
    assert leftovers(tmp_path) == []


def test_partitioned_append_creates_new_partition_folders(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, OLD, run_id="earlier", partition_by=["country"])
    publish(spark, tmp_path, NEW, mode="append", partition_by=["country"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == [
        "country=DE",
        "country=FR",
        "country=US",
    ]
    assert read_back(spark, tmp_path / "out") == sorted(OLD + NEW)


def test_error_mode_fails_before_writing_when_the_target_exists(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, OLD, run_id="earlier")
    before = snapshot(tmp_path / "out")
    with pytest.raises(RunError, match="exists"):
        stage_write(spark, tmp_path, spark.createDataFrame(NEW, SCHEMA), mode="error")
    assert snapshot(tmp_path / "out") == before
    assert leftovers(tmp_path) == []


def test_error_mode_writes_a_new_target(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, NEW, mode="error")
    assert read_back(spark, tmp_path / "out") == sorted(NEW)


def test_error_mode_fails_at_commit_if_the_target_appeared_meanwhile(spark: SparkSession, tmp_path: Path):
    write = stage_write(spark, tmp_path, spark.createDataFrame(NEW, SCHEMA), mode="error")
    publish(spark, tmp_path, OLD, run_id="other-run")
    with pytest.raises(RunError, match="appeared"):
        write.commit()
    write.abort()
    assert read_back(spark, tmp_path / "out") == sorted(OLD)
    assert leftovers(tmp_path) == []


def test_ignore_mode_writes_nothing_when_the_target_exists(spark: SparkSession, tmp_path: Path):
    publish(spark, tmp_path, OLD, run_id="earlier")
    before = snapshot(tmp_path / "out")
    write = publish(spark, tmp_path, NEW, mode="ignore")
    assert write.rows is None
    assert getattr(write, "details", {})["skipped"] == "target exists"
    assert snapshot(tmp_path / "out") == before
    assert leftovers(tmp_path) == []


def test_ignore_mode_writes_a_new_target(spark: SparkSession, tmp_path: Path):
    write = publish(spark, tmp_path, NEW, mode="ignore")
    assert write.rows == 2
    assert read_back(spark, tmp_path / "out") == sorted(NEW)


def test_ignore_mode_discards_its_data_if_the_target_appeared_meanwhile(spark: SparkSession, tmp_path: Path):
    write = stage_write(spark, tmp_path, spark.createDataFrame(NEW, SCHEMA), mode="ignore")
    publish(spark, tmp_path, OLD, run_id="other-run")
    write.commit()
    assert write.rows is None
    assert read_back(spark, tmp_path / "out") == sorted(OLD)
    assert leftovers(tmp_path) == []
