"""``etl-cli engine start|stop|status``: the project's warm engine (:mod:`etl_cli.runtime.spark.engine`).

The engine starts with what the project's pipelines need and a Spark Connect session can take from a
server only: their connector packages and jars and their plug-ins' static settings (SQL extensions).
Pipelines that cannot run over Spark Connect (a JDBC stage, a streaming source...) keep starting Spark
in-process, so their packages are left out of the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from etl_cli import app
from etl_cli.config.loader import load_pipeline
from etl_cli.config.project import load_project
from etl_cli.model.check import check_pipeline
from etl_cli.model.connect import unfit_for_connect
from etl_cli.plan.dag import compile_plan
from etl_cli.runtime.execution.workspace import merge_session_settings, plugin_packages, plugin_session_settings
from etl_cli.runtime.spark.connect import server_settings
from etl_cli.runtime.spark.engine import EngineInfo, read_engine, start_engine, stop_engine
from etl_cli.usecases.dag import project_pipeline_files, project_root


@dataclass(frozen=True)
class EngineNeeds:
    """What the engine of a project starts with, and which pipelines will not use it (with why)."""

    packages: tuple[str, ...] = ()
    jars: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)
    served: tuple[str, ...] = ()
    not_served: dict[str, str] = field(default_factory=dict)


def engine_needs(root: Path, env: str | None = None) -> EngineNeeds:
    """The packages, jars and server settings of the project's pipelines that can run over Spark Connect."""
    packages: list[str] = []
    jars: list[str] = []
    groups = []
    served: list[str] = []
    not_served: dict[str, str] = {}
    registry = app.registry()
    for file in project_pipeline_files(root):
        loaded = load_pipeline(file, env)
        spec, _ = check_pipeline(loaded, registry)
        name = file.parent.name if spec is None else spec.name
        if spec is None:
            not_served[name] = "it is invalid (etl-cli validate says why)"
            continue
        if spec.project.root.resolve() != root:
            continue  # a project of its own inside this one: it has its own engine
        why = unfit_for_connect(spec, registry)
        if why is not None:
            not_served[name] = why
            continue
        plan = compile_plan(spec)
        packages += [*spec.spark.packages, *plugin_packages(plan, registry)]
        jars += spec.spark.jars
        groups.append({**plugin_session_settings(plan, registry), **server_settings(spec.spark.conf)})
        served.append(name)
    settings = server_settings(merge_session_settings(groups))
    return EngineNeeds(tuple(dict.fromkeys(packages)), tuple(dict.fromkeys(jars)), settings, tuple(served), not_served)


def start(
    start_at: Path, port: int | None = None, memory: str | None = None, env: str | None = None
) -> tuple[EngineInfo, EngineNeeds]:
    """Start the warm engine of the project around ``start_at``."""
    root = project_root(start_at)
    project = load_project(root)
    needs = engine_needs(root, env)
    info = start_engine(
        project.run_state_dir(), project.name, needs.packages, needs.settings, needs.jars, port=port, memory=memory
    )
    return info, needs


def stop(start_at: Path) -> EngineInfo | None:
    """Stop the warm engine of the project around ``start_at`` (None: none ran)."""
    return stop_engine(load_project(project_root(start_at)).run_state_dir())


def status(start_at: Path) -> EngineInfo | None:
    """The warm engine of the project around ``start_at`` if it runs and answers."""
    return read_engine(load_project(project_root(start_at)).run_state_dir())
