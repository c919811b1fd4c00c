"""The HTML lineage page as text: one file that loads nothing, a box per node and a path per edge, names
escaped, unknowns in a warning panel, a legend of every ``how`` (what a browser makes of it: test_render_browser)."""

from __future__ import annotations

import json
import re

from etl_cli.lineage.model import HOWS, DatasetName, LineageGraph, Node
from etl_cli.lineage.render import render
from tests.lineage.drawings import one_edge, two_pipelines, two_stages


def test_the_page_loads_nothing_from_anywhere() -> None:
    page = render(two_pipelines(), "html")
    assert "http" not in page
    assert not re.search(r"<(link|img|iframe|object|embed)\b|\bsrc=|@import|url\((?!#arrow-)", page)


def test_the_drawing_has_a_box_per_node_a_row_per_column_and_a_path_per_edge() -> None:
    page = render(two_pipelines(), "html")
    assert page.count('<g class="node ') == 6
    assert page.count('<g class="col" ') == 3 + 2 + 2 + 2 + 1 + 1
    assert page.count('<path class="edge ') == 10


def test_an_edge_shows_how_and_its_expression_on_hover() -> None:
    page = render(two_stages(), "html")
    assert "<title>shop.read.price → shop.cheap.net: expression (price * 0.8)</title>" in page


def test_names_cannot_break_out_of_the_page() -> None:
    page = render(one_edge("</script><b>x</b>", "y", "'<i>'"), "html")
    assert "<b>x" not in page and "<i>" not in page
    assert page.count("</script>") == 2  # the data's and the script's own
    data = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', page, re.S)
    assert data is not None
    assert json.loads(data.group(1))["columns"][0] == ["p.a", "</script><b>x</b>"]


def test_the_data_names_each_column_and_the_columns_of_each_edge() -> None:
    page = render(two_stages(), "html")
    data = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', page, re.S)
    assert data is not None
    assert json.loads(data.group(1)) == {
        "columns": [["shop.read", "id"], ["shop.read", "price"], ["shop.cheap", "id"], ["shop.cheap", "net"]],
        "edges": [[0, 2], [1, 3], [1, 2]],
    }


def test_unknowns_are_listed_in_a_warning_panel_with_their_fix() -> None:
    page = render(two_pipelines(), "html")
    panel = re.search(r'<section id="unknowns".*?</section>', page, re.S)
    assert panel is not None
    assert "Lineage partly unknown offline (1)" in panel.group(0)
    assert "<code>report.load</code>: the source declares no schema." in panel.group(0)
    assert "declare the source&#x27;s schema" in panel.group(0)


def test_a_graph_without_unknowns_has_no_warning_panel() -> None:
    assert 'id="unknowns"' not in render(two_stages(), "html")


def test_the_legend_explains_every_how() -> None:
    page = render(two_stages(), "html")
    legend = re.search(r'<ul class="hows">(.*?)</ul>', page, re.S)
    assert legend is not None
    assert re.findall(r"<b>(\w+)</b>", legend.group(1)) == list(HOWS)


def test_a_long_name_is_cut_in_the_box_and_whole_on_hover() -> None:
    long = "a_column_name_much_longer_than_any_box_is_wide_" * 2
    graph = LineageGraph(nodes=(Node("p.a", "source", "p", "a", "csv", (long,)),), edges=())
    page = render(graph, "html")
    assert f"<title>p.a.{long}</title>" in page
    cut = re.search(r'<g class="col" [^>]*><rect [^>]*/><text x="12" y="14">([^<]*)</text>', page)
    assert cut is not None and cut.group(1).endswith("…") and len(cut.group(1)) < len(long)


def test_the_page_is_titled_by_its_heading() -> None:
    page = render(two_stages(), "html", heading="Lineage of shop")
    assert "<title>Lineage of shop</title>" in page and "<h1>Lineage of shop</h1>" in page


def test_a_long_dataset_name_keeps_its_end_the_file_or_table() -> None:
    path = "/home/someone/projects/shop/pipelines/daily/data/orders.csv"
    dataset = DatasetName("file", path)
    graph = LineageGraph(nodes=(Node(dataset.node_id, "dataset", None, None, None, ("x",), dataset=dataset),), edges=())
    name = re.search(r'<text class="name" [^>]*>([^<]*)</text>', render(graph, "html"))
    assert name is not None and name.group(1).startswith("…") and name.group(1).endswith("/data/orders.csv")
