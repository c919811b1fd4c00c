"""``validate`` warns about the top-N trap: a ranking window without ``partition_by`` runs in one partition."""

from __future__ import annotations

from pathlib import Path

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli import app
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.model.check import check_pipeline

from .helpers import make_project

PIPELINE = """\
name: top
sources:
  - name: sales
    type: csv
    path: sales.csv
    schema: {{shop: STRING, amount: DOUBLE}}
transforms:
  - name: ranked
    type: window
    inputs: [sales]
{window}
sinks:
  - {{name: out, type: csv, input: ranked, path: out}}
"""


def diagnostics(tmp_path: Path, window: str) -> list[Diagnostic]:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE.format(window=window)})
    spec, found = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), app.registry())
    assert spec is not None, found  # a warning, never an error: the pipeline still runs
    return [d for d in found if d.code == "top-n-one-partition"]


def test_row_number_without_partition_by_is_a_warning_at_the_window_stage_suggesting_sort_with_limit(
    tmp_path: Path,
) -> None:
    window = "    order_by: [amount desc]\n    columns:\n      pos: {function: row_number}"
    [found] = diagnostics(tmp_path, window)
    assert found.severity == "warning"
    assert found.location is not None and (found.location.line, found.location.column) == (8, 5)  # `- name: ranked`
    assert "row_number" in found.message and "one partition" in found.message
    assert found.hint is not None and "type: sort" in found.hint and "limit" in found.hint


def test_rank_without_partition_by_is_a_warning_too(tmp_path: Path) -> None:
    window = "    order_by: [amount desc]\n    columns:\n      pos: {function: rank}"
    assert len(diagnostics(tmp_path, window)) == 1


def test_a_ranking_window_with_partition_by_is_not_reported(tmp_path: Path) -> None:
    window = "    partition_by: [shop]\n    order_by: [amount desc]\n    columns:\n      pos: {function: row_number}"
    assert diagnostics(tmp_path, window) == []


def test_a_running_total_without_partition_by_is_not_reported_as_a_top_n(tmp_path: Path) -> None:
    window = "    order_by: [amount]\n    columns:\n      running: {function: sum, column: amount}"
    assert diagnostics(tmp_path, window) == []
