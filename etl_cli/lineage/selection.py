"""``--column``: the column a user names, found in a lineage graph.

Three spellings, the longest node name that fits winning (pipeline and dataset names may hold dots):

- ``PIPELINE.STAGE.COLUMN``: a column of any stage (source, transform or sink) of any pipeline;
- ``STAGE.COLUMN``: the same, when only one pipeline of the graph has a stage of that name (else the
  error lists them);
- ``DATASET.COLUMN``: a column of a dataset, named by its node id (``dataset:file:/data/orders``), by
  ``NAMESPACE:NAME`` (``postgres://db:5432:shop.public.orders``), or by its name alone
  (``shop.public.orders``, ``/data/orders``, or a file path relative to the current folder).

Names are compared as Spark compares columns, without regard to case.
"""

from __future__ import annotations

import os

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import UsageError
from etl_cli.lineage.model import DATASET_PREFIX, ColumnRef, LineageGraph, Node

FORMS = "PIPELINE.STAGE.COLUMN, STAGE.COLUMN or DATASET.COLUMN (see docs/lineage.md)"


def find_column(graph: LineageGraph, text: str) -> ColumnRef:
    """The column ``text`` names (module doc); UsageError saying why when it names none or several."""
    matches = _matches(graph, text)
    if not matches:
        raise UsageError(f"--column {text}: no stage or dataset of the lineage is named so", hint=_hint(graph, text))
    longest = max(len(name) for name, _ in matches)
    nodes = list(dict.fromkeys(node.id for name, node in matches if len(name) == longest))
    if len(nodes) > 1:
        raise UsageError(
            f"--column {text}: several stages or datasets are named {text[:longest]}: {', '.join(nodes)}",
            hint="write the column as PIPELINE.STAGE.COLUMN or with the dataset's full node id",
        )
    return _column(graph, graph.node(nodes[0]), text[longest + 1 :])


def _names(node: Node) -> list[str]:
    """Every name ``node`` answers to (module doc)."""
    if node.kind != "dataset" or node.dataset is None:
        return [node.id, *([node.stage] if node.stage else [])]
    return [node.id, f"{node.dataset.namespace}:{node.dataset.name}", node.dataset.name]


def _matches(graph: LineageGraph, text: str) -> list[tuple[str, Node]]:
    found = []
    for node in graph.nodes:
        for name in _names(node):
            if text.lower().startswith(name.lower() + ".") and len(text) > len(name) + 1:
                found.append((name, node))
        if node.kind == "dataset" and node.dataset is not None and node.dataset.namespace == "file":
            found += _path_match(node, text)
    return found


def _path_match(node: Node, text: str) -> list[tuple[str, Node]]:
    """A file dataset named by a path relative to the current folder: ``output/orders.amount``."""
    assert node.dataset is not None
    prefix, _, column = text.rpartition(".")
    if prefix and column and os.path.normpath(os.path.abspath(prefix)) == node.dataset.name:
        return [(prefix, node)]
    return []


def _column(graph: LineageGraph, node: Node, name: str) -> ColumnRef:
    """``name`` as a column of ``node``: one it has, or, where its columns are unknown, one an edge names."""
    known = list(graph.columns_of(node.id))
    for ref in known:
        if ref.column.lower() == name.lower():
            return ref
    columns = [ref.column for ref in known]
    where = "its columns are not known offline" if node.columns is None else f"its columns: {', '.join(columns)}"
    hint = did_you_mean(name, columns) or where
    raise UsageError(f"--column: {node.id} has no column '{name}'", hint=hint)


def _hint(graph: LineageGraph, text: str) -> str:
    stages = [node.id for node in graph.nodes if not node.id.startswith(DATASET_PREFIX)]
    guess = did_you_mean(text.rpartition(".")[0], stages)
    return (f"{guess}; " if guess else "") + f"write {FORMS}"
