"""Compile a :class:`PipelineSpec` into a :class:`Plan`: stages in dependency order.

The plan is data. ``run`` executes it, ``dry-run`` prints it, ``debug`` walks it.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError, UsageError
from etl_cli.model.graph import StageGraph
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import StageSpec


@dataclass(frozen=True)
class Plan:
    """Stages in topological order (sources first, sinks last) and their edges."""

    pipeline: PipelineSpec
    stages: tuple[StageSpec, ...]
    upstream: Mapping[str, tuple[str, ...]]
    downstream: Mapping[str, tuple[str, ...]]

    def stage(self, name: str) -> StageSpec:
        for stage in self.stages:
            if stage.name == name:
                return stage
        hint = did_you_mean(name, [s.name for s in self.stages]) or f"stages: {', '.join(s.name for s in self.stages)}"
        raise UsageError(f"no stage named '{name}' in pipeline '{self.pipeline.name}'", hint=hint)

    def ancestors(self, name: str) -> set[str]:
        """Every stage ``name`` reads, directly or not."""
        return set(StageGraph(self.upstream).upstream(name))

    def restricted_to(self, names: Iterable[str]) -> Plan:
        """The sub-plan that computes ``names`` and everything upstream of them."""
        keep: set[str] = set()
        for name in names:
            self.stage(name)
            keep |= {name, *self.ancestors(name)}
        stages = tuple(s for s in self.stages if s.name in keep)
        return _with_stages(self.pipeline, stages)

    def only(self, names: Iterable[str]) -> Plan:
        """The plan of just ``names``: an input outside them is cut (``run --select`` reads it from a checkpoint)."""
        keep = set(names)
        return _with_stages(self.pipeline, tuple(s for s in self.stages if s.name in keep))

    @property
    def sinks(self) -> tuple[StageSpec, ...]:
        return tuple(s for s in self.stages if s.kind == "sink")


_KIND_ORDER = {"source": 0, "transform": 1, "sink": 2}


def compile_plan(pipeline: PipelineSpec) -> Plan:
    """Order the stages so every stage comes after the stages it reads."""
    return _with_stages(pipeline, pipeline.stages)


def _with_stages(pipeline: PipelineSpec, stages: tuple[StageSpec, ...]) -> Plan:
    by_name = {s.name: s for s in stages}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for stage in stages:
        sorter.add(stage.name, *[i for i in stage.inputs if i in by_name])
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        loop = " -> ".join(reversed(exc.args[1]))
        raise ConfigError(f"stages read each other in a loop: {loop}") from None
    ordered: list[StageSpec] = []
    position = {s.name: i for i, s in enumerate(stages)}
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda n: (_KIND_ORDER[by_name[n].kind], position[n]))
        ordered.extend(by_name[n] for n in ready)
        sorter.done(*ready)
    graph = StageGraph.of((s.name, s.inputs) for s in stages)
    downstream = {s.name: graph.readers(s.name) for s in stages}
    return Plan(pipeline, tuple(ordered), graph.inputs, MappingProxyType(downstream))
