"""What stages keep between runs: one JSON file per stage, under the project's state dir.

``<state_dir>/state/<pipeline>/<env>/<stage>.json`` holds, for example, the watermark
of an incremental JDBC source. Values a run produces are held back until the run has
committed every sink (:meth:`RunState.commit`), so a failed run leaves the previous
values in place and the next run reads the same rows again. Files are replaced
atomically (write, then rename).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl_cli.errors import RunError

STATE_VERSION = 1


def state_folder(state_dir: Path, pipeline: str, env: str | None) -> Path:
    """Where the stages of ``pipeline`` in ``env`` keep their state."""
    return state_dir / "state" / pipeline / (env or "default")


def journal_folder(state_dir: Path, pipeline: str, env: str | None) -> Path:
    """Where the publishes of ``pipeline`` in ``env`` keep their journals."""
    return state_dir / "journal" / pipeline / (env or "default")


@dataclass(frozen=True)
class SavedState:
    """What one stage of a pipeline kept after its last successful run (``etl-cli state show``)."""

    pipeline: str
    env: str
    stage: str
    file: Path
    value: Mapping[str, Any] | None
    run_id: str | None = None
    saved_at: str | None = None
    #: why the file could not be read (the value is then None)
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "env": self.env,
            "source": self.stage,
            "value": None if self.value is None else dict(self.value),
            "run_id": self.run_id,
            "saved_at": self.saved_at,
            "file": str(self.file),
            "problem": self.problem,
        }


def saved_states(state_dir: Path, pipeline: str | None = None, env: str | None = None) -> list[SavedState]:
    """Every stage's kept value under ``state_dir`` (of one pipeline, of one environment folder when given)."""
    found = []
    for path in sorted((state_dir / "state").glob(f"{pipeline or '*'}/{env or '*'}/*.json")):
        if not path.name.startswith("."):  # a write in progress
            found.append(read_saved_state(path))
    return found


def read_saved_state(path: Path) -> SavedState:
    """The state file at ``path`` (``<pipeline>/<env>/<stage>.json``), or what is wrong with it."""
    pipeline, env, stage = path.parent.parent.name, path.parent.name, path.stem
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return SavedState(pipeline, env, stage, path, None, problem=f"unreadable: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("value"), dict):
        return SavedState(pipeline, env, stage, path, None, problem="not a state file of etl-cli")
    return SavedState(pipeline, env, stage, path, data["value"], data.get("run_id"), data.get("saved_at"))


class RunState:
    """The state store of one run (implements :class:`etl_cli.plugins.api.StateStore`)."""

    def __init__(self, folder: Path, run_id: str, full_refresh: bool = False):
        self.folder = folder
        self.run_id = run_id
        self.full_refresh = full_refresh
        self._pending: dict[str, dict[str, Any]] = {}

    def get(self, stage: str) -> Mapping[str, Any] | None:
        """The value ``stage`` kept after the last successful run; None at first or with ``full_refresh``."""
        if self.full_refresh:
            return None
        path = self._file(stage)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunError(
                f"cannot read the state of stage '{stage}' from {path}: {exc}",
                hint="fix or delete the file, or run with --full-refresh to start over",
            ) from exc
        value = data.get("value") if isinstance(data, dict) else None
        return value if isinstance(value, dict) else None

    def save_on_success(self, stage: str, value: Mapping[str, Any]) -> None:
        """Hold ``value`` until :meth:`commit`."""
        self._pending[stage] = dict(value)

    @property
    def pending(self) -> Mapping[str, Mapping[str, Any]]:
        return dict(self._pending)

    def commit(self) -> list[Path]:
        """Write every held value (after the run's sinks committed); return the files written."""
        written = []
        for stage, value in self._pending.items():
            record = {
                "version": STATE_VERSION,
                "stage": stage,
                "run_id": self.run_id,
                "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "value": value,
            }
            written.append(self._write(self._file(stage), record))
        self._pending.clear()
        return written

    def _file(self, stage: str) -> Path:
        return self.folder / f"{stage}.json"

    def _write(self, path: Path, record: Mapping[str, Any]) -> Path:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise RunError(
                f"the run's sinks committed, but its state could not be saved to {path}: {exc}",
                hint="the next run reads the same rows again unless the state is saved; check the state dir",
            ) from exc
        return path
