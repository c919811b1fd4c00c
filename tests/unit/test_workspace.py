"""Every command reaches Spark one way (``execution/workspace.py``): the same packages, secrets and run context."""

from __future__ import annotations

import re
from pathlib import Path

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.events import Reporter
from etl_cli.model.check import check_pipeline
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import compile_plan
from etl_cli.runtime.execution.workspace import open_workspace, plugin_packages

from .helpers import make_project

PIPELINE = """\
sources:
  - {name: orders, type: csv, path: orders.csv}
sinks:
  - {name: out, type: parquet, input: orders, path: out}
dead_letter: {type: jdbc, url: "jdbc:postgresql://db/shop", table: dead_letters}
"""
POSTGRESQL_DRIVER = "org.postgresql:postgresql:42.7.8"


def spec_of(root: Path) -> PipelineSpec:
    make_project(root, {"p/pipeline.yaml": PIPELINE})
    spec, diagnostics = check_pipeline(load_pipeline(root / "p", None, environ={}), registry())
    assert spec is not None, diagnostics
    return spec


class GivenSession:
    """A session started elsewhere (a notebook's, a benchmark's), as far as the workspace looks at it."""

    class sparkContext:  # the attribute name of a SparkSession
        master = "local[3]"

    stopped = False

    def stop(self) -> None:
        self.stopped = True


def test_every_plan_gets_the_dead_letter_queues_driver(tmp_path: Path) -> None:
    plan = compile_plan(spec_of(tmp_path))
    assert plugin_packages(plan, registry()) == (POSTGRESQL_DRIVER,)  # run, dry-run
    assert plugin_packages(plan.restricted_to(["orders"]), registry()) == (POSTGRESQL_DRIVER,)  # debug --stage
    assert plugin_packages(plan.restricted_to([]), registry()) == (POSTGRESQL_DRIVER,)  # dlq count, show


def test_a_workspace_opened_under_the_lock_journals_its_publishes(tmp_path: Path) -> None:
    plan = compile_plan(spec_of(tmp_path))
    with open_workspace(plan, registry(), Reporter(), "r1", session=GivenSession(), locked=True) as ws:
        journal = plan.pipeline.state_dir / "journal" / "p" / "default"
        assert (ws.ctx.journal_dir, ws.ctx.pipeline, ws.ctx.env) == (journal, "p", None)


def test_without_the_lock_nothing_is_journaled(tmp_path: Path) -> None:
    plan = compile_plan(spec_of(tmp_path))
    with open_workspace(plan, registry(), Reporter(), "r1", session=GivenSession()) as ws:
        assert (ws.ctx.journal_dir, ws.ctx.pipeline, ws.ctx.env) == (None, None, None)


def test_a_given_session_is_used_as_it_is_and_left_running(tmp_path: Path) -> None:
    plan, session = compile_plan(spec_of(tmp_path)), GivenSession()
    with open_workspace(plan, registry(), Reporter(), "r1", "local[1]", session=session) as ws:
        assert (ws.master, ws.session, ws.ctx.project_root) == ("local[3]", session, tmp_path)
    assert not session.stopped


class _Wants:
    """A plug-in class as far as plugin_session_settings looks at it."""

    def __init__(self, settings: dict[str, str]):
        self.settings = settings

    def session_settings_for(self, options: object) -> dict[str, str]:
        return self.settings


def test_plugin_session_settings_join_extensions_and_refuse_a_conflict() -> None:
    from types import SimpleNamespace

    import pytest

    from etl_cli.errors import ConfigError
    from etl_cli.runtime.execution.workspace import plugin_session_settings, with_plugin_settings

    wanted = {
        "delta": _Wants({"spark.sql.extensions": "a.Ext", "spark.sql.catalog.x": "one"}),
        "iceberg": _Wants({"spark.sql.extensions": "b.Ext,a.Ext"}),
        "other": _Wants({"spark.sql.catalog.x": "two"}),
    }
    registry_ = SimpleNamespace(get=lambda kind, type_: wanted[type_])

    def plan(*types: str) -> SimpleNamespace:
        stages = [SimpleNamespace(kind="sink", type=t, options={}, label=f"sink '{t}'", location=None) for t in types]
        return SimpleNamespace(stages=stages)

    settings = plugin_session_settings(plan("delta", "iceberg"), registry_)  # type: ignore[arg-type]
    assert settings == {"spark.sql.extensions": "a.Ext,b.Ext", "spark.sql.catalog.x": "one"}
    assert with_plugin_settings(settings, {"spark.sql.extensions": "user.Ext", "spark.sql.catalog.x": "mine"}) == {
        "spark.sql.extensions": "user.Ext,a.Ext,b.Ext",
        "spark.sql.catalog.x": "mine",
    }
    with pytest.raises(ConfigError, match=re.escape("spark.sql.catalog.x=two, but sink 'delta' needs one")):
        plugin_session_settings(plan("delta", "other"), registry_)  # type: ignore[arg-type]
