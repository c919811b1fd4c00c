"""Spark's SQL positions mapped back to the YAML: the ``file:line:col`` of the expression a problem is in.

Spark reports an analysis error at a position in the SQL text it parsed ("line 1 pos 96"), text
the user may never have written as such (an expression etl-cli wrapped in a query). Its query
context also holds the fragment it could not resolve and where that starts (:func:`sql_fragment`);
the user's expression is the stage option whose text has that fragment at that offset (or, for SQL
etl-cli built around an option, the one option that holds it as a word). The place inside the YAML
scalar is exact when the file holds the scalar as written: one line, plain or quoted, or a literal
block (``|``) line by line; otherwise the scalar's own place is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from etl_cli.config.nodes import NodeInfo, Provenance
from etl_cli.errors import EtlError, Location
from etl_cli.model.pipeline import PipelineSpec, stage_path
from etl_cli.plugins.api import StageSpec
from etl_cli.runtime.execution.spark_errors import SqlFragment, sql_fragment

OptionPath = tuple[str | int, ...]


def expression_location(exc: BaseException, stage: StageSpec, pipeline: PipelineSpec) -> Location | None:
    """Where ``stage``'s YAML holds the SQL that Spark's analysis error ``exc`` points at (None: not found).

    An error of etl-cli's that already names another place (a check's line) keeps it: the SQL is not the stage's.
    """
    if isinstance(exc, EtlError) and exc.location not in (None, stage.location):
        return None
    fragment = sql_fragment(exc)
    if fragment is None:
        return None
    same_kind = [s.name for s in pipeline.stages if s.kind == stage.kind]
    if stage.name not in same_kind:
        return None
    found = _option_holding(stage.options, fragment)
    if found is None:
        return None
    path, text, offset = found
    full_path = (*stage_path(stage.kind, same_kind.index(stage.name)), *path)
    return _place(pipeline.provenance, full_path, text, offset)


def _option_holding(options: Mapping[str, Any], fragment: SqlFragment) -> tuple[OptionPath, str, int] | None:
    """The option whose text has the fragment at Spark's offset, else the only one holding it as a word."""
    texts = list(_strings(options, ()))
    end = fragment.start + len(fragment.text)
    for path, text in texts:
        if text[fragment.start : end] == fragment.text:
            return path, text, fragment.start
    word = re.compile(rf"(?<![\w`]){re.escape(fragment.text)}(?![\w`])")
    holding = [(path, text, found.start()) for path, text in texts if (found := word.search(text))]
    return holding[0] if len(holding) == 1 else None


def _strings(value: Any, path: OptionPath) -> Iterator[tuple[OptionPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _place(provenance: Provenance, path: OptionPath, text: str, offset: int) -> Location | None:
    """``offset`` of ``text`` as a place in the file; the scalar's own place when the file holds it otherwise."""
    start = provenance.value_location(path)
    info = provenance.info(path)
    if start is None or info is None or info.interpolated:
        return start
    lines = _lines(start.file)
    if "\n" in text.rstrip("\n"):
        return _in_block(start, lines, text, offset) or start
    return _on_one_line(start, info, lines, text, offset) or start


def _on_one_line(start: Location, info: NodeInfo, lines: tuple[str, ...], text: str, offset: int) -> Location | None:
    """A plain scalar starts at its place; a quoted one (without escapes) one character after."""
    if not 0 < start.line <= len(lines):
        return None
    written = lines[start.line - 1][start.column - 1 :]
    if info.raw is not None and written.startswith(text):
        return Location(start.file, start.line, start.column + offset)
    if written[:1] in ("'", '"') and "\\" not in text and written[1:].startswith(text):
        return Location(start.file, start.line, start.column + 1 + offset)
    return None


def _in_block(start: Location, lines: tuple[str, ...], text: str, offset: int) -> Location | None:
    """A literal block (``|``): its n-th line is the n-th file line after the indicator, indented."""
    before = text[:offset]
    row = before.count("\n")
    column = offset - (before.rfind("\n") + 1)
    index = start.line + row  # 0-based index of the file line that holds the block's line ``row``
    written_lines = text.split("\n")
    if not 0 <= index < len(lines) or not written_lines[row].strip():
        return None
    written = lines[index]
    if not written.endswith(written_lines[row]):
        return None
    return Location(start.file, index + 1, len(written) - len(written_lines[row]) + column + 1)


def _lines(file: str) -> tuple[str, ...]:
    try:
        return tuple(Path(file).read_text(encoding="utf-8").splitlines())
    except OSError:
        return ()
