"""Comparing a stage's rows with a test's expected rows: what matches, and the diff when not."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from etl_cli.testing.compare import cells_equal, compare_rows


def test_cells_compare_across_yaml_and_spark_types() -> None:
    assert cells_equal(10.5, Decimal("10.50"))
    assert cells_equal("2026-11-04", date(2026, 11, 4))
    assert cells_equal("2026-11-04T10:00:00", datetime(2026, 11, 4, 10, 0))
    assert cells_equal(date(2026, 11, 4), date(2026, 11, 4))
    assert cells_equal(None, None)


def test_a_yaml_date_equals_the_same_day_as_text() -> None:
    # a source without a declared schema infers dates in JSON fixtures as text
    assert cells_equal(date(2026, 11, 2), "2026-11-02")
    assert not cells_equal(date(2026, 11, 2), "2026-11-03")


def test_cells_that_differ_are_not_equal() -> None:
    assert not cells_equal(10.5, Decimal("10.51"))
    assert not cells_equal("2026-11-05", date(2026, 11, 4))
    assert not cells_equal(None, 0)
    assert not cells_equal("1", None)
    assert not cells_equal(True, 1)


def test_tolerance_makes_close_numbers_equal() -> None:
    assert cells_equal(1.0, 1.004, tolerance=0.01)
    assert not cells_equal(1.0, 1.02, tolerance=0.01)


def test_rows_in_another_order_match_by_default() -> None:
    diff = compare_rows("s", [{"a": 1}, {"a": 2}], [{"a": 2}, {"a": 1}])
    assert diff.ok


def test_only_the_columns_the_expected_rows_name_are_compared() -> None:
    diff = compare_rows("s", [{"a": 1}], [{"a": 1, "b": "anything"}])
    assert diff.ok


def test_missing_and_unexpected_rows_are_reported() -> None:
    diff = compare_rows("s", [{"a": 1}, {"a": 2}], [{"a": 1}, {"a": 3}])
    assert diff.missing == [{"a": 2}]
    assert diff.unexpected == [{"a": 3}]


def test_a_duplicate_row_counts_once_per_expected_row() -> None:
    diff = compare_rows("s", [{"a": 1}], [{"a": 1}, {"a": 1}])
    assert diff.unexpected == [{"a": 1}]


def test_subset_mode_allows_more_rows() -> None:
    assert compare_rows("s", [{"a": 1}], [{"a": 1}, {"a": 3}], subset=True).ok
    assert compare_rows("s", [{"a": 2}], [{"a": 1}], subset=True).missing == [{"a": 2}]


def test_keyed_comparison_reports_changed_cells() -> None:
    diff = compare_rows(
        "s",
        [{"id": 1, "v": 10, "w": "x"}, {"id": 2, "v": 5, "w": "y"}],
        [{"id": 1, "v": 11, "w": "x"}, {"id": 3, "v": 5, "w": "y"}],
        keys=["id"],
    )
    assert [(c.key, c.cells) for c in diff.changed] == [({"id": 1}, (("v", 10, 11),))]
    assert diff.missing == [{"id": 2, "v": 5, "w": "y"}]
    assert diff.unexpected == [{"id": 3, "v": 5, "w": "y"}]


def test_ordered_comparison_reports_rows_out_of_place() -> None:
    diff = compare_rows("s", [{"a": 1}, {"a": 2}], [{"a": 2}, {"a": 1}], ordered=True)
    assert [(c.key, c.cells) for c in diff.changed] == [({"row": 1}, (("a", 1, 2),)), ({"row": 2}, (("a", 2, 1),))]


def test_columns_restricts_the_comparison() -> None:
    diff = compare_rows("s", [{"a": 1, "b": 2}], [{"a": 1, "b": 3}], columns=["a"])
    assert diff.ok


def test_a_compared_column_the_output_lacks_is_a_problem() -> None:
    diff = compare_rows("s", [{"nope": 1}], [{"a": 1}])
    assert diff.problems == ["no column nope in the output (it has a)"]


def test_the_diff_reads_as_missing_unexpected_and_changed_lines() -> None:
    diff = compare_rows(
        "daily",
        [{"day": "2026-11-04", "country": "NL", "revenue": 11.0}, {"day": "2026-11-04", "country": "DE", "revenue": 1}],
        [
            {"day": date(2026, 11, 4), "country": "NL", "revenue": Decimal("10.50")},
            {"day": date(2026, 11, 4), "country": "PL", "revenue": Decimal("5.25")},
        ],
        keys=["day", "country"],
    )
    assert diff.lines() == [
        "daily: 1 missing, 1 unexpected, 1 changed (expected 2 row(s), got 2)",
        "  - missing     {day: '2026-11-04', country: 'DE', revenue: 1}",
        "  + unexpected  {day: 2026-11-04, country: 'PL', revenue: 5.25}",
        "  ~ changed     {day: '2026-11-04', country: 'NL'}  revenue: 11.0 -> 10.50",
    ]
