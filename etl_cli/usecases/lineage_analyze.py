"""Use case of ``etl-cli lineage --analyze``: Spark's analysis completes what offline lineage cannot know.

Offline, a stage's columns are unknown when a source declares no schema (and so is every
``*`` over it). ``--analyze`` lets Spark analyse each pipeline that has such a stage, as
``dry-run`` does (runtime/execution/lineage_analysis.py: nothing is written), and computes the
lineage again with the columns Spark resolved. Pipelines are taken upstream first, each only
while it still has unknown columns: one reading what an analysed pipeline writes learns the
columns from it (its input may not exist before a run); a project without gaps starts no JVM.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from etl_cli import app
from etl_cli.diagnostics import Diagnostic
from etl_cli.events import Reporter
from etl_cli.lineage.model import DatasetName, LineageGraph
from etl_cli.lineage.naming import dataset_name
from etl_cli.lineage.project import project_lineage
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.usecases.lineage import LineageRequest, LineageResult, lineage, load_specs

if TYPE_CHECKING:
    from etl_cli.plan.dag import Plan


@dataclass(frozen=True)
class Completion:
    """What Spark's analysis added: the pipelines it analysed, the nodes it completed, what it could not."""

    pipelines: tuple[str, ...]
    #: nodes whose columns were unknown offline and are known now
    completed: tuple[str, ...]
    #: nodes whose columns are still unknown (Spark could not analyse their stage)
    unknown: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def exit_code(self) -> int:
        """As ``dry-run``: 0 when Spark analysed every stage, 1 when a pipeline is wrong (or misses an input), or 4."""
        from etl_cli.runtime.execution.dryrun import CONFIG_CODES

        if not self.diagnostics:
            return 0
        return 1 if any(d.code in CONFIG_CODES for d in self.diagnostics) else 4

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipelines": list(self.pipelines),
            "completed": list(self.completed),
            "unknown": list(self.unknown),
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }


def analyzed_lineage(request: LineageRequest, reporter: Reporter) -> tuple[LineageResult, Completion]:
    """The lineage of ``request`` with Spark's columns wherever offline lineage does not know them."""
    from etl_cli.runtime.execution.lineage_analysis import analyze_plans

    specs = upstream_first(load_specs(request))
    before = project_lineage(specs, app.registry())
    schemas: dict[str, dict[str, list[tuple[str, str]]]] = {}
    analysed = []
    for pipeline in analyze_plans(_still_unknown(specs, schemas), app.registry(), reporter, app.new_run_id()):
        analysed.append(pipeline)
        schemas[pipeline.pipeline] = pipeline.schemas()
    whole = lineage(replace(request, column=None), schemas)  # the column asked for may be known only now
    still = _unknown_nodes(whole.graph)
    completion = Completion(
        pipelines=tuple(pipeline.pipeline for pipeline in analysed),
        completed=tuple(sorted(set(_unknown_nodes(before)) - set(still))),
        unknown=tuple(sorted(still)),
        diagnostics=tuple(d for pipeline in analysed for d in pipeline.diagnostics),
    )
    return (whole if request.column is None else lineage(request, schemas)), completion


def _still_unknown(specs: Sequence[PipelineSpec], schemas: Mapping[str, Any]) -> Iterator[Plan]:
    """The plan of each pipeline that still has unknown columns given what Spark found so far.

    Read lazily, as ``schemas`` grows: a pipeline reading what an analysed one writes learns its
    columns from it, and is not analysed (its input may not even exist before a run).
    """
    from etl_cli.plan.dag import compile_plan

    for spec in specs:
        graph = project_lineage(specs, app.registry(), schemas)
        if any(node.pipeline == spec.name and node.columns is None for node in graph.nodes):
            yield compile_plan(spec)


def upstream_first(specs: Sequence[PipelineSpec]) -> list[PipelineSpec]:
    """Pipelines ordered so that one writing a dataset comes before those reading it (in a cycle: as listed)."""
    writes = {spec.name: _datasets(spec, "sink") for spec in specs}
    readers = {
        spec.name: {other for other, written in writes.items() if other != spec.name and written & _datasets(spec)}
        for spec in specs
    }
    try:
        order = list(graphlib.TopologicalSorter(readers).static_order())
    except graphlib.CycleError:
        return list(specs)
    by_name = {spec.name: spec for spec in specs}
    return [by_name[name] for name in order]


def _datasets(spec: PipelineSpec, kind: str = "source") -> set[DatasetName]:
    """The datasets the sources (or sinks) of ``spec`` read (or write), where they have a name offline."""
    stages = (stage for stage in spec.stages if stage.kind == kind)
    return {name for stage in stages if (name := dataset_name(stage, spec.project_root)) is not None}


def _unknown_nodes(graph: LineageGraph) -> list[str]:
    """The stages and datasets whose columns are not known."""
    return [node.id for node in graph.nodes if node.columns is None]
