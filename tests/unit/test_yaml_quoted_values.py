"""A value that starts with a quoted literal and goes on (a SQL condition) gets a hint to quote all of it."""

from __future__ import annotations

from etl_cli.config.yaml_loader import load_yaml_text

from .helpers import yaml_error

PIPELINE = "transforms:\n  - name: shipped\n    condition: '1998-09-02' >= l_shipdate\n"


def test_a_condition_starting_with_a_quoted_date_is_reported_where_the_quote_opens() -> None:
    diag = yaml_error(PIPELINE)
    assert diag.code == "yaml-syntax"
    assert (diag.location.line, diag.location.column) == (3, 16)
    assert "'1998-09-02'" in diag.message


def test_the_hint_quotes_the_whole_expression() -> None:
    diag = yaml_error(PIPELINE)
    assert "condition: \"'1998-09-02' >= l_shipdate\"" in (diag.hint or "")


def test_the_suggested_line_reads_back_as_the_expression_even_with_both_quotes_inside() -> None:
    diag = yaml_error("condition: \"status\" = 'paid'\n")
    assert diag.hint is not None
    suggested = diag.hint.split("e.g. ", 1)[1]
    assert load_yaml_text(suggested + "\n", "f.yaml").value["condition"].value == "\"status\" = 'paid'"


def test_other_syntax_errors_get_no_quoting_hint() -> None:
    diag = yaml_error("a: [1, 2\nb: 3\n")
    assert "quote" not in (diag.hint or "")
