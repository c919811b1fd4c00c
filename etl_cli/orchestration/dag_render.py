"""The project DAG shown: a listing for the terminal, JSON for scripts, mermaid, Graphviz dot and an HTML page.

Every format shows the same thing: the selected pipelines in the order a DAG run takes them,
what each waits for and why (a ``depends_on``, or a dataset it reads that the other writes),
and how each pipeline's last run went. The pictures draw a box per pipeline and one per
dataset between two pipelines (written by one, read by another); a ``depends_on`` is a dashed
arrow from pipeline to pipeline. The HTML page is one file that loads nothing: it is laid out
here with the lineage page's layered layout (:func:`etl_cli.lineage.layout.layered`) and drawn
as SVG; its small script highlights what a pipeline waits for and what waits for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from importlib.resources import files
from typing import Any

from etl_cli.lineage.layout import CHAR_WIDTH, MARGIN, NODE_GAP, TEXT_PADDING, layered
from etl_cli.orchestration.dag import DagEdge, ProjectDag

FORMATS: tuple[str, ...] = ("text", "json", "mermaid", "dot", "html")
NEVER_RUN = "never run"


@dataclass(frozen=True)
class LastRun:
    """How a pipeline's latest recorded run went (``etl-cli runs show RUN_ID`` tells more)."""

    run_id: str
    status: str
    env: str
    started_at: str
    duration_s: float | None
    exit_code: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "env": self.env,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "exit_code": self.exit_code,
        }


@dataclass(frozen=True)
class DagView:
    """What to show: the whole DAG, the pipelines selected (in run order) and their last runs."""

    dag: ProjectDag
    selected: tuple[str, ...]
    last_runs: Mapping[str, LastRun]
    heading: str
    #: the environment the pipelines were loaded in, and whose runs ``last_runs`` are
    env: str | None = None

    def edges(self) -> list[DagEdge]:
        """The edges between selected pipelines."""
        chosen = set(self.selected)
        return [edge for edge in self.dag.edges if edge.upstream in chosen and edge.downstream in chosen]

    def status(self, name: str) -> str:
        run = self.last_runs.get(name)
        return run.status if run is not None else NEVER_RUN


@dataclass(frozen=True)
class StatusStyle:
    """How a last-run status is drawn: the box's fill and border, and what the legend calls it."""

    fill: str
    border: str
    meaning: str


STATUS_STYLES: dict[str, StatusStyle] = {
    "success": StatusStyle("#dcfce7", "#16a34a", "last run succeeded"),
    "failed": StatusStyle("#fee2e2", "#dc2626", "last run failed"),
    "running": StatusStyle("#dbeafe", "#2563eb", "running (or killed before it could record its end)"),
    NEVER_RUN: StatusStyle("#f3f4f6", "#9ca3af", "no run recorded"),
}
#: a status of its own (``interrupted``, ``terminated``...): the run ended before it was done
OTHER_STATUS = StatusStyle("#fef3c7", "#d97706", "last run stopped early (interrupted, terminated...)")
DATASET_FILL = "#ede9fe"


def status_style(status: str) -> StatusStyle:
    return STATUS_STYLES.get(status, OTHER_STATUS)


def render(view: DagView, fmt: str) -> str:
    """``view`` in ``fmt`` (one of :data:`FORMATS`), with its final newline."""
    writers = {"text": text, "json": lambda v: json.dumps(to_json(v), indent=2) + "\n", "mermaid": mermaid}
    writers.update({"dot": dot, "html": html_page})
    if fmt not in writers:
        raise ValueError(f"no DAG format {fmt!r}; the formats are {', '.join(FORMATS)}")
    return writers[fmt](view)


def _why(edge: DagEdge) -> str:
    return f"reads {edge.dataset}" if edge.reason == "dataset" else "depends_on"


# --------------------------------------------------------------------------- text


def text(view: DagView) -> str:
    """A line per selected pipeline in run order (name, tags, last run, folder, in aligned columns), each followed by
    what it waits for and why."""
    chosen = set(view.selected)
    rows = [
        (name, ", ".join(view.dag.pipelines[name].tags) or "-", _last_run_text(view.last_runs.get(name)))
        for name in view.selected
    ]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    env = f" (env {view.env})" if view.env else ""
    count = len(view.edges())
    lines = [f"{view.heading}{env}: {len(rows)} pipelines, {count} dependencies, in the order they run"]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join([*cells, view.dag.pipelines[row[0]].folder]))
        for edge in view.dag.edges_into(row[0]):
            outside = "" if edge.upstream in chosen else " (not selected)"
            lines.append(f"  after {edge.upstream}{outside}: {_why(edge)}")
    return "\n".join(lines) + "\n"


def _last_run_text(run: LastRun | None) -> str:
    """``success 2026-03-01 10:00:00 UTC``: the status, and when the run started, as ``etl-cli runs list`` shows it."""
    return NEVER_RUN if run is None else f"{run.status} {_started(run)}"


def _started(run: LastRun) -> str:
    try:
        return datetime.fromisoformat(run.started_at).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return run.started_at


# --------------------------------------------------------------------------- json


def to_json(view: DagView) -> dict[str, Any]:
    """The selected pipelines in run order, the edges between them with why, each pipeline's last run."""
    root = view.dag.root
    pipelines = []
    for name in view.selected:
        pipeline = view.dag.pipelines[name]
        run = view.last_runs.get(name)
        file = pipeline.file.resolve()
        pipelines.append(
            {
                "name": name,
                "file": file.relative_to(root).as_posix() if file.is_relative_to(root) else str(file),
                "folder": pipeline.folder,
                "tags": list(pipeline.tags),
                "upstream": sorted(view.dag.upstream_of(name)),
                "downstream": sorted(view.dag.downstream_of(name)),
                "last_run": run.to_json() if run is not None else None,
            }
        )
    edges = [
        {"upstream": e.upstream, "downstream": e.downstream, "reason": e.reason, "dataset": e.dataset}
        for e in view.edges()
    ]
    return {
        "project": str(root),
        "env": view.env,
        "order": list(view.selected),
        "pipelines": pipelines,
        "edges": edges,
    }


# --------------------------------------------------------------------------- the drawing, shared by the pictures


@dataclass(frozen=True)
class _Shape:
    """A box of a picture: a pipeline (``p<i>``) or a dataset between two pipelines (``d<i>``)."""

    id: str
    label: str
    #: the pipeline's name, None for a dataset
    pipeline: str | None


@dataclass(frozen=True)
class _Arrow:
    source: str
    target: str
    #: a depends_on (dashed, pipeline to pipeline) rather than data flowing through a dataset
    declared: bool


def _shapes(view: DagView) -> tuple[list[_Shape], list[_Arrow]]:
    """A box per selected pipeline and per dataset between two of them; arrows through the datasets."""
    ids = {name: f"p{index}" for index, name in enumerate(view.selected)}
    shapes = [_Shape(ids[name], name, name) for name in view.selected]
    datasets: dict[str, str] = {}
    arrows: dict[_Arrow, None] = {}
    for edge in view.edges():
        if edge.reason == "depends_on" or edge.dataset is None:
            arrows.setdefault(_Arrow(ids[edge.upstream], ids[edge.downstream], declared=True))
            continue
        if edge.dataset not in datasets:
            datasets[edge.dataset] = f"d{len(datasets)}"
            shapes.append(_Shape(datasets[edge.dataset], edge.dataset, None))
        arrows.setdefault(_Arrow(ids[edge.upstream], datasets[edge.dataset], declared=False))
        arrows.setdefault(_Arrow(datasets[edge.dataset], ids[edge.downstream], declared=False))
    return shapes, list(arrows)


# --------------------------------------------------------------------------- mermaid


def mermaid(view: DagView) -> str:
    """A mermaid flowchart: rounded pipeline boxes coloured by last run, dataset cylinders, dashed depends_on."""
    shapes, arrows = _shapes(view)
    lines = ["flowchart LR"]
    for shape in shapes:
        if shape.pipeline is None:
            lines.append(f'  {shape.id}[("{_mermaid_text(shape.label)}")]')
        else:
            status = _mermaid_text(view.status(shape.label))
            lines.append(f'  {shape.id}("{_mermaid_text(shape.label)}<br/>{status}")')
    for arrow in arrows:
        lines.append(f"  {arrow.source} {'-. depends_on .->' if arrow.declared else '-->'} {arrow.target}")
    styles = {**STATUS_STYLES, "other": OTHER_STATUS}
    for key, style in styles.items():
        lines.append(f"  classDef {_class_name(key)} fill:{style.fill},stroke:{style.border},stroke-width:2px")
    lines.append(f"  classDef dataset fill:{DATASET_FILL},stroke:#7c3aed")
    for shape in shapes:
        status = "dataset" if shape.pipeline is None else _class_name(view.status(shape.label))
        lines.append(f"  class {shape.id} {status}")
    return "\n".join(lines) + "\n"


def _class_name(status: str) -> str:
    """The mermaid class of a status: one of the known ones, else ``other``."""
    return status.replace(" ", "_") if status in STATUS_STYLES else "other"


def _mermaid_text(text: str) -> str:
    """``text`` inside a quoted mermaid label: what would end the label or read as markup as entity codes."""
    for char in '#"<>&`':
        text = text.replace(char, f"#{ord(char)};")
    return text.replace("\n", " ")


# --------------------------------------------------------------------------- Graphviz dot


def dot(view: DagView) -> str:
    """A Graphviz digraph: pipeline boxes filled by last run, dataset cylinders, dashed depends_on arrows."""
    shapes, arrows = _shapes(view)
    lines = [
        "digraph dag {",
        '  graph [rankdir=LR, fontname="Helvetica"];',
        '  node [fontname="Helvetica", fontsize=11, style=filled];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ]
    for shape in shapes:
        if shape.pipeline is None:
            attributes = f'shape=cylinder, fillcolor="{DATASET_FILL}", color="#7c3aed", fontsize=9'
            lines.append(f"  {shape.id} [label={_dot_string(shape.label)}, {attributes}];")
            continue
        status = view.status(shape.label)
        style = status_style(status)
        label = _dot_string(f"{shape.label}\n{status}")
        lines.append(
            f'  {shape.id} [label={label}, shape=box, style="rounded,filled", fillcolor="{style.fill}",'
            f' color="{style.border}", penwidth=2];'
        )
    for arrow in arrows:
        extra = ' [style=dashed, label="depends_on"]' if arrow.declared else ""
        lines.append(f"  {arrow.source} -> {arrow.target}{extra};")
    return "\n".join([*lines, "}"]) + "\n"


def _dot_string(text: str) -> str:
    """``text`` as a quoted dot string; a newline becomes dot's line break."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# --------------------------------------------------------------------------- HTML

#: px between layers: room for the arrows, narrower than the lineage page's (boxes here have no column rows)
LAYER_GAP = 64
PIPELINE_HEIGHT = 46
DATASET_HEIGHT = 30
MIN_BOX_WIDTH = 120
MAX_BOX_WIDTH = 320


@dataclass(frozen=True)
class _Placed:
    shape: _Shape
    x: float
    y: float
    width: float
    height: float


def _place(view: DagView, shapes: Sequence[_Shape], arrows: Sequence[_Arrow]) -> tuple[list[_Placed], float, float]:
    """Boxes in layers left to right (the lineage page's layout), each layer centred on the tallest."""
    by_id = {shape.id: shape for shape in shapes}
    layers = layered([shape.id for shape in shapes], [(arrow.source, arrow.target) for arrow in arrows])
    sized = [[_sized(view, by_id[shape_id]) for shape_id in layer] for layer in layers]
    heights = [sum(box.height for box in layer) + NODE_GAP * (len(layer) - 1) for layer in sized]
    tallest = max(heights, default=0.0)
    placed: list[_Placed] = []
    x = float(MARGIN)
    for layer, height in zip(sized, heights, strict=True):
        y = MARGIN + (tallest - height) / 2
        for box in layer:
            placed.append(_Placed(box.shape, x, y, box.width, box.height))
            y += box.height + NODE_GAP
        x += max(box.width for box in layer) + LAYER_GAP
    width = x - LAYER_GAP + MARGIN if sized else 2.0 * MARGIN
    return placed, width, tallest + 2 * MARGIN


def _sized(view: DagView, shape: _Shape) -> _Placed:
    lines = [shape.label] if shape.pipeline is None else [shape.label, _subtitle(view, shape.label)]
    width = min(max(max(len(line) for line in lines) * CHAR_WIDTH + TEXT_PADDING, MIN_BOX_WIDTH), MAX_BOX_WIDTH)
    height = DATASET_HEIGHT if shape.pipeline is None else PIPELINE_HEIGHT
    return _Placed(shape, 0.0, 0.0, width, height)


def _subtitle(view: DagView, name: str) -> str:
    tags = view.dag.pipelines[name].tags
    return view.status(name) + (f" · {', '.join(tags)}" if tags else "")


def html_page(view: DagView) -> str:
    """The whole page: heading, the drawing, a table of the pipelines, the legend, the script's data and script."""
    shapes, arrows = _shapes(view)
    placed, width, height = _place(view, shapes, arrows)
    summary = f"{len(view.selected)} pipelines · {len(view.edges())} dependencies"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(view.heading)}</title>",
            f"<style>\n{_asset('dag_page.css')}</style>",
            "</head>",
            "<body>",
            f'<header><h1>{escape(view.heading)}</h1><p class="summary">{escape(summary)}</p>',
            '<p class="hint">Point at a pipeline to see what it waits for (upstream) and what waits for it'
            " (downstream); click it to keep the selection, Esc or a click elsewhere to clear.</p></header>",
            '<div class="canvas">',
            _svg(view, placed, arrows, width, height),
            "</div>",
            _table(view),
            _legend(),
            f'<script type="application/json" id="dag-data">{_data(view, shapes, arrows)}</script>',
            f"<script>\n{_asset('dag_page.js')}</script>",
            "</body>",
            "</html>",
        ]
    )


def _asset(name: str) -> str:
    """The text of a file shipped beside this module (the page's styles and script)."""
    return files("etl_cli.orchestration").joinpath(name).read_text(encoding="utf-8")


def _svg(view: DagView, placed: Sequence[_Placed], arrows: Sequence[_Arrow], width: float, height: float) -> str:
    boxes = {box.shape.id: box for box in placed}
    marker = (
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8"'
        ' markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker>'
    )
    paths = "".join(_arrow(boxes[a.source], boxes[a.target], a.declared, index) for index, a in enumerate(arrows))
    drawn = "".join(_box(view, box) for box in placed)
    size = f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}"'
    return (
        f'<svg id="dag" {size} role="img" aria-label="pipelines and the datasets between them">'
        f'<defs>{marker}</defs><g class="arrows">{paths}</g><g class="boxes">{drawn}</g></svg>'
    )


def _arrow(source: _Placed, target: _Placed, declared: bool, index: int) -> str:
    x1, y1 = source.x + source.width, source.y + source.height / 2
    x2, y2 = target.x, target.y + target.height / 2
    bend = max(abs(x2 - x1) / 2, 40.0)
    route = f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    kind = "declared" if declared else "flow"
    dashes = ' stroke-dasharray="6 4"' if declared else ""
    tip = "depends_on" if declared else "data flows"
    return (
        f'<path class="arrow {kind}" data-arrow="{index}" d="{route}"{dashes}'
        f' marker-end="url(#arrow)"><title>{tip}</title></path>'
    )


def _box(view: DagView, box: _Placed) -> str:
    shape = box.shape
    where = f'transform="translate({box.x:.1f},{box.y:.1f})"'
    if shape.pipeline is None:
        return (
            f'<g class="dataset" data-dataset="{shape.id}" {where}><title>dataset {escape(shape.label)}</title>'
            f'<rect width="{box.width:.0f}" height="{box.height:.0f}" rx="14" fill="{DATASET_FILL}"/>'
            f'<text x="12" y="19">{escape(_fit(shape.label, box.width, keep_end=True))}</text></g>'
        )
    name = shape.label
    status = view.status(name)
    style = status_style(status)
    pipeline = view.dag.pipelines[name]
    tip = "\n".join([name, pipeline.folder, f"last run: {_last_run_text(view.last_runs.get(name))}"])
    return (
        f'<g class="pipeline status-{escape(_class_name(status))}" data-name="{escape(name)}"'
        f" {where}><title>{escape(tip)}</title>"
        f'<rect class="box" width="{box.width:.0f}" height="{box.height:.0f}" rx="6" fill="{style.fill}"'
        f' stroke="{style.border}"/>'
        f'<text class="name" x="12" y="19">{escape(_fit(name, box.width))}</text>'
        f'<text class="sub" x="12" y="36">{escape(_fit(_subtitle(view, name), box.width))}</text></g>'
    )


def _fit(text: str, width: float, keep_end: bool = False) -> str:
    """``text`` cut to what fits in a box ``width`` wide, an ellipsis saying so (the full text shows on hover)."""
    chars = int((width - TEXT_PADDING) / CHAR_WIDTH)
    if len(text) <= chars:
        return text
    kept = max(chars - 1, 1)
    return "…" + text[-kept:] if keep_end else text[:kept] + "…"


def _table(view: DagView) -> str:
    """The pipelines as a table too: run order, what each waits for and why, last run (readable without the SVG)."""
    rows = []
    for index, name in enumerate(view.selected, start=1):
        waits = "<br>".join(f"{escape(edge.upstream)}: {escape(_why(edge))}" for edge in view.dag.edges_into(name))
        run = view.last_runs.get(name)
        when = f" <span class='muted'>{escape(_started(run))} · {escape(run.run_id)}</span>" if run else ""
        status = view.status(name)
        rows.append(
            f'<tr data-name="{escape(name)}"><td>{index}</td><td><b>{escape(name)}</b><br>'
            f"<span class='muted'>{escape(view.dag.pipelines[name].folder)}</span></td>"
            f"<td>{escape(', '.join(view.dag.pipelines[name].tags))}</td><td>{waits or '—'}</td>"
            f'<td><span class="swatch" style="background:{status_style(status).fill};'
            f'border-color:{status_style(status).border}"></span>{escape(status)}{when}</td></tr>'
        )
    head = "<tr><th>#</th><th>pipeline</th><th>tags</th><th>runs after</th><th>last run</th></tr>"
    return f'<table class="pipelines"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _legend() -> str:
    statuses = [(style, key) for key, style in STATUS_STYLES.items()] + [(OTHER_STATUS, "other")]
    items = "".join(
        f'<li><span class="swatch" style="background:{style.fill};border-color:{style.border}"></span>'
        f"<b>{escape(key)}</b> {escape(style.meaning)}</li>"
        for style, key in statuses
    )
    return (
        f'<section class="legend"><div><h2>Last run</h2><ul>{items}</ul></div><div><h2>Arrows</h2><ul>'
        f'<li><span class="swatch" style="background:{DATASET_FILL}"></span>a dataset one pipeline writes and'
        " another reads</li><li><svg width='36' height='10' aria-hidden='true'><line x1='0' y1='5' x2='36' y2='5'"
        " stroke='#6b7280' stroke-width='2' stroke-dasharray='6 4'/></svg>depends_on</li></ul></div></section>"
    )


def _data(view: DagView, shapes: Sequence[_Shape], arrows: Sequence[_Arrow]) -> str:
    """What the script needs, as JSON safe inside a script element: each edge, its arrows and its dataset's box."""
    ids = {shape.pipeline: shape.id for shape in shapes if shape.pipeline is not None}
    datasets = {shape.label: shape.id for shape in shapes if shape.pipeline is None}
    index = {(arrow.source, arrow.target, arrow.declared): number for number, arrow in enumerate(arrows)}
    edges = []
    for edge in view.edges():
        up, down = ids[edge.upstream], ids[edge.downstream]
        if edge.reason == "depends_on" or edge.dataset is None:
            edges.append({"from": edge.upstream, "to": edge.downstream, "arrows": [index[(up, down, True)]]})
            continue
        between = datasets[edge.dataset]
        drawn = [index[(up, between, False)], index[(between, down, False)]]
        edges.append({"from": edge.upstream, "to": edge.downstream, "arrows": drawn, "dataset": between})
    return json.dumps({"edges": edges}, ensure_ascii=False).replace("<", "\\u003c")
