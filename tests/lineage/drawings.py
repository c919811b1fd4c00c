"""Small lineage graphs, built by hand, that the renderers' tests draw (each test writes its own expectations)."""

from __future__ import annotations

from etl_cli.lineage.model import ColumnEdge, ColumnRef, DatasetName, LineageGraph, Node, Unknown


def edge(source: str, target: str, how: str = "identity", expression: str | None = None) -> ColumnEdge:
    """An edge between ``node.column`` names (the column is what follows the last dot)."""
    (source_node, source_column), (target_node, target_column) = source.rsplit(".", 1), target.rsplit(".", 1)
    return ColumnEdge(ColumnRef(source_node, source_column), ColumnRef(target_node, target_column), how, expression)


def two_stages() -> LineageGraph:
    """A csv source and a sql transform: one column copied, one computed, one filtered on."""
    return LineageGraph(
        nodes=(
            Node("shop.read", "source", "shop", "read", "csv", ("id", "price")),
            Node("shop.cheap", "transform", "shop", "cheap", "sql", ("id", "net")),
        ),
        edges=(
            edge("shop.read.id", "shop.cheap.id"),
            edge("shop.read.price", "shop.cheap.net", "expression", "price * 0.8"),
            edge("shop.read.price", "shop.cheap.id", "filter", "price < 10"),
        ),
    )


def one_edge(source_column: str, target_column: str, expression: str) -> LineageGraph:
    """Source ``p.a``'s one column feeding sql transform ``p.b``'s one column through ``expression``."""
    return LineageGraph(
        nodes=(
            Node("p.a", "source", "p", "a", "csv", (source_column,)),
            Node("p.b", "transform", "p", "b", "sql", (target_column,)),
        ),
        edges=(edge(f"p.a.{source_column}", f"p.b.{target_column}", "expression", expression),),
    )


PAID = DatasetName("file", "/data/paid")


def two_pipelines() -> LineageGraph:
    """``orders`` writes a parquet dataset that ``report`` reads (its source declares no schema) and sums.

    Upstream of ``report.total.total``: report.load.amount_eur, the dataset's amount_eur, orders.write.amount_eur,
    orders.paid.amount_eur, orders.read.amount and orders.read.status (filter). Downstream of
    ``orders.read.status``: orders.paid.id and amount_eur (filter), then everything they reach.
    """
    return LineageGraph(
        nodes=(
            Node("orders.read", "source", "orders", "read", "csv", ("id", "amount", "status")),
            Node("orders.paid", "transform", "orders", "paid", "sql", ("id", "amount_eur")),
            Node("orders.write", "sink", "orders", "write", "parquet", ("id", "amount_eur")),
            Node(PAID.node_id, "dataset", None, None, None, ("id", "amount_eur"), dataset=PAID),
            Node("report.load", "source", "report", "load", "parquet", None),
            Node("report.total", "transform", "report", "total", "aggregate", ("total",)),
        ),
        edges=(
            edge("orders.read.id", "orders.paid.id"),
            edge("orders.read.amount", "orders.paid.amount_eur", "expression", "amount * 0.9"),
            edge("orders.read.status", "orders.paid.id", "filter", "status = 'paid'"),
            edge("orders.read.status", "orders.paid.amount_eur", "filter", "status = 'paid'"),
            edge("orders.paid.id", "orders.write.id"),
            edge("orders.paid.amount_eur", "orders.write.amount_eur"),
            edge("orders.write.id", f"{PAID.node_id}.id"),
            edge("orders.write.amount_eur", f"{PAID.node_id}.amount_eur"),
            edge(f"{PAID.node_id}.amount_eur", "report.load.amount_eur"),
            edge("report.load.amount_eur", "report.total.total", "aggregation", "sum(amount_eur)"),
        ),
        unknowns=(Unknown("report.load", "the source declares no schema", "declare the source's schema"),),
    )
