"""Checkpoint folders without Spark: markers, the latest successful checkpoint, adoption, retention.

Checkpoints here are folders holding one made-up part file; the runs' start times are set by hand, so
which folders retention keeps is worked out from them (the newest first).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from etl_cli.model.checkpoints import CheckpointSettings
from etl_cli.runtime.bookkeeping.checkpoints import MANIFEST, RUN_MARKER, CheckpointStore, Manifest

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> CheckpointStore:
    return CheckpointStore(tmp_path / "checkpoints" / "shop" / "default", "shop", None)


def started(day: int) -> str:
    return datetime(2026, 12, day, 6, 0, tzinfo=UTC).isoformat()


def checkpoint(store: CheckpointStore, run_id: str, day: int, stage: str, fingerprint: str = "fp") -> Path:
    """Write a whole checkpoint of ``stage`` for run ``run_id`` (started on ``day``) as a run would."""
    staging = store.staging(run_id, started(day), stage)
    staging.mkdir()
    (staging / "part-00000.parquet").write_bytes(b"PAR1")
    schema = {"type": "struct", "fields": []}
    return store.publish(
        staging, Manifest(stage, run_id, fingerprint, 3, schema, started(day), store.folder / run_id / stage)
    )


def run(store: CheckpointStore, run_id: str, day: int, status: str, *stages: str) -> None:
    for stage in stages:
        checkpoint(store, run_id, day, stage)
    store.finish(run_id, started(day), status)


def remaining(store: CheckpointStore) -> set[str]:
    """``run/stage`` of every whole checkpoint left."""
    return {f"{r.run_id}/{m.name}" for r in store.runs() for m in r.folder.iterdir() if (m / MANIFEST).is_file()}


def test_a_published_checkpoint_is_whole_and_its_staging_folder_is_gone(store: CheckpointStore) -> None:
    folder = checkpoint(store, "r1", 1, "agg")
    assert folder == store.folder / "r1" / "agg"
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, "part-00000.parquet"]
    assert [p.name for p in (store.folder / "r1").iterdir() if p.name.startswith(".")] == []
    found = store.manifest("r1", "agg")
    assert found is not None and (found.run_id, found.fingerprint, found.rows) == ("r1", "fp", 3)


def test_a_checkpoint_without_its_manifest_does_not_exist(store: CheckpointStore) -> None:
    checkpoint(store, "r1", 1, "agg")
    (store.folder / "r1" / "agg" / MANIFEST).unlink()
    assert store.manifest("r1", "agg") is None


def test_the_latest_checkpoint_is_the_newest_successful_runs_that_wrote_one(store: CheckpointStore) -> None:
    run(store, "r1", 1, "success", "orders", "agg")
    run(store, "r2", 2, "success", "agg")
    run(store, "r3", 3, "failed", "orders")
    latest = store.latest_successful("orders")
    assert latest is not None and latest.run_id == "r1"
    agg = store.latest_successful("agg")
    assert agg is not None and agg.run_id == "r2"


def test_a_run_marker_records_the_outcome(store: CheckpointStore) -> None:
    checkpoint(store, "r1", 1, "agg")
    assert json.loads((store.folder / "r1" / RUN_MARKER).read_text())["status"] == "running"
    store.finish("r1", started(1), "failed")
    assert [(r.run_id, r.status) for r in store.runs()] == [("r1", "failed")]


def test_retention_keeps_the_newest_successful_checkpoints_of_each_stage(store: CheckpointStore) -> None:
    for day in range(1, 5):
        run(store, f"r{day}", day, "success", "agg")
    run(store, "r5", 5, "success", "orders")  # a --select run: it wrote another stage only
    removed = store.apply_retention(CheckpointSettings(retention_runs=2), "r5", NOW)
    assert remaining(store) == {"r5/orders", "r4/agg", "r3/agg"}
    assert sorted(p.relative_to(store.folder).as_posix() for p in removed) == ["r1/agg", "r2/agg"]
    assert not (store.folder / "r1").exists() and not (store.folder / "r2").exists()


def test_retention_removes_runs_that_did_not_succeed_before_the_successful_one(store: CheckpointStore) -> None:
    run(store, "r1", 1, "success", "agg")
    run(store, "r2", 2, "failed", "agg")
    run(store, "r3", 3, "success", "orders")
    store.apply_retention(CheckpointSettings(), "r3", NOW)
    assert remaining(store) == {"r1/agg", "r3/orders"}


def test_retention_days_removes_older_runs_whatever_their_number(store: CheckpointStore) -> None:
    run(store, "r1", 1, "success", "agg")
    run(store, "r8", 8, "success", "agg")
    run(store, "r9", 9, "success", "agg")
    store.apply_retention(CheckpointSettings(retention_runs=3, retention_days=5), "r9", NOW)
    assert remaining(store) == {"r9/agg", "r8/agg"}


def test_retention_never_touches_what_etl_cli_did_not_write(store: CheckpointStore) -> None:
    run(store, "r1", 1, "success", "agg")
    run(store, "r2", 2, "success", "agg")
    foreign = store.folder / "r0"  # looks like a run folder, has no marker
    (foreign / "agg").mkdir(parents=True)
    (foreign / "agg" / "data.parquet").write_bytes(b"PAR1")
    (store.folder / "r1" / "notes.txt").write_text("mine")  # a file put into a run folder retention empties
    store.apply_retention(CheckpointSettings(retention_runs=1), "r2", NOW)
    assert remaining(store) == {"r2/agg"}
    assert (foreign / "agg" / "data.parquet").read_bytes() == b"PAR1"
    assert sorted(p.name for p in (store.folder / "r1").iterdir()) == [RUN_MARKER, "notes.txt"]


def test_a_symlinked_run_folder_is_not_followed(store: CheckpointStore, tmp_path: Path) -> None:
    elsewhere = CheckpointStore(tmp_path / "elsewhere", "shop", None)
    run(elsewhere, "r1", 1, "success", "agg")
    run(store, "r2", 2, "success", "agg")
    (store.folder / "r1").symlink_to(elsewhere.folder / "r1")
    store.apply_retention(CheckpointSettings(retention_runs=1), "r2", NOW)
    assert (elsewhere.folder / "r1" / "agg" / MANIFEST).is_file()


def test_an_adopted_checkpoint_moves_into_the_adopting_run(store: CheckpointStore) -> None:
    run(store, "f1", 1, "failed", "agg")
    manifest = store.manifest("f1", "agg")
    assert manifest is not None
    store.adopt("r2", started(2), manifest)
    store.finish("r2", started(2), "success")
    moved = store.manifest("r2", "agg")
    assert moved is not None and moved.fingerprint == "fp"
    assert json.loads((moved.folder / MANIFEST).read_text())["written_by"] == "f1"
    store.apply_retention(CheckpointSettings(), "r2", NOW)
    assert remaining(store) == {"r2/agg"}
    assert not (store.folder / "f1").exists()
