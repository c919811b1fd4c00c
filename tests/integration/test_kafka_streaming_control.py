"""``etl-cli streams list|status|stop`` on a real streaming run from the real Kafka broker.

The run is ``etl-cli run`` in a background process; ``etl-cli streams`` is another process, as an
operator would type it. Expected lags and rows are computed from what the test produced and the
rate the pipeline reads at (5 records per micro-batch).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import REPO
from tests.integration.kafkahelp import (
    BackgroundRun,
    committed_parquet_rows,
    kafka_bootstrap,
    new_topic,
    produce_json,
    wait_until,
)

PER_BATCH = 5


@pytest.fixture
def bootstrap() -> str:
    return kafka_bootstrap()


def clicks(first: int, last: int) -> list[dict[str, Any]]:
    """Clicks ``first``..``last - 1``; every fourth has no page (the pipeline's filter drops those)."""
    return [
        {"click_id": n, "page": None if n % 4 == 0 else f"/p{n % 3}", "event_time": f"2024-05-01T10:00:{n % 60:02d}"}
        for n in range(first, last)
    ]


def write_pipeline(
    folder: Path,
    bootstrap: str,
    topic: str,
    condition: str = "page IS NOT NULL",
    version: str = "v1",
    per_batch: int = PER_BATCH,
) -> Path:
    pipeline = folder / "clicks" / "pipeline.yaml"
    pipeline.parent.mkdir(parents=True, exist_ok=True)
    pipeline.write_text(
        f"""
name: clicks_control
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2}}}}
streaming:
  checkpoint_location: {folder}/checkpoints
  trigger: {{processing_time: 2 seconds}}
  stop_timeout_s: 30
sources:
  - name: clicks_raw
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {topic}
    starting_offsets: earliest
    max_offsets_per_trigger: {per_batch}
    schema: {{click_id: BIGINT, page: STRING, event_time: TIMESTAMP}}
    metadata: [offset]
    metadata_prefix: kafka_
transforms:
  - name: clicks
    type: filter
    inputs: [clicks_raw]
    condition: {condition}
  - name: versioned
    type: derive
    inputs: [clicks]
    columns: {{version: "'{version}'"}}
sinks:
  - {{name: clicks_out, type: parquet, input: versioned, path: {folder}/out/clicks, mode: append}}
""",
        encoding="utf-8",
    )
    return pipeline


@pytest.fixture
def stream(tmp_path: Path, bootstrap: str) -> Iterator[tuple[str, BackgroundRun]]:
    topic = new_topic("control")
    pipeline = write_pipeline(tmp_path, bootstrap, topic)
    run = BackgroundRun(
        [str(pipeline), "--results-dir", str(tmp_path / "results")],
        tmp_path / "run.log",
        {"ETL_STATE_DIR": str(tmp_path / "state")},
    )
    try:
        yield topic, run
    finally:
        run.cleanup()


def streams(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """``etl-cli streams ARGS`` as an operator runs it, in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-m", "etl_cli", "streams", *args],
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1", "ETL_STATE_DIR": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    return done.returncode, done.stdout, done.stderr


def status(tmp_path: Path) -> list[dict[str, Any]]:
    code, out, err = streams(tmp_path, "status", str(tmp_path), "--format", "json")
    assert code == 0, err
    return list(json.loads(out)["runs"])


def sink_query(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    for run in runs:
        for query in run["queries"]:
            if query["name"] == "clicks_out" and query.get("batch_id") is not None:
                return dict(query)
    return None


def kept_ids(produced: list[dict[str, Any]]) -> list[int]:
    return sorted(c["click_id"] for c in produced if c["page"] is not None)


def written_ids(tmp_path: Path) -> list[int]:
    return sorted(r["click_id"] for r in committed_parquet_rows(tmp_path / "out" / "clicks"))


def last_file(folder: Path) -> int | None:
    numbers = [int(p.name.split(".")[0]) for p in folder.iterdir() if p.name.split(".")[0].isdigit()]
    return max(numbers) if numbers else None


def test_a_running_stream_is_listed_with_its_progress_and_lag_and_stopped_gracefully(
    stream: tuple[str, BackgroundRun], bootstrap: str, tmp_path: Path
) -> None:
    topic, run = stream
    produced = clicks(0, 40)
    produce_json(bootstrap, topic, produced, key="click_id")
    run.start()

    seen: dict[str, Any] = {}

    def behind() -> bool:
        query = sink_query(status(tmp_path))
        if query is not None and query["lag"]:
            seen.update(query)
            return True
        return False

    wait_until(behind, 180, "a progress report of clicks_out with a backlog", run.assert_running)
    # each micro-batch reads PER_BATCH records: after batch N, 40 - PER_BATCH * (N + 1) are left behind
    assert seen["lag"] == len(produced) - PER_BATCH * (seen["batch_id"] + 1)
    assert seen["sources"][0]["partitions"] == {f"{topic}[0]": seen["lag"]}
    assert seen["num_input_rows"] == PER_BATCH and seen["active"] is True
    assert seen["input_rows_per_second"] is not None and seen["processed_rows_per_second"] is not None

    code, out, err = streams(tmp_path, "list", str(tmp_path), "--format", "json")
    assert code == 0, err
    [listed] = json.loads(out)["runs"]
    assert listed["pid"] == run.pid and listed["state"] == "running" and listed["pipeline"] == "clicks_control"
    code, out, _ = streams(tmp_path, "status", str(tmp_path))
    assert code == 0 and "clicks_out" in out and "kafka lag" in out

    code, out, err = streams(tmp_path, "stop", str(tmp_path), "clicks_control", "--format", "json")
    assert code == 0, err + run.output()[-3000:]
    stopped = json.loads(out)
    assert stopped["outcome"] == "stopped" and stopped["run_status"] == "success" and stopped["run_exit_code"] == 0
    assert run.process is not None and run.process.wait(30) == 0
    assert "SIGTERM: stopping the streaming queries" in run.output()

    # the sink holds whole micro-batches, each once: the kept clicks among the first records read
    checkpoint = tmp_path / "checkpoints" / "clicks_out"
    committed = last_file(checkpoint / "commits")
    assert committed is not None and committed == last_file(checkpoint / "offsets"), "no batch left half done"
    assert last_file(tmp_path / "out" / "clicks" / "_spark_metadata") == committed
    read = min(PER_BATCH * (committed + 1), len(produced))
    assert written_ids(tmp_path) == kept_ids(produced[:read])
    assert not list((tmp_path / "state" / "streams").glob("*.json")), "the run removed its control file"

    # the next run resumes from the checkpoint: every record exactly once
    run.start("--set", "sources.clicks_raw.max_offsets_per_trigger=100")
    wait_until(lambda: written_ids(tmp_path) == kept_ids(produced), 180, "the rest of the backlog", run.assert_running)
    run.kill()  # as a crash: the control file stays behind, stale
    code, out, err = streams(tmp_path, "list", str(tmp_path), "--format", "json")
    assert code == 0, err
    [stale] = json.loads(out)["runs"]
    assert stale["state"] == "stale" and stale["removed"] is True and "is not running" in stale["reason"]
    code, _, err = streams(tmp_path, "stop", str(tmp_path), "clicks_control")
    assert code == 2 and "no streaming run of pipeline 'clicks_control' is running" in err
    assert written_ids(tmp_path) == kept_ids(produced)


def test_run_watch_applies_a_compatible_edit_and_reports_an_incompatible_or_invalid_one(
    tmp_path: Path, bootstrap: str
) -> None:
    topic = new_topic("watch")
    pipeline = write_pipeline(tmp_path, bootstrap, topic, per_batch=100)
    run = BackgroundRun(
        [str(pipeline), "--watch", "--results-dir", str(tmp_path / "results")],
        tmp_path / "run.log",
        {"ETL_STATE_DIR": str(tmp_path / "state")},
    )
    first, second, third = clicks(0, 20), clicks(20, 40), clicks(40, 50)
    old_filter = "page IS NOT NULL"
    new_filter = "page IS NOT NULL AND page <> '/p1'"
    try:
        produce_json(bootstrap, topic, first, key="click_id")
        run.start()
        wait_until(lambda: written_ids(tmp_path) == kept_ids(first), 180, "the first records", run.assert_running)

        # compatible: a filter and a derive expression change; applied after the current micro-batch
        write_pipeline(tmp_path, bootstrap, topic, condition=new_filter, version="v2", per_batch=100)
        wait_until(lambda: "restarted with:" in run.output(), 180, "the restart", run.assert_running)
        produce_json(bootstrap, topic, second, key="click_id")
        expected_v2 = [c["click_id"] for c in second if c["page"] is not None and c["page"] != "/p1"]
        wait_until(
            lambda: sorted(r["click_id"] for r in rows(tmp_path) if r["version"] == "v2") == expected_v2,
            180,
            "the records after the restart, through the new filter",
            run.assert_running,
        )

        # incompatible: another topic (the checkpoint holds this one's offsets); not applied, the run goes on
        write_pipeline(tmp_path, bootstrap, new_topic("other"), condition=new_filter, version="v3", per_batch=100)
        wait_until(lambda: "change not applied" in run.output(), 60, "the refusal", run.assert_running)
        assert "source 'clicks_raw' (kafka): topic" in run.output()
        # invalid: reported at its file:line:col, not applied
        text = pipeline.read_text(encoding="utf-8")
        text = text.replace("max_offsets_per_trigger: 100", "max_offsets_per_trigger: lots")
        line = text.splitlines().index("    max_offsets_per_trigger: lots") + 1
        pipeline.write_text(text, encoding="utf-8")
        wait_until(lambda: f"pipeline.yaml:{line}:" in run.output(), 60, "the validation error", run.assert_running)
        produce_json(bootstrap, topic, third, key="click_id")
        expected_third = [c["click_id"] for c in third if c["page"] is not None and c["page"] != "/p1"]
        wait_until(
            lambda: sorted(r["click_id"] for r in rows(tmp_path) if r["click_id"] >= 40) == expected_third,
            180,
            "the last records, still through the running (v2) pipeline",
            run.assert_running,
        )
        assert run.output().count("restarted with:") == 1
        code, _, err = streams(tmp_path, "stop", str(tmp_path), "clicks_control")
        assert code == 0, err + run.output()[-3000:]
        assert run.process is not None and run.process.wait(30) == 0
    finally:
        run.cleanup()

    written = rows(tmp_path)
    offsets = [r["kafka_offset"] for r in written]
    assert len(offsets) == len(set(offsets)), "no record written twice across the restart"
    by_version: dict[str, list[int]] = {}
    for row in written:
        by_version.setdefault(row["version"], []).append(row["click_id"])
    assert sorted(by_version) == ["v1", "v2"]
    assert sorted(by_version["v1"]) == kept_ids(first), "before the edit: the old filter"
    new_kept = [c["click_id"] for c in second + third if c["page"] is not None and c["page"] != "/p1"]
    assert sorted(by_version["v2"]) == new_kept, "after the restart: the new filter, nothing lost"
    assert old_filter != new_filter
    results = sorted((tmp_path / "results").glob("2*.json"))
    assert len(results) == 2, "one run before the restart, one after"


def rows(tmp_path: Path) -> list[dict[str, Any]]:
    return committed_parquet_rows(tmp_path / "out" / "clicks")
