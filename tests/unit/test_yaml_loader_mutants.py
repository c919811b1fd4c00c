"""What a YAML syntax error says, found untested by mutation testing (mutmut) of etl_cli/config/yaml_loader.py
(``_syntax_diagnostic``, ``_partly_quoted``) and etl_cli/config/nodes.py (``from_plain``).

Pins the whole diagnostic of a file that does not parse (code, message, hint, file, line and column): a tab used
for indentation (and a tab further on the line, which is not one), ``mapping values are not allowed`` with its
hint, an error past the last line with PyYAML's context in parentheses and no hint, and a value that starts with a
quoted string and goes on (``'x' y``: the hint quotes the whole value, keyed or a list item) against the values that
only look like one (the quote closes at the end, never closes, or is followed by ``:``). Expected messages and places
are written by hand from the YAML text. And the located tree ``from_plain`` builds from plain data (a copied
``${var:...}`` list or mapping): every node, and every key, at the one given place.

Then the whole diagnostic of an alias without its anchor, an anchor defined twice, values nesting past 100 levels and
an alias inside its own anchor; the error a file that does not load raises (every diagnostic, and the first one's
message, place and hint as its own); a file that is missing or cannot be read as UTF-8 text, named as the user wrote
it; a file with nothing in it (an empty mapping at its start); a character YAML does not allow, at its line and column
(libyaml counts bytes, not characters); the value of a scalar or list under an overlay tag (``!replace x``, and an
empty one as no value); every problem of one mapping, each at its key; nesting far past the limit, with a value
before each level, refused rather than recursing; the diagnostic of a
value its ``!!`` tag refuses (named by the tag's last part, with a hint to quote it, or in PyYAML's words) and of a
merge key (``<<``); an alias used as a key (the key is the anchored text); the limit on what aliases copy, at its
exact edge (10,000 nodes load, 10,001 are refused at the alias that passes it) and counted over the whole file; and
the pure-Python event parser used when PyYAML lacks libyaml, which reads the same events as libyaml's.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.nodes import Node, from_plain, to_plain
from etl_cli.config.yaml_loader import YamlFileError, _Parser, _PurePythonParser, load_yaml_file, load_yaml_text
from etl_cli.diagnostics import error
from etl_cli.errors import Location

from .helpers import yaml_error

TAB_HINT = "YAML indents with spaces only; replace the tab with spaces"
MAPPING_HINT = "a key on this line needs its own line or a quoted value; check indentation and ':' inside values"
GOES_ON = "and goes on after it (YAML reads a quoted string as the whole value)"
QUOTE_IT = "quote it to keep it as text: "
MERGE_HINT = "use a template with 'extends:' or an environment overlay instead"


@pytest.mark.parametrize(
    ("text", "message", "line", "column", "hint"),
    [
        ("a: 1\n\tb: 2\n", "tab character used for indentation", 2, 1, TAB_HINT),
        ("a: b: c\n", "mapping values are not allowed in this context", 1, 5, MAPPING_HINT),
        # a tab after a list's dash indents the key
        ("a:\n  - x\n  -\ty: 1\n", "tab character used for indentation", 3, 4, TAB_HINT),
        # a tab in the indentation but past the error's column is not the error
        ("[\n- \t]b,\n", "did not find expected node content (while parsing a flow node)", 2, 1, None),
        # a tab inside a value is not indentation: the error is the colon after it
        ("a: b\tc: d\n", "mapping values are not allowed in this context", 1, 7, MAPPING_HINT),
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


ANCHOR_HINT = "each anchor (&name) needs one name, defined before its aliases"


@pytest.mark.parametrize(
    ("text", "code", "message", "line", "column", "hint"),
    [
        ("a: *x\n", "yaml-anchor", "alias *x has no anchor &x before it", 1, 4, ANCHOR_HINT),
        ("a: &x 1\nb: &x 2\n", "yaml-anchor", "anchor &x is defined twice (first on line 1)", 2, 4, ANCHOR_HINT),
        (
            "x: " + "[" * 100 + "]" * 100 + "\n",
            "yaml-depth",
            "values nest more than 100 levels deep here",
            1,
            103,
            "flatten the structure; no pipeline setting needs this depth",
        ),
        (
            "a: &x [1, *x]\n",
            "yaml-alias",
            "alias *x is inside its own anchor &x: its copy would never end",
            1,
            11,
            "an alias may only repeat a value that is complete before it",
        ),
    ],
)
def test_anchors_aliases_and_nesting_yaml_refuses_say_what_where_and_how_to_fix_it(
    text: str, code: str, message: str, line: int, column: int, hint: str
) -> None:
    assert yaml_error(text) == error(code, message, Location("f.yaml", line, column), hint)


def test_a_file_that_does_not_load_raises_every_diagnostic_and_says_the_first() -> None:
    with pytest.raises(YamlFileError) as caught:
        load_yaml_text("a: !foo 1\nb: !bar 2\n", "f.yaml")
    hint = "etl-cli understands !delete and !replace in overlays"
    first = error("yaml-tag", "unknown YAML tag !foo", Location("f.yaml", 1, 4), hint)
    assert caught.value.diagnostics == [
        first,
        error("yaml-tag", "unknown YAML tag !bar", Location("f.yaml", 2, 4), hint),
    ]
    assert (caught.value.message, caught.value.location, caught.value.hint) == (first.message, first.location, hint)
    assert str(caught.value) == f"f.yaml:1:4: unknown YAML tag !foo\n  hint: {hint}"


def test_a_file_missing_or_unreadable_is_one_diagnostic_naming_it_at_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (tmp_path / "folder.yaml").mkdir()
    found = []
    for name in ("missing.yaml", "latin1.yaml", "folder.yaml"):
        with pytest.raises(YamlFileError) as caught:
            load_yaml_file(tmp_path / name)
        found.extend(caught.value.diagnostics)
    undecodable = "'utf-8' codec can't decode byte 0xe9 in position 9: invalid continuation byte"
    directory = f"[Errno 21] Is a directory: '{tmp_path / 'folder.yaml'}'"
    assert found == [
        error("file-not-found", "file not found: missing.yaml", Location("missing.yaml", 0, 0)),
        error("file-unreadable", f"cannot read latin1.yaml: {undecodable}", Location("latin1.yaml", 0, 0)),
        error("file-unreadable", f"cannot read folder.yaml: {directory}", Location("folder.yaml", 0, 0)),
    ]


def test_a_scalar_or_list_under_an_overlay_tag_keeps_its_value_and_an_empty_scalar_is_no_value() -> None:
    tree = load_yaml_text('a: !replace x\nb: !delete\nc: !replace ""\nd: !replace [x]\n', "f.yaml")
    assert {key: (to_plain(node)[0], node.tag, node.loc) for key, node in tree.value.items()} == {
        "a": ("x", "!replace", Location("f.yaml", 1, 4)),
        "b": (None, "!delete", Location("f.yaml", 2, 4)),
        "c": (None, "!replace", Location("f.yaml", 3, 4)),
        "d": (["x"], "!replace", Location("f.yaml", 4, 4)),
    }


@pytest.mark.parametrize("text", ["", "# nothing yet\n"], ids=["empty", "a comment only"])
def test_a_file_with_nothing_in_it_is_an_empty_mapping_at_its_start(text: str) -> None:
    assert load_yaml_text(text, "f.yaml") == Node({}, Location("f.yaml", 1, 1))


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ("a: \x00\n", "0000", 1, 4),
        ("\na: \x00\n", "0000", 2, 4),
        # the first of two, on the third line, after non-ASCII text (libyaml's offset counts its bytes)
        ("\nname: café\nnote: ring\x07 bell\x07\n", "0007", 3, 11),
    ],
    ids=["null", "null after a blank line", "the first of two bells after non-ASCII text"],
)
def test_a_character_yaml_does_not_allow_is_refused_at_its_line_and_column(
    text: str, code: str, line: int, column: int
) -> None:
    hint = f'remove it; a value that needs it can be written in double quotes as "\\u{code}"'
    message = f"invalid YAML: character U+{code} is not allowed in YAML text"
    assert yaml_error(text) == error("yaml-syntax", message, Location("f.yaml", line, column), hint)


def test_every_problem_of_a_mapping_is_reported_each_at_its_key() -> None:
    with pytest.raises(YamlFileError) as caught:
        load_yaml_text("a: 1\na: 2\n? [x]\n: 3\n<<: {m: 1}\nb: !!int z\na: 3\n", "f.yaml")
    duplicate, hint = (
        "duplicate key 'a' (first defined at line 1)",
        "remove one of the two; YAML keeps only one of them",
    )
    assert caught.value.diagnostics == [
        error("duplicate-key", duplicate, Location("f.yaml", 2, 1), hint),
        error("yaml-key", "mapping keys must be plain strings", Location("f.yaml", 3, 3)),
        error("yaml-merge-key", "YAML merge keys ('<<') are not supported", Location("f.yaml", 5, 1), MERGE_HINT),
        error("yaml-value", "invalid value: 'z' is not a valid int", Location("f.yaml", 6, 4), QUOTE_IT + "'z'"),
        error("duplicate-key", duplicate, Location("f.yaml", 7, 1), hint),
    ]


def test_nesting_far_past_the_limit_with_a_value_before_each_level_is_refused_not_recursed() -> None:
    # 2,000 lists deep, each opening with a value: the nesting count must come back down after each value
    text = "[1, " * 2_000 + "]" * 2_000 + "\n"
    assert yaml_error(text) == error(
        "yaml-depth",
        "values nest more than 100 levels deep here",
        Location("f.yaml", 1, 4 * 99 + 2),  # the value in the 100th list: the 101st level
        "flatten the structure; no pipeline setting needs this depth",
    )


@pytest.mark.parametrize(
    ("text", "code", "message", "line", "column", "hint"),
    [
        ("a: !!int abc\n", "yaml-value", "invalid value: 'abc' is not a valid int", 1, 4, QUOTE_IT + "'abc'"),
        ("a: !!bool maybe\n", "yaml-value", "invalid value: 'maybe' is not a valid bool", 1, 4, QUOTE_IT + "'maybe'"),
        (
            "a:\n  b: !!timestamp 2020-13-45\n",
            "yaml-value",
            "invalid value: '2020-13-45' is not a valid timestamp",
            2,
            6,
            QUOTE_IT + "'2020-13-45'",
        ),
        ("a: !!map x\n", "yaml-value", "invalid value: expected a mapping node, but found scalar", 1, 4, None),
        (
            "base: &b {x: 1}\nc:\n  <<: *b\n",
            "yaml-merge-key",
            "YAML merge keys ('<<') are not supported",
            3,
            3,
            MERGE_HINT,
        ),
    ],
    ids=["int", "bool", "timestamp", "not a scalar tag", "merge key"],
)
def test_a_value_its_tag_refuses_and_a_merge_key_say_what_where_and_how_to_fix_it(
    text: str, code: str, message: str, line: int, column: int, hint: str | None
) -> None:
    assert yaml_error(text) == error(code, message, Location("f.yaml", line, column), hint)


def test_an_alias_used_as_a_key_is_the_anchored_text_at_the_alias() -> None:
    tree = load_yaml_text("a: &k b\n*k : 1\n", "f.yaml")
    assert {key: (node.value, node.loc, node.key_loc) for key, node in tree.value.items()} == {
        "a": ("b", Location("f.yaml", 1, 4), Location("f.yaml", 1, 1)),
        "b": (1, Location("f.yaml", 2, 6), Location("f.yaml", 2, 1)),
    }


ALIAS_HINT = (
    "each alias copies everything under its anchor: write the values out, or share them "
    "with a template ('extends:') or ${var:NAME}"
)


def copies(items: int, aliases: int = 1) -> str:
    """A file anchoring one list of ``items`` items, then ``aliases`` keys, each an alias of that list."""
    anchored = f"a: &x [{', '.join(['1'] * items)}]"
    return "\n".join([anchored, *(f"b{index}: *x" for index in range(aliases))]) + "\n"


def test_aliases_may_copy_10_000_nodes_in_a_file_and_the_alias_copying_more_is_refused() -> None:
    # an alias of a list of n items copies n + 1 nodes: the list and its items
    tree = load_yaml_text(copies(9_999), "f.yaml")
    assert [len(tree.value[key].value) for key in ("a", "b0")] == [9_999, 9_999]
    refused = error(
        "yaml-alias",
        "YAML aliases copy more than 10,000 nodes by here (alias *x)",
        Location("f.yaml", 2, 5),
        ALIAS_HINT,
    )
    assert yaml_error(copies(10_000)) == refused
    # counted over the file: two aliases of 5,000 nodes pass, a third passes the limit at its own line
    assert [len(node.value) for node in load_yaml_text(copies(4_999, 2), "f.yaml").value.values()] == [4_999] * 3
    assert yaml_error(copies(4_999, 3)) == replace(refused, location=Location("f.yaml", 4, 5))


def events(parser: Any) -> list[tuple[str, Any, Any, int, int]]:
    """Each event of ``parser``: its kind, value, anchor and (0-based) line and column."""
    found = []
    while parser.check_event():
        event = parser.get_event()
        mark = event.start_mark
        kind, value, anchor = type(event).__name__, getattr(event, "value", None), getattr(event, "anchor", None)
        found.append((kind, value, anchor, mark.line, mark.column))
    return found


def test_the_pure_python_parser_reads_the_same_events_as_libyaml() -> None:
    text = "a: &x [1, 'two']\nb: *x\nc: {d: !delete e}\n"
    read = events(_PurePythonParser(text))
    assert read == events(_Parser(text))  # the parser in use: libyaml's, where PyYAML has it
    assert [(kind, value) for kind, value, *_ in read if kind in ("ScalarEvent", "AliasEvent")] == [
        ("ScalarEvent", "a"),
        ("ScalarEvent", "1"),
        ("ScalarEvent", "two"),
        ("ScalarEvent", "b"),
        ("AliasEvent", None),
        ("ScalarEvent", "c"),
        ("ScalarEvent", "d"),
        ("ScalarEvent", "e"),
    ]
