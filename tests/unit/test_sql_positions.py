"""Spark's SQL position mapped to the YAML, without Spark: an error carrying Spark's query context
(the fragment and its offset in the SQL Spark parsed) is placed at that fragment in the user's file.

The places are read off ``PIPELINE`` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli import app
from etl_cli.errors import ConfigError, Location
from etl_cli.runtime.execution.sql_positions import expression_location

from .helpers import make_project

PIPELINE = """\
name: spots
sources:
  - {name: orders, type: csv, path: orders.csv}
transforms:
  - name: quoted
    type: filter
    inputs: [orders]
    condition: "amout > 10"
  - name: escaped
    type: filter
    inputs: [orders]
    condition: "region = \\"EU\\" and amout > 10"
  - name: totals
    type: aggregate
    inputs: [orders]
    group_by: [region]
    aggregations:
      total: {function: sum, column: amout}
sinks:
  - {name: a, type: csv, input: quoted, path: out/a}
  - {name: b, type: csv, input: escaped, path: out/b}
  - {name: c, type: csv, input: totals, path: out/c}
"""


class _Kind(Enum):
    SQL = 0


@dataclass
class _Context:
    text: str
    start: int

    def contextType(self) -> _Kind:  # PySpark's QueryContext names
        return _Kind.SQL

    def fragment(self) -> str:
        return self.text

    def startIndex(self) -> int:
        return self.start


class _AnalysisError(Exception):
    """What PySpark's AnalysisException offers: its query contexts."""

    def __init__(self, fragment: str, start: int) -> None:
        super().__init__(fragment)
        self.contexts = [_Context(fragment, start)]

    def getQueryContext(self) -> list[_Context]:
        return self.contexts


def place(tmp_path: Path, stage_name: str, fragment: str, start: int) -> Location | None:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE})
    spec = app.load_spec(tmp_path / "p", None, environ={})[1]
    stage = spec.stage(stage_name)
    wrapped = ConfigError("invalid condition", location=stage.location)  # as the transforms raise it
    wrapped.__cause__ = _AnalysisError(fragment, start)
    found = expression_location(wrapped, stage, spec)
    return None if found is None else Location(Path(found.file).name, found.line, found.column)


def test_a_fragment_in_a_quoted_scalar_is_placed_after_the_quote(tmp_path: Path) -> None:
    assert place(tmp_path, "quoted", "amout", 0) == Location("pipeline.yaml", 8, 17)


def test_a_scalar_with_escapes_is_placed_at_its_start(tmp_path: Path) -> None:
    # the file's text differs from the value (\\" is one character): the scalar's own place is exact
    assert place(tmp_path, "escaped", "amout", 18) == Location("pipeline.yaml", 12, 16)


def test_generated_sql_is_placed_at_the_only_option_that_holds_the_fragment(tmp_path: Path) -> None:
    # Spark parsed "sum(amout)": the fragment starts at 4 there, and the user wrote only "amout"
    assert place(tmp_path, "totals", "amout", 4) == Location("pipeline.yaml", 18, 38)


def test_a_fragment_no_option_holds_gives_no_place(tmp_path: Path) -> None:
    assert place(tmp_path, "quoted", "nowhere", 0) is None
