"""Column-level lineage as plain data: nodes (stages and datasets), column edges, and what is unknown.

One graph serves every consumer: the ``lineage`` command prints it or its JSON
(:meth:`LineageGraph.to_dict`), renderers draw it, OpenLineage events carry its column
lineage. Node ids are ``"<pipeline>.<stage>"`` for a stage and
``"dataset:<namespace>:<name>"`` for a dataset (a file, a table, a topic) that a source
reads or a sink writes; a sink and the dataset it writes, or a dataset and a source that
reads it, are joined by identity edges column by column, so walking the edges crosses
pipelines wherever one writes what another reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

#: how an input column makes an output column: its value (identity, expression, aggregation, window) or which
#: rows there are and in which order (join_key, filter, group_by, order)
HOWS: tuple[str, ...] = ("identity", "expression", "aggregation", "join_key", "filter", "group_by", "window", "order")
#: edges that carry no value, only influence on which rows reach the output (or their order)
ROW_INFLUENCE: frozenset[str] = frozenset({"join_key", "filter", "group_by", "order"})
DATASET_PREFIX = "dataset:"


@dataclass(frozen=True, order=True)
class DatasetName:
    """A dataset named by the OpenLineage naming conventions (https://openlineage.io/docs/spec/naming)."""

    namespace: str
    name: str

    @property
    def node_id(self) -> str:
        """The id of the dataset's node in a :class:`LineageGraph`."""
        return f"{DATASET_PREFIX}{self.namespace}:{self.name}"

    def to_dict(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name}


@dataclass(frozen=True, order=True)
class ColumnRef:
    """One column of one node: ``node`` is ``"<pipeline>.<stage>"`` or ``"dataset:<namespace>:<name>"``."""

    node: str
    column: str

    def to_dict(self) -> dict[str, str]:
        return {"node": self.node, "column": self.column}

    def __str__(self) -> str:
        return f"{self.node}.{self.column}"


@dataclass(frozen=True)
class ColumnEdge:
    """``target`` is made from ``source``: ``how``, and the expression that does it when there is one."""

    source: ColumnRef
    target: ColumnRef
    how: str
    expression: str | None = None

    def sort_key(self) -> tuple[str, str, str, str, str, str]:
        return (self.target.node, self.target.column, self.source.node, self.source.column, self.how,
                self.expression or "")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source.to_dict(), "target": self.target.to_dict(), "how": self.how,
                "expression": self.expression}  # fmt: skip


@dataclass(frozen=True)
class Node:
    """A stage of a pipeline, or a dataset outside every pipeline; ``columns`` None: not known offline."""

    id: str
    kind: str
    pipeline: str | None
    stage: str | None
    type: str | None
    columns: tuple[str, ...] | None
    location: str | None = None
    dataset: DatasetName | None = None
    #: the Spark type of each column where it is known (declared schemas, casts, analysed plans): column, type
    types: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "pipeline": self.pipeline,
            "stage": self.stage,
            "type": self.type,
            "columns": list(self.columns) if self.columns is not None else None,
            "types": dict(self.types),
            "location": self.location,
            "dataset": self.dataset.to_dict() if self.dataset else None,
        }


@dataclass(frozen=True)
class Unknown:
    """Why part of a node's lineage is not known offline, and what would make it known."""

    node: str
    reason: str
    hint: str

    def to_dict(self) -> dict[str, str]:
        return {"node": self.node, "reason": self.reason, "hint": self.hint}


@dataclass(frozen=True)
class LineageGraph:
    """Nodes, the column edges between them and the gaps, in a stable order (see :meth:`to_dict`)."""

    nodes: tuple[Node, ...]
    edges: tuple[ColumnEdge, ...]
    unknowns: tuple[Unknown, ...] = ()

    def node(self, node_id: str) -> Node:
        """The node ``node_id``; KeyError when the graph has none."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: nodes by id, edges by target then source, unknowns by node (the same graph, the same text)."""
        return {
            "nodes": [n.to_dict() for n in sorted(self.nodes, key=lambda n: n.id)],
            "edges": [e.to_dict() for e in sorted(self.edges, key=ColumnEdge.sort_key)],
            "unknowns": [u.to_dict() for u in sorted(self.unknowns, key=lambda u: (u.node, u.reason))],
        }

    def upstream(self, ref: ColumnRef) -> LineageGraph:
        """Everything ``ref`` is made from, transitively, across pipelines through the datasets between them."""
        return self._closure(ref, lambda edge: edge.target, lambda edge: edge.source)

    def downstream(self, ref: ColumnRef) -> LineageGraph:
        """Everything a change of ``ref`` would reach (impact analysis), transitively, across pipelines."""
        return self._closure(ref, lambda edge: edge.source, lambda edge: edge.target)

    def _closure(self, start: ColumnRef, near: Any, far: Any) -> LineageGraph:
        by_near: dict[ColumnRef, list[ColumnEdge]] = {}
        for edge in self.edges:
            by_near.setdefault(near(edge), []).append(edge)
        seen, pending, taken = {start}, [start], []
        while pending:
            for edge in by_near.get(pending.pop(), []):
                taken.append(edge)
                if far(edge) not in seen:
                    seen.add(far(edge))
                    pending.append(far(edge))
        ids = {ref.node for ref in seen}
        return LineageGraph(
            nodes=tuple(n for n in self.nodes if n.id in ids),
            edges=tuple(dict.fromkeys(taken)),
            unknowns=tuple(u for u in self.unknowns if u.node in ids),
        )

    def columns_of(self, node_id: str) -> Iterator[ColumnRef]:
        """Every column of ``node_id`` the graph knows: its declared columns, else those its edges name."""
        node = self.node(node_id)
        names: Iterable[str] = node.columns if node.columns is not None else dict.fromkeys(
            ref.column for e in self.edges for ref in (e.source, e.target) if ref.node == node_id
        )  # fmt: skip
        return (ColumnRef(node_id, name) for name in names)
