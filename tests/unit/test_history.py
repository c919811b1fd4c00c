"""The run history store (runtime/bookkeeping/history.py): what a run records, retention, concurrency, import.

Every expected row below is worked out by hand from the results given to the store.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.project import HistorySettings, InvalidProject, load_project
from etl_cli.events import StageResult
from etl_cli.runtime.bookkeeping.history import History, HistoryError, RunRow, StageRow, record_run
from etl_cli.runtime.bookkeeping.results import RunResults
from tests.unit.helpers import make_project

NOW = datetime.now(UTC)


def started(days_ago: float = 0, minutes: int = 0) -> str:
    return (NOW - timedelta(days=days_ago) + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")


def results(run_id: str, pipeline: str = "orders", env: str | None = "dev", at: str | None = None) -> RunResults:
    """A successful run: a source of 5 rows, a filter keeping 4, two sinks writing 4 and 3."""
    return RunResults(
        run_id,
        pipeline,
        env,
        f"pipelines/{pipeline}/pipeline.yaml",
        started_at=at or started(),
        ended_at=at or started(),
        duration_s=2.5,
        status="success",
        exit_code=0,
        master="local[2]",
        stages=[
            StageResult("raw", "source", "csv", "ok", None, 5, 0.5),
            StageResult("kept", "transform", "filter", "ok", 5, 4, 0.25),
            StageResult("out", "sink", "parquet", "ok", 4, 4, 1.0),
            StageResult("copy", "sink", "csv", "ok", 3, 3, 0.75),
        ],
    )


def own_file(state: Path, run: RunResults) -> Path:
    """Where the run writes its results by default, with the file written (as the run does)."""
    path = state / "runs" / run.pipeline / (run.env or "default") / f"{run.run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.to_json(), default=str), encoding="utf-8")
    return path


def test_a_recorded_run_is_listed_with_its_fields(tmp_path: Path) -> None:
    run = results("r1", at="2026-12-01T10:00:00.000+00:00")
    History(tmp_path).record(run, tmp_path / "elsewhere" / "r1.json")

    assert History(tmp_path).runs() == [
        RunRow(
            run_id="r1",
            pipeline="orders",
            env="dev",
            status="success",
            exit_code=0,
            started_at="2026-12-01T10:00:00.000+00:00",
            duration_s=2.5,
            ended_at="2026-12-01T10:00:00.000+00:00",
            master="local[2]",
            rows_written=7,
            results_file=str(tmp_path / "elsewhere" / "r1.json"),
        )
    ]


def test_a_recorded_run_keeps_its_stages_in_plan_order(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.record(results("r1"), tmp_path / "r1.json")

    (run,) = history.runs()
    assert history.detail(run).stages == (
        StageRow("raw", "source", "csv", "ok", None, 5, 0.5),
        StageRow("kept", "transform", "filter", "ok", 5, 4, 0.25),
        StageRow("out", "sink", "parquet", "ok", 4, 4, 1.0),
        StageRow("copy", "sink", "csv", "ok", 3, 3, 0.75),
    )


def test_a_failed_run_keeps_its_error_and_checks(tmp_path: Path) -> None:
    run = results("r1")
    run.status, run.exit_code = "failed", 3
    run.error = {"type": "QualityGateError", "message": "data-quality gate failed", "stage": None}
    run.quality = {"checks": [{"name": "ids_unique", "stage": "raw", "type": "unique", "outcome": "failed"}]}
    history = History(tmp_path)
    history.record(run, tmp_path / "r1.json")

    detail = history.detail(history.runs()[0])
    assert (detail.run.status, detail.run.exit_code, detail.run.error_message) == (
        "failed",
        3,
        "data-quality gate failed",
    )
    assert [(c.name, c.stage, c.outcome) for c in detail.checks] == [("ids_unique", "raw", "failed")]


def test_recording_a_run_again_replaces_it(tmp_path: Path) -> None:
    history = History(tmp_path)
    run = results("r1")
    history.record(run, tmp_path / "r1.json")
    run.status = "failed"
    run.stages = run.stages[:1]
    history.record(run, tmp_path / "r1.json")

    (row,) = history.runs()
    assert row.status == "failed"
    assert [s.name for s in history.detail(row).stages] == ["raw"]


def test_last_runs_holds_the_latest_run_of_each_pipeline(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.record(results("a-old", "a", at=started(minutes=-10)), tmp_path / "1.json")
    history.record(results("a-new", "a", env="prod", at=started(minutes=-5)), tmp_path / "2.json")
    history.record(results("b-only", "b", at=started(minutes=-20)), tmp_path / "3.json")

    assert {name: row.run_id for name, row in history.last_runs().items()} == {"a": "a-new", "b": "b-only"}


def test_runs_are_filtered_and_newest_first(tmp_path: Path) -> None:
    history = History(tmp_path)
    for minute, (run_id, env) in enumerate([("r1", "dev"), ("r2", "prod"), ("r3", "dev")]):
        history.record(results(run_id, env=env, at=started(minutes=minute)), tmp_path / f"{run_id}.json")

    assert [r.run_id for r in history.runs()] == ["r3", "r2", "r1"]
    assert [r.run_id for r in history.runs(env="dev")] == ["r3", "r1"]
    assert [r.run_id for r in history.runs(limit=1)] == ["r3"]


def test_retention_keeps_the_newest_runs_per_pipeline_and_env(tmp_path: Path) -> None:
    history = History(tmp_path, HistorySettings(keep_days=None, keep_runs_per_pipeline=2))
    for minute, run_id in enumerate(["r1", "r2", "r3"]):
        history.record(results(run_id, at=started(minutes=minute)), tmp_path / f"{run_id}.json")
    history.record(results("p1", env="prod", at=started(minutes=-60)), tmp_path / "p1.json")

    assert sorted(r.run_id for r in history.runs()) == ["p1", "r2", "r3"]


def test_retention_drops_runs_older_than_keep_days(tmp_path: Path) -> None:
    history = History(tmp_path, HistorySettings(keep_days=5, keep_runs_per_pipeline=None))
    history.record(results("old", at=started(days_ago=6)), tmp_path / "old.json")
    history.record(results("recent", at=started(days_ago=4)), tmp_path / "recent.json")
    history.record(results("today"), tmp_path / "today.json")

    assert sorted(r.run_id for r in history.runs()) == ["recent", "today"]


def test_retention_deletes_only_results_files_in_the_default_folders(tmp_path: Path) -> None:
    state = tmp_path / ".etl"
    history = History(state, HistorySettings(keep_days=None, keep_runs_per_pipeline=1))
    own = results("own", at=started(minutes=1))
    own_path = own_file(state, own)
    own_quality = own_path.with_name("own.quality.json")
    own_quality.write_text("{}", encoding="utf-8")
    latest = own_path.with_name("latest.json")
    latest.write_text("{}", encoding="utf-8")
    history.record(own, own_path)
    elsewhere = tmp_path / "my-results" / "other.json"  # --results-dir: not etl-cli's folder
    elsewhere.parent.mkdir()
    elsewhere.write_text("{}", encoding="utf-8")
    other = results("other", env="prod", at=started(minutes=2))
    history.record(other, elsewhere)

    pruned = history.record(results("new", at=started(minutes=3)), state / "runs" / "orders" / "dev" / "new.json")
    pruned_other = history.record(results("newer", env="prod", at=started(minutes=4)), tmp_path / "x.json")

    assert sorted(pruned.files) == sorted([own_path, own_quality])
    assert (pruned_other.runs, pruned_other.files) == (1, ())
    assert not own_path.exists() and not own_quality.exists()
    assert latest.exists() and elsewhere.exists()


def test_retention_never_drops_the_run_being_recorded(tmp_path: Path) -> None:
    history = History(tmp_path, HistorySettings(keep_days=1, keep_runs_per_pipeline=None))
    history.record(results("late", at=started(days_ago=3)), tmp_path / "late.json")

    assert [r.run_id for r in history.runs()] == ["late"]


def _record_many(state: str, writer: int, start: Any) -> None:
    """Wait for the other writers, then record 25 runs: the first ones race to create the store."""
    history = History(Path(state), HistorySettings(keep_days=None, keep_runs_per_pipeline=None))
    start.wait()
    for i in range(25):
        history.record(results(f"w{writer}-{i}", pipeline=f"p{writer}"), Path(state) / f"w{writer}-{i}.json")


def test_several_processes_record_at_the_same_time(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    workers = [context.Process(target=_record_many, args=(str(tmp_path), w, start)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert len(History(tmp_path).runs()) == 100


def test_old_results_files_are_imported_once(tmp_path: Path) -> None:
    own_file(tmp_path, results("r1", at=started(minutes=1)))
    own_file(tmp_path, results("r2", pipeline="customers", env=None, at=started(minutes=2)))
    folder = tmp_path / "runs" / "orders" / "dev"
    (folder / "latest.json").write_text(json.dumps(results("r1").to_json()), encoding="utf-8")
    (folder / "r1.quality.json").write_text(json.dumps({"run_id": "r1", "checks": []}), encoding="utf-8")
    (folder / "notes.json").write_text(json.dumps({"hello": 1}), encoding="utf-8")
    history = History(tmp_path)

    assert history.import_results_once() == 2
    assert history.import_results_once() == 0
    assert sorted((r.run_id, r.pipeline, r.env) for r in history.runs()) == [
        ("r1", "orders", "dev"),
        ("r2", "customers", "default"),
    ]


def test_the_import_keeps_runs_the_store_already_has(tmp_path: Path) -> None:
    run = results("r1")
    path = own_file(tmp_path, run)
    history = History(tmp_path)
    run.status = "failed"  # the store has the run as it recorded itself; the file says otherwise
    history.record(run, path)

    assert history.import_results_once() == 0
    assert history.runs()[0].status == "failed"


def test_a_corrupt_store_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite").write_bytes(b"this is not a database" * 100)

    outcome = record_run(tmp_path, None, results("r1"), tmp_path / "r1.json")

    assert outcome["recorded"] is False
    assert "file is not a database" in outcome["warning"]


def test_a_locked_store_is_a_warning_once_the_wait_is_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    History(tmp_path).runs()
    record_run(tmp_path, None, results("r0"), tmp_path / "r0.json")
    monkeypatch.setattr("etl_cli.runtime.bookkeeping.history.BUSY_TIMEOUT_S", 0.1)
    holder = sqlite3.connect(tmp_path / "history.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        outcome = record_run(tmp_path, None, results("r1"), tmp_path / "r1.json")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert outcome["recorded"] is False
    assert "locked" in outcome["warning"]


def test_a_store_of_a_newer_version_is_not_touched(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "history.sqlite")
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (99)")
    db.commit()
    db.close()

    with pytest.raises(HistoryError, match="schema version 99"):
        History(tmp_path).record(results("r1"), tmp_path / "r1.json")


def test_a_new_store_is_at_schema_version_1(tmp_path: Path) -> None:
    History(tmp_path).record(results("r1"), tmp_path / "r1.json")

    db = sqlite3.connect(tmp_path / "history.sqlite")
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_project_file_sets_the_retention(tmp_path: Path) -> None:
    make_project(tmp_path, project="history:\n  keep_days: 7\n  keep_runs_per_pipeline: null\n")

    assert load_project(tmp_path).history == HistorySettings(keep_days=7, keep_runs_per_pipeline=None)


def test_the_retention_defaults_to_90_days_and_500_runs(tmp_path: Path) -> None:
    make_project(tmp_path, project="name: t\n")

    assert load_project(tmp_path).history == HistorySettings(keep_days=90, keep_runs_per_pipeline=500)


def test_wrong_retention_settings_are_reported_at_their_lines(tmp_path: Path) -> None:
    make_project(tmp_path, project="history:\n  keep_days: 0\n  keep_runs: 5\n  keep_runs_per_pipeline: many\n")

    with pytest.raises(InvalidProject) as caught:
        load_project(tmp_path)

    found = [(d.code, d.location.line, d.location.column) for d in caught.value.diagnostics if d.location]
    assert found == [("wrong-type", 2, 14), ("unknown-key", 3, 3), ("wrong-type", 4, 27)]
