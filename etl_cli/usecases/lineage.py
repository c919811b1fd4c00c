"""Use case of ``etl-cli lineage``: the column lineage of a pipeline or of a whole project, computed offline.

A pipeline (its file or folder) gives its own lineage; any other folder is a project: every
pipeline under it, joined where one writes a dataset another reads. ``--column`` narrows
the graph to what that column is made from (upstream), what a change of it reaches
(downstream), or both. Nothing here imports pyspark: no JVM starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from etl_cli import app
from etl_cli.config.project import PIPELINE_FILE
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.model import ColumnRef, LineageGraph
from etl_cli.lineage.project import merge, project_lineage
from etl_cli.lineage.selection import find_column
from etl_cli.model.pipeline import PipelineSpec

Direction = Literal["upstream", "downstream", "both"]
#: pipeline name → stage name → [(column, Spark type)]: what Spark's analysis found (``--analyze``)
KnownSchemas = Mapping[str, Mapping[str, Sequence[tuple[str, str]]]]


@dataclass(frozen=True)
class LineageRequest:
    """What ``etl-cli lineage`` was asked."""

    target: Path
    env: str | None = None
    sets: tuple[str, ...] = ()
    #: ``--column``, as the user wrote it (etl_cli/lineage/selection.py)
    column: str | None = None
    direction: Direction = "both"


@dataclass(frozen=True)
class LineageResult:
    """The graph to show, and the column it was narrowed to (None: the whole lineage)."""

    graph: LineageGraph
    column: ColumnRef | None
    direction: Direction
    pipelines: tuple[str, ...]


def load_specs(request: LineageRequest) -> list[PipelineSpec]:
    """The pipeline, or every pipeline of the project folder; InvalidPipeline for the first invalid one."""
    return [app.load_spec(path, request.env, request.sets)[1] for path in app.discover_pipelines([request.target])]


def is_one_pipeline(target: Path) -> bool:
    """Whether ``target`` names one pipeline (its file or folder) rather than a project folder."""
    return target.is_file() or (target / PIPELINE_FILE).is_file()


def lineage(request: LineageRequest, known_schemas: KnownSchemas | None = None) -> LineageResult:
    """The lineage the request asks for (``known_schemas`` completes what is unknown offline)."""
    specs = load_specs(request)
    schemas = known_schemas or {}
    if is_one_pipeline(request.target):
        graph = pipeline_lineage(specs[0], app.registry(), schemas.get(specs[0].name))
    else:
        graph = project_lineage(specs, app.registry(), schemas)
    names = tuple(spec.name for spec in specs)
    if request.column is None:
        return LineageResult(graph, None, request.direction, names)
    ref = find_column(graph, request.column)
    return LineageResult(narrowed(graph, ref, request.direction), ref, request.direction, names)


def narrowed(graph: LineageGraph, ref: ColumnRef, direction: Direction) -> LineageGraph:
    """What ``ref`` is made from, what it reaches, or both."""
    if direction == "upstream":
        return graph.upstream(ref)
    if direction == "downstream":
        return graph.downstream(ref)
    return merge([graph.upstream(ref), graph.downstream(ref)])
