"""What ``etl-cli test`` writes besides its output: JUnit XML for CI systems, and snapshot files."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from etl_cli.errors import Location
from etl_cli.testing.junit import write_junit
from etl_cli.testing.runner import TestOutcome
from etl_cli.testing.snapshots import read_snapshot, snapshot_path, write_snapshot
from etl_cli.testing.spec import PipelineTest


def _test(tmp_path: Path, name: str, file: str = "t.yaml") -> PipelineTest:
    return PipelineTest(name=name, file=tmp_path / "p" / "tests" / file, location=Location(file, 2, 5))


def test_junit_has_a_suite_per_file_a_failure_per_unmet_expectation_and_an_error_per_broken_test(
    tmp_path: Path,
) -> None:
    outcomes = [
        TestOutcome(_test(tmp_path, "ok"), "pass", 0.5),
        TestOutcome(_test(tmp_path, "wrong"), "fail", 0.25, ["out: 1 missing", "  - missing     {a: 1}"]),
        TestOutcome(_test(tmp_path, "broken", "u.yaml"), "error", 0.0, ["stage x failed"]),
    ]
    write_junit(tmp_path / "j.xml", outcomes)
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == ("testsuites", "3", "1", "1")
    suites = root.findall("testsuite")
    assert [(s.get("tests"), s.get("failures"), s.get("errors"), s.get("time")) for s in suites] == [
        ("2", "1", "0", "0.750"),
        ("1", "0", "1", "0.000"),
    ]
    ok, wrong = suites[0].findall("testcase")
    assert (ok.get("name"), ok.get("time"), list(ok)) == ("ok", "0.500", [])
    failure = wrong.find("failure")
    assert failure is not None
    assert (failure.get("message"), failure.text) == ("out: 1 missing", "out: 1 missing\n  - missing     {a: 1}")
    error = suites[1].find("testcase/error")
    assert error is not None and error.get("message") == "stage x failed"


def test_a_snapshot_is_sorted_one_row_per_line_with_decimals_and_dates_as_text(tmp_path: Path) -> None:
    path = snapshot_path(_test(tmp_path, "totals per day!"), "per_day")
    assert path == tmp_path / "p" / "tests" / "__snapshots__" / "t" / "totals_per_day" / "per_day.json"
    rows = [
        {"day": date(2026, 1, 2), "at": datetime(2026, 1, 2, 3, 4), "revenue": Decimal("1.50"), "n": None},
        {"day": date(2026, 1, 1), "at": datetime(2026, 1, 1, 0, 0), "revenue": Decimal("10.00"), "n": 2},
    ]
    write_snapshot(path, ["day", "at", "revenue", "n"], rows)
    assert path.read_text() == (
        "{\n"
        '  "columns": ["day", "at", "revenue", "n"],\n'
        '  "rows": [\n'
        '    {"day": "2026-01-01", "at": "2026-01-01 00:00:00", "revenue": "10.00", "n": 2},\n'
        '    {"day": "2026-01-02", "at": "2026-01-02 03:04:00", "revenue": "1.50", "n": null}\n'
        "  ]\n"
        "}\n"
    )
    assert read_snapshot(path) == [
        {"day": "2026-01-01", "at": "2026-01-01 00:00:00", "revenue": "10.00", "n": 2},
        {"day": "2026-01-02", "at": "2026-01-02 03:04:00", "revenue": "1.50", "n": None},
    ]


def test_there_is_no_snapshot_before_one_is_written(tmp_path: Path) -> None:
    assert read_snapshot(tmp_path / "none.json") is None
