"""When a value written for a setting that takes text among other types is kept as YAML read it, and when it goes
back to the text the user wrote (etl_cli/model/coerce.py, ``coerce_value`` and its ``_matches``): a value of one of
the other allowed types (a boolean, an integer, a number, null) is kept; any other value (a float where only an
integer is allowed, a boolean where only numbers are, null where it is not allowed, a type the table does not
know) becomes its written text. No files, no JVM."""

from __future__ import annotations

from typing import Any

import pytest

from etl_cli.model.coerce import coerce_value


@pytest.mark.parametrize(
    ("value", "types", "raw", "expected"),
    [
        pytest.param(True, ["string", "boolean"], "yes", True, id="a-boolean-where-booleans-are-allowed-is-kept"),
        pytest.param(5, ["string", "integer"], "05", 5, id="an-integer-where-integers-are-allowed-is-kept"),
        pytest.param(1.5, ["string", "integer"], "1.50", "1.50", id="a-float-where-only-integers-are-is-text"),
        pytest.param(True, ["string", "integer"], "on", "on", id="a-boolean-is-no-integer"),
        pytest.param(2.5, ["string", "number"], "2.50", 2.5, id="a-float-where-numbers-are-allowed-is-kept"),
        pytest.param(7, ["string", "number"], "007", 7, id="an-integer-is-a-number"),
        pytest.param(False, ["string", "number"], "off", "off", id="a-boolean-is-no-number"),
        pytest.param(None, ["string", "number"], "~", "~", id="null-where-it-is-not-allowed-is-text"),
        pytest.param(None, ["string", "null"], "~", None, id="null-where-null-is-allowed-is-kept"),
        pytest.param(5, ["string", "null"], "5", "5", id="an-integer-where-only-null-is-allowed-is-text"),
        pytest.param(5, ["string", "date"], "5", "5", id="a-type-without-a-check-matches-nothing"),
    ],
)
def test_a_non_text_value_is_kept_when_its_type_is_allowed_else_it_is_the_text_written(
    value: Any, types: list[str], raw: str, expected: Any
) -> None:
    coerced = coerce_value(value, {"type": types}, raw)
    assert (coerced, type(coerced)) == (expected, type(expected))
