"""Write small pipeline projects into a temporary folder for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write(root: Path, relative: str, text: str) -> Path:
    """Write dedented ``text`` to ``root/relative`` (creating folders) and return the path."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


PROJECT = """
    default_env: dev
    environments:
      dev: {}
      prod: {protected: true}
"""
