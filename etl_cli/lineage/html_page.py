"""A lineage graph as one self-contained HTML page: an inline SVG drawing, its styles and a small script.

The page is a file to open, attach or publish, so it loads nothing: no CDN, no font, no image; the layout
is computed in Python (:mod:`etl_cli.lineage.layout`) and drawn as SVG, and the script
(``html_page.js`` beside this module) only highlights, for a column under the pointer or clicked, the
columns it is made from (upstream) and those it reaches (downstream). Every name in the graph is escaped:
a column may be called ``</script>``.
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files

from etl_cli.lineage.layout import HEADER_LINE, ROW_HEIGHT, Box, Layout, layout
from etl_cli.lineage.picture import (
    HOW_STYLES,
    KIND_COLOURS,
    UNKNOWN_COLOUR,
    Picture,
    header_colour,
    how_style,
    influences_rows_only,
)

#: the stripe on a box's left that tells its pipeline, one colour per pipeline in turn
PIPELINE_COLOURS = ("#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#4b5563")
ELLIPSIS = "…"


def html_page(drawn: Picture, heading: str) -> str:
    """The whole page: heading, unknowns, the drawing, the legend, and the data and script that highlight."""
    placed = layout(drawn)
    colours = {name: PIPELINE_COLOURS[i % len(PIPELINE_COLOURS)] for i, name in enumerate(drawn.pipelines())}
    summary = f"{len(drawn.nodes)} nodes · {len(drawn.edges)} column edges · {len(drawn.unknowns)} unknown"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(heading)}</title>",
            f"<style>\n{_asset('html_page.css')}</style>",
            "</head>",
            "<body>",
            f'<header><h1>{escape(heading)}</h1><p class="summary">{escape(summary)}</p>',
            '<p class="hint">Point at a column to see what it is made from (upstream) and what it reaches'
            " (downstream); click it to keep the selection, Esc or a click elsewhere to clear.</p></header>",
            _unknowns(drawn),
            '<div class="main"><div class="canvas fit">',
            _svg(drawn, placed, colours),
            '</div><aside id="details" aria-live="polite"></aside></div>',
            _legend(colours),
            f'<script type="application/json" id="lineage-data">{_data(drawn)}</script>',
            f"<script>\n{_asset('html_page.js')}</script>",
            "</body>",
            "</html>",
        ]
    )


def _asset(name: str) -> str:
    """The text of a file shipped beside this module (the page's styles and script)."""
    return files("etl_cli.lineage").joinpath(name).read_text(encoding="utf-8")


def _unknowns(drawn: Picture) -> str:
    """The warning panel: every gap in the lineage, where, why, and what would fill it."""
    if not drawn.unknowns:
        return ""
    items = "".join(
        f"<li><code>{escape(u.node)}</code>: {escape(u.reason.rstrip('.'))}."
        f" <span class='fix'>{escape(u.hint)}</span></li>"
        for u in drawn.unknowns
    )
    return (
        f'<section id="unknowns" class="unknowns"><h2>⚠ Lineage partly unknown offline ({len(drawn.unknowns)})'
        f"</h2><ul>{items}</ul></section>"
    )


def _svg(drawn: Picture, placed: Layout, colours: dict[str, str]) -> str:
    """The drawing: arrowheads, then the edges (under the boxes), then the boxes."""
    refs = _column_indices(drawn)
    markers = "".join(
        f'<marker id="arrow-{how}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8"'
        f' markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{style.colour}"/></marker>'
        for how, style in HOW_STYLES.items()
    )
    edges = "".join(_edge(drawn, placed, index) for index in range(len(drawn.edges)))
    unknown = drawn.unknown_nodes()
    boxes = "".join(_box(box, refs, colours, box.node.id in unknown) for box in placed.boxes)
    size = (
        f'width="{placed.width:.0f}" height="{placed.height:.0f}" viewBox="0 0 {placed.width:.0f} {placed.height:.0f}"'
    )
    return (
        f'<svg id="lineage" {size} role="img" aria-label="lineage graph">'
        f'<defs>{markers}</defs><g class="edges">{edges}</g><g class="nodes">{boxes}</g></svg>'
    )


def _column_indices(drawn: Picture) -> dict[tuple[str, str], int]:
    """A number for every column drawn, in node order: the script finds columns and edges by these numbers."""
    refs = [(node.id, column) for node in drawn.nodes for column in drawn.columns[node.id]]
    return {ref: index for index, ref in enumerate(refs)}


def _edge(drawn: Picture, placed: Layout, index: int) -> str:
    """One edge: a curve coloured (and dashed for row influence) by how, its expression on hover."""
    edge = drawn.edges[index]
    style = how_style(edge.how)
    marker = f"arrow-{edge.how}" if edge.how in HOW_STYLES else "arrow-identity"
    tip = f"{edge.source} → {edge.target}: {edge.how}" + (f" ({edge.expression})" if edge.expression else "")
    return (
        f'<path class="edge how-{escape(edge.how)}" data-edge="{index}" d="{placed.route(edge)}"'
        f' stroke="{style.colour}"{_dashes(edge.how)}'
        f' marker-end="url(#{marker})"><title>{escape(tip)}</title></path>'
    )


def _dashes(how: str) -> str:
    """The SVG attribute that dashes lines of ``how`` when it is row influence only (as dot and mermaid do)."""
    return ' stroke-dasharray="6 4"' if influences_rows_only(how) else ""


def _box(box: Box, refs: dict[tuple[str, str], int], colours: dict[str, str], unknown: bool) -> str:
    """One node: a header with its name and kind, a stripe of its pipeline's colour, a row per column."""
    node = box.node
    dataset = f"dataset {node.dataset.namespace}:{node.dataset.name}" if node.dataset else None
    tip = "\n".join(line for line in (node.id, node.location, dataset) if line)
    parts = [
        f'<g class="node kind-{escape(node.kind)}{" unknown" if unknown else ""}" data-node="{escape(node.id)}"'
        f' transform="translate({box.x:.1f},{box.y:.1f})"><title>{escape(tip)}</title>',
        f'<rect class="box" width="{box.width:.0f}" height="{box.height:.0f}" rx="5"/>',
        f'<rect class="head" width="{box.width:.0f}" height="{box.header_height:.0f}" rx="5"'
        f' fill="{header_colour(node, unknown)}"/>',
    ]
    if node.pipeline is not None:
        parts.append(f'<rect class="stripe" width="5" height="{box.height:.0f}" fill="{colours[node.pipeline]}"/>')
    for line, text in enumerate(box.header):
        kind = "name" if line == 0 else "kind"
        # a dataset is named by its path or table: its end tells which
        shown = _fit(text, box.max_chars, keep_end=line == 0 and node.stage is None)
        parts.append(f'<text class="{kind}" x="12" y="{17 + HEADER_LINE * line}">{escape(shown)}</text>')
    for row, column in enumerate(box.rows):
        parts.append(
            f'<g class="col" data-col="{refs[(node.id, column)]}" transform="translate(0,{box.row_top(row):.0f})">'
            f'<rect width="{box.width:.0f}" height="{ROW_HEIGHT}"/>'
            f'<text x="12" y="14">{escape(_fit(column, box.max_chars))}</text>'
            f"<title>{escape(node.id)}.{escape(column)}</title></g>"
        )
    if box.placeholder:
        parts.append(f'<text class="placeholder" x="12" y="{box.row_top(0) + 14:.0f}">columns unknown</text>')
    return "".join([*parts, "</g>"])


def _fit(text: str, chars: int, keep_end: bool = False) -> str:
    """``text`` cut to ``chars`` characters, an ellipsis saying so (the full text shows on hover)."""
    if len(text) <= chars:
        return text
    kept = max(chars - 1, 1)
    return ELLIPSIS + text[-kept:] if keep_end else text[:kept] + ELLIPSIS


def _legend(colours: dict[str, str]) -> str:
    """What the colours and lines mean: how a column is made, what kind a box is, which pipeline it is in."""
    hows = "".join(
        f'<li><svg width="36" height="10" aria-hidden="true"><line x1="0" y1="5" x2="36" y2="5"'
        f' stroke="{style.colour}" stroke-width="2"{_dashes(how)}/></svg><b>{how}</b> {escape(style.meaning)}</li>'
        for how, style in HOW_STYLES.items()
    )
    kinds = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{kind}</li>'
        for kind, colour in [*KIND_COLOURS.items(), ("lineage partly unknown", UNKNOWN_COLOUR)]
    )
    pipelines = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{escape(name)}</li>'
        for name, colour in colours.items()
    )
    return (
        '<section class="legend"><div><h2>How a column is made</h2>'
        f'<ul class="hows">{hows}</ul></div><div><h2>Boxes</h2><ul>{kinds}</ul></div>'
        + (f"<div><h2>Pipelines</h2><ul>{pipelines}</ul></div>" if pipelines else "")
        + "</section>"
    )


def _data(drawn: Picture) -> str:
    """What the script needs, as JSON safe inside a script element: each column's name, each edge's ends."""
    refs = _column_indices(drawn)
    data = {
        "columns": [[node, column] for node, column in refs],
        "edges": [
            [refs[(e.source.node, e.source.column)], refs[(e.target.node, e.target.column)]] for e in drawn.edges
        ],
    }
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
