"""The HTML picture's layout: layers left to right by longest path, layers ordered to avoid crossings, boxes
that do not overlap, edges that start and end on their columns' rows (coordinates worked out by hand)."""

from __future__ import annotations

from itertools import combinations

from etl_cli.lineage.layout import Box, layout
from etl_cli.lineage.model import LineageGraph, Node
from etl_cli.lineage.picture import picture
from tests.lineage.drawings import edge, two_pipelines


def _node(name: str, *columns: str) -> Node:
    return Node(f"p.{name}", "transform", "p", name, "sql", columns)


def _boxes(graph: LineageGraph) -> dict[str, Box]:
    return {box.node.id: box for box in layout(picture(graph)).boxes}


def test_a_chain_through_two_pipelines_goes_left_to_right_one_layer_per_step() -> None:
    boxes = _boxes(two_pipelines())
    order = ["orders.read", "orders.paid", "orders.write", "dataset:file:/data/paid", "report.load", "report.total"]
    xs = [boxes[node].x for node in order]
    assert xs == sorted(xs) and len(set(xs)) == 6


def test_a_node_goes_one_layer_right_of_its_furthest_input() -> None:
    graph = LineageGraph(
        nodes=(_node("c", "x"), _node("b", "x"), _node("a", "x")),
        edges=(edge("p.a.x", "p.b.x"), edge("p.b.x", "p.c.x"), edge("p.a.x", "p.c.x")),
    )
    boxes = _boxes(graph)
    assert boxes["p.a"].x < boxes["p.b"].x < boxes["p.c"].x


def test_a_layer_is_ordered_like_the_nodes_it_reads_from() -> None:
    graph = LineageGraph(
        nodes=(_node("a", "x"), _node("b", "x"), _node("from_b", "x"), _node("from_a", "x")),
        edges=(edge("p.b.x", "p.from_b.x"), edge("p.a.x", "p.from_a.x")),
    )
    boxes = _boxes(graph)
    assert boxes["p.a"].y < boxes["p.b"].y
    assert boxes["p.from_a"].y < boxes["p.from_b"].y


def test_no_two_boxes_overlap() -> None:
    graph = LineageGraph(
        nodes=(_node("a", "x", "y", "z"), _node("b", "x"), _node("c", "x", "y"), _node("d", "x")),
        edges=(edge("p.a.x", "p.d.x"), edge("p.b.x", "p.d.x"), edge("p.c.y", "p.d.x")),
    )
    for one, other in combinations(layout(picture(graph)).boxes, 2):
        apart_x = one.x + one.width <= other.x or other.x + other.width <= one.x
        apart_y = one.y + one.height <= other.y or other.y + other.height <= one.y
        assert apart_x or apart_y, (one.node.id, other.node.id)


def test_an_edge_runs_from_the_right_of_its_source_row_to_the_left_of_its_target_row() -> None:
    graph = LineageGraph(nodes=(_node("a", "x", "y"), _node("b", "z")), edges=(edge("p.a.y", "p.b.z"),))
    placed = layout(picture(graph))
    a, b = placed.boxes
    # a header of two lines is 10 + 2 * 15 = 40 px high, rows 20 px: row 1's middle is 40 + 20 + 10 below the top
    start = (a.x + a.width, a.y + 70)
    end = (b.x, b.y + 50)
    path = placed.route(graph.edges[0])
    assert path.startswith(f"M{start[0]:.1f},{start[1]:.1f} ")
    assert path.endswith(f" {end[0]:.1f},{end[1]:.1f}")


def test_a_cycle_is_still_laid_out() -> None:
    graph = LineageGraph(
        nodes=(_node("a", "x"), _node("b", "x")), edges=(edge("p.a.x", "p.b.x"), edge("p.b.x", "p.a.x"))
    )
    boxes = _boxes(graph)
    assert boxes["p.a"].x != boxes["p.b"].x


def test_the_page_area_holds_every_box() -> None:
    placed = layout(picture(two_pipelines()))
    assert all(box.x + box.width <= placed.width and box.y + box.height <= placed.height for box in placed.boxes)
