"""Pictures of a lineage graph as text: mermaid (for Markdown pages), Graphviz dot, and a self-contained HTML page.

Rendering lives below the CLI so that a use case can write a picture to a file as well as the command can
print it. Every format draws the same thing (:mod:`etl_cli.lineage.picture`): a box per stage or dataset
listing its columns, one group per pipeline, and an edge from each input column to each output column it
makes, named by how (identity edges unnamed, row influence such as a filter dashed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from etl_cli.lineage.html_page import html_page
from etl_cli.lineage.model import ColumnRef, LineageGraph, Node
from etl_cli.lineage.picture import (
    Picture,
    header_colour,
    how_style,
    influences_rows_only,
    label_lines,
    picture,
)

FORMATS: tuple[str, ...] = ("mermaid", "dot", "html")


def render(graph: LineageGraph, fmt: str, *, heading: str = "Lineage") -> str:
    """``graph`` drawn in ``fmt`` (one of :data:`FORMATS`); ``heading`` titles the HTML page."""
    renderers: dict[str, Callable[[Picture], str]] = {
        "mermaid": mermaid,
        "dot": dot,
        "html": lambda drawn: html_page(drawn, heading),
    }
    if fmt not in renderers:
        raise ValueError(f"no lineage picture in format {fmt!r}; the formats are {', '.join(FORMATS)}")
    return renderers[fmt](picture(graph))


def _node_ids(drawn: Picture) -> dict[str, str]:
    """Short ids (n0, n1, ...) for the nodes: a graph's ids hold characters the formats give meaning to."""
    return {node.id: f"n{index}" for index, node in enumerate(drawn.nodes)}


def _groups(drawn: Picture) -> list[tuple[str | None, list[Node]]]:
    """The nodes grouped by pipeline in the order groups first appear; a dataset is a group of its own."""
    groups: list[tuple[str | None, list[Node]]] = []
    by_pipeline: dict[str, list[Node]] = {}
    for node in drawn.nodes:
        if node.pipeline is None:
            groups.append((None, [node]))
        elif node.pipeline in by_pipeline:
            by_pipeline[node.pipeline].append(node)
        else:
            by_pipeline[node.pipeline] = [node]
            groups.append((node.pipeline, by_pipeline[node.pipeline]))
    return groups


# --------------------------------------------------------------------------- mermaid


def mermaid(drawn: Picture) -> str:
    """A mermaid flowchart: a subgraph per pipeline holding a subgraph per stage, whose nodes are its columns."""
    ids = _node_ids(drawn)
    lines = ["flowchart LR"]
    pipelines = {name: index for index, name in enumerate(drawn.pipelines())}
    for pipeline, nodes in _groups(drawn):
        indent = "  "
        if pipeline is not None:
            lines.append(f'  subgraph p{pipelines[pipeline]}["{_mermaid_text(pipeline)}"]')
            indent = "    "
        for node in nodes:
            lines += _mermaid_node(drawn, node, ids[node.id], indent)
        if pipeline is not None:
            lines.append("  end")
    for edge in drawn.edges:
        source = _mermaid_column(drawn, ids, edge.source.node, edge.source.column)
        target = _mermaid_column(drawn, ids, edge.target.node, edge.target.column)
        arrow = "-.->" if influences_rows_only(edge.how) else "-->"
        label = "" if edge.how == "identity" else f"|{_mermaid_text(edge.how)}|"
        lines.append(f"  {source} {arrow}{label} {target}")
    lines += [f"%% unknown: {u.node}: {u.reason} ({u.hint})".replace("\n", " ") for u in drawn.unknowns]
    return "\n".join(lines) + "\n"


def _mermaid_node(drawn: Picture, node: Node, short: str, indent: str) -> list[str]:
    """A stage's subgraph: its name and kind as the title, a node per column inside."""
    # one line: mermaid makes no room for a subgraph title of more, and draws it over the columns
    label = _mermaid_text(" · ".join(label_lines(drawn, node)))
    lines = [f'{indent}subgraph {short}["{label}"]']
    columns = drawn.columns[node.id]
    lines += [f'{indent}  {short}c{index}["{_mermaid_text(column)}"]' for index, column in enumerate(columns)]
    if not columns and node.columns is None:
        lines.append(f'{indent}  {short}u["columns unknown"]')
    return [*lines, f"{indent}end"]


def _mermaid_column(drawn: Picture, ids: dict[str, str], node: str, column: str) -> str:
    return f"{ids[node]}c{drawn.columns[node].index(column)}"


def _mermaid_text(text: str) -> str:
    """``text`` inside a quoted mermaid label: what would end the label or read as markup as entity codes."""
    for char in '#"<>&`':
        text = text.replace(char, f"#{ord(char)};")
    return text.replace("\n", " ")


# --------------------------------------------------------------------------- Graphviz dot


def dot(drawn: Picture) -> str:
    """A Graphviz digraph: a cluster per pipeline, a table per stage with a port per column, edges port to port."""
    ids = _node_ids(drawn)
    lines = [
        "digraph lineage {",
        '  graph [rankdir=LR, fontname="Helvetica", ranksep=1];',
        '  node [shape=plain, fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.6];',
    ]
    lines += [f"  // unknown: {u.node}: {u.reason} ({u.hint})".replace("\n", " ") for u in drawn.unknowns]
    for index, (pipeline, nodes) in enumerate(_groups(drawn)):
        if pipeline is None:
            lines += [f"  {_dot_node(drawn, node, ids[node.id])}" for node in nodes]
            continue
        lines += [f"  subgraph cluster_{index} {{", f"    label={_dot_string(pipeline)};"]
        lines += [f"    {_dot_node(drawn, node, ids[node.id])}" for node in nodes]
        lines.append("  }")
    for edge in drawn.edges:
        source = f"{ids[edge.source.node]}:c{drawn.columns[edge.source.node].index(edge.source.column)}:e"
        target = f"{ids[edge.target.node]}:c{drawn.columns[edge.target.node].index(edge.target.column)}:w"
        attributes = [] if edge.how == "identity" else [f"label={_dot_string(edge.how)}"]
        attributes.append(f"color={_dot_string(how_style(edge.how).colour)}")
        if influences_rows_only(edge.how):
            attributes.append("style=dashed")
        if edge.expression:
            attributes.append(f"tooltip={_dot_string(edge.expression)}")
        lines.append(f"  {source} -> {target} [{', '.join(attributes)}];")
    return "\n".join([*lines, "}"]) + "\n"


def _dot_node(drawn: Picture, node: Node, short: str) -> str:
    """A node as an HTML-like table: a header cell, then a row per column whose port edges attach to."""
    unknown = node.id in drawn.unknown_nodes()
    head = label_lines(drawn, node)
    header = f"<B>{escape(head[0], quote=False)}</B>" + "".join(
        f"<BR/>{escape(line, quote=False)}" for line in head[1:]
    )
    rows = [f'<TR><TD BGCOLOR="{header_colour(node, unknown)}">{header}</TD></TR>']
    columns = drawn.columns[node.id]
    rows += [
        f'<TR><TD PORT="c{i}" ALIGN="LEFT">{escape(column, quote=False)}</TD></TR>' for i, column in enumerate(columns)
    ]
    if not columns and node.columns is None:
        rows.append("<TR><TD><I>columns unknown</I></TD></TR>")
    table = f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">{"".join(rows)}</TABLE>'
    return f"{short} [label=<{table}>];"


def _dot_string(text: str) -> str:
    """``text`` as a quoted dot string (a backslash would otherwise start an escape such as ``\\n``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def page_heading(pipelines: Sequence[str], column: ColumnRef | None, direction: str) -> str:
    """The title of a picture: the pipelines drawn, or the column it was narrowed to and in which direction."""
    if column is not None:
        towards = "upstream and downstream" if direction == "both" else direction
        return f"Lineage of {column} ({towards})"
    return f"Lineage of {', '.join(pipelines)}"
