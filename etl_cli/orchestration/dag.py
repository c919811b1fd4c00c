"""The project DAG: which pipeline runs after which, from ``depends_on:`` and from the datasets themselves.

A pipeline depends on another when it says so (``depends_on: [name]``) or when one of its
sources reads the dataset one of the other's sinks writes. Datasets are named as lineage and
OpenLineage name them (:func:`etl_cli.lineage.naming.dataset_name`), so ``./data/x`` and
``data/x`` are the same file. What makes the DAG wrong is a diagnostic at the line that caused
it: a ``depends_on`` naming no pipeline of the project, two pipelines with the same name, two
pipelines writing the same dataset, and a cycle (at each ``depends_on`` item and source of it).
"""

from __future__ import annotations

import graphlib
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from etl_cli.config.yaml_loader import display_path
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import Location
from etl_cli.lineage.model import DatasetName
from etl_cli.lineage.naming import dataset_name
from etl_cli.model.pipeline import PipelineSpec, option_location
from etl_cli.plugins.api import StageSpec

Reason = Literal["depends_on", "dataset"]
#: the option of a source or sink that names its dataset, in the order :func:`dataset_name` reads them
_PLACE_KEYS = ("path", "table", "topic", "topics")


@dataclass(frozen=True)
class DagPipeline:
    """One pipeline of the project, as the DAG knows it."""

    name: str
    #: its ``pipeline.yaml``
    file: Path
    #: its folder, posix, relative to the project root (``pipelines/daily_shop/orders``): what ``path:`` selects
    folder: str
    tags: tuple[str, ...]
    #: where its name is written (or its file)
    location: Location | None


@dataclass(frozen=True)
class DagEdge:
    """``downstream`` runs after ``upstream``: by ``depends_on``, or as it reads ``dataset``, which upstream writes."""

    upstream: str
    downstream: str
    reason: Reason
    #: the dataset that joins them (``dataset`` edges): a path relative to the project root, or a URI-like name
    dataset: str | None = None


@dataclass(frozen=True)
class ProjectDag:
    """The pipelines of a project and what each runs after."""

    root: Path
    pipelines: Mapping[str, DagPipeline]
    edges: tuple[DagEdge, ...]

    def upstream_of(self, name: str) -> frozenset[str]:
        """The pipelines ``name`` runs right after (direct dependencies only)."""
        return frozenset(edge.upstream for edge in self.edges if edge.downstream == name)

    def downstream_of(self, name: str) -> frozenset[str]:
        """The pipelines that run right after ``name`` (direct dependants only)."""
        return frozenset(edge.downstream for edge in self.edges if edge.upstream == name)

    def order(self) -> list[str]:
        """Every pipeline, each after all it depends on; among those ready together, by name.

        Raises ``graphlib.CycleError`` on a cycle (:func:`build_dag` reports cycles as diagnostics first).
        """
        sorter = graphlib.TopologicalSorter({name: self.upstream_of(name) for name in self.pipelines})
        sorter.prepare()
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order

    def edges_into(self, name: str) -> list[DagEdge]:
        """The edges that make ``name`` wait, by upstream pipeline then reason."""
        return sorted((e for e in self.edges if e.downstream == name), key=_edge_key)


def _edge_key(edge: DagEdge) -> tuple[str, str, str, str]:
    return (edge.upstream, edge.downstream, edge.reason, edge.dataset or "")


@dataclass(frozen=True)
class _Link:
    """An edge and where it was written (the ``depends_on`` item, or the source's path/table/topic)."""

    edge: DagEdge
    location: Location | None


#: a problem of the DAG and the file of the pipeline it is about
Problem = tuple[Path, Diagnostic]


def build_dag(
    root: Path, specs: Sequence[PipelineSpec], others: Collection[str] = ()
) -> tuple[ProjectDag, list[Diagnostic]]:
    """The DAG of ``specs`` (the pipelines of the project at ``root``) and every problem of it.

    ``others``: names of pipelines of the project left out of ``specs`` (invalid ones): a
    ``depends_on`` naming one is not reported as unknown. The DAG holds every pipeline and every
    edge even when there are errors (a cycle's edges too): callers that run it check the diagnostics first.
    """
    dag, problems = diagnose_dag(root, specs, others)
    return dag, [diagnostic for _, diagnostic in problems]


def diagnose_dag(
    root: Path, specs: Sequence[PipelineSpec], others: Collection[str] = ()
) -> tuple[ProjectDag, list[Problem]]:
    """:func:`build_dag`, each diagnostic with the file of the pipeline it is about (``validate`` files it there)."""
    root = root.resolve()
    problems: list[Problem] = []
    by_name = _unique_names(specs, problems)
    writers = _writers(root, by_name, problems)
    links = _explicit_links(by_name, set(others), problems) + _dataset_links(root, by_name, writers)
    unique: dict[DagEdge, _Link] = {}
    for link in links:
        unique.setdefault(link.edge, link)
    problems += [(by_name[name].file, found) for name, found in _cycles(list(unique.values()))]
    pipelines = {name: _pipeline(root, spec) for name, spec in sorted(by_name.items())}
    edges = tuple(sorted(unique, key=_edge_key))
    return ProjectDag(root, MappingProxyType(pipelines), edges), problems


def fed_inputs(root: Path, specs: Sequence[PipelineSpec]) -> dict[Path, set[Location]]:
    """Where each pipeline (by file) names an input another pipeline of the project writes (the source's path).

    ``validate`` does not warn that such an input is not there yet: the DAG runs its writer first.
    """
    by_name = _unique_names(specs, [])
    found: dict[Path, set[Location]] = {}
    for link in _dataset_links(root.resolve(), by_name, _writers(root.resolve(), by_name, [])):
        if link.location is not None:
            found.setdefault(by_name[link.edge.downstream].file.resolve(), set()).add(link.location)
    return found


def _pipeline(root: Path, spec: PipelineSpec) -> DagPipeline:
    folder = spec.file.resolve().parent
    try:
        relative = folder.relative_to(root).as_posix()
    except ValueError:
        relative = folder.as_posix()
    location = spec.provenance.value_location(("name",))
    return DagPipeline(spec.name, spec.file, relative, spec.tags, location)


def _unique_names(specs: Sequence[PipelineSpec], problems: list[Problem]) -> dict[str, PipelineSpec]:
    """The pipelines by name; a second pipeline of a name already taken is an error (and left out)."""
    by_name: dict[str, PipelineSpec] = {}
    for spec in specs:
        first = by_name.get(spec.name)
        if first is None:
            by_name[spec.name] = spec
            continue
        problems.append(
            (
                spec.file,
                error(
                    "duplicate-pipeline",
                    f"pipeline name '{spec.name}' is already the name of {display_path(first.file)}",
                    spec.provenance.value_location(("name",)),
                    "pipeline names are unique in a project: rename one (name: in its pipeline.yaml)",
                ),
            )
        )
    return by_name


def _stages(spec: PipelineSpec, kind: str) -> list[tuple[StageSpec, DatasetName]]:
    """The sources (or sinks) of ``spec`` with the dataset each reads (or writes), where it has a name offline."""
    found = []
    for stage in spec.stages:
        if stage.kind == kind and (name := dataset_name(stage, spec.project_root)) is not None:
            found.append((stage, name))
    return found


def _place(spec: PipelineSpec, stage: StageSpec) -> Location | None:
    """Where the stage names its dataset (its path, table or topic), else the stage."""
    for key in _PLACE_KEYS:
        if key in stage.options:
            return option_location(spec, stage, key) or stage.location
    return stage.location


def _writers(root: Path, by_name: Mapping[str, PipelineSpec], problems: list[Problem]) -> dict[DatasetName, str]:
    """Each dataset a sink writes → the pipeline that writes it; a second pipeline writing it is an error at both."""
    writers: dict[DatasetName, tuple[str, Location | None]] = {}
    for name, spec in by_name.items():
        for stage, dataset in _stages(spec, "sink"):
            first = writers.setdefault(dataset, (name, _place(spec, stage)))
            if first[0] == name:
                continue
            message = f"pipelines '{first[0]}' and '{name}' both write {show_dataset(dataset, root)}"
            hint = "one pipeline owns a dataset: write to another place, or merge the two sinks into one pipeline"
            for owner, where in ((first[0], first[1]), (name, _place(spec, stage))):
                problems.append((by_name[owner].file, error("sink-conflict", message, where, hint)))
    return {dataset: writer for dataset, (writer, _) in writers.items()}


def _explicit_links(by_name: Mapping[str, PipelineSpec], others: set[str], problems: list[Problem]) -> list[_Link]:
    links = []
    for name, spec in by_name.items():
        for index, upstream in enumerate(spec.depends_on):
            if upstream in others and upstream not in by_name:
                continue  # invalid: its own diagnostics say why
            path = ("depends_on", index)
            where = spec.provenance.user_location(path) or spec.provenance.value_location(path)
            if upstream not in by_name:
                hint = did_you_mean(upstream, by_name) or f"pipelines of the project: {', '.join(sorted(by_name))}"
                message = f"depends_on: no pipeline named '{upstream}' in the project"
                problems.append((spec.file, error("unknown-dependency", message, where, hint)))
                continue
            links.append(_Link(DagEdge(upstream, name, "depends_on"), where))
    return links


def _dataset_links(root: Path, by_name: Mapping[str, PipelineSpec], writers: Mapping[DatasetName, str]) -> list[_Link]:
    links = []
    for name, spec in by_name.items():
        for stage, dataset in _stages(spec, "source"):
            writer = writers.get(dataset)
            if writer is not None and writer != name:
                edge = DagEdge(writer, name, "dataset", show_dataset(dataset, root))
                links.append(_Link(edge, _place(spec, stage)))
    return links


def show_dataset(dataset: DatasetName, root: Path) -> str:
    """A dataset as people write it: a file under the project root relative to it, else ``namespace/name``."""
    if dataset.namespace == "file":
        path = Path(dataset.name)
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
    return f"{dataset.namespace}/{dataset.name}"


def _cycles(links: Sequence[_Link]) -> list[tuple[str, Diagnostic]]:
    """One error at each link of each cycle (a depends_on of a pipeline on itself included), naming the cycle."""
    upstream: dict[str, set[str]] = {}
    for link in links:
        upstream.setdefault(link.edge.downstream, set()).add(link.edge.upstream)
    found = []
    for link in links:
        cycle = _path(upstream, link.edge.upstream, link.edge.downstream)
        if cycle is None:
            continue
        # link: downstream runs after upstream; the path: upstream runs, eventually, after downstream
        chain = _chain([link.edge.downstream, *cycle])
        message = f"pipelines wait for each other in a cycle: {chain}; here {_why(link.edge)}"
        hint = _cycle_hint(link, links, {link.edge.downstream, *cycle})
        found.append((link.edge.downstream, error("dependency-cycle", message, link.location, hint)))
    return found


def _path(upstream: Mapping[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The shortest chain ``start`` -> ... -> ``goal`` following "depends on" (``start`` first), or None."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            chain: list[str] = []
            step: str | None = here
            while step is not None:
                chain.append(step)
                step = came_from[step]
            return chain[::-1]
        for after in sorted(upstream.get(here, ())):
            if after not in came_from:
                came_from[after] = here
                queue.append(after)
    return None


def _chain(names: Sequence[str]) -> str:
    """``'a' runs after 'b', which runs after 'a'``."""
    text = f"'{names[0]}' runs after '{names[1]}'"
    return text + "".join(f", which runs after '{name}'" for name in names[2:])


def _why(edge: DagEdge) -> str:
    if edge.reason == "depends_on":
        return f"'{edge.downstream}' has depends_on: {edge.upstream}"
    return f"'{edge.downstream}' reads {edge.dataset}, which '{edge.upstream}' writes"


def _cycle_hint(link: _Link, links: Sequence[_Link], members: set[str]) -> str:
    """How to break it: a depends_on that goes against the data flow is the one to remove."""
    within = [other.edge for other in links if {other.edge.upstream, other.edge.downstream} <= members]
    if link.edge.reason == "depends_on" and any(edge.reason == "dataset" for edge in within):
        return "this depends_on contradicts the data flow: remove it (the datasets already order these pipelines)"
    return "remove one depends_on of the cycle, or make one pipeline read what the other does not write"
