"""Use cases of ``etl-cli streams list|status|stop``: the streaming runs of a project on this machine.

Each running streaming run keeps a control file in ``<state dir>/streams/`` (runtime/streams/control.py).
Listing reads them; a file whose process has ended (the run was killed) is reported as stale and
removed. Stopping sends the run's process SIGTERM, the signal a streaming run stops on gracefully
(its running micro-batch may finish, then its queries stop, its checkpoint consistent), and waits
until the process has ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_cli.config.project import load_project
from etl_cli.errors import ExitCode, RunError, UsageError
from etl_cli.runtime.streams.control import (
    controls_dir,
    liveness,
    on_this_host,
    process_start,
    read_control,
    wait_for_exit,
)

#: run statuses (``status`` in the run results) of a run that ended cleanly after a stop request
CLEAN_ENDS = ("success", "interrupted", "terminated")


@dataclass
class StreamingRun:
    """One control file: a run, and whether it is running (``running``), gone (``stale``) or on another host."""

    path: Path
    record: dict[str, Any]
    state: str
    reason: str | None = None
    removed: bool = False

    @property
    def run_id(self) -> str:
        return str(self.record.get("run_id"))

    @property
    def pipeline(self) -> str:
        return str(self.record.get("pipeline"))

    @property
    def env(self) -> str | None:
        env = self.record.get("env")
        return str(env) if env else None

    @property
    def pid(self) -> int:
        return int(self.record["pid"])

    @property
    def queries(self) -> list[dict[str, Any]]:
        return list(self.record.get("queries") or [])

    def to_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "env": self.env,
            "state": self.state,
            "reason": self.reason,
            "pid": self.pid,
            "host": record.get("host"),
            "started_at": record.get("started_at"),
            "updated_at": record.get("updated_at"),
            "results": record.get("results"),
            "endpoint": record.get("endpoint"),
            "control_file": str(self.path),
            "removed": self.removed,
            "queries": self.queries,
        }


@dataclass
class StopOutcome:
    """What ``streams stop`` did: the run it stopped, whether it ended in time, and how it ended."""

    run: StreamingRun
    ended: bool
    waited_s: float
    timeout_s: float
    #: from the run results, once the run has ended (None: not ended, or no results file)
    run_status: str | None = None
    run_exit_code: int | None = None
    run_error: str | None = None
    stale: list[StreamingRun] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        """0 when the run ended cleanly; 4 when it failed, or still runs after the timeout."""
        if self.ended and (self.run_status is None or self.run_status in CLEAN_ENDS):
            return ExitCode.OK
        return ExitCode.RUN_FAILED

    @property
    def outcome(self) -> str:
        if not self.ended:
            return "still_stopping"
        return "stopped" if self.exit_code is ExitCode.OK else "failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "exit_code": int(self.exit_code),
            "waited_s": round(self.waited_s, 3),
            "timeout_s": self.timeout_s,
            "run_status": self.run_status,
            "run_exit_code": self.run_exit_code,
            "run_error": self.run_error,
            "run": self.run.to_json(),
        }


def streaming_runs(
    start: Path, pipeline: str | None = None, env: str | None = None, run_id: str | None = None, clean: bool = True
) -> list[StreamingRun]:
    """The project's streaming runs matching the filters, oldest first; stale control files removed (``clean``)."""
    if not start.is_dir():
        raise UsageError(
            f"no folder {start}: PROJECT is a folder of the project",
            hint=f"the pipeline's name comes after it: etl-cli streams COMMAND . {start}",
        )
    folder = controls_dir(load_project(start).run_state_dir())
    found: list[StreamingRun] = []
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if clean and folder.is_dir():
        _remove_orphaned_temporaries(folder)
    for path in paths:
        record = read_control(path)
        if record is None:
            continue
        run = _judge(path, record)
        if pipeline is not None and run.pipeline != pipeline:
            continue
        if env is not None and run.env != env:
            continue
        if run_id is not None and not run.run_id.startswith(run_id):
            continue
        if run.state == "stale" and clean:
            with contextlib.suppress(OSError):
                path.unlink()
                run.removed = True
        found.append(run)
    return sorted(found, key=lambda r: (str(r.record.get("started_at") or ""), r.run_id))


def _remove_orphaned_temporaries(folder: Path) -> None:
    """Temporary files (``.<run id>.json.<pid>.tmp``) of runs killed while they wrote their control file."""
    for path in folder.glob(".*.json.*.tmp"):
        pid = path.name.rsplit(".", 2)[-2]
        if pid.isdigit() and process_start(int(pid)) is None:
            with contextlib.suppress(OSError):
                path.unlink()


def _judge(path: Path, record: dict[str, Any]) -> StreamingRun:
    if not on_this_host(record):
        return StreamingRun(path, record, "elsewhere", f"it runs on host {record.get('host')}")
    reason = liveness(record)
    return StreamingRun(path, record, "stale" if reason else "running", reason)


def stop_run(
    start: Path,
    pipeline: str | None = None,
    env: str | None = None,
    run_id: str | None = None,
    timeout_s: float = 120.0,
) -> StopOutcome:
    """Stop the one running streaming run the filters name, gracefully, and wait up to ``timeout_s`` for its end.

    A usage error (exit 2) when no run of etl-cli's is running there, or when several are (name one).
    """
    runs = streaming_runs(start, pipeline, env, run_id)
    running = [r for r in runs if r.state == "running"]
    stale = [r for r in runs if r.state == "stale"]
    if not running:
        raise UsageError(_none_running(pipeline, env, run_id, runs), hint="etl-cli streams list shows what runs")
    if len(running) > 1:
        listed = ", ".join(f"{r.pipeline} (env {r.env or 'default'}, run {r.run_id})" for r in running)
        raise UsageError(
            f"{len(running)} streaming runs match: {listed}",
            hint="name one: its PIPELINE, --env or --run-id",
        )
    run = running[0]
    why = liveness(run.record)  # again, right before the signal: the process may have ended since
    if why is not None:
        raise UsageError(f"run {run.run_id} of {run.pipeline} is not running any more: {why}")
    try:
        os.kill(run.pid, signal.SIGTERM)
    except ProcessLookupError:
        raise UsageError(f"run {run.run_id} of {run.pipeline} ended before it could be stopped") from None
    except PermissionError:
        raise UsageError(
            f"not allowed to signal process {run.pid} (run {run.run_id} of {run.pipeline})",
            hint="stop it as the user who started it",
        ) from None
    started = time.monotonic()
    ended = wait_for_exit(run.pid, run.record.get("pid_start"), timeout_s)
    outcome = StopOutcome(run, ended, time.monotonic() - started, timeout_s, stale=stale)
    if ended:
        _read_results(outcome)
        with contextlib.suppress(OSError):  # the run removes it itself; a run that died before could not
            run.path.unlink(missing_ok=True)
    return outcome


def _read_results(outcome: StopOutcome) -> None:
    where = outcome.run.record.get("results")
    if not where:
        return
    try:
        results = json.loads(Path(where).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    outcome.run_status = results.get("status")
    outcome.run_exit_code = results.get("exit_code")
    error = results.get("error") or {}
    outcome.run_error = error.get("message") if isinstance(error, dict) else None


def _none_running(pipeline: str | None, env: str | None, run_id: str | None, runs: Sequence[StreamingRun]) -> str:
    what = "no streaming run" + (f" of pipeline '{pipeline}'" if pipeline else "")
    what += f" in environment '{env}'" if env else ""
    what += f" with run id {run_id}..." if run_id else ""
    text = f"{what} is running on this machine"
    for run in runs:
        if run.state == "stale":
            text += f"; run {run.run_id} of {run.pipeline} had ended ({run.reason}), its control file was removed"
        elif run.state == "elsewhere":
            text += f"; run {run.run_id} of {run.pipeline} runs elsewhere ({run.reason})"
    return text


def stop_failure(outcome: StopOutcome) -> RunError | None:
    """The error ``streams stop`` exits with (4), None when the run ended cleanly."""
    run = outcome.run
    if not outcome.ended:
        return RunError(
            f"run {run.run_id} of {run.pipeline} (pid {run.pid}) still runs {outcome.timeout_s:g} s after SIGTERM",
            hint="it goes on stopping (its running micro-batch finishes first); wait, or stop it again with a "
            "longer --timeout",
        )
    if outcome.exit_code is ExitCode.OK:
        return None
    because = f": {outcome.run_error}" if outcome.run_error else ""
    return RunError(f"run {run.run_id} of {run.pipeline} ended with status {outcome.run_status}{because}")


__all__ = ["StopOutcome", "StreamingRun", "stop_failure", "stop_run", "streaming_runs"]
