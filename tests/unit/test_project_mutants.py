"""How etl-project.yaml's messages show a wrong value (config/project.py ``_show``), pinned where mutation testing
found it loose.

Text is shown quoted, anything else as YAML read it (a date as a date, a list as a list), and a value longer than
60 characters as its first 57 and ``...``: a message shows what was written, not the reader's internals.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.project import read_project

from .helpers import make_project


def messages(root: Path, project: str) -> list[str]:
    """The message of each problem of an etl-project.yaml whose text is ``project``."""
    _, problems = read_project(make_project(root, project=project))
    return [d.message for d in problems]


def test_values_that_are_not_text_are_shown_as_written(tmp_path: Path) -> None:
    project = "name: 2024-01-31\ntemplates_dir: 5\nstate_dir: [a, b]\n"
    assert messages(tmp_path, project) == [
        "name must be a string, got 2024-01-31",
        "templates_dir must be a string, got 5",
        "state_dir must be a string, got ['a', 'b']",
    ]


def test_text_is_shown_quoted(tmp_path: Path) -> None:
    assert messages(tmp_path, "history: every day\n") == ["history must be a mapping, got 'every day'"]


def test_a_value_shown_in_60_characters_is_shown_whole(tmp_path: Path) -> None:
    text = "a" * 58  # quoted: 60 characters
    assert messages(tmp_path, f"history: {text}\n") == [f"history must be a mapping, got '{text}'"]


def test_a_value_longer_than_60_characters_is_cut_to_57_and_an_ellipsis(tmp_path: Path) -> None:
    text = "abcdefghij" * 5 + "klmnopqrs"  # 59 characters, quoted: 61
    assert messages(tmp_path, f"history: {text}\n") == [f"history must be a mapping, got '{text[:56]}..."]
