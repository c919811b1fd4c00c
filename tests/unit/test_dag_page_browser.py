"""The DAG page of ``etl-cli dag show --format html`` in a real browser (headless Chromium): its script runs and
highlights what a pipeline waits for and what waits for it, and the page draws (a screenshot holds the
status colours, not a blank page).

The project (arrows: runs before)::

    stage ─> out/stage ─> enrich ─> out/enriched ─> report
                                          └───────> revenue ─(depends_on)─> summary

``stage`` last ran with success and ``enrich`` failed; the others never ran.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from etl_cli.orchestration.dag_render import STATUS_STYLES
from etl_cli.runtime.bookkeeping.history import History
from etl_cli.runtime.bookkeeping.results import RunResults
from tests.clihelp import etl_cli
from tests.lineage.png import colour_counts, hex_colour, png_pixels
from tests.lineage.programs import run_chromium
from tests.unit.dag_projects import pipeline_yaml, project


class DagDom(HTMLParser):
    """What ``--dump-dom`` shows of the page after its script ran: the classes of each pipeline (by name), of each
    dataset (by its title) and of each arrow."""

    def __init__(self) -> None:
        super().__init__()
        self.pipelines: dict[str, set[str]] = {}
        self.datasets: dict[str, set[str]] = {}
        self.arrows: list[set[str]] = []
        self._dataset: set[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        classes = set((named.get("class") or "").split())
        if tag == "g" and "pipeline" in classes:
            self.pipelines[named["data-name"] or ""] = classes
        elif tag == "g" and "dataset" in classes:
            self._dataset = classes
        elif tag == "path" and "arrow" in classes:
            self.arrows.append(classes)

    def handle_data(self, data: str) -> None:
        if self._dataset is not None and data.startswith("dataset "):
            self.datasets[data.removeprefix("dataset ")] = self._dataset
            self._dataset = None

    def having(self, name: str) -> set[str]:
        """The pipelines and datasets that have class ``name``."""
        return {key for found in (self.pipelines, self.datasets) for key, classes in found.items() if name in classes}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    project(
        root,
        {
            "stage": pipeline_yaml("stage", writes=["out/stage"]),
            "enrich": pipeline_yaml("enrich", reads=["out/stage"], writes=["out/enriched"]),
            "report": pipeline_yaml("report", reads=["out/enriched"]),
            "revenue": pipeline_yaml("revenue", reads=["out/enriched"]),
            "summary": pipeline_yaml("summary", depends_on=["revenue"]),
        },
    )
    history = History(root / ".etl")
    now = datetime.now(UTC).isoformat(timespec="seconds")  # recent: the history's retention removes old runs
    for run_id, name, status in (("r1", "stage", "success"), ("r2", "enrich", "failed")):
        run = RunResults(run_id, name, "dev", f"pipelines/{name}/pipeline.yaml", now)
        run.status, run.exit_code = status, 0 if status == "success" else 4
        history.record(run, root / ".etl" / f"{run_id}.json")
    done = etl_cli(
        "dag", "show", "--format", "html", "--output", "dag.html", cwd=root, env={"ETL_STATE_DIR": str(root / ".etl")}
    )
    assert done.returncode == 0, done.stderr
    return root / "dag.html"


def _dom(page: Path, fragment: str = "") -> DagDom:
    dom = DagDom()
    dom.feed(run_chromium(page.parent / "profile", "--dump-dom", page.as_uri() + fragment).stdout)
    return dom


def test_opening_the_page_at_a_pipeline_highlights_what_it_waits_for_and_what_waits_for_it(page: Path) -> None:
    dom = _dom(page, "#pipeline=revenue")
    assert dom.having("selected") == {"revenue"}
    assert dom.having("upstream") == {"stage", "enrich", "out/stage", "out/enriched"}
    assert dom.having("downstream") == {"summary"}
    # stage -> out/stage -> enrich -> out/enriched -> revenue, and revenue -> summary
    assert sum("upstream" in classes for classes in dom.arrows) == 4
    assert sum("downstream" in classes for classes in dom.arrows) == 1


def test_without_a_selection_nothing_is_highlighted_and_every_box_is_drawn(page: Path) -> None:
    dom = _dom(page)
    assert set(dom.pipelines) == {"stage", "enrich", "report", "revenue", "summary"}
    assert set(dom.datasets) == {"out/stage", "out/enriched"}
    assert not dom.having("selected") | dom.having("upstream") | dom.having("downstream")
    assert dom.pipelines["stage"] >= {"status-success"} and dom.pipelines["enrich"] >= {"status-failed"}


def test_a_screenshot_shows_the_boxes_in_their_status_colours(page: Path) -> None:
    shot = page.parent / "dag.png"
    run_chromium(page.parent / "profile", f"--screenshot={shot}", "--window-size=1200,700", page.as_uri())
    width, height, _ = png_pixels(shot)
    assert (width, height) == (1200, 700)
    counts = colour_counts(shot)
    assert len(counts) > 50  # text, lines and boxes, not one flat colour
    for status in ("success", "failed", "never run"):
        colour = STATUS_STYLES[status].fill
        # a box is about 150 x 46 pixels; the legend's and the table's swatches 14 x 14
        assert counts[hex_colour(colour)] > 2000, f"no {colour} ({status}) box in the screenshot"
