"""Putting right what dead runs of a pipeline left behind, before anything else writes its targets.

Runs at the start of every ``etl-cli run`` (once the lock is taken, before the first stage) and
as ``etl-cli recover PIPELINE``. Holding the pipeline's lock (per environment) proves every other
run of it is dead, so:

- each publish journal a dead run left in ``<state_dir>/journal/<pipeline>/<env>/`` is recovered
  (rolled back, or finished when every move was done; see
  :mod:`etl_cli.plugins.sinks.journal`), and its staging and replaced folders are removed;
- each sink plug-in that defines :meth:`~etl_cli.plugins.api.Sink.recover` cleans up its own
  leftovers (a JDBC sink's staging tables);
- ``etl-cli recover`` also removes the lock holder file a killed run left (a run overwrites it).

Local targets are recovered in Python; ``etl-cli recover`` starts Spark only when a journal
names another filesystem (``s3a:``, ``hdfs:``) or a sink plug-in has its own recovery.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from etl_cli.events import Reporter
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import compile_plan
from etl_cli.plugins.api import RunContext, Sink, StageSpec
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sinks.filetree import FileTree, LocalFiles
from etl_cli.plugins.sinks.journal import read_journal, recover_journals
from etl_cli.plugins.sinks.targets import local_path
from etl_cli.runtime.bookkeeping.lock import lock_path, run_lock
from etl_cli.runtime.bookkeeping.state import journal_folder
from etl_cli.runtime.execution.workspace import open_workspace

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def recover_before_run(spec: PipelineSpec, registry: Registry, ctx: RunContext, reporter: Reporter) -> list[str]:
    """Recovery at the start of a run that holds the lock; ``ctx`` is the run's (its session serves s3a: and hdfs:)."""
    done = _recover(spec, registry, ctx.run_id, ctx.spark, ctx)
    for line in done:
        reporter.message("warning", f"recovered: {line}")
    return done


def recover_pipeline(spec: PipelineSpec, registry: Registry, reporter: Reporter, run_id: str) -> list[str]:
    """``etl-cli recover``: take the pipeline's lock (exit 5 while a run holds it), recover, say what was done."""
    stale = _stale_holder(spec)
    with run_lock(spec.state_dir, spec.name, spec.env, run_id):
        done = [stale] if stale else []
        if not _needs_spark(spec, registry):
            return done + _recover(spec, registry, run_id, None, None)
        with open_workspace(compile_plan(spec), registry, reporter, run_id, locked=True) as workspace:
            return done + _recover(spec, registry, run_id, workspace.session, workspace.ctx)


def _recover(
    spec: PipelineSpec, registry: Registry, run_id: str, spark: SparkSession | None, ctx: RunContext | None
) -> list[str]:
    folder = journal_folder(spec.state_dir, spec.name, spec.env)
    done = recover_journals(folder, run_id, _files_for(spark))
    if ctx is not None:
        for stage in _sink_stages(spec, registry):
            plugin = registry.get("sink", stage.type)()
            assert isinstance(plugin, Sink)
            done += plugin.recover(ctx, stage, (run_id,))
    return done


def _files_for(spark: SparkSession | None) -> Callable[[str], FileTree]:
    """The filesystem of a journal's target: the local disk in Python, any other through Hadoop."""

    def files(uri: str) -> FileTree:
        if local_path(uri) is not None:
            return LocalFiles()
        assert spark is not None, "a journal naming a non-local target needs Spark (see _needs_spark)"
        from etl_cli.plugins.sinks.staging import file_tree

        return file_tree(spark, uri)

    return files


def _needs_spark(spec: PipelineSpec, registry: Registry) -> bool:
    """Whether recovery needs a session: a journal names a non-local target, or a sink plug-in recovers itself."""
    folder = journal_folder(spec.state_dir, spec.name, spec.env)
    journals = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if any(local_path(read_journal(path).target) is None for path in journals):
        return True
    plugins = [registry.get("sink", stage.type) for stage in _sink_stages(spec, registry)]
    return any(issubclass(plugin, Sink) and plugin.recover is not Sink.recover for plugin in plugins)


def _sink_stages(spec: PipelineSpec, registry: Registry) -> list[StageSpec]:
    """The pipeline's sinks, and its dead-letter queue when it writes through a sink plug-in."""
    stages = list(spec.sinks)
    queue = spec.dead_letter
    if queue is not None and queue.type in registry.types("sink"):
        stages.append(queue.as_sink())
    return stages


def _stale_holder(spec: PipelineSpec) -> str | None:
    """What the lock holder file says when it is left from a killed run (read before taking the lock)."""
    holder = lock_path(spec.state_dir, spec.name, spec.env).with_suffix(".holder.json")
    try:
        record = json.loads(holder.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (
        f"{holder}: removed the lock holder file of run {record.get('run_id')} "
        f"(pid {record.get('pid')} on {record.get('host')}), which had died without releasing it"
    )
