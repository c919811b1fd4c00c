"""What the lineage engine does beyond the corpus: gaps it says, plug-ins' own lineage, Spark's schemas, SQL it
cannot follow."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from etl_cli import app
from etl_cli.lineage.engine import ANALYZE_HINT, pipeline_lineage
from etl_cli.lineage.model import ColumnEdge, ColumnRef, LineageGraph
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import Influence, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import Registry
from tests.unit.helpers import make_project

PIPELINE = """
    name: p
    sources:
      - name: raw
        type: csv
        path: data/raw.csv
        {schema}
    transforms:
      - name: step
        type: sql
        inputs: [raw]
        query: {query}
    sinks:
      - name: out
        type: parquet
        input: step
        path: output/step
"""


def spec(tmp_path: Path, query: str = "SELECT * FROM raw", schema: str = "schema: {a: INT, b: STRING}") -> PipelineSpec:
    root = make_project(tmp_path, {"p/pipeline.yaml": PIPELINE.format(query=query, schema=schema)})
    return app.load_spec(root / "p", None)[1]


def with_step_type(pipeline: PipelineSpec, type_name: str) -> PipelineSpec:
    """The pipeline with its transform ``step`` turned into a plug-in of type ``type_name``."""
    stages = tuple(dataclasses.replace(s, type=type_name) if s.name == "step" else s for s in pipeline.stages)
    return dataclasses.replace(pipeline, stages=stages)


def edges(graph: LineageGraph, target: str) -> set[tuple[str, str, str]]:
    node, _, column = target.rpartition(".")
    return {(str(e.source), e.how, e.expression or "") for e in graph.edges if e.target == ColumnRef(node, column)}


class Opaque(Transform):
    """A third-party transform that says nothing of its columns."""

    type = "opaque"


class Shuffle(Transform):
    """A third-party transform that declares its lineage: b as a, a hashed as b, rows ordered by a."""

    type = "shuffle"

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        (name,) = inputs
        return StageLineage(f"SELECT b AS a, sha2(a, 256) AS b FROM {name}", rows=(Influence("a", "order"),))


def registry_of(*plugins: type[Transform]) -> Registry:
    registry = Registry()
    for plugin in plugins:
        registry.register(plugin)
    return registry


def test_a_transform_that_declares_no_lineage_is_unknown_with_what_to_do(tmp_path: Path) -> None:
    graph = pipeline_lineage(with_step_type(spec(tmp_path), "opaque"), registry_of(Opaque))
    assert graph.node("p.step").columns is None
    (unknown,) = graph.unknowns
    assert (unknown.node, unknown.reason) == ("p.step", "transform type 'opaque' does not declare its column lineage")
    assert unknown.hint.startswith(ANALYZE_HINT)
    assert [e for e in graph.edges if e.target.node == "p.step"] == []


def test_a_third_party_transform_declares_its_lineage_as_a_query_and_row_influences(tmp_path: Path) -> None:
    graph = pipeline_lineage(with_step_type(spec(tmp_path), "shuffle"), registry_of(Shuffle))
    assert graph.node("p.step").columns == ("a", "b")
    assert edges(graph, "p.step.a") == {("p.raw.b", "identity", ""), ("p.raw.a", "order", "a")}
    assert edges(graph, "p.step.b") == {("p.raw.a", "expression", "SHA2(a, 256)")}
    assert graph.unknowns == ()


def test_spark_s_schema_completes_a_source_declared_without_one(tmp_path: Path) -> None:
    pipeline = spec(tmp_path, schema="")
    offline = pipeline_lineage(pipeline, app.registry())
    assert offline.node("p.raw").columns is None
    assert [u.node for u in offline.unknowns] == ["p.raw"]
    analyzed = pipeline_lineage(pipeline, app.registry(), {"raw": [("id", "bigint"), ("name", "string")]})
    assert analyzed.node("p.raw").columns == ("id", "name")
    assert analyzed.node("p.raw").types == (("id", "bigint"), ("name", "string"))
    assert analyzed.node("p.out").columns == ("id", "name")
    assert analyzed.unknowns == ()


def test_sql_reading_a_table_that_is_no_input_is_said_with_the_inputs(tmp_path: Path) -> None:
    graph = pipeline_lineage(spec(tmp_path, query="SELECT a FROM other"), app.registry())
    (unknown,) = graph.unknowns
    assert unknown.node == "p.step"
    assert unknown.reason == "reads other, which is not an input of the stage (inputs: raw)"


def test_a_column_spark_would_name_itself_leaves_the_stage_s_columns_unknown(tmp_path: Path) -> None:
    graph = pipeline_lineage(spec(tmp_path, query="SELECT a + 1 FROM raw"), app.registry())
    assert graph.node("p.step").columns is None
    (unknown,) = graph.unknowns
    assert "has no name" in unknown.reason and "AS name" in unknown.reason


def test_sql_that_does_not_parse_is_unknown_not_an_error(tmp_path: Path) -> None:
    graph = pipeline_lineage(spec(tmp_path, query="'SELECT a FROM raw WHERE (a'"), app.registry())
    (unknown,) = graph.unknowns
    assert unknown.node == "p.step" and unknown.reason.startswith("the query does not parse")


def test_one_edge_joins_two_columns_the_strongest_relation(tmp_path: Path) -> None:
    graph = pipeline_lineage(spec(tmp_path, query="'SELECT a, b FROM raw WHERE a > 0 ORDER BY a'"), app.registry())
    assert edges(graph, "p.step.a") == {("p.raw.a", "identity", "")}
    assert edges(graph, "p.step.b") == {("p.raw.b", "identity", ""), ("p.raw.a", "filter", "a > 0")}


def test_a_correlated_subquery_reads_the_outer_query_s_columns(tmp_path: Path) -> None:
    query = "'SELECT a, (SELECT max(r2.b) FROM raw AS r2 WHERE r2.a = r1.a) AS top FROM raw AS r1'"
    graph = pipeline_lineage(spec(tmp_path, query=query), app.registry())
    assert {(source, how) for source, how, _ in edges(graph, "p.step.top")} == {
        ("p.raw.b", "aggregation"),
        ("p.raw.a", "expression"),
    }
    assert graph.unknowns == ()


def test_edges_are_frozen_values() -> None:
    edge = ColumnEdge(ColumnRef("p.a", "x"), ColumnRef("p.b", "x"), "identity")
    assert {edge, ColumnEdge(ColumnRef("p.a", "x"), ColumnRef("p.b", "x"), "identity")} == {edge}
