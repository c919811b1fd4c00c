"""Use cases of ``etl-cli state``: the incremental watermarks pipelines keep between runs, shown or forgotten.

A stage's state is ``<state_dir>/state/<pipeline>/<env>/<stage>.json`` (runtime/bookkeeping/state.py).
Forgetting it makes the next run of that pipeline read that source from the start; it is done under the
pipeline's run lock, so no run is reading or saving the state at that moment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from etl_cli.app import new_run_id
from etl_cli.config.limits import NAME_RULE, is_name
from etl_cli.config.project import Project, load_project
from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import UsageError
from etl_cli.runtime.bookkeeping.lock import run_lock
from etl_cli.runtime.bookkeeping.state import SavedState, saved_states

_DEFAULT_ENV_FOLDER = "default"


def show_state(start: Path, pipeline: str | None = None, env: str | None = None) -> list[SavedState]:
    """The state every stage keeps (of ``pipeline``, in ``env`` when given: else in every environment)."""
    project = load_project(start)
    if pipeline is not None:
        _check_name(pipeline, "pipeline")
    folder = _env_folder(project.choose_env(env)) if env else None
    return saved_states(project.run_state_dir(), pipeline, folder)


@dataclass(frozen=True)
class ResetTarget:
    """The state file ``state reset`` would forget, found before asking for confirmation."""

    project: Project
    state: SavedState


def find_state(start: Path, pipeline: str, source: str, env: str | None) -> ResetTarget:
    """The state of ``source`` in ``pipeline``, in ``env`` as ``run`` would choose it ($ETL_ENV, the default)."""
    project = load_project(start)
    _check_name(pipeline, "pipeline")
    folder = _env_folder(project.choose_env(env or os.environ.get("ETL_ENV") or None))
    states = saved_states(project.run_state_dir(), pipeline, folder)
    for state in states:
        if state.stage == source:
            return ResetTarget(project, state)
    if not states:
        with_state = sorted({s.pipeline for s in saved_states(project.run_state_dir(), None, folder)})
        hint = did_you_mean(pipeline, with_state) or (
            f"pipelines with state in {folder}: {', '.join(with_state)}" if with_state else "no pipeline has state yet"
        )
        raise UsageError(f"pipeline '{pipeline}' has no saved state in environment {folder}", hint=hint)
    names = [s.stage for s in states]
    hint = did_you_mean(source, names) or f"sources with state: {', '.join(names)}"
    raise UsageError(f"source '{source}' of pipeline '{pipeline}' has no saved state (env {folder})", hint=hint)


def reset_state(target: ResetTarget) -> Path:
    """Delete the state file of ``target`` under the pipeline's run lock (exit 5 while a run holds it)."""
    state = target.state
    env = None if state.env == _DEFAULT_ENV_FOLDER else state.env
    with run_lock(target.project.run_state_dir(), state.pipeline, env, f"state-reset-{new_run_id()}"):
        state.file.unlink(missing_ok=True)
    return state.file


def _env_folder(env: str | None) -> str:
    return env or _DEFAULT_ENV_FOLDER


def _check_name(value: str, what: str) -> None:
    if not is_name(value):
        raise UsageError(f"'{value}' is not a {what} name: use {NAME_RULE}")
