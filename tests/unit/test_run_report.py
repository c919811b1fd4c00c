"""``etl-cli runs report``: the run history shaped into sections and series, and the page written from it.

The history is tests/unit/report_history.py (recorded through History.record); every expected value
below is read off its table by hand.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.project import HistorySettings
from etl_cli.errors import UsageError
from etl_cli.events import StageResult
from etl_cli.runtime.bookkeeping.history import History
from etl_cli.runtime.bookkeeping.results import RunResults
from etl_cli.usecases.run_report import CheckRate, PipelineReport, ReportRequest, StageSeries, build_report
from tests.clihelp import etl_cli
from tests.unit import report_history
from tests.unit.helpers import PROJECT, make_project
from tests.unit.report_history import C1, O1, O2, O3, P1

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)
    make_project(tmp_path, project=PROJECT)
    report_history.fill(tmp_path / ".etl")
    return tmp_path


def sections(project: Path, **asked: Any) -> dict[tuple[str, str], list[str]]:
    report = build_report(ReportRequest(project, **asked), now=NOW)
    return {(s.pipeline, s.env): [d.run.run_id for d in s.runs] for s in report.sections}


def orders_dev(project: Path) -> PipelineReport:
    report = build_report(ReportRequest(project, pipeline="orders", env="dev"), now=NOW)
    (section,) = report.sections
    return section


def test_a_section_per_pipeline_and_environment_with_its_runs_oldest_first(project: Path) -> None:
    assert sections(project) == {
        ("customers", "dev"): [C1],
        ("orders", "dev"): [O1, O2, O3],
        ("orders", "prod"): [P1],
    }


def test_pipeline_and_environment_narrow_the_sections(project: Path) -> None:
    assert sections(project, pipeline="orders") == {("orders", "dev"): [O1, O2, O3], ("orders", "prod"): [P1]}
    assert sections(project, env="prod") == {("orders", "prod"): [P1]}


def test_since_takes_a_date_or_an_age(project: Path) -> None:
    assert sections(project, since="2026-12-01T10:06:00") == {
        ("customers", "dev"): [C1],
        ("orders", "dev"): [O3],
        ("orders", "prod"): [P1],
    }
    # NOW is 2026-12-05 12:00: four days back is 2026-12-01 12:00, after every run
    assert sections(project, since="4d") == {}
    assert sections(project, since="5d") == sections(project)


def test_limit_keeps_the_newest_runs_of_each_section(project: Path) -> None:
    assert sections(project, limit=2)[("orders", "dev")] == [O2, O3]


def test_rows_per_stage_follow_the_newest_run_order_with_gaps_where_a_run_counted_nothing(project: Path) -> None:
    assert orders_dev(project).stages() == (
        StageSeries("raw", "source", (100, 120, 50)),
        StageSeries("kept", "transform", (80, 90, None)),
        StageSeries("out", "sink", (80, 90, None)),
        StageSeries("audit", "sink", (None, 90, None)),
    )


def test_check_failure_rate_is_warned_or_failed_runs_over_the_runs_that_judged_it(project: Path) -> None:
    positive, has_customer = orders_dev(project).checks()

    assert positive == CheckRate("positive", "raw", (("passed", 1), ("tolerated", 1), ("failed", 1)))
    assert (positive.judged, positive.breached) == (3, 1)
    assert positive.failure_rate == pytest.approx(1 / 3)
    assert has_customer == CheckRate("has_customer", "raw", (("passed", 1), ("warned", 1), ("skipped", 1)))
    assert (has_customer.judged, has_customer.breached, has_customer.failure_rate) == (2, 1, 0.5)


def test_statuses_are_counted(project: Path) -> None:
    assert orders_dev(project).statuses == {"success": 2, "failed": 1}


def test_an_unknown_pipeline_is_a_usage_error_naming_the_nearest(project: Path) -> None:
    with pytest.raises(UsageError) as raised:
        build_report(ReportRequest(project, pipeline="order"), now=NOW)

    assert "no run of pipeline 'order' in the run history" in raised.value.message
    assert "orders" in (raised.value.hint or "")


def test_a_since_that_is_neither_date_nor_age_is_a_usage_error(project: Path) -> None:
    with pytest.raises(UsageError, match="--since 'yesterday' is neither a date nor an age"):
        build_report(ReportRequest(project, since="yesterday"), now=NOW)


# --------------------------------------------------------------------------- the command


def _marks(page: str, section: str, chart: str) -> list[str]:
    """The ``data-run`` of each mark of ``chart`` in the section of ``section`` (pipeline-env)."""
    body = page.split(f'id="pipeline-{section}"', 1)[1].split("</section>", 1)[0]
    svg = body.split(f'<svg class="chart {chart}"', 1)[1].split("</svg>", 1)[0]
    return re.findall(r'<(?:rect|circle) class="mark [^"]*" data-run="([^"]+)"', svg)


def test_the_command_writes_one_page_with_a_mark_per_run_and_per_count(project: Path) -> None:
    done = etl_cli("runs", "report", "--project", str(project), "--output", "report.html", cwd=project)

    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "wrote report.html: 5 runs in 3 sections"
    page = (project / "report.html").read_text(encoding="utf-8")
    assert _marks(page, "orders-dev", "durations") == [O1, O2, O3]
    # raw 3 counts, kept 2, out 2, audit 1
    assert _marks(page, "orders-dev", "rows") == [O1, O2, O3, O1, O2, O1, O2, O2]
    assert _marks(page, "customers-dev", "durations") == [C1]
    assert "<title>run 20261201T101000Z-cccc3333 · started 2026-12-01 10:10:00 UTC · failed · exit 3" in page
    assert "33% (1 of 3 runs)" in page and "50% (1 of 2 runs)" in page


def test_the_page_loads_nothing_from_elsewhere(project: Path) -> None:
    page = etl_cli("runs", "report", "--project", str(project), cwd=project).stdout

    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"\b(src|href)=\"(?!#)", page), "only links within the page"
    assert "url(" not in page and "@import" not in page and "http://" not in page and "https://" not in page


def test_an_empty_history_says_so_on_the_page_and_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)
    make_project(tmp_path, project=PROJECT)

    done = etl_cli("runs", "report", "--project", str(tmp_path), "-o", "report.html", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    said = f"No runs recorded in the run history {tmp_path / '.etl' / 'history.sqlite'}: nothing to chart."
    assert said in " ".join(done.stderr.split())
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<p class="empty">' + said in page
    assert "<svg" not in page


def test_an_unknown_pipeline_exits_2(project: Path) -> None:
    done = etl_cli("runs", "report", "order", "--project", str(project), cwd=project)

    assert done.returncode == 2
    assert "no run of pipeline 'order'" in done.stderr
    assert done.stdout == ""


def test_a_stage_line_breaks_at_a_run_that_did_not_count_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)
    make_project(tmp_path, project=PROJECT)
    history = History(tmp_path / ".etl", HistorySettings(keep_days=None))
    for minute, rows in ((0, 5), (1, None), (2, 7)):  # the second run failed before it counted
        at = f"2026-12-01T10:0{minute}:00+00:00"
        results = RunResults(f"run{minute}", "gappy", "dev", "p.yaml", at, ended_at=at, duration_s=1.0)
        results.stages = [StageResult("out", "sink", "csv", "ok" if rows else "failed", None, rows, 1.0)]
        history.record(results, tmp_path / f"run{minute}.json")

    page = etl_cli("runs", "report", "--project", str(tmp_path), cwd=tmp_path).stdout

    lines = re.findall(r'<polyline class="line" data-stage="out" points="([^"]*)"', page)
    assert [len(points.split()) for points in lines] == [1, 1]


def test_every_mark_takes_the_keyboard_focus_and_names_its_values(project: Path) -> None:
    page = etl_cli("runs", "report", "--project", str(project), cwd=project).stdout

    marks = re.findall(r'<(rect|circle) class="mark [^>]*>(.*?)</\1>', page)
    assert len(marks) == 5 + (8 + 2 + 3) + 6  # a bar per run; dots: orders dev 8, customers 2, prod 3; check parts
    for _, inner in marks:
        assert re.fullmatch(r"<title>[^<]+</title>", inner), inner
    assert page.count('class="mark ') == page.count('tabindex="0"')
    assert page.count('class="mark ') == len(re.findall(r'class="mark [^"]*"[^>]* aria-label="[^"]+"', page))


def test_an_output_in_a_missing_folder_is_a_usage_error(project: Path) -> None:
    done = etl_cli("runs", "report", "--project", str(project), "-o", "no/such/report.html", cwd=project)

    assert done.returncode == 2
    assert "cannot write --output no/such/report.html: No such file or directory" in done.stderr
