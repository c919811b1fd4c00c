"""One run at a time per pipeline and environment."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from etl_cli.errors import LockHeldError


def lock_path(state_dir: Path, pipeline: str, env: str | None) -> Path:
    return state_dir / "locks" / f"{pipeline}.{env or 'default'}.lock"


@contextmanager
def run_lock(state_dir: Path, pipeline: str, env: str | None, run_id: str) -> Iterator[None]:
    """Hold the pipeline's lock for the duration of a run; fail at once (exit 5) if it is taken.

    The lock is an OS file lock, so it is released even when the process is killed.
    """
    path = lock_path(state_dir, pipeline, env)
    path.parent.mkdir(parents=True, exist_ok=True)
    holder_file = path.with_suffix(".holder.json")
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise LockHeldError(
            f"another run of pipeline '{pipeline}' (env {env or 'default'}) is in progress: {_describe(holder_file)}",
            hint=f"wait for it to finish; the lock file is {path}",
        ) from None
    try:
        holder = {
            "run_id": run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        holder_file.write_text(json.dumps(holder) + "\n", encoding="utf-8")
        yield
    finally:
        holder_file.unlink(missing_ok=True)
        lock.release()


def _describe(holder_file: Path) -> str:
    try:
        holder = json.loads(holder_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "holder unknown"
    return (
        f"run {holder.get('run_id')} (pid {holder.get('pid')} on {holder.get('host')}, "
        f"since {holder.get('started_at')})"
    )
