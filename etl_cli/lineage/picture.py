"""What every picture of a lineage graph shows, whatever it is drawn with (mermaid, Graphviz dot, an HTML page).

The three renderers must agree on which columns a node lists and which edges are drawn, or a user comparing
two pictures of one graph would see two graphs. A node lists its known columns and then any other column an
edge names (a column seen only through its lineage is still a column someone will look for); a node whose
columns are unknown offline lists only those its edges name. Edges between nodes the graph does not hold
(a hand-made or filtered graph) are left out rather than drawn to nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl_cli.lineage.model import ROW_INFLUENCE, ColumnEdge, LineageGraph, Node, Unknown


@dataclass(frozen=True)
class Picture:
    """A lineage graph as drawn: its nodes in the graph's order, the columns each lists, the edges between them."""

    nodes: tuple[Node, ...]
    #: node id -> the columns the node lists, in order (see the module's docstring)
    columns: dict[str, tuple[str, ...]]
    edges: tuple[ColumnEdge, ...]
    unknowns: tuple[Unknown, ...]

    def pipelines(self) -> list[str]:
        """The pipelines the nodes belong to, in the order they first appear (datasets belong to none)."""
        return list(dict.fromkeys(node.pipeline for node in self.nodes if node.pipeline is not None))

    def unknown_nodes(self) -> set[str]:
        """The ids of the nodes whose lineage is partly unknown offline."""
        return {unknown.node for unknown in self.unknowns}


def picture(graph: LineageGraph) -> Picture:
    """What to draw of ``graph``."""
    ids = {node.id for node in graph.nodes}
    edges = tuple(edge for edge in graph.edges if edge.source.node in ids and edge.target.node in ids)
    named: dict[str, dict[str, None]] = {node.id: dict.fromkeys(node.columns or ()) for node in graph.nodes}
    for edge in edges:
        for ref in (edge.source, edge.target):
            named[ref.node].setdefault(ref.column)
    columns = {node_id: tuple(names) for node_id, names in named.items()}
    return Picture(graph.nodes, columns, edges, graph.unknowns)


def title(node: Node) -> str:
    """The name a node is shown by: its stage's name, or, for a dataset between pipelines, the dataset's name."""
    if node.stage is not None:
        return node.stage
    return node.dataset.name if node.dataset is not None else node.id


def subtitle(node: Node) -> str:
    """The line under a node's name: what it is (``csv source``), or where a dataset lives (``file dataset``)."""
    if node.stage is None and node.dataset is not None:
        return f"{node.dataset.namespace} {node.kind}"
    return f"{node.type} {node.kind}" if node.type else node.kind


@dataclass(frozen=True)
class HowStyle:
    """How an edge of one ``how`` is drawn, and what the legend says it means."""

    colour: str
    meaning: str


HOW_STYLES: dict[str, HowStyle] = {
    "identity": HowStyle("#6b7280", "copied unchanged"),
    "expression": HowStyle("#2563eb", "computed by an expression"),
    "aggregation": HowStyle("#7c3aed", "aggregated over a group of rows"),
    "join_key": HowStyle("#d97706", "a join key: decides which rows meet"),
    "filter": HowStyle("#dc2626", "a filter: decides which rows pass"),
    "group_by": HowStyle("#059669", "a grouping key: decides which rows there are"),
    "window": HowStyle("#0891b2", "computed over a window of rows"),
    "order": HowStyle("#a16207", "a sort key: decides the order of the rows"),
}
#: a ``how`` a third-party transform invented: drawn, in a neutral colour
OTHER_HOW = HowStyle("#374151", "declared by the transform")


def how_style(how: str) -> HowStyle:
    """The style of edges of ``how``."""
    return HOW_STYLES.get(how, OTHER_HOW)


def influences_rows_only(how: str) -> bool:
    """Whether edges of ``how`` carry no value, only which rows there are (drawn dashed)."""
    return how in ROW_INFLUENCE


#: the colour of a node's header, by kind: where data comes in, is changed, goes out, lives between pipelines
KIND_COLOURS = {"source": "#dbeafe", "transform": "#f3f4f6", "sink": "#dcfce7", "dataset": "#ede9fe"}
#: the header of a node whose lineage is partly unknown offline
UNKNOWN_COLOUR = "#fed7aa"
UNKNOWN_MARK = "⚠ lineage partly unknown"


def label_lines(drawn: Picture, node: Node) -> tuple[str, ...]:
    """The lines of a node's header: its name, what it is, and a warning when its lineage is partly unknown."""
    lines = (title(node), subtitle(node))
    return (*lines, UNKNOWN_MARK) if node.id in drawn.unknown_nodes() else lines


def header_colour(node: Node, unknown: bool) -> str:
    """The colour of ``node``'s header: a warning when its lineage is partly unknown, else its kind's."""
    return UNKNOWN_COLOUR if unknown else KIND_COLOURS.get(node.kind, KIND_COLOURS["transform"])
