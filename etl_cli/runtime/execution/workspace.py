"""The one way a command reaches Spark: secrets, session and run context, set up alike for every command.

``run`` (and ``dlq replay``, which is a run), ``dry-run``, ``debug``, ``recover`` and
``dlq count``/``show`` each open a :class:`Workspace` with :func:`open_workspace`, so they
share one master rule (``--master``, else the pipeline's ``spark.master``, else local), one
configuration with its secrets resolved, one set of JVM packages (every stage's plug-in and
the dead-letter queue's sink), and every exception leaving the block has resolved secrets masked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.events import Reporter
from etl_cli.model.connect import connect_problems, unfit_for_connect
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import RunContext, StateStore
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_session import master_of
from etl_cli.runtime.bookkeeping.state import journal_folder
from etl_cli.runtime.catalog.hive import with_hive_support
from etl_cli.runtime.spark.connect import display_url, is_connect_url, server_settings
from etl_cli.runtime.spark.engine import ENGINE_SWITCH, engine_fit, read_engine
from etl_cli.runtime.spark.session import DEFAULT_MASTER, build_session
from etl_cli.secrets.keys.manager import KeyManager
from etl_cli.secrets.redaction import Redactor
from etl_cli.secrets.resolver import SecretResolver

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class Workspace:
    """What a command works with: the plan, a run context on a live session, the redactor of its secrets."""

    plan: Plan
    ctx: RunContext
    redactor: Redactor
    master: str

    @property
    def session(self) -> SparkSession:
        return self.ctx.spark

    @property
    def spark_version(self) -> str:
        return str(self.ctx.spark.version)


def open_secrets(spec: PipelineSpec, run_id: str, environ: Mapping[str, str] | None = None) -> SecretResolver:
    """The secret resolver of one run of ``spec`` (the project's providers for its environment), masking logs.

    ``environ``: the environment variables the ``env`` provider reads (default: the process's).
    """
    secrets = SecretResolver.for_project(spec.project, spec.env, pipeline=spec.name, run_id=run_id, environ=environ)
    secrets.redactor.install()
    return secrets


@contextmanager
def open_workspace(
    plan: Plan,
    registry: Registry,
    reporter: Reporter,
    run_id: str,
    master: str | None = None,
    verbose: bool = False,
    *,
    analysis: bool = False,
    secrets: SecretResolver | None = None,
    session: SparkSession | None = None,
    state: StateStore | None = None,
    locked: bool = False,
    keep_session: bool = False,
    packages: tuple[str, ...] = (),
    settings: Mapping[str, str] | None = None,
    may_create_keys: bool | None = None,
    fallback_master: str | None = None,
    use_engine: bool = True,
) -> Iterator[Workspace]:
    """Start Spark for ``plan`` (or use ``session`` as it is); every exception leaving the block is masked.

    ``analysis``: the session only analyses and counts samples (dry-run), see ``build_session``.
    ``secrets``: the resolver to use (a run makes it first, to mask what fails before Spark starts).
    ``state``: the run's state store. ``locked``: the caller holds the pipeline's run lock, so sinks
    journal their publishes for recovery. A session started here is stopped when the block ends,
    unless ``keep_session`` (a run leaves it to the process, which ends with it). ``packages``: more JVM
    packages for a session started here (``etl-cli test`` shares it with pipelines that need others);
    ``settings``: more plug-in session settings for it, likewise (:func:`plugin_session_settings` of those pipelines).
    ``may_create_keys``: whether ``encrypt`` may create a key's missing key ring (default: unless ``analysis``);
    without, a key with no ring gets a throwaway data key, and nothing is written.
    Without ``master``, a pipeline that names no Spark or a local one runs on the project's warm engine
    (``etl-cli engine start``) when it is up and fits; ``fallback_master`` replaces the pipeline's own
    (``etl-cli test`` runs locally whatever master a pipeline names). ``use_engine=False``: never the engine
    (a session shared by several pipelines, some of which could not run over Spark Connect).
    """
    spec = plan.pipeline
    secrets = secrets or open_secrets(spec, run_id)
    with secrets.redactor.guard():
        started = session is None
        if session is None:
            chosen = master or fallback_master or spec.spark.remote or spec.spark.master
            if use_engine and master is None and (chosen is None or chosen.startswith("local")):
                # this machine's Spark: the project's warm engine when it is up and fits, else one in-process
                chosen = _warm_engine(plan, registry, reporter, packages, settings) or chosen
            chosen = chosen or DEFAULT_MASTER
            if is_connect_url(chosen):
                _refuse_what_needs_the_jvm(spec, registry, chosen)
            reporter.session_starting(display_url(chosen))
            session = _start_session(plan, registry, secrets, run_id, chosen, verbose, analysis, packages, settings)
            chosen = display_url(chosen)  # what results and logs show: never the engine's token
        else:
            chosen = master_of(session)
        may_create = not analysis if may_create_keys is None else may_create_keys
        ctx = _context(spec, session, run_id, secrets, state, locked, may_create_keys=may_create)
        try:
            yield Workspace(plan, ctx, secrets.redactor, chosen)
        finally:
            if started and not keep_session:
                session.stop()


def _refuse_what_needs_the_jvm(spec: PipelineSpec, registry: Registry, url: str) -> None:
    """Before a session over Spark Connect: the first thing of ``spec`` that cannot run there, at its line."""
    errors = [d for d in connect_problems(spec, registry, url) if d.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more: etl-cli validate --remote lists them)" if len(errors) > 1 else ""
        raise ConfigError(first.message + more, location=first.location, hint=first.hint)


def _warm_engine(
    plan: Plan,
    registry: Registry,
    reporter: Reporter,
    packages: tuple[str, ...],
    settings: Mapping[str, str] | None,
) -> str | None:
    """The URL of the project's warm engine (``etl-cli engine start``) when it runs and fits ``plan``."""
    if os.environ.get(ENGINE_SWITCH, "").lower() in ("off", "0", "false", "no"):
        return None
    spec = plan.pipeline
    engine = read_engine(spec.state_dir)
    if engine is None:
        return None
    why = unfit_for_connect(spec, registry) or engine_fit(
        engine,
        spec.spark.packages + plugin_packages(plan, registry) + packages,
        spec.spark.jars,
        {
            **server_settings(merge_session_settings([plugin_session_settings(plan, registry), settings or {}])),
            **server_settings(spec.spark.conf),
        },
    )
    if why is not None:
        reporter.message("note", f"the warm engine ({engine.address}) is not used: {why}")
        return None
    reporter.message("note", f"using the warm engine at {engine.address}")
    return engine.url


def _context(
    spec: PipelineSpec,
    session: SparkSession,
    run_id: str,
    secrets: SecretResolver,
    state: StateStore | None,
    locked: bool,
    *,
    may_create_keys: bool = True,
) -> RunContext:
    ctx = RunContext(
        spark=session,
        project_root=spec.project_root,
        run_id=run_id,
        resolve=secrets.resolve_value,
        state=state,
        rotation=secrets.with_rotation,
        # encrypt/decrypt's data keys (a dry-run writes no key ring: it uses a throwaway data key)
        keys=KeyManager(spec.project, secrets, may_create=may_create_keys) if spec.project.keys else None,
    )
    if not locked:  # journals are recovered under the lock: without it a publish is not journaled
        return ctx
    return replace(
        ctx, journal_dir=journal_folder(spec.state_dir, spec.name, spec.env), pipeline=spec.name, env=spec.env
    )


def _start_session(
    plan: Plan,
    registry: Registry,
    secrets: SecretResolver,
    run_id: str,
    master: str,
    verbose: bool,
    analysis: bool,
    packages: tuple[str, ...] = (),
    settings: Mapping[str, str] | None = None,
) -> SparkSession:
    spec = plan.pipeline
    return build_session(
        app_name=spec.spark.app_name or f"etl-cli:{spec.name}",
        master=master,
        conf=with_plugin_settings(
            # a plug-in's settings may carry references (an iceberg catalog's token): resolved like spark.conf
            secrets.resolve_value(merge_session_settings([plugin_session_settings(plan, registry), settings or {}])),
            _conf(spec, secrets.resolve_value(dict(spec.spark.conf)), analysis),
        ),
        packages=spec.spark.packages + plugin_packages(plan, registry) + packages,
        jars=spec.spark.jars,
        verbose=verbose,
        jvm_log=spec.state_dir / "logs" / f"{run_id}.jvm.log",
        analysis=analysis,
        streaming=spec.streaming is not None,
    )


def _conf(spec: PipelineSpec, conf: dict[str, Any], analysis: bool) -> dict[str, Any]:
    """The pipeline's Spark settings; a run's session reaches the Hive metastore when a sink registers there."""
    return conf if analysis else with_hive_support(spec, conf)


#: the one static Spark setting several plug-ins may each add to: their values are joined
EXTENSIONS = "spark.sql.extensions"


def plugin_session_settings(plan: Plan, registry: Registry) -> dict[str, str]:
    """The Spark settings the plan's plug-ins need at session start (:meth:`Plugin.session_settings_for`)."""
    settings: dict[str, str] = {}
    owner: dict[str, str] = {}
    for stage in plan.stages:
        wanted = registry.get(stage.kind, stage.type).session_settings_for(stage.options)
        for key, value in wanted.items():
            if key == EXTENSIONS:
                joined = [name for name in settings.get(key, "").split(",") if name]
                settings[key] = ",".join(joined + [name for name in value.split(",") if name and name not in joined])
            elif key in settings and settings[key] != value:
                raise ConfigError(
                    f"{stage.label} needs the Spark setting {key}={value}, but {owner[key]} needs {settings[key]}",
                    location=stage.location,
                    hint="one Spark session serves the whole pipeline: split it into two pipelines",
                )
            else:
                settings[key], owner[key] = value, stage.label
    return settings


def merge_session_settings(groups: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Several plans' plug-in settings for one session: extensions joined, otherwise the first value of a key."""
    merged: dict[str, str] = {}
    for group in groups:
        for key, value in group.items():
            if key == EXTENSIONS:
                joined = [name for name in merged.get(key, "").split(",") if name]
                merged[key] = ",".join(joined + [name for name in value.split(",") if name and name not in joined])
            else:
                merged.setdefault(key, value)
    return merged


def with_plugin_settings(plugins: Mapping[str, str], conf: dict[str, Any]) -> dict[str, Any]:
    """``conf`` (the pipeline's ``spark.conf``) over the plug-ins' settings; extensions from both are kept."""
    merged: dict[str, Any] = {**plugins, **conf}
    if EXTENSIONS in plugins and EXTENSIONS in conf:
        mine = [name for name in str(conf[EXTENSIONS]).split(",") if name]
        merged[EXTENSIONS] = ",".join(mine + [name for name in plugins[EXTENSIONS].split(",") if name not in mine])
    return merged


def plugin_packages(plan: Plan, registry: Registry) -> tuple[str, ...]:
    """Maven coordinates the plan's plug-ins need, and the dead-letter queue's sink (a JDBC driver)."""
    packages: list[str] = []
    for stage in plan.stages:
        packages.extend(registry.get(stage.kind, stage.type).packages_for(stage.options))
    queue = plan.pipeline.dead_letter
    if queue is not None and queue.type in registry.types("sink"):
        packages.extend(registry.get("sink", queue.type).packages_for(queue.options))
    return tuple(packages)
