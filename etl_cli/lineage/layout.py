"""Where each box and edge of a lineage picture goes on a page, left to right, computed here in Python.

The HTML page is one file that works offline, so it cannot ask a layout library at view time; a layered
layout is enough for lineage, which flows one way. Longest-path layering puts each node one layer right of
its furthest input (sources left, what they feed to the right); a few barycenter sweeps then order each
layer by the mean position of its neighbours, which removes most crossings. A cycle, which a lineage graph
should not have, is broken where it is met rather than refused, so a picture is always drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from etl_cli.lineage.model import ColumnEdge, Node
from etl_cli.lineage.picture import Picture, label_lines

#: px a character takes on average at the page's 12 px font: boxes are sized without measuring text
CHAR_WIDTH = 7.0
TEXT_PADDING = 24
MIN_WIDTH = 150
MAX_WIDTH = 300
HEADER_LINE = 15
HEADER_PADDING = 10
ROW_HEIGHT = 20
BOTTOM_PADDING = 4
LAYER_GAP = 120
NODE_GAP = 28
MARGIN = 16
#: barycenter sweeps, alternately left to right and right to left
SWEEPS = 6


@dataclass(frozen=True)
class Box:
    """A node's box: its top-left corner and size, its header lines and the rows it lists."""

    node: Node
    x: float
    y: float
    width: float
    header: tuple[str, ...]
    rows: tuple[str, ...]
    #: a row saying "columns unknown" when the node lists none and its columns are not known
    placeholder: bool

    @property
    def header_height(self) -> float:
        return HEADER_PADDING + HEADER_LINE * len(self.header)

    @property
    def height(self) -> float:
        return self.header_height + ROW_HEIGHT * (len(self.rows) + self.placeholder) + BOTTOM_PADDING

    @property
    def max_chars(self) -> int:
        """How many characters of a name fit in the box (longer ones are cut, their full text on hover)."""
        return int((self.width - TEXT_PADDING) / CHAR_WIDTH)

    def row_top(self, index: int) -> float:
        """The top of row ``index``, relative to the box."""
        return self.header_height + ROW_HEIGHT * index

    def port(self, column: str, right: bool) -> tuple[float, float]:
        """Where an edge meets ``column``'s row: its right side for edges out, its left side for edges in."""
        y = self.y + self.row_top(self.rows.index(column)) + ROW_HEIGHT / 2
        return (self.x + self.width if right else self.x, y)


@dataclass(frozen=True)
class Layout:
    """Every box, in the picture's node order, and the size of the page area they take."""

    boxes: tuple[Box, ...]
    width: float
    height: float

    @cached_property
    def by_id(self) -> dict[str, Box]:
        return {box.node.id: box for box in self.boxes}

    def route(self, edge: ColumnEdge) -> str:
        """An SVG path for ``edge``: a curve from the source column's row to the target column's row."""
        boxes = self.by_id
        x1, y1 = boxes[edge.source.node].port(edge.source.column, right=True)
        x2, y2 = boxes[edge.target.node].port(edge.target.column, right=False)
        bend = max(abs(x2 - x1) / 2, 40.0)
        return f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


def layout(drawn: Picture) -> Layout:
    """Boxes for ``drawn`` laid out in layers left to right."""
    links = ((edge.source.node, edge.target.node) for edge in drawn.edges)
    return _place(drawn, layered([node.id for node in drawn.nodes], links))


def layered(ids: Sequence[str], links: Iterable[tuple[str, str]]) -> list[list[str]]:
    """``ids`` in layers left to right, each layer ordered to cross few ``links`` (from, to): any graph's layout.

    The project DAG's page (etl_cli/orchestration/dag_render.py) lays its pipelines out with it too.
    """
    inputs, outputs = _neighbours(ids, links)
    layers = _layers(list(ids), inputs, outputs)
    _order(layers, inputs, outputs)
    return layers


def _neighbours(
    ids: Sequence[str], links: Iterable[tuple[str, str]]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """For each node, the nodes its links come from and those they go to (each once, in link order)."""
    inputs: dict[str, dict[str, None]] = {node: {} for node in ids}
    outputs: dict[str, dict[str, None]] = {node: {} for node in ids}
    for source, target in links:
        if source != target:
            inputs[target].setdefault(source)
            outputs[source].setdefault(target)
    return {k: list(v) for k, v in inputs.items()}, {k: list(v) for k, v in outputs.items()}


def _layers(ids: list[str], inputs: dict[str, list[str]], outputs: dict[str, list[str]]) -> list[list[str]]:
    """Longest-path layers: a node goes one layer right of the rightmost of its inputs."""
    waiting = {node: len(inputs[node]) for node in ids}
    ready = [node for node in ids if waiting[node] == 0]
    layer: dict[str, int] = {}
    while len(layer) < len(ids):
        if not ready:  # every node left is on a cycle: start it anywhere
            ready.append(next(node for node in ids if node not in layer))
        node = ready.pop(0)
        if node in layer:
            continue
        layer[node] = max((layer[source] + 1 for source in inputs[node] if source in layer), default=0)
        for target in outputs[node]:
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    layers: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for node in ids:
        layers[layer[node]].append(node)
    return layers


def _order(layers: list[list[str]], inputs: dict[str, list[str]], outputs: dict[str, list[str]]) -> None:
    """Sort each layer by the mean position of its neighbours (inputs going right, outputs going left)."""
    for sweep in range(SWEEPS):
        rightward = sweep % 2 == 0
        indices = range(1, len(layers)) if rightward else range(len(layers) - 2, -1, -1)
        neighbours = inputs if rightward else outputs
        for index in indices:
            position = {node: rank for nodes in layers for rank, node in enumerate(nodes)}
            layers[index].sort(key=lambda node: _barycenter(node, neighbours[node], position))


def _barycenter(node: str, neighbours: list[str], position: dict[str, int]) -> float:
    """The mean position of ``neighbours``; a node without any keeps its own place."""
    if not neighbours:
        return float(position[node])
    return sum(position[other] for other in neighbours) / len(neighbours)


def _place(drawn: Picture, layers: list[list[str]]) -> Layout:
    """Boxes at their coordinates: layers side by side, each stacked and centred vertically on the tallest."""
    nodes = {node.id: node for node in drawn.nodes}
    sized = [[_box(nodes[node_id], drawn) for node_id in layer] for layer in layers]
    heights = [sum(box.height for box in layer) + NODE_GAP * (len(layer) - 1) for layer in sized]
    tallest = max(heights, default=0.0)
    placed: dict[str, Box] = {}
    x = float(MARGIN)
    for layer, height in zip(sized, heights, strict=True):
        y = MARGIN + (tallest - height) / 2
        for box in layer:
            placed[box.node.id] = Box(box.node, x, y, box.width, box.header, box.rows, box.placeholder)
            y += box.height + NODE_GAP
        x += max(box.width for box in layer) + LAYER_GAP
    width = x - LAYER_GAP + MARGIN if sized else 2.0 * MARGIN
    return Layout(tuple(placed[node.id] for node in drawn.nodes), width, tallest + 2 * MARGIN)


def _box(node: Node, drawn: Picture) -> Box:
    """``node``'s box, not placed yet: as wide as its longest text needs, within bounds."""
    header = label_lines(drawn, node)
    rows = drawn.columns[node.id]
    longest = max((len(text) for text in (*header, *rows)), default=0)
    width = min(max(longest * CHAR_WIDTH + TEXT_PADDING, MIN_WIDTH), MAX_WIDTH)
    return Box(node, 0.0, 0.0, width, header, rows, placeholder=not rows and node.columns is None)
