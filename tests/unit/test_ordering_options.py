"""``sort``, ``limit`` and ``sample`` checked offline: options at their line, streams refused, column lineage."""

from __future__ import annotations

from pathlib import Path

from etl_cli import app
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.model import ColumnRef

from .helpers import make_project

PIPELINE = """
name: p
sources:
  - name: scores
    type: csv
    path: data/scores.csv
    schema: {player: STRING, points: INT}
transforms:
  - name: picked
    type: {type}
    inputs: [scores]
    {options}
sinks:
  - {name: out, type: parquet, input: picked, path: output/picked}
"""
STREAM = """
name: p
streaming: {checkpoint_location: ck}
sources:
  - {name: scores, type: kafka, mode: stream, bootstrap_servers: "localhost:9092", topic: t, schema: {points: INT}}
transforms:
  - name: picked
    type: {type}
    inputs: [scores]
    {options}
sinks:
  - {name: out, type: json, input: picked, path: output/picked}
"""


def errors(tmp_path: Path, type_name: str, options: str, template: str = PIPELINE) -> list[tuple[int, int, str]]:
    """(line, column, message) of every error ``validate`` reports."""
    text = template.lstrip("\n").replace("{type}", type_name).replace("{options}", options)
    make_project(tmp_path, {"p/pipeline.yaml": text})
    [report] = app.validate([tmp_path / "p"])
    return [
        (d.location.line if d.location else 0, d.location.column if d.location else 0, d.message)
        for d in report.diagnostics
        if d.severity == "error"
    ]


def test_the_three_transforms_validate_with_their_options(tmp_path: Path) -> None:
    assert errors(tmp_path / "a", "sort", "order_by: [points desc nulls last, player]\n    limit: 3") == []
    assert errors(tmp_path / "b", "limit", "n: 10") == []
    assert errors(tmp_path / "c", "sample", "fraction: 0.1\n    seed: 42\n    with_replacement: false") == []


def test_a_fraction_above_one_without_replacement_is_refused_at_its_line(tmp_path: Path) -> None:
    [(line, column, message)] = errors(tmp_path, "sample", "fraction: 1.5")
    assert (line, column) == (11, 15)
    assert "fraction 1.5" in message and "at most 1" in message


def test_a_fraction_above_one_with_replacement_is_accepted(tmp_path: Path) -> None:
    assert errors(tmp_path, "sample", "fraction: 1.5\n    with_replacement: true") == []


def test_a_limit_of_zero_and_a_sort_without_keys_are_refused(tmp_path: Path) -> None:
    [(line, _, message)] = errors(tmp_path / "a", "sort", "order_by: [points]\n    limit: 0")
    assert line == 12 and "0 is less than the minimum of 1" in message
    [(line, _, message)] = errors(tmp_path / "b", "sort", "order_by: []")
    assert line == 11 and "order_by" in message


def test_none_of_them_runs_on_a_stream(tmp_path: Path) -> None:
    cases = {"sort": "order_by: [points]", "limit": "n: 5", "sample": "fraction: 0.5"}
    for type_name, options in cases.items():
        found = errors(tmp_path / type_name, type_name, options, STREAM)
        assert [message for _, _, message in found if "does not run on a stream" in message], (type_name, found)


def test_a_top_n_passes_every_column_through_and_its_keys_decide_the_rows(tmp_path: Path) -> None:
    text = PIPELINE.lstrip("\n").replace("{type}", "sort").replace("{options}", "order_by: [points desc]\n    limit: 3")
    make_project(tmp_path, {"p/pipeline.yaml": text})
    graph = pipeline_lineage(app.load_spec(tmp_path / "p", None)[1], app.registry())
    into_player = {(str(e.source), e.how) for e in graph.edges if e.target == ColumnRef("p.picked", "player")}
    assert into_player == {("p.scores.player", "identity"), ("p.scores.points", "order")}
