"""Write small pipeline projects into a temporary folder for tests."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path


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
