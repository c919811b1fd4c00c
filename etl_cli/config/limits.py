"""Bounds on what a configuration may expand to, and the names it may use for files.

A few lines of YAML can ask for billions of nodes (aliases of aliases), gigabytes of text
(``${var:}`` of ``${var:}``) or endless ``extends`` chains. Every expansion in this package
counts against one of these limits, so ``validate``, ``render`` and ``run`` always end,
quickly, with exit 1 at the line that went over (docs/configuration.md, "Limits").
"""

from __future__ import annotations

import re
from pathlib import Path

from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import ConfigError

#: nodes that YAML aliases may copy in one file (the alias node and everything under it)
MAX_ALIAS_NODES = 10_000
#: levels of nesting of any value; the document's root mapping is level 1
MAX_NESTING = 100
#: characters of one value after interpolation
MAX_VALUE_CHARS = 1 << 20
#: characters that interpolation may write into one pipeline, all values together
MAX_INTERPOLATED_CHARS = 16 << 20
#: nodes that ``${var:NAME}`` values which are lists or mappings may copy into one pipeline
MAX_COPIED_NODES = 10_000
#: variables resolved inside one another (``a`` uses ``b`` which uses ``c``...)
MAX_VAR_DEPTH = 32
#: ``extends`` levels below a pipeline
MAX_TEMPLATE_DEPTH = 32

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

NAME_RULE = "letters, digits, '_', '-' and '.', not starting with '.' or '-'"


class LimitExceeded(ConfigError):
    """A configuration went over a limit; loading of that pipeline stops with this one diagnostic."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic
        super().__init__(diagnostic.message, location=diagnostic.location, hint=diagnostic.hint)


def is_name(text: str) -> bool:
    """An environment name: one path component that cannot climb out of its folder."""
    return _NAME.fullmatch(text) is not None


def is_relative_name(text: str) -> bool:
    """A template name: a path below the templates folder (``files/base``), never absolute, never ``..``."""
    return "\\" not in text and "\0" not in text and all(part not in ("", ".", "..") for part in text.split("/"))


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path``, with every symbolic link followed, is ``folder`` or below it."""
    return path.resolve().is_relative_to(folder.resolve())


def chain_text(names: list[str] | tuple[str, ...]) -> str:
    """``a -> b -> c``: how a limit was reached, outermost first."""
    return " -> ".join(names)
