"""What a YAML syntax error says, found untested by mutation testing (mutmut) of etl_cli/config/yaml_loader.py
(``_syntax_diagnostic``, ``_partly_quoted``) and etl_cli/config/nodes.py (``from_plain``).

Pins the whole diagnostic of a file that does not parse (code, message, hint, file, line and column): a tab used
for indentation (and a tab further on the line, which is not one), ``mapping values are not allowed`` with its
hint, an error past the last line with PyYAML's context in parentheses and no hint, and a value that starts with a
quoted string and goes on (``'x' y``: the hint quotes the whole value, keyed or a list item) against the values that
only look like one (the quote closes at the end, never closes, or is followed by ``:``). Expected messages and places
are written by hand from the YAML text. And the located tree ``from_plain`` builds from plain data (a copied
``${var:...}`` list or mapping): every node, and every key, at the one given place.
"""

from __future__ import annotations

import pytest

from etl_cli.config.nodes import Node, from_plain
from etl_cli.diagnostics import error
from etl_cli.errors import Location

from .helpers import yaml_error

TAB_HINT = "YAML indents with spaces only; replace the tab with spaces"
MAPPING_HINT = "a key on this line needs its own line or a quoted value; check indentation and ':' inside values"
GOES_ON = "and goes on after it (YAML reads a quoted string as the whole value)"


@pytest.mark.parametrize(
    ("text", "message", "line", "column", "hint"),
    [
        ("a: 1\n\tb: 2\n", "tab character used for indentation", 2, 1, TAB_HINT),
        ("a: b: c\n", "mapping values are not allowed in this context", 1, 5, MAPPING_HINT),
        # the tab is two characters past the error's column: the error is still the colon, not the tab
        ("a: b: \tc\n", "mapping values are not allowed in this context", 1, 5, MAPPING_HINT),
        # the unclosed list is found on line 2, past the last line of the text
        ("a: [1, 2\n", "did not find expected ',' or ']' (while parsing a flow sequence)", 2, 1, None),
        # a double-quoted value with a bad escape: it starts with a quote, but the quote is the whole of it...
        ('a: "x\\q"\n', "found unknown escape character (while parsing a quoted scalar)", 1, 6, None),
        # ...or never closes
        ('a: "x\\q\n', "found unknown escape character (while parsing a quoted scalar)", 1, 6, None),
        # what follows the quoted string is a colon: the value is not an expression that goes on
        ("a: 'x': y\n", "mapping values are not allowed in this context", 1, 7, MAPPING_HINT),
    ],
)
def test_a_syntax_error_says_what_yaml_found_where_and_how_to_fix_it(
    text: str, message: str, line: int, column: int, hint: str | None
) -> None:
    assert yaml_error(text) == error("yaml-syntax", f"invalid YAML: {message}", Location("f.yaml", line, column), hint)


@pytest.mark.parametrize(
    ("text", "literal", "column", "fix"),
    [
        ("key: 'x' y   \n", "'x'", 6, "key: \"'x' y\""),  # the spaces after the value are not part of it
        ("- 'x' y\n", "'x'", 3, "- \"'x' y\""),  # a list item is fixed as a list item
        ("filter: 'N' XOR b\n", "'N'", 9, "filter: \"'N' XOR b\""),
    ],
)
def test_a_value_starting_with_a_quoted_string_that_goes_on_gets_the_whole_value_quoted(
    text: str, literal: str, column: int, fix: str
) -> None:
    assert yaml_error(text) == error(
        "yaml-syntax",
        f"invalid YAML: the value starts with the quoted string {literal} {GOES_ON}",
        Location("f.yaml", 1, column),
        f"quote the whole expression, e.g. {fix}",
    )


def test_plain_data_becomes_a_tree_whose_every_node_and_key_is_at_the_given_place() -> None:
    at = Location("<command line>", 0, 0)
    tree = from_plain({"a": {"b": [1, {"c": None}]}, 2: "x"}, at)
    assert tree == Node(
        {
            "a": Node(
                {"b": Node([Node(1, at), Node({"c": Node(None, at, key_loc=at)}, at)], at, key_loc=at)},
                at,
                key_loc=at,
            ),
            "2": Node("x", at, key_loc=at),
        },
        at,
    )
