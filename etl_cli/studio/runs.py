"""Runs the studio starts: ``etl-cli run --log-format json`` in a process of its own, followed line by line.

A run is the command line's own (its lock, its run results, its history row), so a run started
from the page is the same as one started in a terminal. The JSON lines it writes on stderr tell
each stage's progress; the run results file named by the last line is the summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_cli.errors import UsageError

#: the lines of output kept per run that are not events (a failure's message, Spark's warnings)
KEPT_LINES = 200


@dataclass
class _Run:
    run_id: str
    file: str
    process: subprocess.Popen[str]
    stages: dict[str, dict[str, Any]]
    status: str = "running"
    exit_code: int | None = None
    results_file: str | None = None
    log: deque[str] = field(default_factory=lambda: deque(maxlen=KEPT_LINES))
    done: threading.Event = field(default_factory=threading.Event)

    def to_json(self) -> dict[str, Any]:
        summary = None
        if self.results_file and self.done.is_set():
            try:
                summary = json.loads(Path(self.results_file).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                summary = None
        return {
            "run_id": self.run_id,
            "file": self.file,
            "status": self.status,
            "exit_code": self.exit_code,
            "stages": list(self.stages.values()),
            "summary": summary,
            "log": list(self.log) if self.done.is_set() else [],
        }


class Runs:
    """The runs started from the studio, by run id."""

    def __init__(self, root: Path):
        self.root = root
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def start(self, path: Path, env: str | None, params: dict[str, Any]) -> str:
        """Start ``etl-cli run`` on ``path``; its run id is chosen here so the page can follow it at once."""
        from etl_cli import app

        _, spec = app.load_spec(path, env, params=[f"{k}={_param(v)}" for k, v in params.items()], require_params=True)
        run_id = app.new_run_id()
        command = [sys.executable, "-m", "etl_cli", "run", str(path), "--log-format", "json", "--run-id", run_id]
        if env:
            command += ["--env", env]
        for name, value in params.items():
            if not isinstance(name, str) or not name:
                raise UsageError("a parameter needs a name")
            command += ["--param", f"{name}={_param(value)}"]
        stages = {
            s.name: {"name": s.name, "kind": s.kind, "status": "waiting", "rows_in": None, "rows_out": None,
                     "duration_s": None}
            for s in spec.stages
        }  # fmt: skip
        process = subprocess.Popen(
            command,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env={**os.environ, "NO_COLOR": "1"},
        )
        run = _Run(run_id, str(path), process, stages)
        with self._lock:
            self._runs[run_id] = run
        threading.Thread(target=self._follow, args=(run,), name=f"studio-run-{run_id}", daemon=True).start()
        return run_id

    def status(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            run = self._runs.get(run_id)
        return run.to_json() if run is not None else None

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        with self._lock:
            run = self._runs.get(run_id)
        return run is not None and run.done.wait(timeout)

    def stop_all(self) -> None:
        """Interrupt the runs still going (SIGTERM: each leaves its targets whole and its lock free)."""
        with self._lock:
            running = [r for r in self._runs.values() if not r.done.is_set()]
        for run in running:
            run.process.terminate()
        for run in running:
            try:
                run.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                run.process.kill()

    def _follow(self, run: _Run) -> None:
        assert run.process.stdout is not None
        for line in run.process.stdout:
            event = _event(line)
            if event is None:
                run.log.append(line.rstrip("\n"))
            else:
                _apply(run, event)
        run.exit_code = run.process.wait()
        run.status = "succeeded" if run.exit_code == 0 else "failed"
        for stage in run.stages.values():
            if stage["status"] == "running":
                stage["status"] = "failed" if run.exit_code else "ok"
        _add_rows_in(run)
        run.done.set()


def _param(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _event(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        found = json.loads(line)
    except ValueError:
        return None
    return found if isinstance(found, dict) and isinstance(found.get("event"), str) else None


def _apply(run: _Run, event: dict[str, Any]) -> None:
    kind = event["event"]
    stage = run.stages.get(str(event.get("stage")))
    if kind == "stage_started" and stage is not None:
        stage["status"] = "running"
    elif kind == "stage_finished" and stage is not None:
        stage.update(status=event.get("status"), rows_out=event.get("rows_out"), duration_s=event.get("duration_s"))
    elif kind == "run_finished":
        run.results_file = event.get("results_file")
    elif kind == "message":
        run.log.append(f"{event.get('level')}: {event.get('text')}")


def _add_rows_in(run: _Run) -> None:
    """Rows in of each stage, from the run results (the events carry rows out only)."""
    if not run.results_file:
        return
    try:
        results = json.loads(Path(run.results_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for entry in results.get("stages") or []:
        stage = run.stages.get(str(entry.get("name"))) if isinstance(entry, dict) else None
        if stage is not None:
            stage["rows_in"] = entry.get("rows_in")
            stage["rows_out"] = entry.get("rows_out", stage["rows_out"])
