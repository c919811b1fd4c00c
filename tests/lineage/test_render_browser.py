"""The HTML lineage page in a real browser (headless Chromium): its script runs and highlights a column's
upstream and downstream, and the page draws (a screenshot holds the drawing's colours, not a blank page).

The page opened at ``#column=NODE.COLUMN`` selects that column as a click would; the expected columns are
those worked out by hand in tests/lineage/drawings.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl_cli.lineage.model import LineageGraph, Node
from etl_cli.lineage.picture import KIND_COLOURS, UNKNOWN_COLOUR
from etl_cli.lineage.render import render
from tests.lineage.drawings import edge, two_pipelines
from tests.lineage.png import colour_counts, hex_colour, png_pixels
from tests.lineage.programs import PageDom, run_chromium

SELECTED = "#fde047"  # etl_cli/lineage/html_page.css: .col.selected


def _page(tmp_path: Path) -> Path:
    page = tmp_path / "lineage.html"
    page.write_text(render(two_pipelines(), "html", heading="orders and report"), encoding="utf-8")
    return page


def test_opening_the_page_at_a_column_highlights_what_it_is_made_from_and_what_it_reaches(tmp_path: Path) -> None:
    url = _page(tmp_path).as_uri() + "#column=orders.paid.amount_eur"
    dom = PageDom()
    dom.feed(run_chromium(tmp_path / "profile", "--dump-dom", url).stdout)
    assert dom.nodes == 6
    assert dom.having("selected") == {"orders.paid.amount_eur"}
    assert dom.having("upstream") == {"orders.read.amount", "orders.read.status"}
    assert dom.having("downstream") == {
        "orders.write.amount_eur",
        "dataset:file:/data/paid.amount_eur",
        "report.load.amount_eur",
        "report.total.total",
    }


def test_the_script_lists_the_selection_in_the_details_panel(tmp_path: Path) -> None:
    url = _page(tmp_path).as_uri() + "#column=report.total.total"
    dom = PageDom()
    dom.feed(run_chromium(tmp_path / "profile", "--dump-dom", url).stdout)
    assert dom.details == [
        "report.total.total",
        "Made from (upstream) (6)",
        "dataset:file:/data/paid.amount_eur",
        "orders.paid.amount_eur",
        "orders.read.amount",
        "orders.read.status",
        "orders.write.amount_eur",
        "report.load.amount_eur",
        "Reaches (downstream) (0)",
    ]


def test_without_a_selection_nothing_is_highlighted(tmp_path: Path) -> None:
    dom = PageDom()
    dom.feed(run_chromium(tmp_path / "profile", "--dump-dom", _page(tmp_path).as_uri()).stdout)
    assert len(dom.rows) == 11
    assert not dom.having("selected") | dom.having("upstream") | dom.having("downstream")


def test_a_screenshot_shows_the_boxes_and_the_selected_column(tmp_path: Path) -> None:
    shot = tmp_path / "lineage.png"
    url = _page(tmp_path).as_uri() + "#column=orders.paid.amount_eur"
    run_chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,700", url)
    width, height, _ = png_pixels(shot)
    assert (width, height) == (1200, 700)
    counts = colour_counts(shot)
    assert len(counts) > 50  # text, lines and boxes, not one flat colour
    header_colours = [KIND_COLOURS["source"], KIND_COLOURS["sink"], KIND_COLOURS["dataset"], UNKNOWN_COLOUR]
    for colour in [*header_colours, SELECTED]:
        assert counts[hex_colour(colour)] > 100, f"no {colour} area in the screenshot"


def _chain(length: int) -> LineageGraph:
    nodes = tuple(Node(f"p.s{i}", "transform", "p", f"s{i}", "sql", ("x",)) for i in range(length))
    return LineageGraph(nodes, tuple(edge(f"p.s{i}.x", f"p.s{i + 1}.x") for i in range(length - 1)))


@pytest.mark.parametrize(("length", "fitted", "button"), [(2, True, "Actual size"), (12, False, "Fit to window")])
def test_a_graph_shows_whole_unless_shrinking_it_to_the_window_would_make_it_unreadable(
    tmp_path: Path, length: int, fitted: bool, button: str
) -> None:
    page = tmp_path / "chain.html"
    page.write_text(render(_chain(length), "html"), encoding="utf-8")
    dom = run_chromium(tmp_path / "profile", "--window-size=1000,600", "--dump-dom", page.as_uri()).stdout
    canvas = re.search(r'<div class="([^"]*canvas[^"]*)"', dom)
    assert canvas is not None and ("fit" in canvas.group(1).split()) is fitted
    assert f'<button id="size" type="button">{button}</button>' in dom
