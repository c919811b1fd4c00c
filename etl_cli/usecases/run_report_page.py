"""The page of ``etl-cli runs report``: one self-contained HTML file, charts drawn as inline SVG here.

It must open from a mail attachment or a CI artefact with no network: styles and script are
inlined (run_report.css, run_report.js beside this module, as the DAG page ships its own), and
nothing is loaded from anywhere. The charts read without the script; the script adds a tooltip
on focus, arrow keys between the marks of a chart, and selecting one run everywhere
(``#run=RUN_ID`` opens the page with that run selected). Every mark can take the keyboard
focus and names its exact values in its ``<title>`` and ``aria-label``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from importlib.resources import files

from etl_cli.orchestration.dag_render import status_style
from etl_cli.runtime.bookkeeping.history import RunDetail, RunRow
from etl_cli.usecases.run_report import OUTCOMES, CheckRate, PipelineReport, RunReport, StageSeries

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 70, 16, 14, 40
#: recent runs listed in each section's table
TABLE_ROWS = 20
#: one colour per stage line, in turn (colour-blind-safe Tableau 10)
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
OUTCOME_COLOURS = {
    "passed": "#16a34a",
    "tolerated": "#84cc16",
    "warned": "#d97706",
    "failed": "#dc2626",
    "skipped": "#9ca3af",
}
_MISSING = "—"


def html_page(report: RunReport) -> str:
    """The whole page: heading, what it covers, then a section per pipeline and environment (or why there is none)."""
    title = "Run history report"
    body = [_section(section) for section in report.sections] or [_empty(report)]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>\n{_asset('run_report.css')}</style>",
            "</head>",
            "<body>",
            f"<header><h1>{escape(title)}</h1>{_covers(report)}{_contents(report)}</header>",
            "<main>",
            *body,
            "</main>",
            '<div id="tip" role="tooltip" hidden></div>',
            f"<script>\n{_asset('run_report.js')}</script>",
            "</body>",
            "</html>",
        ]
    )


def _asset(name: str) -> str:
    """The text of a file shipped beside this module (the page's styles and script)."""
    return files("etl_cli.usecases").joinpath(name).read_text(encoding="utf-8")


def _covers(report: RunReport) -> str:
    asked = [f"history {report.store}", f"generated {_when(report.generated_at)} UTC"]
    if report.request.pipeline:
        asked.append(f"pipeline {report.request.pipeline}")
    if report.request.env:
        asked.append(f"environment {report.request.env}")
    if report.since is not None:
        asked.append(f"runs since {_when(report.since)} UTC")
    asked.append(f"at most {report.request.limit} runs per pipeline and environment")
    summary = f"{plural(report.run_count, 'run')} · {plural(len(report.sections), 'pipeline section')}"
    return f'<p class="summary">{escape(summary)}</p><p class="covers">{escape(" · ".join(asked))}</p>'


def _contents(report: RunReport) -> str:
    if len(report.sections) < 2:
        return ""
    links = "".join(
        f'<li><a href="#{_anchor(s)}">{escape(_heading(s))}</a> ({len(s.runs)} runs)</li>' for s in report.sections
    )
    return f'<nav aria-label="pipelines"><ul>{links}</ul></nav>'


def _empty(report: RunReport) -> str:
    return f'<p class="empty">{escape(empty_message(report))}</p>'


def empty_message(report: RunReport) -> str:
    """What the page and the command say when no run matches: where they looked, and what to do."""
    asked = []
    if report.request.env:
        asked.append(f"in environment {report.request.env}")
    if report.since is not None:
        asked.append(f"since {_when(report.since)} UTC")
    which = f" {' '.join(asked)}" if asked else ""
    return (
        f"No runs recorded{which} in the run history {report.store}: nothing to chart. "
        "Runs are recorded when they end (etl-cli run PIPELINE); etl-cli runs list shows what is there."
    )


def _anchor(section: PipelineReport) -> str:
    return f"pipeline-{section.pipeline}-{section.env}"


def _heading(section: PipelineReport) -> str:
    return f"{section.pipeline} · {section.env}"


def _section(section: PipelineReport) -> str:
    return "\n".join(
        [
            f'<section class="pipeline" id="{escape(_anchor(section))}" data-pipeline="{escape(section.pipeline)}"'
            f' data-env="{escape(section.env)}" data-runs="{len(section.runs)}">',
            f"<h2>{escape(_heading(section))}</h2>",
            f'<p class="summary">{escape(_status_summary(section))}</p>',
            "<h3>Duration and status of each run</h3>",
            _duration_chart(section),
            _status_legend(section),
            "<h3>Rows per stage</h3>",
            _rows_chart(section),
            "<h3>Data-quality checks</h3>",
            _checks_chart(section),
            "<h3>Recent runs</h3>",
            _runs_table(section),
            "</section>",
        ]
    )


def _status_summary(section: PipelineReport) -> str:
    counted = ", ".join(f"{n} {status}" for status, n in sorted(section.statuses.items()))
    successes = [d.run for d in section.runs if d.run.status == "success"]
    last = f"last success {_started(successes[-1])} UTC" if successes else "no success in these runs"
    return f"{len(section.runs)} runs: {counted}; {last}"


# --------------------------------------------------------------------------- axes


def _x(index: int, count: int) -> float:
    """The centre of run ``index`` of ``count`` on the time axis (runs in order, evenly spaced)."""
    return LEFT + (index + 0.5) * (WIDTH - LEFT - RIGHT) / count


def _y(value: float, top: float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return HEIGHT - BOTTOM - (value / top * plot if top else 0.0)


def _nice_top(largest: float) -> float:
    """The top of an axis of four equal steps, each 1, 2, 2.5 or 5 times a power of ten, reaching ``largest``."""
    if largest <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(largest / 4))
    return 4 * next(power * step for step in (1, 2, 2.5, 5, 10) if 4 * power * step >= largest)


def _axes(top: float, runs: Sequence[RunDetail], unit: str) -> str:
    """Horizontal grid lines with their values, and the first, middle and last run's start under the axis."""
    parts = []
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        value = top * fraction
        y = _y(value, top)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>')
    parts.append(f'<text class="unit" x="4" y="{TOP + 4}">{escape(unit)}</text>')
    count = len(runs)
    for index in sorted({0, count // 2, count - 1}):
        anchor = "start" if index == 0 and count > 1 else ("end" if index == count - 1 and count > 1 else "middle")
        x = _x(index, count)
        label = escape(_started(runs[index].run))
        parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="{anchor}">{label}</text>')
    return "".join(parts)


def _svg(kind: str, label: str, content: Iterable[str], height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart {kind}" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}"'
        f' role="group" aria-label="{escape(label)}">{"".join(content)}</svg>'
    )


def _mark(tag: str, classes: str, run: str | None, text: str, **attributes: str) -> str:
    """One focusable mark with its exact values as its title (hover) and accessible name (keyboard, readers)."""
    drawn = " ".join(f'{name.replace("_", "-")}="{value}"' for name, value in attributes.items())
    data = f' data-run="{escape(run)}"' if run else ""
    return (
        f'<{tag} class="mark {classes}"{data} tabindex="0" aria-label="{escape(text)}" {drawn}>'
        f"<title>{escape(text)}</title></{tag}>"
    )


# --------------------------------------------------------------------------- charts


def _duration_chart(section: PipelineReport) -> str:
    """A bar per run, as tall as it took, in its status's colour (a run without a duration: a stub on the axis)."""
    runs = section.runs
    top = _nice_top(max((d.run.duration_s or 0.0 for d in runs), default=0.0))
    width = max(2.0, (WIDTH - LEFT - RIGHT) / len(runs) * 0.7)
    bars = []
    for index, detail in enumerate(runs):
        run = detail.run
        y = _y(run.duration_s or 0.0, top) if run.duration_s else HEIGHT - BOTTOM - 2
        x = _x(index, len(runs)) - width / 2
        text = f"run {run.run_id} · started {_started(run)} UTC · {run.status}"
        text += f" · exit {run.exit_code}" if run.exit_code is not None else ""
        text += f" · took {_seconds(run.duration_s)}"
        colour = status_style(run.status).border
        bars.append(
            _mark(
                "rect",
                f"run status-{_token(run.status)}",
                run.run_id,
                text,
                x=f"{x:.1f}",
                y=f"{y:.1f}",
                width=f"{width:.1f}",
                height=f"{HEIGHT - BOTTOM - y:.1f}",
                fill=colour,
            )
        )
    label = f"duration of each of the {len(runs)} runs of {_heading(section)}, oldest first, coloured by status"
    return _svg("durations", label, [_axes(top, runs, "seconds"), '<g class="marks">', *bars, "</g>"])


def _status_legend(section: PipelineReport) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{status_style(status).border}"></span>{escape(status)} ({n})</li>'
        for status, n in sorted(section.statuses.items())
    )
    return f'<ul class="legend">{items}</ul>'


def _rows_chart(section: PipelineReport) -> str:
    """A line per stage through its rows out in each run that counted them; a dot per count."""
    runs, stages = section.runs, section.stages()
    top = _nice_top(max((n for s in stages for n in s.rows_out if n is not None), default=0))
    lines, dots = [], []
    for number, stage in enumerate(stages):
        colour = PALETTE[number % len(PALETTE)]
        points = [(index, n) for index, n in enumerate(stage.rows_out) if n is not None]
        for segment in _unbroken(points):
            route = " ".join(f"{_x(i, len(runs)):.1f},{_y(n, top):.1f}" for i, n in segment)
            lines.append(
                f'<polyline class="line" data-stage="{escape(stage.name)}" points="{route}" stroke="{colour}"/>'
            )
        for index, rows in points:
            run = runs[index].run
            text = f"{stage.kind} {stage.name} · run {run.run_id} · started {_started(run)} UTC · {rows:,} rows out"
            dots.append(
                _mark(
                    "circle",
                    "point",
                    run.run_id,
                    text,
                    cx=f"{_x(index, len(runs)):.1f}",
                    cy=f"{_y(rows, top):.1f}",
                    r="4",
                    fill=colour,
                    data_stage=escape(stage.name),
                )
            )
    label = f"rows out of each stage of {_heading(section)} in each run, oldest first"
    chart = _svg("rows", label, [_axes(top, runs, "rows"), *lines, '<g class="marks">', *dots, "</g>"])
    return chart + _stage_legend(stages)


def _unbroken(points: Sequence[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """The points split where runs did not count the stage: a line never bridges a run without a count."""
    segments: list[list[tuple[int, int]]] = []
    for point in points:
        if segments and segments[-1][-1][0] == point[0] - 1:
            segments[-1].append(point)
        else:
            segments.append([point])
    return segments


def _stage_legend(stages: Sequence[StageSeries]) -> str:
    if not stages:
        return '<p class="none">No stage recorded in these runs.</p>'
    items = "".join(
        f'<li><span class="swatch" style="background:{PALETTE[n % len(PALETTE)]}"></span>'
        f"{escape(stage.name)} <small>({escape(stage.kind)}{_uncounted(stage)})</small></li>"
        for n, stage in enumerate(stages)
    )
    return f'<ul class="legend">{items}</ul>'


def _uncounted(stage: StageSeries) -> str:
    return "" if any(n is not None for n in stage.rows_out) else ", rows not counted"


_CHECK_ROW = 28
_CHECK_LABEL = 230
_CHECK_RATE = 150


def _checks_chart(section: PipelineReport) -> str:
    """A bar per check split by the outcomes it had over the runs, and its failure rate (warned or failed)."""
    checks = section.checks()
    if not checks:
        return '<p class="none">No data-quality check in these runs.</p>'
    height = TOP + _CHECK_ROW * len(checks) + 8
    parts = [_check_row(check, TOP + row * _CHECK_ROW) for row, check in enumerate(checks)]
    label = f"outcomes of each data-quality check of {_heading(section)} over its runs"
    legend = "".join(
        f'<li><span class="swatch" style="background:{OUTCOME_COLOURS[o]}"></span>{o}</li>' for o in OUTCOMES
    )
    return _svg("checks", label, parts, height) + f'<ul class="legend">{legend}</ul>'


def _check_row(check: CheckRate, y: int) -> str:
    name = check.name + (f" ({check.stage})" if check.stage else "")
    total = sum(n for _, n in check.outcomes)
    span = WIDTH - _CHECK_LABEL - _CHECK_RATE
    parts = [f'<text class="label" x="{_CHECK_LABEL - 8}" y="{y + 15}" text-anchor="end">{escape(name)}</text>']
    x = float(_CHECK_LABEL)
    for outcome, n in check.outcomes:
        width = span * n / total
        text = f"check {check.name}: {outcome} in {n} of {total} runs"
        parts.append(
            _mark(
                "rect",
                f"outcome outcome-{_token(outcome)}",
                None,
                text,
                x=f"{x:.1f}",
                y=str(y + 2),
                width=f"{width:.1f}",
                height=str(_CHECK_ROW - 8),
                fill=OUTCOME_COLOURS.get(outcome, "#6b7280"),
                data_check=escape(check.name),
            )
        )
        x += width
    rate = check.failure_rate
    said = _MISSING if rate is None else f"{rate:.0%} ({check.breached} of {check.judged} runs)"
    parts.append(f'<text class="rate" x="{WIDTH - _CHECK_RATE + 8}" y="{y + 15}">{escape(said)}</text>')
    return "".join(parts)


# --------------------------------------------------------------------------- table


def _runs_table(section: PipelineReport) -> str:
    head = "".join(
        f'<th scope="col">{c}</th>'
        for c in ("run id", "started (UTC)", "status", "exit", "duration", "rows written", "error")
    )
    rows = "".join(_table_row(detail.run) for detail in reversed(section.runs[-TABLE_ROWS:]))
    shown = min(TABLE_ROWS, len(section.runs))
    caption = f"the {shown} most recent of {len(section.runs)} runs, newest first"
    return (
        f'<table class="runs"><caption>{caption}</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )


def _table_row(run: RunRow) -> str:
    swatch = f'<span class="swatch" style="background:{status_style(run.status).border}"></span>'
    error = ""
    if run.error_type or run.error_message:
        where = f"in stage {run.error_stage}: " if run.error_stage else ""
        error = f"{where}{run.error_type or ''}: {run.error_message or ''}"
    cells = [
        f"<td><code>{escape(run.run_id)}</code></td>",
        f"<td>{escape(_started(run))}</td>",
        f"<td>{swatch}{escape(run.status)}</td>",
        f'<td class="n">{_MISSING if run.exit_code is None else run.exit_code}</td>',
        f'<td class="n">{_seconds(run.duration_s)}</td>',
        f'<td class="n">{_MISSING if run.rows_written is None else f"{run.rows_written:,}"}</td>',
        f'<td class="error">{escape(error)}</td>',
    ]
    return f'<tr data-run="{escape(run.run_id)}">{"".join(cells)}</tr>'


# --------------------------------------------------------------------------- values


def _token(text: str) -> str:
    """``text`` as a CSS class part: letters, digits and dashes."""
    return "".join(c if c.isalnum() else "-" for c in text.lower())


def _number(value: float) -> str:
    """An axis value: ``12.5``, ``1,000``, ``0.25`` (no trailing zeros)."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def plural(count: int, noun: str) -> str:
    """``1 run``, ``3 runs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _seconds(seconds: float | None) -> str:
    if seconds is None:
        return _MISSING
    return f"{seconds:.2f}s" if seconds < 60 else f"{seconds:,.0f}s ({seconds / 60:.1f} min)"


def _started(run: RunRow) -> str:
    try:
        return _when(datetime.fromisoformat(run.started_at))
    except ValueError:
        return run.started_at


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")
