"""Upstream and downstream of a column cross pipelines through the datasets between them (impact analysis).

The project is the corpus case ``pipeline_chain``: ingest writes lake/orders, report reads it and writes
output/totals, audit reads that (tests/lineage/corpus/pipeline_chain).
"""

from __future__ import annotations

import json
from pathlib import Path

from etl_cli.lineage.model import ColumnRef, LineageGraph
from etl_cli.usecases.lineage import LineageRequest, lineage

CHAIN = Path(__file__).with_name("corpus") / "pipeline_chain"
ROOT = CHAIN.resolve()
CSV, LAKE = f"dataset:file:{ROOT}/data/orders.csv", f"dataset:file:{ROOT}/lake/orders"
TOTALS, BIG = f"dataset:file:{ROOT}/output/totals", f"dataset:file:{ROOT}/output/big_totals"


def chain() -> LineageGraph:
    return lineage(LineageRequest(CHAIN)).graph


def columns(graph: LineageGraph, start: ColumnRef) -> set[str]:
    """Every column the graph's edges touch, and the start, as ``node#column``."""
    refs = {start} | {ref for edge in graph.edges for ref in (edge.source, edge.target)}
    return {f"{ref.node}#{ref.column}" for ref in refs}


def test_upstream_follows_a_column_back_through_every_pipeline_to_the_file_it_was_read_from() -> None:
    start = ColumnRef("report.out", "total")
    assert columns(chain().upstream(start), start) == {
        "report.out#total", "report.totals#total", "report.orders#amount_eur", "report.orders#currency",
        f"{LAKE}#amount_eur", f"{LAKE}#currency", "ingest.clean#amount_eur", "ingest.clean#currency",
        "ingest.eur#amount_eur", "ingest.eur#currency", "ingest.raw#amount", "ingest.raw#currency",
        f"{CSV}#amount", f"{CSV}#currency",
    }  # fmt: skip


def test_downstream_lists_everything_a_change_of_the_column_reaches_in_later_pipelines() -> None:
    start = ColumnRef("ingest.raw", "currency")
    reached = columns(chain().downstream(start), start)
    both = ("currency", "total")
    assert reached == {
        "ingest.raw#currency", "ingest.eur#currency", "ingest.eur#amount_eur",
        "ingest.clean#currency", "ingest.clean#amount_eur", f"{LAKE}#currency", f"{LAKE}#amount_eur",
        "report.orders#currency", "report.orders#amount_eur",
        *(f"{node}#{c}" for node in ("report.totals", "report.out", TOTALS, "audit.totals", "audit.big", "audit.out",
                                     BIG) for c in both),
    }  # fmt: skip


def test_a_column_nothing_reads_reaches_no_further_than_where_it_is_dropped() -> None:
    start = ColumnRef("ingest.raw", "id")
    assert columns(chain().downstream(start), start) == {
        "ingest.raw#id", "ingest.eur#id", "ingest.clean#id", f"{LAKE}#id", "report.orders#id",
    }  # fmt: skip


def test_the_narrowed_graph_holds_the_nodes_on_the_path_only() -> None:
    narrowed = chain().downstream(ColumnRef("report.orders", "id"))
    assert [node.id for node in narrowed.nodes] == ["report.orders"]
    assert narrowed.edges == ()


def test_the_json_form_is_stable_and_names_every_part() -> None:
    graph = chain()
    shuffled = LineageGraph(tuple(reversed(graph.nodes)), tuple(reversed(graph.edges)), graph.unknowns)
    assert json.dumps(shuffled.to_dict()) == json.dumps(graph.to_dict())
    data = graph.to_dict()
    assert set(data) == {"nodes", "edges", "unknowns"}
    lake = next(node for node in data["nodes"] if node["id"] == LAKE)
    assert lake == {
        "id": LAKE, "kind": "dataset", "pipeline": None, "stage": None, "type": None,
        "columns": ["id", "amount", "currency", "amount_eur"], "location": None,
        "types": {"id": "BIGINT", "amount": "DOUBLE", "currency": "STRING"},
        "dataset": {"namespace": "file", "name": f"{ROOT}/lake/orders"},
    }  # fmt: skip
    raw = next(node for node in data["nodes"] if node["id"] == "ingest.raw")
    assert raw["types"] == {"id": "BIGINT", "amount": "DOUBLE", "currency": "STRING"}
    assert raw["location"].endswith("pipeline_chain/ingest/pipeline.yaml:3:5")
    edge = next(e for e in data["edges"] if e["target"] == {"node": "report.totals", "column": "total"}
                and e["how"] == "aggregation")  # fmt: skip
    assert edge == {
        "source": {"node": "report.orders", "column": "amount_eur"},
        "target": {"node": "report.totals", "column": "total"},
        "how": "aggregation",
        "expression": "SUM(amount_eur)",
    }
