"""``run --run-id`` and the launcher that starts one ``etl-cli run`` child per pipeline (orchestration/launch.py)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from etl_cli.orchestration import launch as launch_module
from etl_cli.orchestration.launch import LaunchRequest, StopSignal, child_command, launch
from tests.clihelp import etl_cli

from .helpers import make_project

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


def _state(project: Path) -> dict[str, str]:
    return {"ETL_STATE_DIR": str(project / "state")}


@pytest.mark.parametrize("bad", ["../escape", "a/b", ".hidden", "-dash", "latest", "x" * 129])
def test_a_run_id_that_is_not_a_safe_file_name_is_a_usage_error(project: Path, bad: str) -> None:
    result = etl_cli("run", "p", "--run-id", bad, cwd=project, env=_state(project))
    assert result.returncode == 2
    assert f"--run-id '{bad}' is not a valid run id" in result.stderr
    assert not (project / "state").exists(), "refused before anything ran"


def test_a_run_id_already_used_is_refused_before_spark_starts(project: Path) -> None:
    earlier = project / "state" / "runs" / "p" / "default" / "r-1.json"
    earlier.parent.mkdir(parents=True)
    earlier.write_text('{"status": "success"}')
    result = etl_cli("run", "p", "--run-id", "r-1", cwd=project, env=_state(project))
    assert result.returncode == 2
    assert f"run id 'r-1' was already used: {earlier} exists" in result.stderr
    assert earlier.read_text() == '{"status": "success"}'


def test_a_run_id_already_used_in_the_results_dir_is_refused(project: Path) -> None:
    (project / "res").mkdir()
    (project / "res" / "r-1.json").write_text("{}")
    result = etl_cli("run", "p", "--run-id", "r-1", "--results-dir", "res", cwd=project, env=_state(project))
    assert result.returncode == 2
    assert "run id 'r-1' was already used" in result.stderr


def test_the_child_command_passes_each_option_once_and_params_only_when_given(tmp_path: Path) -> None:
    request = LaunchRequest(
        tmp_path / "p" / "pipeline.yaml",
        "prod",
        "r-1",
        tmp_path / "p.log",
        sets=("a.b=1", "c=2"),
        results_dir=tmp_path / "res",
        extra_args=("--full-refresh",),
    )
    assert child_command(request) == [
        sys.executable, "-m", "etl_cli", "run", str(tmp_path / "p" / "pipeline.yaml"), "--run-id", "r-1",
        "--env", "prod", "--set", "a.b=1", "--set", "c=2",
        "--results-dir", str(tmp_path / "res"), "--full-refresh",
    ]  # fmt: skip
    with_params = LaunchRequest(tmp_path / "p.yaml", None, "r-2", tmp_path / "p.log", params=("ds=2026-01-01",))
    assert child_command(with_params)[-4:] == ["--run-id", "r-2", "--param", "ds=2026-01-01"]


def test_an_invalid_pipeline_ends_with_exit_1_its_error_in_the_log_and_no_results(project: Path) -> None:
    (project / "p" / "pipeline.yaml").write_text("name: p\nsourcez: []\n")
    log = project / "logs" / "p.log"
    result = launch(LaunchRequest(project / "p" / "pipeline.yaml", None, "r-1", log))
    assert (result.run_id, result.exit_code, result.status, result.results_file) == ("r-1", 1, "failed", None)
    assert "pipeline.yaml:2:" in log.read_text()
    assert result.duration_s > 0


#: a stand-in child that says which signal it got and exits as ``run`` does for it (130 SIGINT, 143 SIGTERM)
_CHILD = """
import signal, sys, time
def stop(signum, frame):
    print("got", signum, flush=True)
    sys.exit(128 + signum)
signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(60)
"""


def _fake_child(monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    monkeypatch.setattr(launch_module, "child_command", lambda request: [sys.executable, "-c", script])


@pytest.mark.parametrize(
    ("signum", "code", "status"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_stop_forwards_its_signal_to_the_child_and_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int, status: str
) -> None:
    _fake_child(monkeypatch, _CHILD)
    request = LaunchRequest(tmp_path / "pipeline.yaml", None, "r-1", tmp_path / "p.log", results_dir=tmp_path)
    stop = StopSignal()
    results: list[launch_module.LaunchResult] = []
    thread = threading.Thread(target=lambda: results.append(launch(request, stop)))
    thread.start()
    _wait_for_text(request.log_file, "ready")
    stop.stop(signum)
    thread.join(20)
    (result,) = results
    assert (result.exit_code, result.status) == (code, status)
    assert request.log_file.read_text() == f"ready\ngot {int(signum)}\n"


#: a child that, as ``run`` does, cleans up on the first signal and stops at once on the second
_CHILD_TWO_SIGNALS = """
import signal, sys, time
seen = []
def stop(signum, frame):
    seen.append(signum)
    print("got", signum, flush=True)
    if len(seen) == 2:
        sys.exit(128 + signum)
signal.signal(signal.SIGINT, stop)
print("ready", flush=True)
time.sleep(60)
"""


def test_a_second_stop_is_forwarded_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_child(monkeypatch, _CHILD_TWO_SIGNALS)
    request = LaunchRequest(tmp_path / "pipeline.yaml", None, "r-1", tmp_path / "p.log", results_dir=tmp_path)
    stop = StopSignal()
    results: list[launch_module.LaunchResult] = []
    thread = threading.Thread(target=lambda: results.append(launch(request, stop)))
    thread.start()
    _wait_for_text(request.log_file, "ready")
    stop.stop(signal.SIGINT)
    _wait_for_text(request.log_file, "got 2")
    stop.stop(signal.SIGINT)
    thread.join(20)
    assert results[0].exit_code == 130
    assert request.log_file.read_text() == "ready\ngot 2\ngot 2\n"


def test_a_child_killed_by_a_signal_exits_128_plus_the_signal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_child(monkeypatch, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    result = launch(LaunchRequest(tmp_path / "pipeline.yaml", None, "r-1", tmp_path / "p.log", results_dir=tmp_path))
    assert (result.exit_code, result.status) == (137, "failed")


def test_the_status_comes_from_the_childs_results_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = (
        f'import pathlib, sys; pathlib.Path({str(tmp_path / "r-1.json")!r}).write_text(\'{{"status": "success"}}\')'
    )
    _fake_child(monkeypatch, script)
    result = launch(LaunchRequest(tmp_path / "pipeline.yaml", None, "r-1", tmp_path / "p.log", results_dir=tmp_path))
    assert (result.exit_code, result.status, result.results_file) == (0, "success", tmp_path / "r-1.json")


def _wait_for_text(path: Path, text: str) -> None:
    deadline = time.monotonic() + 20
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{path} never said {text!r}"
        time.sleep(0.05)
