"""A Spark session set up as a run would set it up, for ``dry-run`` and ``debug``.

Same master rule (``--master``, else the pipeline's ``spark.master``, else local), same
configuration, packages and secret resolution; the session is stopped when the block ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from etl_cli.config.project import load_project
from etl_cli.events import Reporter
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import RunContext
from etl_cli.plugins.registry import Registry
from etl_cli.runtime.session import DEFAULT_MASTER, build_session
from etl_cli.secrets.redaction import Redactor
from etl_cli.secrets.resolver import SecretResolver


@dataclass
class Workspace:
    """What dry-run and debug work with: the plan, a run context on a live session, the redactor."""

    plan: Plan
    ctx: RunContext
    redactor: Redactor
    master: str

    @property
    def spark_version(self) -> str:
        return str(self.ctx.spark.version)


@contextmanager
def open_workspace(
    plan: Plan,
    registry: Registry,
    reporter: Reporter,
    run_id: str,
    master: str | None = None,
    verbose: bool = False,
    analysis: bool = False,
) -> Iterator[Workspace]:
    """Start Spark for ``plan``; every exception leaving the block has resolved secrets masked.

    ``analysis``: the session only analyses and counts samples (dry-run), see ``build_session``.
    """
    spec = plan.pipeline
    chosen = master or spec.spark.master or DEFAULT_MASTER
    secrets = SecretResolver.for_project(load_project(spec.project_root), spec.env, pipeline=spec.name, run_id=run_id)
    secrets.redactor.install()
    with secrets.redactor.guard():
        reporter.session_starting(chosen)
        session = build_session(
            app_name=spec.spark.app_name or f"etl-cli:{spec.name}",
            master=chosen,
            conf=secrets.resolve_value(dict(spec.spark.conf)),
            packages=spec.spark.packages + plugin_packages(plan, registry),
            jars=spec.spark.jars,
            verbose=verbose,
            jvm_log=spec.state_dir / "logs" / f"{run_id}.jvm.log",
            analysis=analysis,
        )
        ctx = RunContext(
            spark=session,
            project_root=spec.project_root,
            run_id=run_id,
            resolve=secrets.resolve_value,
            rotation=secrets.with_rotation,
        )
        try:
            yield Workspace(plan, ctx, secrets.redactor, chosen)
        finally:
            session.stop()


def plugin_packages(plan: Plan, registry: Registry) -> tuple[str, ...]:
    """Maven coordinates the plan's plug-ins need."""
    packages: list[str] = []
    for stage in plan.stages:
        packages.extend(registry.get(stage.kind, stage.type).packages_for(stage.options))
    return tuple(packages)
