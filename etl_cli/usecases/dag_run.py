"""``etl-cli dag run``: run a selection of the project DAG, or resume a DAG run, each pipeline a child run.

The pipelines are loaded and validated first, all of them (the DAG needs every one): an invalid pipeline
stops the DAG run before anything starts. Then orchestration/dag_run.py schedules the children.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from etl_cli.config.project import load_project
from etl_cli.errors import UsageError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.orchestration.dag import ProjectDag
from etl_cli.orchestration.dag_params import Declared, child_params, given_params
from etl_cli.orchestration.dag_record import DAG_RUNS_DIR, DagRunRecord, names_to_resume, read_record
from etl_cli.orchestration.dag_run import DagRunner, DagRunObserver, DagRunPlan
from etl_cli.orchestration.launch import StopSignal, stopping_on_signals
from etl_cli.orchestration.selectors import select
from etl_cli.usecases.dag import load_project_dag, project_root


@dataclass(frozen=True)
class DagRunOptions:
    """How ``dag run`` was asked to run."""

    start: Path = Path()
    selectors: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    env: str | None = None
    sets: tuple[str, ...] = ()
    #: at most this many pipelines at a time (None: 1, or with --resume the number the resumed run had)
    jobs: int | None = None
    results_dir: Path | None = None
    #: ``--resume DAG_RUN_ID``: run again what did not succeed in that DAG run
    resume: str | None = None
    #: ``--param NAME=VALUE``: each child gets those its pipeline declares
    params: tuple[str, ...] = ()
    #: ``--confirm-env ENV``: confirms a DAG run into a protected environment (each child gets it)
    confirm_env: str | None = None


@dataclass(frozen=True)
class DagRunOutcome:
    """A finished DAG run and where its JSON is; or, for a resume with nothing left, only ``nothing_to_resume``."""

    record: DagRunRecord | None
    record_file: Path | None
    #: the id of a DAG run given to --resume in which every pipeline succeeded
    nothing_to_resume: str | None = None


def dag_runs_folder(root: Path) -> Path:
    """``<state_dir>/dag-runs`` of the project at ``root``."""
    return load_project(root).run_state_dir() / DAG_RUNS_DIR


def run_dag(options: DagRunOptions, observer: DagRunObserver) -> DagRunOutcome:
    """Run the selection (or what the resumed DAG run left), stopping cleanly on SIGINT/SIGTERM."""
    if options.jobs is not None and options.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {options.jobs}")
    plan = dag_run_plan(options)
    if plan is None:
        return DagRunOutcome(None, None, nothing_to_resume=options.resume)
    _confirm(plan, options.confirm_env)
    plan = replace(plan, confirm_env=options.confirm_env)
    stop = StopSignal()
    runner = DagRunner(plan, observer, stop)
    with stopping_on_signals(stop):
        record = runner.run()
    return DagRunOutcome(record, runner.record_file)


def _confirm(plan: DagRunPlan, confirm_env: str | None) -> None:
    """A DAG run into a protected environment needs ``--confirm-env`` (a refusal is in the audit trail)."""
    from etl_cli.app import new_run_id
    from etl_cli.runtime.bookkeeping.audit_trail import confirmed

    project = load_project(plan.dag.root)
    confirmed(project, None, plan.env, confirm_env, "dag run", f"dag-run-{new_run_id()}")


def dag_run_plan(options: DagRunOptions) -> DagRunPlan | None:
    """What the DAG run will run, every option and ``--param`` checked (None: a resume with nothing left)."""
    return _resume_plan(options, options.resume) if options.resume else _new_plan(options)


def _new_plan(options: DagRunOptions) -> DagRunPlan:
    env = _chosen_env(options.start, options.env)
    dag, specs = load_project_dag(options.start, env, options.sets)
    names = select(dag, options.selectors, options.exclude)
    return DagRunPlan(
        dag,
        names,
        dag_runs_folder(dag.root),
        env=env,
        sets=options.sets,
        results_dir=_results_dir(options.results_dir),
        jobs=options.jobs or 1,
        selectors=options.selectors,
        exclude=options.exclude,
        params=given_params(options.params),
        child_params=child_params(_declared(specs, names), options.params),
    )


def _declared(specs: dict[str, PipelineSpec], names: Sequence[str]) -> Declared:
    """The parameters each of ``names`` declares."""
    return {name: {param: value.decl for param, value in specs[name].params.items()} for name in names}


def _chosen_env(start: Path, env: str | None) -> str | None:
    """The environment every child runs in (--env, else $ETL_ENV, else the project's default), chosen once and
    recorded, so a resume runs in it whatever $ETL_ENV says then."""
    if not start.exists():
        raise UsageError(f"no such file or folder: {start}")
    return load_project(project_root(start)).choose_env(env or os.environ.get("ETL_ENV") or None)


def _resume_plan(options: DagRunOptions, dag_run_id: str) -> DagRunPlan | None:
    """The plan of a resume: the pipelines that did not succeed, with the resumed run's env, sets and folder."""
    given = [flag for flag, value in _selection_flags(options) if value]
    if given:
        raise UsageError(
            f"--resume runs with the selection, env, sets and params of the DAG run it resumes: drop {', '.join(given)}"
        )
    if not options.start.exists():
        raise UsageError(f"no such file or folder: {options.start}")
    earlier = read_record(dag_runs_folder(project_root(options.start)), dag_run_id)
    names = names_to_resume(earlier)
    if not names:
        return None
    dag, specs = load_project_dag(options.start, earlier.env, earlier.sets)
    _check_still_there(dag, names, earlier.dag_run_id)
    ordered = [name for name in dag.order() if name in names]
    return DagRunPlan(
        dag,
        ordered,
        dag_runs_folder(dag.root),
        env=earlier.env,
        sets=tuple(earlier.sets),
        results_dir=_results_dir(options.results_dir) or (Path(earlier.results_dir) if earlier.results_dir else None),
        jobs=options.jobs or earlier.jobs,
        selectors=tuple(earlier.selectors),
        exclude=tuple(earlier.exclude),
        resumes=earlier.dag_run_id,
        params=tuple(earlier.params),
        child_params=child_params(_declared(specs, ordered), earlier.params, strict_names=False),
    )


def _results_dir(given: Path | None) -> Path | None:
    """``--results-dir`` made absolute, so every child writes where this process meant."""
    return given.resolve() if given else None


def _selection_flags(options: DagRunOptions) -> Sequence[tuple[str, object]]:
    """The options a resume takes from the DAG run it resumes, with the values given now."""
    return [
        ("--select", options.selectors),
        ("--exclude", options.exclude),
        ("--env", options.env),
        ("--set", options.sets),
        ("--param", options.params),
    ]


def _check_still_there(dag: ProjectDag, names: Sequence[str], dag_run_id: str) -> None:
    gone = [name for name in names if name not in dag.pipelines]
    if gone:
        raise UsageError(
            f"DAG run {dag_run_id} cannot be resumed: the project has no pipeline {', '.join(map(repr, gone))} now",
            hint="run the DAG again with `etl-cli dag run --select ...` instead",
        )
