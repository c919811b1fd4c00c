"""Loading YAML keeps positions and reports syntax problems precisely."""

from __future__ import annotations

import pytest

from etl_cli.config.yaml_loader import YamlFileError, load_yaml_text

from .helpers import yaml_error


def test_every_value_knows_its_line_and_column() -> None:
    tree = load_yaml_text("a: 1\nb:\n  c: hello\n", "f.yaml")
    c = tree.value["b"].value["c"]
    assert (c.loc.line, c.loc.column) == (3, 6)
    assert (c.key_loc.line, c.key_loc.column) == (3, 3)


def test_plain_scalars_keep_their_source_text() -> None:
    tree = load_yaml_text("country: NO\nquoted: 'NO'\n", "f.yaml")
    assert tree.value["country"].value is False
    assert tree.value["country"].raw == "NO"
    assert tree.value["quoted"].raw is None


def test_duplicate_key_is_reported_at_the_second_occurrence() -> None:
    diag = yaml_error("a:\n  b: 1\n  b: 2\n")
    assert diag.code == "duplicate-key"
    assert (diag.location.line, diag.location.column) == (3, 3)
    assert "first defined at line 2" in diag.message


def test_tab_indentation_names_the_problem_and_the_fix() -> None:
    diag = yaml_error("a: 1\n\tb: 2\n")
    assert diag.location.line == 2
    assert "tab" in diag.message
    assert "spaces" in (diag.hint or "")


def test_unclosed_bracket_is_a_syntax_error_with_a_place() -> None:
    diag = yaml_error("a: [1, 2\nb: 3\n")
    assert diag.code == "yaml-syntax"
    assert diag.location.file == "f.yaml"
    assert diag.location.line >= 1


def test_unknown_tag_is_rejected() -> None:
    with pytest.raises(YamlFileError) as caught:
        load_yaml_text("a: !foo 1\n", "f.yaml")
    assert [d.code for d in caught.value.diagnostics] == ["yaml-tag"]


def test_empty_file_is_an_empty_mapping() -> None:
    assert load_yaml_text("", "f.yaml").value == {}
