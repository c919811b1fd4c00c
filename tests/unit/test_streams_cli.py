"""``etl-cli streams list|status|stop`` on control files, without Spark.

The running "streaming run" here is a real process whose command line is etl-cli's (a script named
``etl-cli``) that ends cleanly on SIGTERM and writes run results, as a streaming run does; the
control files are written by RunControl as a run writes them. The real thing, against Kafka, is
tests/integration/test_kafka_streaming_control.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl_cli.cli.main import main
from etl_cli.runtime.streams.control import (
    RunControl,
    controls_dir,
    is_etl_cli,
    process_start,
    progress_summary,
    source_lag,
)

FAKE_RUN = """\
import json, signal, sys, time
results = sys.argv[1]
def stop(signum, frame):
    with open(results, "w") as out:
        json.dump({"status": "success", "exit_code": 0, "error": None, "stopped_by": signum}, out)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(results + ".ready", "w").close()
while True:
    time.sleep(0.05)
"""


def etl(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)
    (tmp_path / "etl-project.yaml").write_text("name: demo\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def fake_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A process whose command line is etl-cli's, ending on SIGTERM after writing its run results."""
    script = tmp_path / "bin" / "etl-cli"
    script.parent.mkdir()
    script.write_text(FAKE_RUN, encoding="utf-8")
    results = tmp_path / "results.json"
    process = subprocess.Popen([sys.executable, str(script), str(results)])
    deadline = time.monotonic() + 30
    while not Path(f"{results}.ready").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield process, results
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def write_control(project: Path, pid: int, pipeline: str, run_id: str, results: Path, env: str = "dev") -> Path:
    control = RunControl(project / ".etl", pipeline, env, run_id, "2026-12-06T03:00:00+00:00", results)
    control.record["pid"], control.record["pid_start"] = pid, process_start(pid)
    control.write()
    return control.path


def test_a_streaming_run_writes_its_control_file_whole_and_removes_it_at_the_end(tmp_path: Path) -> None:
    with RunControl(tmp_path, "clicks", "dev", "r1", "2026-12-06T03:00:00+00:00", tmp_path / "r1.json") as control:
        written = json.loads(control.path.read_text(encoding="utf-8"))
        assert written["pid"] == os.getpid() and written["pipeline"] == "clicks" and written["queries"] == []
        assert control.path.parent == controls_dir(tmp_path)
        assert [p.name for p in control.path.parent.iterdir()] == ["r1.json"]  # no temporary file left
    assert not control.path.exists()


def test_progress_summary_reads_rates_watermark_and_kafka_lag_per_partition() -> None:
    progress = {
        "batchId": 7,
        "timestamp": "2026-12-06T03:00:01.000Z",
        "numInputRows": 30,
        "inputRowsPerSecond": 12.5,
        "processedRowsPerSecond": "NaN",
        "eventTime": {"watermark": "2024-05-01T10:05:00.000Z"},
        "sources": [
            {
                "description": "KafkaV2[Subscribe[clicks]]",
                "endOffset": {"clicks": {"0": 40, "1": 15}},
                "latestOffset": {"clicks": {"0": 100, "1": 15}},
            }
        ],
    }
    summary = progress_summary(progress)
    assert summary["batch_id"] == 7
    assert summary["input_rows_per_second"] == 12.5
    assert summary["processed_rows_per_second"] is None  # NaN: no rate yet
    assert summary["watermark"] == "2024-05-01T10:05:00.000Z"
    assert summary["lag"] == 60
    assert summary["sources"][0]["partitions"] == {"clicks[0]": 60, "clicks[1]": 0}


def test_no_watermark_and_no_lag_for_a_source_that_is_not_kafka() -> None:
    summary = progress_summary({"batchId": 0, "eventTime": {"watermark": "1970-01-01T00:00:00.000Z"}, "sources": [{}]})
    assert summary["watermark"] is None and summary["lag"] is None
    assert source_lag({"endOffset": "not json"})["lag"] is None


def test_list_shows_a_running_run_and_removes_a_stale_one(
    project: Path, fake_run: tuple[subprocess.Popen[bytes], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    process, results = fake_run
    running = write_control(project, process.pid, "clicks", "run-live", results)
    dead_pid = 2**22 + 17  # above the kernel's pid_max: no process has it
    stale = write_control(project, dead_pid, "orders", "run-dead", project / "x.json")
    half_written = stale.with_name(f".run-dead.json.{dead_pid}.tmp")  # killed while writing
    half_written.write_text("{", encoding="utf-8")
    code, out, err = etl(["streams", "list", str(project), "--format", "json"], capsys)
    assert code == 0, err
    runs = {r["run_id"]: r for r in json.loads(out)["runs"]}
    assert runs["run-live"]["state"] == "running" and runs["run-live"]["pid"] == process.pid
    assert runs["run-dead"]["state"] == "stale" and runs["run-dead"]["removed"] is True
    assert f"process {dead_pid} is not running" in runs["run-dead"]["reason"]
    assert running.exists() and not stale.exists() and not half_written.exists()

    code, out, _ = etl(["streams", "list", str(project), "orders", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["runs"] == []


def test_a_process_that_is_not_etl_cli_is_not_taken_for_a_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_control(project, os.getpid(), "clicks", "run-pytest", project / "x.json")  # pytest: not etl-cli
    code, _, err = etl(["streams", "stop", str(project), "clicks"], capsys)
    assert code == 2
    assert "no streaming run of pipeline 'clicks' is running" in err and "is not etl-cli" in err
    assert not path.exists()


def test_stop_signals_the_run_waits_for_its_end_and_reports_how_it_ended(
    project: Path, fake_run: tuple[subprocess.Popen[bytes], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    process, results = fake_run
    path = write_control(project, process.pid, "clicks", "run-live", results)
    code, out, err = etl(["streams", "stop", str(project), "clicks", "--format", "json", "--timeout", "30"], capsys)
    assert code == 0, err
    answer = json.loads(out)
    assert answer["outcome"] == "stopped" and answer["run_status"] == "success"
    assert process.wait(10) == 0
    assert json.loads(results.read_text(encoding="utf-8"))["stopped_by"] == 15  # SIGTERM, as a run stops on
    assert not path.exists()


def test_stop_refuses_when_several_runs_match(
    project: Path, fake_run: tuple[subprocess.Popen[bytes], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    process, results = fake_run
    write_control(project, process.pid, "clicks", "run-a", results, env="dev")
    write_control(project, process.pid, "clicks", "run-b", results, env="prod")
    code, _, err = etl(["streams", "stop", str(project), "clicks"], capsys)
    assert code == 2 and "2 streaming runs match" in err
    assert process.poll() is None  # nothing was signalled
    code, out, err = etl(["streams", "stop", str(project), "clicks", "-e", "prod", "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["run"]["run_id"] == "run-b"


def test_a_project_folder_that_does_not_exist_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = etl(["streams", "stop", str(project / "clicks")], capsys)
    assert code == 2 and "PROJECT is a folder" in err


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["/venv/bin/python", "/venv/bin/etl-cli", "run", "p"], True),
        (["python3", "-m", "etl_cli", "run", "p"], True),
        (["python3", "/tmp/submit/etl-cli-driver.py", "pipelines/p"], True),
        (["python3", "-m", "pytest", "etl-cli"], False),
        (["java", "-cp", "spark.jar", "org.apache.spark.deploy.SparkSubmit"], False),
        ([], False),
    ],
)
def test_only_etl_cli_command_lines_count_as_runs(command: list[str], expected: bool) -> None:
    assert is_etl_cli(command) is expected
