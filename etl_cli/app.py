"""Use cases the CLI calls: validate, render, run. Each is a few lines over the layers below."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.config.loader import LoadedConfig, load_pipeline, overlay_envs, resolve_pipeline_file
from etl_cli.config.project import PIPELINE_FILE, load_project
from etl_cli.config.yaml_loader import display_path
from etl_cli.diagnostics import Diagnostic, has_errors, sorted_diagnostics
from etl_cli.errors import EtlError, ExitCode, InvalidPipeline, UsageError
from etl_cli.events import Reporter
from etl_cli.model.check import check_document, check_pipeline
from etl_cli.model.connect import connect_problems, runs_over_connect
from etl_cli.model.lineage import parent_run
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.registry import REGISTRY, Registry, load_entry_points

if TYPE_CHECKING:
    from etl_cli.authoring.questions import Asker
    from etl_cli.authoring.writer import CreatedPipeline
    from etl_cli.plan.dag import Plan
    from etl_cli.runtime.bookkeeping.audit_trail import Confirmation
    from etl_cli.runtime.execution.dryrun import DryRunReport
    from etl_cli.runtime.execution.stepping import Stepper

_PLUGINS_LOADED = False


def registry() -> Registry:
    """The plug-in registry with built-ins and entry-point plug-ins loaded (once)."""
    global _PLUGINS_LOADED
    if not _PLUGINS_LOADED:
        import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins

        load_entry_points(REGISTRY)
        _PLUGINS_LOADED = True
    return REGISTRY


@dataclass
class ValidationReport:
    """The outcome of validating one pipeline in one environment."""

    pipeline: str
    env: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "env": self.env,
            "ok": self.ok,
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }


def discover_pipelines(paths: Sequence[Path]) -> list[Path]:
    """Pipelines named by ``paths``: files, pipeline folders, or folders holding pipelines."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"no such file or folder: {path}")
        if path.is_file() or (path / PIPELINE_FILE).is_file():
            found.append(resolve_pipeline_file(path))
            continue
        nested = sorted(path.rglob(PIPELINE_FILE))
        if not nested:
            raise UsageError(f"no {PIPELINE_FILE} found under {path}", hint="pass a pipeline file or its folder")
        found.extend(nested)
    return list(dict.fromkeys(found))


def load_spec(
    path: Path,
    env: str | None,
    sets: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    params: Sequence[str] = (),
    require_params: bool = False,
) -> tuple[LoadedConfig, PipelineSpec]:
    """Load and validate one pipeline; raise InvalidPipeline with every error if it is invalid.

    ``params`` are the ``--param NAME=VALUE`` given. With ``require_params`` (what runs need) a required
    parameter without a value is a UsageError; without it, it takes a placeholder of its type (config/params.py).
    """
    loaded = load_pipeline(path, env, sets, environ, params, require_params=require_params)
    spec, diagnostics = check_pipeline(loaded, registry())
    if spec is None:
        raise _invalid(loaded, diagnostics)
    return loaded, spec


def _invalid(loaded: LoadedConfig, diagnostics: list[Diagnostic]) -> InvalidPipeline:
    return InvalidPipeline(sorted_diagnostics(diagnostics), f"{display_path(loaded.pipeline_file)} is invalid")


def validate(
    paths: Sequence[Path],
    env: str | None = None,
    all_envs: bool = False,
    sets: Sequence[str] = (),
    params: Sequence[str] = (),
    remote: str | None = None,
) -> list[ValidationReport]:
    """Validate every pipeline under ``paths`` (in one env, or in every env with ``all_envs``).

    ``remote``: check them for a run over that Spark Connect server (as a pipeline's ``spark.remote`` does).

    Without ``params`` a parameter takes its default, else a placeholder of its type (config/params.py), so
    the whole pipeline is still checked; with them, the values given are checked too.
    """
    reports = []
    declared: set[str] = set()
    for pipeline_file in discover_pipelines(paths):
        for chosen in _envs_to_check(pipeline_file, env, all_envs):
            loaded = load_pipeline(pipeline_file, chosen, sets, params=params, strict_param_names=False)
            declared.update(loaded.params)
            spec, diagnostics = check_pipeline(loaded, registry())
            if spec is not None:  # the SQL inside its expressions, once the rest is right
                from etl_cli.lineage.access_check import check_access_filters  # the project's row filters
                from etl_cli.lineage.engine import pipeline_lineage
                from etl_cli.lineage.expression_check import check_expressions
                from etl_cli.lineage.tags import check_policies  # the project's policies on tagged columns

                graph = pipeline_lineage(spec, registry())  # the column lineage the three checks read
                diagnostics += check_expressions(spec, registry(), graph)
                diagnostics += check_policies(spec, registry(), graph=graph)
                diagnostics += check_access_filters(spec, registry(), graph)
                if runs_over_connect(spec, remote):
                    diagnostics += connect_problems(spec, registry(), remote or spec.spark.remote)
                from etl_cli.testing.spec import check_test_files  # the tests beside it (docs/testing.md)

                diagnostics += check_test_files(spec, registry())
            reports.append(ValidationReport(display_path(pipeline_file), loaded.env, sorted_diagnostics(diagnostics)))
    _check_param_names(params, declared)
    folders = [path for path in paths if path.is_dir() and not (path / PIPELINE_FILE).is_file()]
    if folders:
        from etl_cli.usecases.dag import add_dag_diagnostics  # folders of pipelines: check them as one DAG too

        add_dag_diagnostics(reports, folders, sets)
    return reports


def _check_param_names(params: Sequence[str], declared: set[str]) -> None:
    """A ``--param`` no pipeline validated declares is a mistake, even when each pipeline alone ignores it."""
    from etl_cli.config.params import parse_assignments
    from etl_cli.diagnostics import did_you_mean

    for name in parse_assignments(params):
        if name not in declared:
            hint = did_you_mean(name, declared) or "declare it under 'params:' in the pipeline"
            raise UsageError(f"--param {name}: no pipeline validated declares a parameter '{name}'", hint=hint)


def _envs_to_check(pipeline_file: Path, env: str | None, all_envs: bool) -> list[str | None]:
    if not all_envs:
        return [env]
    project = load_project(pipeline_file.parent)
    names = list(project.environments) if project.config_file else []
    names += [e for e in overlay_envs(pipeline_file) if e not in names]
    return list(names) or [None]


def render(path: Path, env: str | None, sets: Sequence[str] = (), params: Sequence[str] = ()) -> LoadedConfig:
    """The merged, interpolated document as validated (secrets stay references); raises if it is invalid.

    Parameters not given take their default, else a placeholder of their type, as ``validate`` does.
    """
    loaded = load_pipeline(path, env, sets, params=params)
    document, diagnostics = check_document(loaded, registry())
    if document is None:
        raise _invalid(loaded, diagnostics)
    loaded.document = _in_section_order(document)
    return loaded


def _in_section_order(document: dict[str, Any]) -> dict[str, Any]:
    """The top-level sections in the pipeline format's order: name, description, vars, spark, sources, transforms...

    Merging puts a template's sections first, which showed its sinks before the transforms a pipeline adds;
    below the top level the merged order stays (a template's keys first, then those the layers above add).
    """
    from etl_cli.model.schema import build_schema

    sections = [key for key in build_schema(registry())["properties"] if key in document]
    return {key: document[key] for key in [*sections, *(k for k in document if k not in sections)]}


@dataclass(frozen=True)
class RunOptions:
    """How ``run`` was asked to run."""

    env: str | None = None
    sets: tuple[str, ...] = ()
    master: str | None = None
    verbose: bool = False
    results_dir: Path | None = None
    #: ignore what stages kept from earlier runs (incremental watermarks) and read everything
    full_refresh: bool = False
    #: ``--profile``: add where the time went (each stage's share of Spark's operator time) to the results
    profile: bool = False
    #: ``--parent-run NAMESPACE/JOB/RUN_ID``: the run that started this one, for the OpenLineage events
    parent_run: str | None = None
    #: ``--param NAME=VALUE``: values of the parameters the pipeline declares under ``params:``
    params: tuple[str, ...] = ()
    #: ``--run-id ID``: the id to run under (``dag run`` and ``backfill`` choose it), else a new one
    run_id: str | None = None
    #: ``--select STAGE+``...: run only these stages, reading what they need from checkpoints
    select: tuple[str, ...] = ()
    #: ``--resume RUN_ID``: finish that failed run from its checkpoints
    resume: str | None = None
    #: ``--monitoring-port PORT``: serve the ``monitoring:`` endpoint on this port, batch runs too
    monitoring_port: int | None = None
    #: ``--as NAME``: the principal the project's ``access:`` rules filter rows for (else ETL_PRINCIPAL, OS user)
    principal: str | None = None
    #: ``--confirm-env ENV``: confirms a run into a protected environment (it must name the run's environment)
    confirm_env: str | None = None


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


#: the longest ``--run-id`` accepted: it names files (``<run_id>.json``, logs)
MAX_RUN_ID_CHARS = 128


def check_run_id(run_id: str) -> str:
    """A ``--run-id`` that is safe as one file name: it names ``<run_id>.json`` and the run's log files."""
    from etl_cli.config.limits import NAME_RULE, is_name

    if not is_name(run_id) or len(run_id) > MAX_RUN_ID_CHARS or run_id == "latest":
        raise UsageError(
            f"--run-id '{run_id}' is not a valid run id",
            hint=f"use {NAME_RULE}, at most {MAX_RUN_ID_CHARS} characters, and not 'latest'",
        )
    return run_id


def run(
    path: Path, options: RunOptions, reporter: Reporter, streaming_hook: Callable[[Any], None] | None = None
) -> tuple[ExitCode, Path | None]:
    """Run a batch pipeline under its lock; always write run results. Returns exit code and results path.

    ``streaming_hook``: called with a streaming run's executor before its queries start (``run --watch``).
    """
    from etl_cli.runtime.execution.run import execute_run

    run_id = check_run_id(options.run_id) if options.run_id is not None else new_run_id()
    params = options.params
    if options.resume is not None:
        params = _resumed_params(path, options)
    _, spec = load_spec(path, options.env, options.sets, params=params, require_params=True)
    _refuse_used_run_id(spec, options.results_dir, run_id)
    spec = as_principal(spec, options.principal)
    confirmation = _confirmed(spec, options.confirm_env, run_id)
    if options.monitoring_port is not None:
        spec = replace(spec, monitoring=spec.monitoring.on_port(options.monitoring_port))
    # OPENLINEAGE_PARENT_ID is read only for events that go out; a wrong --parent-run is an error either way
    parent = parent_run(options.parent_run, os.environ if spec.lineage is not None else {})
    return execute_run(
        spec,
        registry(),
        reporter,
        run_id=run_id,
        master=options.master,
        verbose=options.verbose,
        results_dir=options.results_dir,
        full_refresh=options.full_refresh,
        profile=options.profile,
        lineage_parent=parent,
        select=options.select,
        resume=options.resume,
        confirmation=confirmation,
        streaming_hook=streaming_hook,
    )


def _confirmed(spec: PipelineSpec, confirm_env: str | None, run_id: str) -> Confirmation | None:
    """Who confirmed a run into a protected environment; a refusal (exit 2) is recorded in the audit trail."""
    from etl_cli.runtime.bookkeeping.audit_trail import confirmed

    return confirmed(spec.project, spec.name, spec.env, confirm_env, "run", run_id)


def _confirmed_write(spec: PipelineSpec, options: DebugOptions, command: str, run_id: str) -> Confirmation | None:
    """``debug --write`` into a protected environment: who confirmed it (a refusal, exit 2, is in the audit trail).

    Without ``--write`` nothing is written and no confirmation is needed; a ``--confirm-env`` naming another
    environment is refused all the same.
    """
    from etl_cli.runtime.bookkeeping.audit_trail import confirmed

    if not options.write and options.confirm_env in (None, spec.env):
        return None
    return confirmed(spec.project, spec.name, spec.env, options.confirm_env, command, run_id)


def _session_audited(
    spec: PipelineSpec, command: str, run_id: str, reporter: Reporter, confirmation: Confirmation | None = None
) -> None:
    """Record a ``dry-run`` or ``debug`` session in the audit trail as it starts (a failure is a warning)."""
    from etl_cli.runtime.bookkeeping.audit_trail import append_record, session_record

    try:
        append_record(spec.project, session_record(spec, command, run_id, None, confirmation))
    except (OSError, EtlError) as exc:
        reporter.message("warning", f"{command} not recorded in the audit trail: {exc}")


def _resumed_params(path: Path, options: RunOptions) -> tuple[str, ...]:
    """``--resume``: the ``--param`` values the failed run was given, so its checkpoints still match.

    A ``--param`` given again must have the value the failed run had: another value computes
    other rows, and the stages read from checkpoints would mix both. A results file that cannot
    be read gives the ``--param`` as given (choosing the stages to resume reports it).
    """
    from etl_cli.config.params import GIVEN, parse_assignments
    from etl_cli.runtime.bookkeeping.results import results_dir as default_results_dir
    from etl_cli.runtime.bookkeeping.results import results_file

    _, spec = load_spec(path, options.env, options.sets, params=options.params, require_params=False)
    folder = options.results_dir or default_results_dir(spec.state_dir, spec.name, spec.env)
    try:
        recorded = json.loads(results_file(folder, str(options.resume)).read_text(encoding="utf-8")).get("params")
    except (OSError, ValueError, AttributeError):
        return options.params
    before = {
        name: _param_text(entry.get("value"))
        for name, entry in (recorded or {}).items()
        if isinstance(entry, dict) and entry.get("source") == GIVEN
    }
    for name, text in parse_assignments(options.params).items():
        value = spec.params[name].value if name in spec.params else text
        if name not in before or _param_text(value) != before[name]:
            was = f"--param {name}={before[name]}" if name in before else f"no --param {name}"
            raise UsageError(
                f"--resume {options.resume}: that run had {was}, not --param {name}={text}",
                hint="resume with the parameters the run had (leave out --param: they are taken from its results), "
                "or start a new run",
            )
    return tuple(f"{name}={text}" for name, text in before.items())


def _param_text(value: Any) -> str:
    """A parameter value as ``--param`` writes it (booleans in lower case, as they are read)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _refuse_used_run_id(spec: PipelineSpec, results_dir: Path | None, run_id: str) -> None:
    """A ``--run-id`` given twice would overwrite the first run's results: refuse it before anything runs."""
    from etl_cli.runtime.bookkeeping.results import results_dir as default_results_dir

    used = (results_dir or default_results_dir(spec.state_dir, spec.name, spec.env)) / f"{run_id}.json"
    if used.exists():
        raise UsageError(f"run id '{run_id}' was already used: {used} exists", hint="choose another --run-id")


def recover(path: Path, env: str | None, sets: Sequence[str], reporter: Reporter) -> list[str]:
    """Put right what killed runs of a pipeline left (bookkeeping/recover.py), under its lock; say what was done."""
    from etl_cli.runtime.bookkeeping.recover import recover_pipeline

    _, spec = load_spec(path, env, sets)
    return recover_pipeline(spec, registry(), reporter, new_run_id())


def as_principal(spec: PipelineSpec, name: str | None) -> PipelineSpec:
    """``spec`` read as the principal ``name`` (``--as``); None leaves ETL_PRINCIPAL, then the OS user."""
    return spec if name is None else replace(spec, access=spec.access.as_principal(name))


def announce_access(plan: Plan, reporter: Reporter) -> None:
    """Decide the row filters of ``plan``'s sources before Spark starts (AccessRefused: exit 1), and say them."""
    from etl_cli.runtime.execution.row_access import RowAccess

    decision = RowAccess(plan).decision()
    who = f"'{decision.principal.name}' ({decision.principal.source})" if decision.principal else "no principal"
    for row_filter in decision.filters:
        reporter.message("info", f"{row_filter.source}: rows for {who}, access rule '{row_filter.rule}': "
                                 f"{row_filter.sql}")  # fmt: skip
    for source, rule in decision.exempt:
        reporter.message("info", f"{source}: {who} is exempt from access rule '{rule}'")


@dataclass(frozen=True)
class DryRunOptions:
    """How ``dry-run`` was asked to analyse."""

    env: str | None = None
    sets: tuple[str, ...] = ()
    master: str | None = None
    sample: int | None = None
    explain: bool = False
    verbose: bool = False
    params: tuple[str, ...] = ()
    #: ``--as NAME``: the principal whose rows the samples show (the project's ``access:`` rules)
    principal: str | None = None


def dry_run(path: Path, options: DryRunOptions, reporter: Reporter) -> DryRunReport:
    """Let Spark analyse every stage and list every effect, writing nothing (see runtime/execution/dryrun.py)."""
    from etl_cli.plan.dag import compile_plan
    from etl_cli.runtime.execution.dryrun import DryRun
    from etl_cli.runtime.execution.workspace import open_workspace

    _, spec = load_spec(path, options.env, options.sets, params=options.params, require_params=True)
    spec = as_principal(spec, options.principal)
    plan = compile_plan(spec)
    announce_access(plan, reporter)
    run_id = new_run_id()
    _session_audited(spec, "dry-run", run_id, reporter)
    workspace = open_workspace(plan, registry(), reporter, run_id, options.master, options.verbose, analysis=True)
    with workspace as opened:
        return DryRun(opened, registry(), reporter, options.sample, options.explain).analyse()


@dataclass(frozen=True)
class DebugOptions:
    """How ``debug`` was asked to step through a pipeline."""

    env: str | None = None
    sets: tuple[str, ...] = ()
    master: str | None = None
    stage: str | None = None
    break_at: str | None = None
    limit: int = 10
    sample: int | None = None
    write: bool = False
    verbose: bool = False
    params: tuple[str, ...] = ()
    #: ``--as NAME``: the principal whose rows the session shows (the project's ``access:`` rules)
    principal: str | None = None
    #: ``--confirm-env ENV``: confirms a ``--write`` session into a protected environment (it writes the sinks)
    confirm_env: str | None = None


@contextmanager
def debug(path: Path, options: DebugOptions, reporter: Reporter) -> Iterator[Stepper]:
    """A stepper over the pipeline's plan (only ``stage`` and its upstream when given); Spark stops after."""
    from etl_cli.plan.dag import compile_plan
    from etl_cli.runtime.bookkeeping.lock import run_lock
    from etl_cli.runtime.bookkeeping.recover import recover_before_run
    from etl_cli.runtime.execution.stepping import Stepper
    from etl_cli.runtime.execution.workspace import open_workspace

    _, spec = load_spec(path, options.env, options.sets, params=options.params, require_params=True)
    spec = as_principal(spec, options.principal)
    plan = compile_plan(spec)
    plan = plan.restricted_to([options.stage]) if options.stage else plan
    if options.break_at:
        plan.stage(options.break_at)
    announce_access(plan, reporter)
    run_id = new_run_id()
    command = "debug --write" if options.write else "debug"
    # --write writes the sinks: into a protected environment it needs --confirm-env, as a run does
    confirmation = _confirmed_write(spec, options, command, run_id)
    _session_audited(spec, command, run_id, reporter, confirmation)
    lock = run_lock(spec.state_dir, spec.name, spec.env, run_id) if options.write else nullcontext()
    # --write publishes as a run does: under the lock, journaled, after recovering what a killed run left
    opening = open_workspace(plan, registry(), reporter, run_id, options.master, options.verbose, locked=options.write)
    with lock, opening as workspace:
        if options.write:
            recover_before_run(spec, registry(), workspace.ctx, reporter)
        stepper = Stepper(workspace, registry(), reporter, options.limit, options.sample, options.write)
        try:
            yield stepper
        finally:
            stepper.close()


def create_pipeline(
    answers: Mapping[str, Any], asker: Asker | None, pipelines_dir: Path | None = None, force: bool = False
) -> CreatedPipeline:
    """The wizard: ask what ``answers`` leave open (never without ``asker``), validate, write the pipeline."""
    from etl_cli.authoring.create import create_pipeline as create
    from etl_cli.authoring.questions import Answers

    project = load_project(Path.cwd())
    folder = pipelines_dir or project.root / "pipelines"
    return create(project, registry(), Answers(dict(answers), asker), folder, force)


def wizard_answers(answers_file: Path | None, assignments: Sequence[str]) -> dict[str, Any]:
    """What the wizard is told before it asks: the answers file, then ``--answer KEY=VALUE`` over it."""
    from etl_cli.authoring.questions import load_answers_file, parse_assignments

    given: dict[str, Any] = {}
    if answers_file is not None:
        if not answers_file.is_file():
            raise UsageError(f"no such answers file: {answers_file}")
        given.update(load_answers_file(answers_file.read_text(encoding="utf-8"), str(answers_file)))
    given.update(parse_assignments(assignments))
    return given


def schema_text() -> str:
    """The pipeline JSON Schema with every registered plug-in, as published (``etl-cli schema``)."""
    from etl_cli.model.schema import schema_json

    return schema_json(registry())


__all__ = ["EtlError", "RunOptions", "ValidationReport", "load_spec", "registry", "render", "run", "validate"]
