"""Run a selection of the project DAG: each pipeline an ``etl-cli run`` child, up to ``jobs`` at a time.

A pipeline starts as soon as every selected pipeline it depends on has succeeded (among those ready
together, in the DAG's order). A failure (any non-zero exit) skips everything downstream of it within
the selection, transitively; everything else still runs to the end. A stop (SIGINT/SIGTERM, through a
:class:`StopSignal`) launches nothing more, lets the launchers forward the signal to the children that
run and wait for them, and marks the rest ``not_run``.

One thread per running pipeline waits on its child; this thread alone changes the record and writes it,
after every start, finish and skip, so the file on disk always says how far the DAG run got.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from etl_cli.orchestration.dag import ProjectDag
from etl_cli.orchestration.dag_record import (
    FAILED,
    NOT_RUN,
    PENDING,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    DagRunRecord,
    PipelineRun,
    new_dag_run_id,
    now,
    rows_written,
    worst_exit_code,
    write_record,
)
from etl_cli.orchestration.launch import LaunchRequest, LaunchResult, StopSignal, launch

#: what starts one child and waits for it (orchestration.launch.launch; tests pass a fake)
Launcher = Callable[[LaunchRequest, threading.Event | None], LaunchResult]
#: how long the scheduler waits for a child to finish before looking at the stop event again (seconds)
_POLL_S = 0.2
_STOPPED = {signal.SIGINT: ("interrupted", 130), signal.SIGTERM: ("terminated", 143)}


class DagRunObserver(Protocol):
    """Told of the DAG run's start and of each pipeline as it starts, finishes, or is skipped (or not run)."""

    def dag_run_started(self, record: DagRunRecord) -> None: ...

    def pipeline_started(self, run: PipelineRun) -> None: ...

    def pipeline_finished(self, run: PipelineRun) -> None: ...

    def pipeline_skipped(self, run: PipelineRun) -> None: ...


@dataclass(frozen=True)
class DagRunPlan:
    """What to run: the DAG, the selected pipelines (in the DAG's order) and how to run each."""

    dag: ProjectDag
    names: Sequence[str]
    #: where the DAG-run JSON goes (``<state_dir>/dag-runs``); each child's log in ``<folder>/<dag_run_id>/``
    folder: Path
    env: str | None = None
    sets: tuple[str, ...] = ()
    results_dir: Path | None = None
    jobs: int = 1
    selectors: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    resumes: str | None = None
    #: ``--param NAME=VALUE`` as given, and those each pipeline's child gets (orchestration/dag_params.py)
    params: tuple[str, ...] = ()
    child_params: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``--confirm-env``: passed to each child (a run into a protected environment needs it)
    confirm_env: str | None = None

    def new_record(self) -> DagRunRecord:
        """The record of a DAG run of this plan that has not started anything yet."""
        chosen = set(self.names)
        runs = {
            name: PipelineRun(
                name, sorted(self.dag.upstream_of(name) & chosen), params=list(self.child_params.get(name, ()))
            )
            for name in self.names
        }
        return DagRunRecord(
            dag_run_id=new_dag_run_id(),
            project=str(self.dag.root),
            selectors=list(self.selectors),
            exclude=list(self.exclude),
            env=self.env,
            sets=list(self.sets),
            jobs=self.jobs,
            results_dir=str(self.results_dir) if self.results_dir else None,
            pipelines=runs,
            resumes=self.resumes,
            params=list(self.params),
        )


class DagRunner:
    """Runs one :class:`DagRunPlan` to its end and keeps its :class:`DagRunRecord` on disk up to date."""

    def __init__(
        self,
        plan: DagRunPlan,
        observer: DagRunObserver,
        stop: StopSignal | None = None,
        launcher: Launcher = launch,
        new_run_id: Callable[[], str] = new_dag_run_id,
    ):
        self.plan = plan
        self.record = plan.new_record()
        self.observer = observer
        self.stop = stop or StopSignal()
        self.launcher = launcher
        self.new_run_id = new_run_id
        self._finished: queue.Queue[tuple[str, LaunchResult | Exception]] = queue.Queue()
        self._threads: dict[str, threading.Thread] = {}
        self._clock = time.monotonic()

    @property
    def record_file(self) -> Path:
        return self.plan.folder / f"{self.record.dag_run_id}.json"

    def run(self) -> DagRunRecord:
        """Start what is ready, wait for a child to finish, repeat; then mark what never started and end."""
        self._save()
        self.observer.dag_run_started(self.record)
        while True:
            if not self.stop.is_set():
                self._start_ready()
            if not self._threads:
                break
            name, outcome = self._next_finished()
            self._threads.pop(name).join()
            self._finish(name, outcome)
        self._end()
        return self.record

    def _start_ready(self) -> None:
        for run in self.record.pipelines.values():
            if len(self._threads) >= self.plan.jobs:
                return
            if run.status == PENDING and all(self._status(up) == SUCCEEDED for up in run.upstream):
                self._start(run)

    def _status(self, name: str) -> str:
        return self.record.pipelines[name].status

    def _start(self, run: PipelineRun) -> None:
        run.run_id = self.new_run_id()
        log_file = self.plan.folder / self.record.dag_run_id / f"{run.name}.log"
        run.status, run.log_file, run.started_at = RUNNING, str(log_file), now()
        request = LaunchRequest(
            self.plan.dag.pipelines[run.name].file,
            self.plan.env,
            run.run_id,
            log_file,
            sets=self.plan.sets,
            params=tuple(run.params),
            results_dir=self.plan.results_dir,
            extra_args=("--confirm-env", self.plan.confirm_env) if self.plan.confirm_env else (),
        )
        self.observer.pipeline_started(run)
        self._save()  # before the child starts: the file says it runs for as long as it does
        thread = threading.Thread(target=self._launch, args=(run.name, request), name=f"dag-run {run.name}")
        self._threads[run.name] = thread
        thread.start()

    def _launch(self, name: str, request: LaunchRequest) -> None:
        """In the pipeline's thread: run the child; whatever happens, tell the scheduler."""
        try:
            self._finished.put((name, self.launcher(request, self.stop)))
        except Exception as exc:  # a child that could not be started fails its pipeline, not the DAG run
            self._finished.put((name, exc))

    def _next_finished(self) -> tuple[str, LaunchResult | Exception]:
        """The next child to finish; waits in short steps so this (main) thread can take signals meanwhile."""
        while True:
            try:
                return self._finished.get(timeout=_POLL_S)
            except queue.Empty:
                continue

    def _finish(self, name: str, outcome: LaunchResult | Exception) -> None:
        run = self.record.pipelines[name]
        run.ended_at = now()
        if isinstance(outcome, Exception):
            run.status, run.exit_code, run.error = FAILED, 4, f"the child process could not run: {outcome}"
        else:
            run.status = SUCCEEDED if outcome.exit_code == 0 else FAILED
            run.exit_code, run.duration_s = outcome.exit_code, outcome.duration_s
            run.results_file = str(outcome.results_file) if outcome.results_file else None
            run.rows_written = rows_written(outcome.results_file)
        self.observer.pipeline_finished(run)
        if run.status == FAILED and not self.stop.is_set():  # once stopped, what waited is not_run instead
            self._skip_downstream(run)
        self._save()

    def _skip_downstream(self, failed: PipelineRun) -> None:
        """Mark every pending pipeline downstream of ``failed`` (within the selection) skipped, saying why."""
        reason = f"upstream '{failed.name}' failed (exit {failed.exit_code})"
        todo = [failed.name]
        while todo:
            current = todo.pop()
            for run in self.record.pipelines.values():
                if current in run.upstream and run.status == PENDING:
                    run.status, run.skip_reason = SKIPPED, reason
                    self.observer.pipeline_skipped(run)
                    todo.append(run.name)

    def _end(self) -> None:
        record = self.record
        stopped = _STOPPED.get(signal.Signals(self.stop.signum)) if self.stop.is_set() else None
        for run in record.pipelines.values():
            if run.status == PENDING:
                run.status = NOT_RUN
                run.skip_reason = f"the DAG run was {stopped[0] if stopped else 'stopped'} before it started"
                self.observer.pipeline_skipped(run)
        codes = [run.exit_code for run in record.pipelines.values() if run.exit_code is not None]
        worst = worst_exit_code(codes)
        if stopped:
            record.status, record.exit_code = stopped
        else:
            record.status, record.exit_code = (SUCCEEDED if worst == 0 else FAILED), worst
        record.ended_at = now()
        record.duration_s = round(time.monotonic() - self._clock, 3)
        self._save()

    def _save(self) -> None:
        write_record(self.record, self.plan.folder)
