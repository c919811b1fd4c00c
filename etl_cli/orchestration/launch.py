"""Run one pipeline as its own ``etl-cli run`` child process, for ``dag run`` and ``backfill``.

Each pipeline keeps everything ``run`` guarantees (its lock, retries, atomic publishing, exit codes, clean
stops on a signal: docs/run.md) because it *is* a ``run``; the orchestrator only starts it, sends its output
to a log file, waits, and reads its results JSON. The child is started in its own session, so a Ctrl-C at
the terminal reaches only the orchestrator, which forwards exactly one signal: a second one would make the
child stop at once without cleaning up.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from etl_cli.config.project import load_project
from etl_cli.errors import EtlError

#: how often a waiting launcher looks at its stop event (seconds)
_POLL_S = 0.2


@dataclass(frozen=True)
class LaunchRequest:
    """One ``etl-cli run`` to start: the pipeline, how to run it, and where its output goes."""

    pipeline_file: Path
    env: str | None
    run_id: str
    log_file: Path
    sets: tuple[str, ...] = ()
    #: ``NAME=VALUE``, passed as ``--param`` (only when there are any)
    params: tuple[str, ...] = ()
    results_dir: Path | None = None
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class LaunchResult:
    """How the child ended: its exit code, the status its results JSON gives, and where that file is."""

    run_id: str
    exit_code: int
    #: the results JSON's ``status`` (success, failed, interrupted, terminated), else one made from the exit code
    status: str
    duration_s: float
    results_file: Path | None


class StopSignal(threading.Event):
    """A stop event that keeps the signals that asked for the stop, so children get those same signals.

    The first signal stops a child cleanly; a second one, forwarded too, stops it at once (docs/run.md).
    """

    def __init__(self) -> None:
        super().__init__()
        self.signals: list[int] = []

    @property
    def signum(self) -> int:
        """The first signal received (SIGTERM when the stop came without one)."""
        return self.signals[0] if self.signals else signal.SIGTERM

    def stop(self, signum: int) -> None:
        """Ask every launcher waiting on this event to forward ``signum`` to its child."""
        self.signals.append(signum)
        self.set()


@contextmanager
def stopping_on_signals(stop: StopSignal) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` instead of raising, while in the block (main thread only)."""

    def handler(signum: int, frame: object) -> None:
        stop.stop(signum)

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def child_command(request: LaunchRequest) -> list[str]:
    """The command line of the child: this Python running ``etl_cli run`` with the request's options."""
    command = [sys.executable, "-m", "etl_cli", "run", str(request.pipeline_file), "--run-id", request.run_id]
    if request.env:
        command += ["--env", request.env]
    for assignment in request.sets:
        command += ["--set", assignment]
    for param in request.params:
        command += ["--param", param]
    if request.results_dir is not None:
        command += ["--results-dir", str(request.results_dir)]
    return [*command, *request.extra_args]


def launch(request: LaunchRequest, stop: threading.Event | None = None) -> LaunchResult:
    """Run the child to its end, its stdout and stderr appended to ``request.log_file``.

    When ``stop`` is set while the child runs, the child gets one signal (the :class:`StopSignal`'s, else
    SIGTERM) and is waited for: it stops cleanly and writes its results with status interrupted/terminated.
    """
    request.log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with request.log_file.open("ab") as log:
        process = subprocess.Popen(
            child_command(request),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        returncode = _wait(process, stop)
    exit_code = returncode if returncode >= 0 else 128 - returncode
    results_file = find_results_file(request)
    return LaunchResult(
        request.run_id,
        exit_code,
        _status(results_file, exit_code),
        round(time.monotonic() - started, 3),
        results_file,
    )


def _wait(process: subprocess.Popen[bytes], stop: threading.Event | None) -> int:
    """Wait for the child; forward each stop request as one signal (SIGTERM for a plain Event), once each."""
    forwarded = 0
    while True:
        try:
            return process.wait(timeout=_POLL_S)
        except subprocess.TimeoutExpired:
            if stop is None or not stop.is_set():
                continue
            wanted = stop.signals if isinstance(stop, StopSignal) else [signal.SIGTERM]
            for signum in wanted[forwarded:]:
                process.send_signal(signum)
            forwarded = len(wanted)


def find_results_file(request: LaunchRequest) -> Path | None:
    """The child's ``<run_id>.json``: in ``--results-dir``, else under the project's state folder (runs/P/ENV/)."""
    name = f"{request.run_id}.json"
    if request.results_dir is not None:
        candidate = request.results_dir / name
        return candidate.resolve() if candidate.is_file() else None
    try:
        runs = load_project(request.pipeline_file.parent).run_state_dir() / "runs"
    except EtlError:  # an invalid project file: the child stopped before writing results, with exit 1
        return None
    return next(iter(sorted(runs.glob(f"*/*/{name}"))), None)


def _status(results_file: Path | None, exit_code: int) -> str:
    if results_file is not None:
        try:
            status = json.loads(results_file.read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError):
            status = None
        if isinstance(status, str):
            return status
    return {0: "success", 130: "interrupted", 143: "terminated"}.get(exit_code, "failed")
