"""The page of ``etl-cli runs report`` in a real browser (headless Chromium): it draws a mark per run and per
count, its script selects one run everywhere, and it asks the network for nothing.

The history is tests/unit/report_history.py; the counts below are read off its table by hand.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.clihelp import etl_cli
from tests.lineage.programs import run_chromium
from tests.unit import report_history
from tests.unit.helpers import PROJECT, make_project
from tests.unit.report_history import C1, O1, O2, O3, P1


class ReportDom(HTMLParser):
    """What ``--dump-dom`` shows after the script ran: per section (pipeline, env), each chart's marks as
    (run id, classes), and the table rows that have class ``selected``."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: dict[tuple[str, str], dict[str, list[tuple[str | None, set[str]]]]] = {}
        self.selected_rows: list[str] = []
        self._section: tuple[str, str] | None = None
        self._chart = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        classes = set((named.get("class") or "").split())
        if tag == "section" and "pipeline" in classes:
            self._section = (named["data-pipeline"] or "", named["data-env"] or "")
            self.marks[self._section] = {}
        elif tag == "svg" and "chart" in classes and self._section:
            self._chart = (classes - {"chart"}).pop()
            self.marks[self._section][self._chart] = []
        elif "mark" in classes and self._section:
            self.marks[self._section][self._chart].append((named.get("data-run"), classes))
        elif tag == "tr" and "selected" in classes:
            self.selected_rows.append(named["data-run"] or "")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    make_project(root, project=PROJECT)
    report_history.fill(root / ".etl")
    done = etl_cli("runs", "report", "-o", "report.html", cwd=root, env={"ETL_STATE_DIR": str(root / ".etl")})
    assert done.returncode == 0, done.stderr
    return root / "report.html"


def _dom(page: Path, fragment: str = "") -> ReportDom:
    dom = ReportDom()
    dom.feed(run_chromium(page.parent / "profile", "--dump-dom", page.as_uri() + fragment).stdout)
    return dom


def test_each_section_draws_a_bar_per_run_and_a_dot_per_counted_stage(page: Path) -> None:
    dom = _dom(page)

    assert list(dom.marks) == [("customers", "dev"), ("orders", "dev"), ("orders", "prod")]
    bars = {section: [run for run, _ in charts["durations"]] for section, charts in dom.marks.items()}
    assert bars == {("customers", "dev"): [C1], ("orders", "dev"): [O1, O2, O3], ("orders", "prod"): [P1]}
    orders = dom.marks[("orders", "dev")]
    assert [classes & {"status-success", "status-failed"} for _, classes in orders["durations"]] == [
        {"status-success"},
        {"status-success"},
        {"status-failed"},
    ]
    # raw in 3 runs, kept and out in 2 (the failed run counted neither), audit in 1
    assert len(orders["rows"]) == 3 + 2 + 2 + 1
    # positive: passed, tolerated, failed; has_customer: passed, warned, skipped
    assert len(orders["checks"]) == 6
    assert "checks" not in dom.marks[("customers", "dev")]
    assert not dom.selected_rows


def test_opening_the_page_at_a_run_selects_its_marks_and_its_table_row(page: Path) -> None:
    dom = _dom(page, f"#run={O2}")

    orders = dom.marks[("orders", "dev")]
    selected = {chart: [run for run, classes in marks if "selected" in classes] for chart, marks in orders.items()}
    assert selected == {"durations": [O2], "rows": [O2, O2, O2, O2], "checks": []}
    assert dom.selected_rows == [O2]


def _page_requests(page: Path, profile: Path) -> list[str]:
    """The URLs the page (not the browser itself: its updates, accounts...) asked the network for."""
    log = page.parent / f"{page.stem}.netlog.json"
    run_chromium(profile, f"--log-net-log={log}", "--dump-dom", page.as_uri())
    netlog = json.loads(log.read_text(encoding="utf-8"))
    start = netlog["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in netlog["events"]
        if event["type"] == start and event.get("params", {}).get("initiator", "not an origin") != "not an origin"
    ]


def test_the_page_requests_nothing_from_the_network(page: Path) -> None:
    assert _page_requests(page, page.parent / "profile") == []


def test_the_network_check_sees_what_a_page_requests(tmp_path: Path) -> None:
    probe = tmp_path / "probe.html"
    probe.write_text('<!DOCTYPE html><img src="http://example.invalid/logo.png">', encoding="utf-8")

    assert _page_requests(probe, tmp_path / "profile") == ["http://example.invalid/logo.png"]
