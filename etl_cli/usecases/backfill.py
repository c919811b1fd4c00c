"""``etl-cli backfill``: check that a pipeline can be backfilled, then run one ``etl-cli run`` per interval.

Everything that can be checked is checked before the first run starts (orchestration/backfill.py): the
options, the parameter each interval goes to, the other parameters a run needs, and sinks that a re-run
of an interval leaves as one run leaves them. Then the intervals run one after the other, and the record
``<state_dir>/backfills/<id>.json`` says how far the backfill got; ``--resume ID`` runs again what did
not succeed, with the options the backfill was started with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from etl_cli import app
from etl_cli.config.loader import resolve_pipeline_file
from etl_cli.config.project import load_project
from etl_cli.config.yaml_loader import display_path
from etl_cli.errors import InvalidPipeline, UsageError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.orchestration.backfill import (
    BackfillObserver,
    BackfillParams,
    BackfillRecord,
    BackfillRunner,
    Launcher,
    RunSettings,
    backfill_params,
    check_step,
    holding,
    interval_params,
    new_record,
    read_record,
    record_folder,
    reopen,
    sink_problems,
)
from etl_cli.orchestration.intervals import Bound, Step, intervals, parse_bound, parse_step
from etl_cli.orchestration.launch import StopSignal, launch, stopping_on_signals

#: ``--step`` when none is given
DEFAULT_STEP = "1d"


@dataclass(frozen=True)
class BackfillOptions:
    """How ``backfill`` was asked to run."""

    pipeline: Path
    #: ``--from`` and ``--to`` as written (both included); required unless ``resume``
    start: str | None = None
    stop: str | None = None
    step: str | None = None
    #: ``--param-name``: the parameter each interval's start goes to (default: the only date/timestamp one)
    param_name: str | None = None
    env: str | None = None
    sets: tuple[str, ...] = ()
    #: other ``--param NAME=VALUE``, the same for every interval
    params: tuple[str, ...] = ()
    allow_append: bool = False
    #: ``--resume BACKFILL_ID``: run again the intervals of that backfill that did not succeed
    resume: str | None = None
    #: ``--confirm-env ENV``: confirms a backfill into a protected environment (each interval's run gets it)
    confirm_env: str | None = None


@dataclass(frozen=True)
class BackfillOutcome:
    """A finished backfill and where its record is; or, for a resume with nothing left, ``nothing_to_resume``."""

    record: BackfillRecord | None
    record_file: Path | None
    nothing_to_resume: str | None = None


def run_backfill(
    options: BackfillOptions, observer: BackfillObserver, launcher: Launcher | None = None
) -> BackfillOutcome:
    """Plan (or reopen) the backfill, then run its intervals, stopping cleanly on SIGINT/SIGTERM.

    ``launcher`` starts one interval's ``etl-cli run`` and waits for it (tests pass one that runs nothing).
    """
    pipeline_file = resolve_pipeline_file(options.pipeline).resolve()
    folder = record_folder(load_project(pipeline_file.parent).run_state_dir())
    if options.resume:
        record, settings = _reopened(options, pipeline_file, folder, options.resume)
        if record is None:
            return BackfillOutcome(None, None, nothing_to_resume=options.resume)
    else:
        record, settings = _planned(options, pipeline_file)
    stop = StopSignal()
    with holding(folder, record.backfill_id), stopping_on_signals(stop):
        BackfillRunner(record, settings, folder, observer, stop, launcher or launch).run()
    return BackfillOutcome(record, folder / f"{record.backfill_id}.json")


def _planned(options: BackfillOptions, pipeline_file: Path) -> tuple[BackfillRecord, RunSettings]:
    if options.start is None or options.stop is None:
        raise UsageError("--from and --to are required", hint="for example --from 2026-01-01 --to 2026-01-31")
    step = parse_step(options.step or DEFAULT_STEP)
    start, stop = parse_bound("--from", options.start), parse_bound("--to", options.stop)
    spec, settings = _settings(pipeline_file, options, options.param_name, step, start, stop)
    found = intervals(start, stop, step)
    bounds = (options.start, options.stop, str(step))
    return new_record(spec, settings, bounds, found, options.allow_append), settings


def _reopened(
    options: BackfillOptions, pipeline_file: Path, folder: Path, backfill_id: str
) -> tuple[BackfillRecord | None, RunSettings]:
    """The backfill ``backfill_id`` with its unfinished intervals pending again (None: all succeeded)."""
    given = [flag for flag, value in _planning_flags(options) if value]
    if given:
        raise UsageError(f"--resume runs with the options of the backfill it resumes: drop {', '.join(given)}")
    record = read_record(folder, backfill_id)
    if Path(record.pipeline_file) != pipeline_file:
        raise UsageError(
            f"backfill {backfill_id} is of {display_path(Path(record.pipeline_file))}, not of "
            f"{display_path(pipeline_file)}",
            hint=f"etl-cli backfill {display_path(Path(record.pipeline_file))} --resume {backfill_id}",
        )
    asked = BackfillOptions(
        pipeline_file,
        env=record.env,
        sets=tuple(record.sets),
        params=tuple(record.params),
        allow_append=record.allow_append,
        confirm_env=options.confirm_env,
    )
    step = parse_step(record.step)
    start, stop = parse_bound("--from", record.from_), parse_bound("--to", record.to)
    _, settings = _settings(pipeline_file, asked, record.param, step, start, stop)
    return (record if reopen(record) else None), settings


def _planning_flags(options: BackfillOptions) -> Sequence[tuple[str, object]]:
    """The options a resume takes from the backfill it resumes, with the values given now."""
    return [
        ("--from", options.start),
        ("--to", options.stop),
        ("--step", options.step),
        ("--param-name", options.param_name),
        ("--env", options.env),
        ("--set", options.sets),
        ("--param", options.params),
        ("--allow-append", options.allow_append),
    ]


def _settings(
    pipeline_file: Path, options: BackfillOptions, param_name: str | None, step: Step, start: Bound, stop: Bound
) -> tuple[PipelineSpec, RunSettings]:
    """Check everything a backfill needs of the pipeline and options; how each interval's run is started."""
    _, declared = app.load_spec(pipeline_file, options.env, options.sets, params=options.params)
    if declared.streaming is not None:
        raise UsageError(f"pipeline {declared.name} reads a stream: backfill runs batch pipelines")
    chosen = backfill_params(declared, param_name)
    _refuse_interval_params(chosen, options.params)
    check_step(chosen, step, start.is_date and stop.is_date)
    first = step.after(start.moment, 0), step.after(start.moment, 1)
    second = first[1], step.after(start.moment, 2)
    spec, other = (_load_for(pipeline_file, options, chosen, bounds) for bounds in (first, second))
    problems = sink_problems(spec, other, app.registry(), options.allow_append)
    if problems:
        raise InvalidPipeline(
            problems,
            f"{display_path(pipeline_file)} cannot be backfilled: re-running an interval must replace what it wrote",
        )
    _confirm(spec, options.confirm_env)
    settings = RunSettings(
        pipeline_file, spec.env, options.sets, options.params, chosen.start, chosen.end, options.confirm_env
    )
    return spec, settings


def _confirm(spec: PipelineSpec, confirm_env: str | None) -> None:
    """A backfill into a protected environment needs ``--confirm-env`` (a refusal is in the audit trail)."""
    from etl_cli.runtime.bookkeeping.audit_trail import confirmed

    confirmed(spec.project, spec.name, spec.env, confirm_env, "backfill", f"backfill-{app.new_run_id()}")


def _refuse_interval_params(chosen: BackfillParams, params: Sequence[str]) -> None:
    names = {assignment.partition("=")[0].strip() for assignment in params}
    for decl in (chosen.start, chosen.end):
        if decl is not None and decl.name in names:
            raise UsageError(
                f"--param {decl.name}: the backfill gives '{decl.name}' each interval's "
                f"{'end' if decl is chosen.end else 'start'}",
                hint=f"drop --param {decl.name}=...; --from, --to and --step choose the intervals",
            )


def _load_for(
    pipeline_file: Path, options: BackfillOptions, chosen: BackfillParams, bounds: tuple[datetime, datetime]
) -> PipelineSpec:
    """The pipeline as one interval's run loads it: every required parameter must have its value."""
    given = (*options.params, *interval_params(chosen, *bounds))
    _, spec = app.load_spec(pipeline_file, options.env, options.sets, params=given, require_params=True)
    return spec
