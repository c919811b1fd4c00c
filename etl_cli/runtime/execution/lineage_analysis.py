"""``lineage --analyze``: Spark analyses every stage, as ``dry-run`` does, to complete the offline lineage.

Offline lineage cannot know the columns of a source without a declared schema, so neither those
of a ``SELECT *`` over it. Here the plan runs through :class:`DryRun` without a sample: every
source and transform becomes a lazy DataFrame that Spark's analyser resolves, sinks only describe
their effects, and nothing is read beyond the schema nor written. Each stage comes back with its
columns and Spark types (what ``pipeline_lineage`` takes as ``known_schemas``) and, for each
column, the input columns Spark's analyzed plan computes it from (plan_columns.py): the second
method the offline lineage is compared with in the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from etl_cli.diagnostics import Diagnostic
from etl_cli.events import Reporter
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.registry import Registry
from etl_cli.runtime.execution.dryrun import DryRun, StageAnalysis
from etl_cli.runtime.execution.plan_columns import Sources, column_sources
from etl_cli.runtime.execution.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class AnalyzedColumn:
    """One output column as Spark resolved it."""

    name: str
    #: Spark SQL type, as ``dry-run`` shows it (``int``, ``decimal(10,2)``, ``array<string>``)
    type: str
    #: the (input stage, column) pairs its value is computed from; empty for a source; None: not followed
    sources: Sources


@dataclass(frozen=True)
class AnalyzedStage:
    """One stage after Spark's analysis: ``ok`` with its columns, or ``failed``/``skipped`` with a note."""

    name: str
    kind: str
    status: str
    columns: tuple[AnalyzedColumn, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class AnalyzedPipeline:
    """What Spark's analysis says about every stage of one pipeline, and what stopped it."""

    pipeline: str
    stages: tuple[AnalyzedStage, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    def stage(self, name: str) -> AnalyzedStage:
        """The stage ``name``; KeyError when the pipeline has none."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def schemas(self) -> dict[str, list[tuple[str, str]]]:
        """Columns and Spark types of every stage Spark analysed: ``known_schemas`` of ``pipeline_lineage``."""
        return {s.name: [(c.name, c.type) for c in s.columns] for s in self.stages if s.status == "ok"}


def analyze_plans(
    plans: Iterable[Plan],
    registry: Registry,
    reporter: Reporter,
    run_id: str,
    master: str | None = None,
    verbose: bool = False,
    session: SparkSession | None = None,
) -> Iterator[AnalyzedPipeline]:
    """Spark's analysis of every stage of each plan, in one session (a JVM starts once for a whole project).

    ``plans`` is read one at a time, after the analysis of the one before is taken. ``session``:
    the session to use, left running; without it, one starts with the first plan's settings and
    stops when the iteration ends.
    """
    shared = session
    try:
        for plan in plans:
            opening = open_workspace(
                plan, registry, reporter, run_id, master, verbose, analysis=True, session=shared, keep_session=True
            )
            with opening as workspace:
                shared = workspace.session
                analysed = _analyse(workspace, registry, reporter)
            yield analysed
    finally:
        if session is None and shared is not None:
            shared.stop()


def _analyse(workspace: Workspace, registry: Registry, reporter: Reporter) -> AnalyzedPipeline:
    dry_run = DryRun(workspace, registry, reporter, sample=None, explain=False)
    report = dry_run.analyse()
    stages = tuple(_stage(analysis, dry_run.frames) for analysis in report.stages)
    return AnalyzedPipeline(report.pipeline, stages, tuple(report.diagnostics))


def _stage(analysis: StageAnalysis, frames: Mapping[str, DataFrame]) -> AnalyzedStage:
    stage = analysis.stage
    if analysis.status != "ok":
        return AnalyzedStage(stage.name, stage.kind, analysis.status, note=analysis.note)
    sources = _sources(stage, frames, len(analysis.schema))
    columns = tuple(AnalyzedColumn(f.name, f.type, s) for f, s in zip(analysis.schema, sources, strict=True))
    return AnalyzedStage(stage.name, stage.kind, "ok", columns)


def _sources(stage: StageSpec, frames: Mapping[str, DataFrame], width: int) -> list[Sources]:
    """Per column: nothing for a source (it is where columns start), its input's column for a sink."""
    if stage.kind == "source":
        return [frozenset()] * width
    if stage.kind == "sink":
        (read,) = stage.inputs
        return [frozenset({(read, column)}) for column in frames[read].columns]
    return column_sources(frames[stage.name], {name: frames[name] for name in stage.inputs})
