"""The column lineage of a project: every pipeline's, joined where one writes a dataset another reads.

A sink and a source meet when they name the same dataset (:mod:`etl_cli.lineage.naming`): the
dataset's node is shared, so the edges sink → dataset → source cross from one pipeline to the
next. A source that reads such a dataset without declaring its schema gets the columns the
writing sink has: pipelines are computed again until no source learns anything more (a chain
of n pipelines takes n rounds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.model import ColumnEdge, DatasetName, LineageGraph, Node, Unknown
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.registry import Registry


def project_lineage(
    specs: Sequence[PipelineSpec],
    registry: Registry,
    known_schemas: Mapping[str, Mapping[str, Sequence[tuple[str, str]]]] | None = None,
) -> LineageGraph:
    """The lineage of every pipeline of ``specs``, joined through the datasets they share.

    ``known_schemas``: pipeline name → what :func:`~etl_cli.lineage.engine.pipeline_lineage` takes.
    """
    written: dict[DatasetName, tuple[str, ...]] = {}
    graphs: list[LineageGraph] = []
    schemas = known_schemas or {}
    for _ in range(len(specs) + 1):
        graphs = [pipeline_lineage(s, registry, schemas.get(s.name), dataset_columns=written) for s in specs]
        learned = _written_columns(graphs)
        if learned == written:
            break
        written = learned
    return merge(graphs)


def _written_columns(graphs: Sequence[LineageGraph]) -> dict[DatasetName, tuple[str, ...]]:
    """The columns each sink writes to its dataset (the first sink of a dataset that knows them)."""
    found: dict[DatasetName, tuple[str, ...]] = {}
    for graph in graphs:
        for node in graph.nodes:
            if node.kind == "sink" and node.dataset is not None and node.columns is not None:
                found.setdefault(node.dataset, node.columns)
    return found


def merge(graphs: Sequence[LineageGraph]) -> LineageGraph:
    """One graph of several; a dataset node several graphs hold keeps the columns the first that knows has."""
    nodes: dict[str, Node] = {}
    for graph in graphs:
        for node in graph.nodes:
            known = nodes.get(node.id)
            if known is None or (known.columns is None and node.columns is not None):
                nodes[node.id] = node
    edges: dict[ColumnEdge, None] = {}
    unknowns: dict[Unknown, None] = {}
    for graph in graphs:
        edges.update(dict.fromkeys(graph.edges))
        unknowns.update(dict.fromkeys(graph.unknowns))
    return LineageGraph(tuple(nodes.values()), tuple(edges), tuple(unknowns))
