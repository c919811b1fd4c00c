"""``split`` without Spark: each output is a stage of its own, at its line, checked and traced offline."""

from __future__ import annotations

from pathlib import Path

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli import app
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.model import ColumnRef
from etl_cli.model.check import check_pipeline
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.registry import REGISTRY

from .helpers import make_project

PIPELINE = """\
name: regions
sources:
  - name: orders
    type: csv
    path: orders.csv
    schema: {{order_id: INT, region: STRING, amount: DOUBLE}}
transforms:
  - name: by_region
    type: split
    inputs: [orders]
    outputs:
      eu_orders: "region = 'EU'"
      us_orders: "region = 'US'"
    otherwise: {otherwise}
sinks:
  - {{name: eu_out, type: csv, input: {eu_reader}, path: out/eu}}
  - {{name: us_out, type: csv, input: us_orders, path: out/us}}
  - {{name: rest_out, type: csv, input: other_orders, path: out/rest}}
"""


def checked(
    tmp_path: Path, otherwise: str = "other_orders", eu_reader: str = "eu_orders"
) -> tuple[PipelineSpec | None, list[Diagnostic]]:
    text = PIPELINE.format(otherwise=otherwise, eu_reader=eu_reader)
    make_project(tmp_path, {"p/pipeline.yaml": text})
    return check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), app.registry())


def errors(found: list[Diagnostic]) -> list[tuple[str, int, int, str, str | None]]:
    return [
        (d.code, d.location.line, d.location.column, d.message, d.hint)
        for d in found
        if d.severity == "error" and d.location is not None
    ]


def test_each_output_is_a_stage_that_reads_the_split_placed_at_its_own_key(tmp_path: Path) -> None:
    spec, found = checked(tmp_path)
    assert isinstance(spec, PipelineSpec), found
    made = {s.name: (s.inputs, s.option("output"), (s.location.line, s.location.column) if s.location else None)
            for s in spec.stages if s.kind == "transform"}  # fmt: skip
    assert made == {
        "by_region": (("orders",), None, (8, 5)),
        "eu_orders": (("by_region",), "eu_orders", (12, 7)),
        "us_orders": (("by_region",), "us_orders", (13, 7)),
        "other_orders": (("by_region",), "other_orders", (14, 16)),
    }
    assert [d for d in found if d.code == "unused-stage"] == []


def test_a_stage_reading_a_misspelt_output_is_an_error_at_its_input_with_did_you_mean(tmp_path: Path) -> None:
    _, found = checked(tmp_path, eu_reader="eu_order")
    [(code, line, column, message, hint)] = errors(found)
    assert (code, line, column) == ("unknown-input", 16, 38)
    assert "'eu_order'" in message and hint == "did you mean 'eu_orders'?"


def test_otherwise_naming_an_output_is_an_error_at_otherwise(tmp_path: Path) -> None:
    _, found = checked(tmp_path, otherwise="us_orders")
    problems = [(code, line, column) for code, line, column, message, _ in errors(found) if "otherwise" in message]
    assert problems == [("invalid-option", 14, 16)]


def test_an_outputs_columns_come_from_the_split_and_its_rows_from_every_condition_tried_before(
    tmp_path: Path,
) -> None:
    checked(tmp_path)
    graph = pipeline_lineage(app.load_spec(tmp_path / "p", None)[1], REGISTRY)

    def into(stage: str) -> set[tuple[str, str, str]]:
        target = ColumnRef(f"regions.{stage}", "amount")
        return {(e.source.node, e.source.column, e.how) for e in graph.edges if e.target == target}

    assert into("by_region") == {("regions.orders", "amount", "identity")}
    # us_orders keeps the rows region = 'US' takes and region = 'EU' (tried first) does not
    assert into("us_orders") == {("regions.by_region", "amount", "identity"), ("regions.by_region", "region", "filter")}


def test_a_misspelt_column_in_a_condition_is_an_error_at_its_place_in_the_condition_once(tmp_path: Path) -> None:
    text = PIPELINE.format(otherwise="other_orders", eu_reader="eu_orders").replace("region = 'US'", "regoin = 'US'")
    make_project(tmp_path, {"p/pipeline.yaml": text})
    [report] = app.validate([tmp_path / "p"])
    found = list(report.diagnostics)
    # line 13: `      us_orders: "regoin = 'US'"`, the quoted value starts at column 18
    assert [(code, line, column) for code, line, column, _, _ in errors(found)] == [("unknown-column", 13, 19)]


STREAMING = """\
name: stream_split
streaming: {checkpoint_location: ck}
sources:
  - name: events
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: events
    schema: {id: BIGINT, page: STRING}
transforms:
  - name: by_page
    type: split
    inputs: [events]
    outputs:
      home: page = 'home'
    otherwise: elsewhere
sinks:
  - {name: home_out, type: parquet, input: home, path: out/home}
  - {name: rest_out, type: parquet, input: elsewhere, path: out/rest}
"""


def test_a_split_reading_a_stream_is_refused_once_at_the_split(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": STREAMING})
    [report] = app.validate([tmp_path / "p"])
    found = [(d.code, d.location.line if d.location else None) for d in report.diagnostics if d.severity == "error"]
    assert found == [("not-streamable", 11)]


def test_an_output_option_naming_no_output_is_an_error_at_it(tmp_path: Path) -> None:
    text = PIPELINE.format(otherwise="other_orders", eu_reader="eu_orders").replace(
        "    otherwise: other_orders\n", "    otherwise: other_orders\n    output: uk_orders\n"
    )
    make_project(tmp_path, {"p/pipeline.yaml": text})
    _, found = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), app.registry())
    options = [(line, column) for code, line, column, _, _ in errors(found) if code == "invalid-option"]
    assert options == [(15, 13)]
