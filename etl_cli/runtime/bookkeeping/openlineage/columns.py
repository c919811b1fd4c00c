"""The columnLineage facet of an output dataset, from the offline lineage graph (lineage/engine.py).

Each column of the output is followed back, edge by edge through every stage, to the columns of
the input datasets it comes from. What the way there did decides the transformation:

- only value edges (identity, expression, aggregation, window): a DIRECT use, of subtype
  IDENTITY when every step copies the value, AGGREGATION when one aggregates, else
  TRANSFORMATION (described by the expression nearest the output);
- a join key, a filter, a grouping or an ordering on the way: an INDIRECT use (JOIN, FILTER,
  GROUP_BY, SORT: the first such step from the input column, what that column is used for),
  listed once in the facet's ``dataset``, since it chooses which rows (or their order) reach
  the output rather than a column's value.

The walk keeps, per column, only what the way so far amounts to (a handful of kinds), so it
visits each column a bounded number of times however many ways lead there.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from openlineage.client.facet_v2 import column_lineage_dataset

from etl_cli.lineage.model import ROW_INFLUENCE, ColumnRef, DatasetName, LineageGraph

_INDIRECT = {"join_key": "JOIN", "filter": "FILTER", "group_by": "GROUP_BY", "order": "SORT"}
#: the direct kinds, weakest first: a way is as strong as its strongest step
_DIRECT = ("IDENTITY", "TRANSFORMATION", "AGGREGATION")
_DIRECT_OF = {"identity": "IDENTITY", "expression": "TRANSFORMATION", "window": "TRANSFORMATION",
              "aggregation": "AGGREGATION"}  # fmt: skip

Feeding = Mapping[ColumnRef, list[tuple[ColumnRef, str, str | None]]]


@dataclass(frozen=True)
class _Way:
    """What the way from a column to the output amounts to: DIRECT or INDIRECT, its subtype, its expression."""

    type: str = "DIRECT"
    subtype: str = "IDENTITY"
    description: str | None = None

    def before(self, how: str, expression: str | None) -> _Way:
        """This way with one more step, taken before it (nearer the input)."""
        if how in ROW_INFLUENCE:
            return _Way("INDIRECT", _INDIRECT[how])
        if self.type == "INDIRECT":
            return self
        subtype = max(self.subtype, _DIRECT_OF.get(how, "TRANSFORMATION"), key=_DIRECT.index)
        described = self.description if self.description is not None or how == "identity" else expression
        return _Way("DIRECT", subtype, described)


def column_lineage(
    graph: LineageGraph, output: DatasetName, producer: str
) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
    """Each column of ``output`` with the input columns it is made from, and the inputs that choose its rows."""
    try:
        columns = list(graph.columns_of(output.node_id))
    except KeyError:
        return None
    datasets = {node.id: node.dataset for node in graph.nodes if node.kind == "dataset" and node.dataset is not None}
    feeding: dict[ColumnRef, list[tuple[ColumnRef, str, str | None]]] = {}
    for edge in graph.edges:
        feeding.setdefault(edge.target, []).append((edge.source, edge.how, edge.expression))
    inputs = {node_id: name for node_id, name in datasets.items() if node_id != output.node_id}
    fields: dict[str, column_lineage_dataset.Fields] = {}
    indirect: dict[tuple[str, str, str, str | None], column_lineage_dataset.InputField] = {}
    for column in columns:
        direct: dict[tuple[str, str, str], list[column_lineage_dataset.Transformation]] = {}
        for origin, way in sorted(_origins(feeding, column, set(inputs)), key=_order):
            name = inputs[origin.node]
            use = column_lineage_dataset.Transformation(type=way.type, subtype=way.subtype, description=way.description)
            if way.type == "INDIRECT":
                key = (name.namespace, name.name, origin.column, way.subtype)
                indirect.setdefault(key, _input_field(name, origin.column, [use]))
            elif use not in (uses := direct.setdefault((name.namespace, name.name, origin.column), [])):
                uses.append(use)
        if direct:
            used = [_input_field(DatasetName(ns, name), field, uses) for (ns, name, field), uses in direct.items()]
            fields[column.column] = column_lineage_dataset.Fields(inputFields=used)
    if not fields and not indirect:
        return None
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields=fields, dataset=list(indirect.values()), producer=producer
    )


def _origins(feeding: Feeding, column: ColumnRef, inputs: Collection[str]) -> set[tuple[ColumnRef, _Way]]:
    """The input columns ``column`` comes from (``inputs``: the input datasets' node ids), each with its way."""
    found: set[tuple[ColumnRef, _Way]] = set()
    seen = {(column, _Way())}
    pending = [(column, _Way())]
    while pending:
        ref, way = pending.pop()
        if ref.node in inputs:
            found.add((ref, way))
            continue
        for source, how, expression in feeding.get(ref, []):
            step = (source, way.before(how, expression))
            if step not in seen:  # also where a pipeline reads what it writes
                seen.add(step)
                pending.append(step)
    return found


def _order(found: tuple[ColumnRef, _Way]) -> tuple[str, str, str, str, str]:
    ref, way = found
    return (ref.node, ref.column, way.type, way.subtype, way.description or "")


def _input_field(
    name: DatasetName, field: str, uses: list[column_lineage_dataset.Transformation]
) -> column_lineage_dataset.InputField:
    return column_lineage_dataset.InputField(name.namespace, name.name, field, transformations=uses)
