"""The mermaid and Graphviz dot pictures of a lineage graph: one box per stage or dataset with its columns,
one subgraph per pipeline, and column-to-column edges named by how they derive (expected text written by hand)."""

from __future__ import annotations

import json
import subprocess

import pytest

from etl_cli.lineage.model import DatasetName, LineageGraph, Node
from etl_cli.lineage.render import render
from tests.lineage.drawings import edge, one_edge, two_pipelines, two_stages
from tests.lineage.programs import program

MERMAID_TWO_STAGES = """\
flowchart LR
  subgraph p0["shop"]
    subgraph n0["read · csv source"]
      n0c0["id"]
      n0c1["price"]
    end
    subgraph n1["cheap · sql transform"]
      n1c0["id"]
      n1c1["net"]
    end
  end
  n0c0 --> n1c0
  n0c1 -->|expression| n1c1
  n0c1 -.->|filter| n1c0
"""


def test_mermaid_draws_each_pipeline_as_a_subgraph_of_stages_listing_their_columns() -> None:
    assert render(two_stages(), "mermaid") == MERMAID_TWO_STAGES


def test_mermaid_draws_datasets_outside_every_pipeline() -> None:
    text = render(two_pipelines(), "mermaid")
    lines = text.splitlines()
    dataset = lines.index('  subgraph n3["/data/paid · file dataset"]')
    assert lines[dataset + 1 : dataset + 4] == ['    n3c0["id"]', '    n3c1["amount_eur"]', "  end"]
    assert '  subgraph p1["report"]' in lines


def test_mermaid_lists_the_columns_that_edges_name_on_a_node_of_unknown_columns_and_marks_it() -> None:
    lines = render(two_pipelines(), "mermaid").splitlines()
    load = lines.index('    subgraph n4["load · parquet source · ⚠ lineage partly unknown"]')
    assert lines[load + 1 : load + 3] == ['      n4c0["amount_eur"]', "    end"]
    assert "%% unknown: report.load: the source declares no schema (declare the source's schema)" in lines


def test_mermaid_escapes_what_would_end_a_label() -> None:
    graph = LineageGraph(nodes=(Node("p.s", "source", "p", "s", "csv", ('say "hi" #1 <b>',)),), edges=())
    assert '      n0c0["say #34;hi#34; #35;1 #60;b#62;"]' in render(graph, "mermaid").splitlines()


def test_mermaid_shows_a_node_without_any_known_column_as_such() -> None:
    graph = LineageGraph(nodes=(Node("p.s", "source", "p", "s", "csv", None),), edges=())
    assert '      n0u["columns unknown"]' in render(graph, "mermaid").splitlines()


DOT_READ_NODE = (
    '    n0 [label=<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
    '<TR><TD BGCOLOR="#dbeafe"><B>read</B><BR/>csv source</TD></TR>'
    '<TR><TD PORT="c0" ALIGN="LEFT">id</TD></TR>'
    '<TR><TD PORT="c1" ALIGN="LEFT">price</TD></TR></TABLE>>];'
)


def test_dot_draws_a_stage_as_a_table_with_a_port_per_column_inside_its_pipeline_cluster() -> None:
    lines = render(two_stages(), "dot").splitlines()
    cluster = lines.index("  subgraph cluster_0 {")
    assert lines[cluster + 1 : cluster + 3] == ['    label="shop";', DOT_READ_NODE]


def test_dot_draws_edges_between_column_ports_styled_by_how() -> None:
    lines = render(two_stages(), "dot").splitlines()
    assert lines[-4:] == [
        '  n0:c0:e -> n1:c0:w [color="#6b7280"];',
        '  n0:c1:e -> n1:c1:w [label="expression", color="#2563eb", tooltip="price * 0.8"];',
        '  n0:c1:e -> n1:c0:w [label="filter", color="#dc2626", style=dashed, tooltip="price < 10"];',
        "}",
    ]


def test_dot_escapes_markup_in_column_names_and_quotes_in_expressions() -> None:
    text = render(one_edge("<x> & y", "z", 'concat("\\", x)'), "dot")
    assert '<TD PORT="c0" ALIGN="LEFT">&lt;x&gt; &amp; y</TD>' in text
    assert 'tooltip="concat(\\"\\\\\\", x)"' in text


def test_graphviz_lays_out_the_dot_text_with_every_node_and_port() -> None:
    dot = program(("dot",), "graphviz")
    done = subprocess.run(
        [dot, "-Tjson"], input=render(two_pipelines(), "dot"), capture_output=True, text=True, check=True
    )
    assert done.stderr == ""  # Graphviz warns about ports a node does not have
    laid_out = json.loads(done.stdout)
    names = sorted(item["name"] for item in laid_out["objects"] if "nodes" not in item)
    assert names == ["n0", "n1", "n2", "n3", "n4", "n5"]
    assert len(laid_out["edges"]) == 10
    clusters = sorted(item["label"] for item in laid_out["objects"] if "nodes" in item)
    assert clusters == ["orders", "report"]


def test_render_refuses_a_format_it_does_not_draw() -> None:
    with pytest.raises(ValueError, match="mermaid, dot, html"):
        render(two_stages(), "png")


def test_pictures_show_columns_known_only_through_edges() -> None:
    graph = LineageGraph(
        nodes=(Node("p.a", "source", "p", "a", "csv", ("x",)), Node("p.b", "transform", "p", "b", "sql", ())),
        edges=(edge("p.a.x", "p.b.y"),),
    )
    assert '      n1c0["y"]' in render(graph, "mermaid").splitlines()


def test_a_stage_that_names_its_dataset_is_still_shown_by_its_stage_name() -> None:
    graph = LineageGraph(
        nodes=(Node("p.read", "source", "p", "read", "csv", ("x",), dataset=DatasetName("file", "/in.csv")),),
        edges=(),
    )
    assert '    subgraph n0["read · csv source"]' in render(graph, "mermaid").splitlines()
