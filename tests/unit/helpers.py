"""Shared test helpers: write small pipeline projects into a temporary folder, and capture YAML load errors."""

from __future__ import annotations

import contextlib
import locale
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.yaml_loader import YamlFileError, load_yaml_text
from etl_cli.diagnostics import Diagnostic


def write(root: Path, relative: str, text: str) -> Path:
    """Write dedented ``text`` to ``root/relative`` (creating folders) and return the path."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def make_project(root: Path, files: Mapping[str, str] | None = None, *, project: str = "name: t\n") -> Path:
    """Make ``root`` a project: ``etl-project.yaml`` holding ``project``, and every ``files`` entry written there.

    ``files`` maps a path relative to ``root`` to its text, dedented as :func:`write` does. Returns ``root``, so a
    test reads ``load_pipeline(make_project(tmp_path, {...}) / "p", ...)``.
    """
    write(root, "etl-project.yaml", project)
    for relative, text in (files or {}).items():
        write(root, relative, text)
    return root


PROJECT = """
    default_env: dev
    environments:
      dev: {}
      prod: {protected: true}
"""


def yaml_error(text: str) -> Diagnostic:
    """The one diagnostic that loading YAML ``text`` (as file ``f.yaml``) fails with.

    Shared so the YAML tests state only their input and the expected code and place, not the capture ritual.
    """
    with pytest.raises(YamlFileError) as caught:
        load_yaml_text(text, "f.yaml")
    (diag,) = caught.value.diagnostics
    return diag


def project_block(reader: Callable[[Any, list[Diagnostic]], Any], key: str, text: str) -> tuple[Any, list[Diagnostic]]:
    """What ``reader`` (``read_keys``, ``read_alerts``, ...) makes of the ``key:`` block of a project file whose
    text is ``text`` (file ``etl-project.yaml``), and the problems it found."""
    tree = load_yaml_text(text, "etl-project.yaml")
    problems: list[Diagnostic] = []
    return reader(tree.value.get(key), problems), problems


def column(line: str, token: str) -> int:
    """The 1-based column where ``token`` first starts in ``line``: where a problem about it is reported."""
    assert token in line, (token, line)
    return line.index(token) + 1


def said(diag: Diagnostic) -> tuple[str, str, str | None, int, int]:
    """An error's code, message, hint, line and column: what a user reads of it."""
    assert diag.location is not None and diag.severity == "error"
    return diag.code, diag.message, diag.hint, diag.location.line, diag.location.column


@contextlib.contextmanager
def ascii_locale() -> Iterator[None]:
    """Within it, the C locale, whose encoding is ASCII: what ``open()`` reads with when no encoding is given."""
    saved = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


#: (a wrong scalar, how a project-file message quotes it): whole up to 60 characters with its quotes, cut past them
WRONG_VALUES_SHOWN = [
    ("2024-01-01", "2024-01-01"),  # a date, not datetime.date(2024, 1, 1)
    ("x" * 58, "'" + "x" * 58 + "'"),  # 60 characters with its quotes: shown whole
    ("x" * 59, "'" + "x" * 56 + "..."),  # 61: cut to 57 characters and "..."
]
