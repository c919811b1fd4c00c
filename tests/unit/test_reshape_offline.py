"""pivot, unpivot, explode, flatten, fill_nulls and case without Spark: option checks at their YAML line, and
column lineage."""

from __future__ import annotations

from pathlib import Path

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli import app
from etl_cli.config.loader import load_pipeline
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.model import ColumnRef, LineageGraph
from etl_cli.model.check import check_pipeline
from etl_cli.plugins.registry import REGISTRY

from .helpers import make_project

SOURCE = """\
sources:
  - name: sales
    type: csv
    path: sales.csv
    schema: {shop: STRING, month: STRING, amount: INT, country: STRING, items: "ARRAY<STRING>"}
transforms:
"""


def problems(tmp_path: Path, transforms: str) -> list[tuple[int, int, str]]:
    """(line, column, message) of every invalid-option diagnostic of a pipeline with these transforms."""
    sink = "sinks:\n  - {name: out, type: parquet, input: t, path: out}\n"
    make_project(tmp_path, {"p/pipeline.yaml": SOURCE + transforms + sink})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), app.registry())
    return [
        (d.location.line, d.location.column, d.message)
        for d in diagnostics
        if d.code == "invalid-option" and d.location is not None
    ]


def lineage(tmp_path: Path, transforms: str) -> LineageGraph:
    sink = "sinks:\n  - {name: out, type: parquet, input: t, path: out}\n"
    make_project(tmp_path, {"p/pipeline.yaml": SOURCE + transforms + sink})
    return pipeline_lineage(app.load_spec(tmp_path / "p", None)[1], REGISTRY)


def sources_of(graph: LineageGraph, column: str) -> set[tuple[str, str]]:
    return {(e.source.column, e.how) for e in graph.edges if e.target == ColumnRef("p.t", column)}


PIVOT = """\
  - name: t
    type: pivot
    inputs: [sales]
    group_by: [shop]
    pivot: month
    values: [jan, {values}]
    aggregations:
      total: {{function: sum, column: amount}}
"""


def test_a_pivot_value_named_like_a_group_by_column_is_refused_at_the_value(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, PIVOT.format(values="shop"))
    assert found == (12, 19, "transforms.t.values.[1]: the output would have two columns named 'shop'")


STREAMING_PIVOT = """\
streaming: {checkpoint_location: ck}
sources:
  - {name: events, type: kafka, mode: stream, bootstrap_servers: "b:9092", topic: t, schema: {k: STRING, v: INT}}
transforms:
  - {name: t, type: pivot, inputs: [events], group_by: [k], pivot: v, values: [1], aggregations: {n: {function: count}}}
sinks:
  - {name: out, type: json, input: t, path: out}
"""


def test_validate_refuses_a_pivot_of_a_stream(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": STREAMING_PIVOT})
    [report] = app.validate([tmp_path / "p"])
    errors = [(d.code, d.message) for d in report.diagnostics if d.severity == "error"]
    assert errors == [
        ("not-streamable", "transforms.t: a pivot does not run on a stream (Spark cannot pivot a streaming DataFrame)")
    ]


def test_pivot_lineage_reads_the_pivot_column_and_the_aggregated_one(tmp_path: Path) -> None:
    graph = lineage(tmp_path, PIVOT.format(values="feb"))
    assert graph.node("p.t").columns == ("shop", "jan", "feb")
    assert sources_of(graph, "feb") == {("month", "aggregation"), ("amount", "aggregation"), ("shop", "group_by")}


UNPIVOT = """\
  - name: t
    type: unpivot
    inputs: [sales]
    ids: [shop]
    values: [month, {value}]
"""


def test_an_unpivot_column_that_is_also_an_id_is_refused_at_the_value(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, UNPIVOT.format(value="shop"))
    assert found == (11, 21, "transforms.t.values.[1]: 'shop' is an id column too")


def test_unpivot_lineage_takes_the_value_from_every_listed_column(tmp_path: Path) -> None:
    graph = lineage(tmp_path, UNPIVOT.format(value="country"))
    assert graph.node("p.t").columns == ("shop", "variable", "value")
    assert sources_of(graph, "value") == {("month", "identity"), ("country", "identity")}


def test_explode_lineage_puts_the_other_columns_first_then_position_and_element(tmp_path: Path) -> None:
    graph = lineage(tmp_path, "  - {name: t, type: explode, inputs: [sales], column: items, position: i, as: item}\n")
    assert graph.node("p.t").columns == ("shop", "month", "amount", "country", "i", "item")
    assert sources_of(graph, "item") == {("items", "expression")}


def test_explode_refuses_a_position_named_like_the_element(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, "  - {name: t, type: explode, inputs: [sales], column: items, position: items}\n")
    assert found[2] == "transforms.t.position: two output columns named alike: items, items"


def test_flatten_lineage_is_unknown_offline(tmp_path: Path) -> None:
    graph = lineage(tmp_path, "  - {name: t, type: flatten, inputs: [sales]}\n")
    assert graph.node("p.t").columns is None


def test_fill_nulls_needs_values_or_by_type(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, "  - {name: t, type: fill_nulls, inputs: [sales]}\n")
    assert found[2] == "transforms.t: fill_nulls needs values, by_type or both"


def test_fill_nulls_lineage_coalesces_the_columns_given_values(tmp_path: Path) -> None:
    graph = lineage(tmp_path, "  - {name: t, type: fill_nulls, inputs: [sales], values: {amount: 0}}\n")
    assert sources_of(graph, "amount") == {("amount", "expression")}
    assert sources_of(graph, "shop") == {("shop", "identity")}


CASE = """\
  - name: t
    type: case
    inputs: [sales]
    column: country
    mapping: {{FR: Europe, US: {us}}}
    output: region
"""


def test_case_values_of_two_types_are_refused_at_the_mapping(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, CASE.format(us="1"))
    assert found == (11, 14, "transforms.t.mapping: the mapped values mix number and string")


def test_case_lineage_makes_the_output_from_the_looked_up_column(tmp_path: Path) -> None:
    graph = lineage(tmp_path, CASE.format(us='"it\'s"'))
    assert graph.node("p.t").columns == ("shop", "month", "amount", "country", "items", "region")
    assert sources_of(graph, "region") == {("country", "expression")}


def test_case_keys_are_text_in_lineage(tmp_path: Path) -> None:
    text = "  - {name: t, type: case, inputs: [sales], column: amount, mapping: {1: one, 2.5: two}}\n"
    assert problems(tmp_path, text) == []
    (edge,) = [e for e in lineage(tmp_path, text).edges if e.target == ColumnRef("p.t", "amount")]
    assert edge.expression == "CASE amount WHEN '1' THEN 'one' WHEN '2.5' THEN 'two' ELSE NULL END"
