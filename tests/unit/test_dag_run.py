"""The DAG-run scheduler (orchestration/dag_run.py) over a fake launcher: order, parallelism, skips, exit codes.

The launcher stands in for the ``etl-cli run`` children (tests/spark/test_dag_run.py runs real ones).
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import pytest

from etl_cli.errors import UsageError
from etl_cli.orchestration.dag import DagEdge, DagPipeline, ProjectDag
from etl_cli.orchestration.dag_record import (
    DagRunRecord,
    PipelineRun,
    names_to_resume,
    read_record,
    worst_exit_code,
)
from etl_cli.orchestration.dag_run import DagRunner, DagRunPlan
from etl_cli.orchestration.launch import LaunchRequest, LaunchResult, StopSignal


def make_dag(root: Path, upstream: Mapping[str, list[str]]) -> ProjectDag:
    """A DAG of the pipelines named in ``upstream`` (name -> the pipelines it depends on)."""
    pipelines = {name: DagPipeline(name, root / name / "pipeline.yaml", name, (), None) for name in sorted(upstream)}
    edges = tuple(DagEdge(up, name, "depends_on", None) for name, ups in upstream.items() for up in ups)
    return ProjectDag(root, MappingProxyType(pipelines), edges)


class FakeLauncher:
    """Runs no process: records when each pipeline started and ended, and ends it with the exit code asked."""

    def __init__(self, codes: Mapping[str, int] | None = None, work: Callable[[str], None] | None = None):
        self.codes = dict(codes or {})
        self.work = work or (lambda name: time.sleep(0.02))
        self.events: list[tuple[str, str]] = []
        self.running = 0
        self.most_running = 0
        self.lock = threading.Lock()

    def __call__(self, request: LaunchRequest, stop: threading.Event | None) -> LaunchResult:
        name = request.pipeline_file.parent.name
        with self.lock:
            self.events.append(("start", name))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            self.work(name)
        finally:
            with self.lock:
                self.running -= 1
                self.events.append(("end", name))
        return LaunchResult(request.run_id, self.codes.get(name, 0), "x", 0.01, None)

    @property
    def started(self) -> list[str]:
        return [name for event, name in self.events if event == "start"]


class Observer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def dag_run_started(self, record: DagRunRecord) -> None:
        self.lines.append(f"dag run {len(record.pipelines)}")

    def pipeline_started(self, run: PipelineRun) -> None:
        self.lines.append(f"started {run.name}")

    def pipeline_finished(self, run: PipelineRun) -> None:
        self.lines.append(f"{run.status} {run.name} {run.exit_code}")

    def pipeline_skipped(self, run: PipelineRun) -> None:
        self.lines.append(f"{run.status} {run.name}: {run.skip_reason}")


def run_dag(
    tmp_path: Path,
    upstream: Mapping[str, list[str]],
    launcher: FakeLauncher,
    jobs: int = 1,
    stop: StopSignal | None = None,
    observer: Observer | None = None,
) -> DagRunRecord:
    dag = make_dag(tmp_path, upstream)
    plan = DagRunPlan(dag, dag.order(), tmp_path / "dag-runs", jobs=jobs)
    counter = iter(range(1, 1000))
    runner = DagRunner(plan, observer or Observer(), stop, launcher, new_run_id=lambda: f"r{next(counter)}")
    return runner.run()


def statuses(record: DagRunRecord) -> dict[str, str]:
    return {name: run.status for name, run in record.pipelines.items()}


#: a -> b -> c; a -> d; e alone; f after b and e
SHOP = {"a": [], "b": ["a"], "c": ["b"], "d": ["a"], "e": [], "f": ["b", "e"]}


def test_each_pipeline_starts_only_after_its_upstream_ended(tmp_path: Path) -> None:
    launcher = FakeLauncher()
    run_dag(tmp_path, {"a": [], "b": ["a"], "c": ["b"]}, launcher, jobs=3)
    assert launcher.events == [("start", "a"), ("end", "a"), ("start", "b"), ("end", "b"), ("start", "c"), ("end", "c")]


def test_with_one_job_pipelines_run_one_at_a_time_in_the_dags_order(tmp_path: Path) -> None:
    launcher = FakeLauncher()
    record = run_dag(tmp_path, SHOP, launcher, jobs=1)
    # the DAG's order: what is ready together, by name (a e, then b d, then c f)
    assert launcher.started == ["a", "e", "b", "d", "c", "f"]
    assert launcher.most_running == 1
    assert set(statuses(record).values()) == {"succeeded"}
    assert (record.status, record.exit_code) == ("succeeded", 0)


def test_never_more_pipelines_run_at_once_than_jobs(tmp_path: Path) -> None:
    launcher = FakeLauncher(work=lambda name: time.sleep(0.05))
    run_dag(tmp_path, {name: [] for name in "abcdef"}, launcher, jobs=2)
    assert launcher.most_running == 2
    assert sorted(launcher.started) == list("abcdef")


def test_independent_pipelines_really_run_at_the_same_time(tmp_path: Path) -> None:
    together = threading.Barrier(3, timeout=10)  # all three must be inside their run at once to pass it

    def work(name: str) -> None:
        together.wait()  # raises BrokenBarrierError (failing the pipeline) when the three never meet

    record = run_dag(tmp_path, {"x": [], "y": [], "z": []}, FakeLauncher(work=work), jobs=3)
    assert statuses(record) == {"x": "succeeded", "y": "succeeded", "z": "succeeded"}


def test_a_failure_skips_exactly_its_downstream_and_the_rest_runs(tmp_path: Path) -> None:
    launcher = FakeLauncher({"b": 4})
    observer = Observer()
    record = run_dag(tmp_path, SHOP, launcher, jobs=2, observer=observer)
    assert statuses(record) == {
        "a": "succeeded", "b": "failed", "c": "skipped", "d": "succeeded", "e": "succeeded", "f": "skipped",
    }  # fmt: skip
    assert sorted(launcher.started) == ["a", "b", "d", "e"]
    assert record.pipelines["c"].skip_reason == "upstream 'b' failed (exit 4)"
    assert record.pipelines["f"].skip_reason == "upstream 'b' failed (exit 4)"
    assert (record.status, record.exit_code) == ("failed", 4)
    assert "skipped c: upstream 'b' failed (exit 4)" in observer.lines


def test_a_failure_at_the_root_skips_everything_below_it_transitively(tmp_path: Path) -> None:
    launcher = FakeLauncher({"a": 3})
    record = run_dag(tmp_path, SHOP, launcher, jobs=2)
    assert launcher.started == ["a", "e"]
    assert statuses(record) == {
        "a": "failed", "b": "skipped", "c": "skipped", "d": "skipped", "e": "succeeded", "f": "skipped",
    }  # fmt: skip
    assert {record.pipelines[n].skip_reason for n in "bcdf"} == {"upstream 'a' failed (exit 3)"}
    assert record.exit_code == 3


def test_upstreams_outside_the_selection_are_not_waited_for(tmp_path: Path) -> None:
    dag = make_dag(tmp_path, SHOP)
    launcher = FakeLauncher()
    plan = DagRunPlan(dag, ["c", "f"], tmp_path / "dag-runs", jobs=1)
    record = DagRunner(plan, Observer(), None, launcher).run()
    assert launcher.started == ["c", "f"]
    assert [run.upstream for run in record.pipelines.values()] == [[], []]


@pytest.mark.parametrize(
    ("codes", "worst"),
    [
        ([], 0),
        ([0, 0], 0),
        ([0, 5], 5),
        ([5, 2], 2),
        ([2, 1], 1),
        ([1, 3], 3),
        ([3, 4, 5], 4),
        ([4, 130], 130),
        ([130, 143], 143),
        ([137], 4),
        ([0, 99], 4),
    ],
)
def test_the_worst_exit_code_wins_in_the_documented_order(codes: list[int], worst: int) -> None:
    assert worst_exit_code(codes) == worst


def test_the_dag_run_exits_with_its_worst_pipelines_code_and_skipped_ones_add_none(tmp_path: Path) -> None:
    record = run_dag(tmp_path, {"x": [], "y": [], "z": ["y"]}, FakeLauncher({"x": 5, "y": 3}), jobs=2)
    assert statuses(record) == {"x": "failed", "y": "failed", "z": "skipped"}
    assert record.pipelines["z"].exit_code is None
    assert (record.status, record.exit_code) == ("failed", 3)


def test_a_child_that_cannot_start_fails_its_pipeline_with_exit_4(tmp_path: Path) -> None:
    def work(name: str) -> None:
        if name == "a":
            raise OSError("no such interpreter")

    record = run_dag(tmp_path, {"a": [], "b": ["a"], "c": []}, FakeLauncher(work=work), jobs=1)
    assert statuses(record) == {"a": "failed", "b": "skipped", "c": "succeeded"}
    assert record.pipelines["a"].exit_code == 4
    assert record.pipelines["a"].error == "the child process could not run: no such interpreter"


@pytest.mark.parametrize(
    ("signum", "status", "code"), [(signal.SIGINT, "interrupted", 130), (signal.SIGTERM, "terminated", 143)]
)
def test_a_stop_launches_nothing_more_waits_for_the_running_and_marks_the_rest_not_run(
    tmp_path: Path, signum: int, status: str, code: int
) -> None:
    stop = StopSignal()
    seen: list[threading.Event | None] = []

    class Stoppable(FakeLauncher):
        def __call__(self, request: LaunchRequest, given: threading.Event | None) -> LaunchResult:
            seen.append(given)
            stop.stop(signum)  # the signal comes while 'a' runs
            super().__call__(request, given)
            return LaunchResult(request.run_id, code, status, 0.01, None)

    launcher = Stoppable()
    record = run_dag(tmp_path, {"a": [], "b": [], "c": ["a"]}, launcher, jobs=1, stop=stop)
    assert launcher.started == ["a"]
    assert seen == [stop], "the launcher got the stop event, to forward the signal"
    assert statuses(record) == {"a": "failed", "b": "not_run", "c": "not_run"}
    assert record.pipelines["a"].exit_code == code
    assert record.pipelines["c"].skip_reason == f"the DAG run was {status} before it started"
    assert (record.status, record.exit_code) == (status, code)


def test_the_json_says_how_far_the_dag_run_got_while_it_runs(tmp_path: Path) -> None:
    folder = tmp_path / "dag-runs"
    seen: dict[str, dict[str, object]] = {}

    def work(name: str) -> None:
        (record_file,) = folder.glob("*.json")
        data = json.loads(record_file.read_text())
        seen[name] = {p["name"]: p["status"] for p in data["pipelines"]} | {"dag": data["status"]}

    run_dag(tmp_path, {"a": [], "b": ["a"]}, FakeLauncher(work=work), jobs=1)
    assert seen == {
        "a": {"a": "running", "b": "pending", "dag": "running"},
        "b": {"a": "succeeded", "b": "running", "dag": "running"},
    }


def test_the_json_names_each_childs_run_id_log_file_and_the_dag_runs_settings(tmp_path: Path) -> None:
    record = run_dag(tmp_path, {"a": [], "b": ["a"]}, FakeLauncher(), jobs=1)
    data = json.loads((tmp_path / "dag-runs" / f"{record.dag_run_id}.json").read_text())
    assert data["version"] == 1
    assert (data["status"], data["exit_code"], data["jobs"], data["resumes"]) == ("succeeded", 0, 1, None)
    a, b = data["pipelines"]
    assert (a["name"], a["run_id"], b["run_id"], b["upstream"]) == ("a", "r1", "r2", ["a"])
    assert a["log_file"] == str(tmp_path / "dag-runs" / record.dag_run_id / "a.log")
    assert data["started_at"] <= a["started_at"] <= a["ended_at"] <= b["started_at"] <= data["ended_at"]


def test_rows_written_add_up_the_sinks_of_the_childs_run_results(tmp_path: Path) -> None:
    results = tmp_path / "a-results.json"
    stages = [
        {"name": "src", "kind": "source", "rows_out": 100},
        {"name": "out1", "kind": "sink", "rows_out": 7},
        {"name": "out2", "kind": "sink", "rows_out": 5},
    ]
    results.write_text(json.dumps({"status": "success", "stages": stages}))

    class WithResults(FakeLauncher):
        def __call__(self, request: LaunchRequest, stop: threading.Event | None) -> LaunchResult:
            return LaunchResult(request.run_id, 0, "success", 0.5, results)

    record = run_dag(tmp_path, {"a": []}, WithResults())
    assert (record.pipelines["a"].rows_written, record.pipelines["a"].results_file) == (12, str(results))


def test_resume_runs_again_every_pipeline_that_did_not_succeed_in_order(tmp_path: Path) -> None:
    record = run_dag(tmp_path, SHOP, FakeLauncher({"b": 4}), jobs=2)
    assert names_to_resume(record) == ["b", "c", "f"]
    record.pipelines["d"].status = "running"  # what a DAG run killed with SIGKILL leaves
    assert names_to_resume(record) == ["b", "d", "c", "f"]


def test_a_dag_run_read_back_equals_the_one_written(tmp_path: Path) -> None:
    record = run_dag(tmp_path, SHOP, FakeLauncher({"b": 4}), jobs=2)
    assert read_record(tmp_path / "dag-runs", record.dag_run_id) == record


def test_an_unknown_dag_run_id_is_a_usage_error_listing_the_recent_ones(tmp_path: Path) -> None:
    folder = tmp_path / "dag-runs"
    folder.mkdir()
    for day in range(1, 8):
        (folder / f"2026010{day}T000000Z-00000000.json").write_text("{}")
    with pytest.raises(UsageError) as caught:
        read_record(folder, "nope")
    assert caught.value.message == f"no DAG run 'nope' in {folder}"
    assert caught.value.hint == "recent DAG runs: " + ", ".join(f"2026010{d}T000000Z-00000000" for d in (7, 6, 5, 4, 3))


def test_a_dag_run_id_that_climbs_out_of_the_folder_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text("{}")
    (tmp_path / "dag-runs").mkdir()
    with pytest.raises(UsageError, match=re.escape("no DAG run '../secret'")):
        read_record(tmp_path / "dag-runs", "../secret")
