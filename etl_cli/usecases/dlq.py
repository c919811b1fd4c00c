"""Use cases of ``etl-cli dlq``: count, show and replay a pipeline's dead letters (docs/dead-letter.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from etl_cli.app import load_spec, new_run_id, registry
from etl_cli.errors import ExitCode
from etl_cli.events import Reporter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from etl_cli.model.pipeline import PipelineSpec
    from etl_cli.runtime.safeguards.dlq import Selection

T = TypeVar("T")


@dataclass(frozen=True)
class QueueOptions:
    """Which pipeline's queue, and which of its dead letters (an empty or None filter takes all)."""

    env: str | None = None
    sets: tuple[str, ...] = ()
    master: str | None = None
    runs: tuple[str, ...] = ()
    check: str | None = None
    stage: str | None = None

    def selection(self) -> Selection:
        from etl_cli.runtime.safeguards.dlq import Selection

        return Selection(self.runs, self.check, self.stage)


@dataclass(frozen=True)
class ReplayOptions:
    """How ``dlq replay`` was asked to run."""

    #: corrected rows (JSON Lines) to load instead of the dead letters
    rows_file: Path | None = None
    #: replay again, or through a transform that is not row-wise
    force: bool = False
    verbose: bool = False
    results_dir: Path | None = None
    #: ``--confirm-env ENV``: confirms a replay into a protected environment (it writes into the sinks)
    confirm_env: str | None = None


def count_dead_letters(path: Path, options: QueueOptions) -> list[dict[str, Any]]:
    """Dead letters per run, stage, kind and check, newest run first."""
    from etl_cli.runtime.safeguards.dlq import counts

    return _read_queue(path, options, lambda spec, letters: counts(letters))


def show_dead_letters(path: Path, options: QueueOptions, limit: int, reveal: bool) -> list[dict[str, Any]]:
    """Up to ``limit`` dead letters, oldest first; the stage's sensitive columns masked unless ``reveal``."""
    from etl_cli.runtime.safeguards.dlq import letters

    return _read_queue(path, options, lambda spec, queue: letters(queue, spec, limit, reveal))


def _read_queue(path: Path, options: QueueOptions, action: Callable[[PipelineSpec, DataFrame | None], T]) -> T:
    """Load the pipeline, start Spark, read the selected dead letters, apply ``action``, stop Spark."""
    from etl_cli.runtime.safeguards.dlq import open_queue, read_queue

    _, spec = load_spec(path, options.env, options.sets)
    with open_queue(spec, registry(), options.master) as workspace:
        return action(spec, read_queue(workspace.ctx, spec, registry(), options.selection()))


def replay_dead_letters(path: Path, queue: QueueOptions, options: ReplayOptions, reporter: Reporter) -> ExitCode:
    """Run the selected dead letters (or corrected rows) through the pipeline again from the stage they left.

    A replay writes into the sinks: into a protected environment it needs ``--confirm-env`` as a run does
    (a refusal, exit 2, is recorded in the audit trail; the replay's audit record says who confirmed it).
    """
    from etl_cli.runtime.bookkeeping.audit_trail import confirmed
    from etl_cli.runtime.safeguards.replay import REPLAY_COMMAND, replay

    _, spec = load_spec(path, queue.env, queue.sets)
    run_id = new_run_id()
    confirmation = confirmed(spec.project, spec.name, spec.env, options.confirm_env, REPLAY_COMMAND, run_id)
    code, _ = replay(
        spec,
        registry(),
        reporter,
        run_id,
        selection=queue.selection(),
        rows_file=options.rows_file,
        force=options.force,
        master=queue.master,
        verbose=options.verbose,
        results_dir=options.results_dir,
        confirmation=confirmation,
    )
    return code
