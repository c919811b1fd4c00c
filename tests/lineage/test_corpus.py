"""Column lineage of the corpus (tests/lineage/corpus): every built-in transform, sources with and without a
declared schema, and pipelines chained through a dataset, each compared exactly with lineage written by hand.

Each case is a project folder (``etl-project.yaml``, one folder per pipeline, ``expected.lineage`` in the
format of tests/lineage/expected.py); its lineage is the project's, as ``etl-cli lineage CASE`` computes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.lineage.model import LineageGraph
from etl_cli.usecases.lineage import LineageRequest, lineage
from tests.lineage.expected import Edge, read_expected

CORPUS = Path(__file__).with_name("corpus")
CASES = sorted(path.name for path in CORPUS.iterdir() if (path / "expected.lineage").is_file())


def case_lineage(case: str) -> LineageGraph:
    return lineage(LineageRequest(CORPUS / case)).graph


def edges_of(graph: LineageGraph) -> set[Edge]:
    return {(e.source.node, e.source.column, e.target.node, e.target.column, e.how, e.expression) for e in graph.edges}


def test_the_corpus_covers_every_built_in_transform_and_at_least_15_pipelines() -> None:
    pipelines = list(CORPUS.glob("*/*/pipeline.yaml"))
    types = {line.split(":", 1)[1].strip() for p in pipelines for line in p.read_text().splitlines()
             if line.strip().startswith("type:")}  # fmt: skip
    assert len(pipelines) >= 15
    assert {"filter", "select", "derive", "aggregate", "join", "window", "deduplicate", "union", "sql"} <= types


@pytest.mark.parametrize("case", CASES)
def test_each_stage_has_the_columns_written_by_hand(case: str) -> None:
    expected = read_expected(CORPUS / case / "expected.lineage", (CORPUS / case).resolve())
    assert {node.id: node.columns for node in case_lineage(case).nodes} == expected.columns


@pytest.mark.parametrize("case", CASES)
def test_each_column_comes_from_the_input_columns_written_by_hand(case: str) -> None:
    expected = read_expected(CORPUS / case / "expected.lineage", (CORPUS / case).resolve())
    found = edges_of(case_lineage(case))
    assert sorted(found - expected.edges) == [], "edges found that were not expected"
    assert sorted(expected.edges - found) == [], "edges expected that were not found"


@pytest.mark.parametrize("case", CASES)
def test_what_is_unknown_offline_is_said_on_the_stage_that_causes_it(case: str) -> None:
    expected = read_expected(CORPUS / case / "expected.lineage", (CORPUS / case).resolve())
    assert {unknown.node for unknown in case_lineage(case).unknowns} == expected.unknowns
