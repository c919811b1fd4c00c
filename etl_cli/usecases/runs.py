"""Use cases of ``etl-cli runs``: the run history of a project, one run, two runs compared.

The history is ``<state_dir>/history.sqlite`` (runtime/bookkeeping/history.py). Runs from
before it existed are imported from their results files the first time it is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_cli.config.project import load_project
from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import UsageError
from etl_cli.runtime.bookkeeping.history import History, RunDetail, RunRow, StageRow

#: how many recent run ids an unknown id is compared with for a "did you mean"
_RECENT = 200


@dataclass(frozen=True)
class RunQuery:
    """Which runs ``runs list`` shows (None: any)."""

    pipeline: str | None = None
    env: str | None = None
    status: str | None = None
    limit: int | None = 20


def open_history(start: Path) -> History:
    """The history of the project around ``start``, with the runs of older etl-cli versions imported once."""
    project = load_project(start)
    history = History(project.run_state_dir(), project.history)
    if (history.state_dir / "runs").is_dir():  # runs happened: their files may predate the store
        history.import_results_once()
    return history


def list_runs(start: Path, query: RunQuery) -> list[RunRow]:
    """The project's runs matching ``query``, newest first."""
    return open_history(start).runs(query.pipeline, query.env, query.status, query.limit)


def show_run(start: Path, run_id: str, pipeline: str | None = None) -> RunDetail:
    """One run with its stages and checks; ``run_id`` may be the start of an id when no other run shares it."""
    history = open_history(start)
    return history.detail(find_run(history, run_id, pipeline))


def find_run(history: History, run_id: str, pipeline: str | None = None) -> RunRow:
    """The run ``run_id`` names: its id, or the start of one id; a usage error (exit 2) otherwise."""
    found = history.find(run_id, pipeline) or history.find_prefix(run_id, pipeline)
    if len(found) == 1:
        return found[0]
    if found:
        listed = ", ".join(f"{r.run_id} ({r.pipeline})" for r in found[:10])
        hint = "give more of the id" if len({r.run_id for r in found}) > 1 else "name the pipeline with --pipeline"
        raise UsageError(f"'{run_id}' names more than one run: {listed}", hint=hint)
    recent = [r.run_id for r in history.runs(pipeline=pipeline, limit=_RECENT)]
    where = f" of pipeline '{pipeline}'" if pipeline else ""
    hint = did_you_mean(run_id, recent) or "etl-cli runs list shows the recent runs"
    raise UsageError(f"no run '{run_id}'{where} in the run history {history.path}", hint=hint)


@dataclass(frozen=True)
class Change:
    """One measure in run A and run B, and how it changed (None where either is unknown)."""

    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def percent(self) -> float | None:
        """The change relative to A; None when A is 0 (any change from nothing is no percentage)."""
        delta = self.delta
        return None if delta is None or not self.a else 100.0 * delta / self.a

    def to_json(self) -> dict[str, Any]:
        percent = self.percent
        return {
            "a": self.a,
            "b": self.b,
            "change": self.delta,
            "percent": None if percent is None else round(percent, 1),
        }


@dataclass(frozen=True)
class StageDiff:
    """One stage in two runs: rows out and duration; ``only_in`` "a" or "b" when the other run has no such stage."""

    name: str
    kind: str
    rows: Change
    duration_s: Change
    only_in: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "only_in": self.only_in,
            "rows_out": self.rows.to_json(),
            "duration_s": self.duration_s.to_json(),
        }


@dataclass(frozen=True)
class RunDiff:
    """Two runs side by side: each stage, and the whole run's duration and rows written."""

    a: RunRow
    b: RunRow
    stages: tuple[StageDiff, ...]

    @property
    def duration_s(self) -> Change:
        return Change(self.a.duration_s, self.b.duration_s)

    @property
    def rows_written(self) -> Change:
        return Change(self.a.rows_written, self.b.rows_written)

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "duration_s": self.duration_s.to_json(),
            "rows_written": self.rows_written.to_json(),
            "stages": [s.to_json() for s in self.stages],
        }


def diff_runs(start: Path, run_a: str, run_b: str) -> RunDiff:
    """Runs ``run_a`` and ``run_b`` (ids or unique starts of ids) compared stage by stage."""
    history = open_history(start)
    a, b = (history.detail(find_run(history, run_id)) for run_id in (run_a, run_b))
    return RunDiff(a.run, b.run, compare_stages(a.stages, b.stages))


def compare_stages(a: Sequence[StageRow], b: Sequence[StageRow]) -> tuple[StageDiff, ...]:
    """The stages of A in A's order, each beside B's of the same name; then the stages only B has, in B's order."""
    in_b = {stage.name: stage for stage in b}
    names_a = {stage.name for stage in a}
    compared = [_stage_diff(stage, in_b.get(stage.name)) for stage in a]
    compared += [_stage_diff(None, stage) for stage in b if stage.name not in names_a]
    return tuple(compared)


def _stage_diff(a: StageRow | None, b: StageRow | None) -> StageDiff:
    either = a or b
    assert either is not None
    only_in = None if a and b else ("a" if a else "b")
    return StageDiff(
        either.name,
        either.kind,
        Change(a.rows_out if a else None, b.rows_out if b else None),
        Change(a.duration_s if a else None, b.duration_s if b else None),
        only_in,
    )
