"""The text of ``etl-cli lineage``: each stage and dataset, and where each of its columns comes from.

Plain aligned lines, the same on a terminal, in a pipe and in a log. A transform lists each
column with the input columns it is made from (``←``), how (identity left unsaid) and the
expression; the row influences that reach every column (a filter, join keys, group keys)
are listed once, as ``(rows)``, and a column only they reach says ``← (rows)``. Sources,
sinks and datasets list their columns and the dataset they read or write. Narrowed to one
column (``--column``), each node shows only the columns on the path.
"""

from __future__ import annotations

from collections.abc import Iterable

from etl_cli.lineage.model import ROW_INFLUENCE, ColumnEdge, ColumnRef, LineageGraph, Node

ARROW = "←"
#: the line of the row influences that reach every column
ROWS = "(rows)"


def listing(graph: LineageGraph, column: ColumnRef | None = None, direction: str = "both") -> str:
    """The lineage as text; ``column`` and ``direction`` say what it was narrowed to, if it was."""
    lines = [_title(column, direction)] if column is not None else []
    for node in graph.nodes:
        lines += ["", *_node_lines(graph, node, narrowed=column is not None)]
    if graph.unknowns:
        lines += ["", "not known offline:"]
        for unknown in graph.unknowns:
            lines += [f"  {unknown.node}: {unknown.reason}", f"    hint: {unknown.hint}"]
    return "\n".join(lines).strip("\n") + "\n"


def _title(column: ColumnRef, direction: str) -> str:
    what = {"upstream": "what makes", "downstream": "what depends on"}.get(direction, "what makes and depends on")
    return f"{what} {column}"


def _node_lines(graph: LineageGraph, node: Node, narrowed: bool) -> list[str]:
    """The node's header, then its columns and where each comes from."""
    header = f"{node.id}  ({'dataset' if node.kind == 'dataset' else f'{node.type} {node.kind}'})"
    lines = [header + (f"  {node.location}" if node.location else "")]
    incoming = [edge for edge in graph.edges if edge.target.node == node.id]
    columns = _shown_columns(graph, node, narrowed)
    if node.kind != "transform":
        lines += _table_lines(node, incoming, columns)
        return lines
    everywhere = _row_influences_on_every_column(incoming, columns)
    width = max([len(c) for c in columns] + [len(ROWS)])
    for name in columns:
        edges = [e for e in incoming if e.target.column == name and _group(e) not in everywhere]
        lines += _derivations(node, name, edges, width) or [_underived(name, width, bool(everywhere), narrowed)]
    if node.columns is None:
        lines.append(f"  {'…':<{width}}  other columns are not known offline")
    lines += _derivations(node, ROWS, [e for e in incoming if _group(e) in everywhere], width)
    return lines


def _shown_columns(graph: LineageGraph, node: Node, narrowed: bool) -> list[str]:
    """Every column of the node; narrowed, only those an edge of the graph names."""
    columns = [ref.column for ref in graph.columns_of(node.id)]
    if not narrowed:
        return columns
    named = {ref.column for e in graph.edges for ref in (e.source, e.target) if ref.node == node.id}
    return [c for c in columns if c in named]


def _table_lines(node: Node, incoming: list[ColumnEdge], columns: list[str]) -> list[str]:
    """A source, sink or dataset: what it reads or writes, and its columns."""
    lines = []
    if node.dataset is not None and node.kind == "source":
        lines.append(f"  reads {node.dataset.node_id}")
    if node.dataset is not None and node.kind == "sink":
        lines.append(f"  writes {node.dataset.node_id}")
    if node.kind == "sink" and incoming:
        lines.append(f"  from {incoming[0].source.node}")
    shown = ", ".join(columns) if columns else "none known"
    lines.append(f"  columns: {shown}" + ("" if node.columns is not None else " (others not known offline)"))
    return lines


def _group(edge: ColumnEdge) -> tuple[ColumnRef, str, str | None]:
    return (edge.source, edge.how, edge.expression)


def _row_influences_on_every_column(
    edges: list[ColumnEdge], columns: list[str]
) -> set[tuple[ColumnRef, str, str | None]]:
    """The row influences that reach each of ``columns`` (listed once, not under every column).

    A column its source makes (the filtered column itself) counts as reached: the engine keeps one
    edge per pair of columns, the value relation.
    """
    made: dict[ColumnRef, set[str]] = {}
    for edge in edges:
        made.setdefault(edge.source, set()).add(edge.target.column)
    groups = {_group(edge) for edge in edges if edge.how in ROW_INFLUENCE}
    return {group for group in groups if columns and made[group[0]] >= set(columns)}


def _derivations(node: Node, name: str, edges: Iterable[ColumnEdge], width: int) -> list[str]:
    """One line per (how, expression): the input columns it reads, then how and the expression."""
    grouped: dict[tuple[str, str | None], list[str]] = {}
    for edge in edges:
        sources = grouped.setdefault((edge.how, edge.expression), [])
        shown = _source(node, edge.source)
        if shown not in sources:
            sources.append(shown)
    lines = []
    for index, ((how, expression), sources) in enumerate(grouped.items()):
        label = name if index == 0 else ""
        detail = "" if how == "identity" else f"  {how}" + (f": {expression}" if expression else "")
        lines.append(f"  {label:<{width}}  {ARROW} {', '.join(sources)}{detail}")
    return lines


def _underived(name: str, width: int, rows: bool, narrowed: bool) -> str:
    """A column no input column makes (``count(*)``, a literal): only the row influences reach it, if any.

    Narrowed downstream, the column it starts from shows no inputs: they are not on the path.
    """
    if rows:
        return f"  {name:<{width}}  {ARROW} {ROWS}"
    return f"  {name}" if narrowed else f"  {name:<{width}}  {ARROW} (no input column)"


def _source(node: Node, ref: ColumnRef) -> str:
    """An input column, without the pipeline name when it is the node's own pipeline."""
    own = f"{node.pipeline}."
    return str(ref)[len(own) :] if node.pipeline and ref.node.startswith(own) else str(ref)
