"""``build_dag``: edges from ``depends_on:`` and from the datasets pipelines share, and what makes a DAG wrong,
each at the line that caused it (etl_cli/orchestration/dag.py)."""

from __future__ import annotations

from pathlib import Path

from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import Location
from etl_cli.orchestration.dag import DagEdge, build_dag
from tests.unit.dag_projects import pipeline_yaml, project, specs
from tests.unit.helpers import write


def _dag(root: Path, pipelines: dict[str, str]) -> tuple[list[DagEdge], list[Diagnostic]]:
    project(root, pipelines)
    dag, diagnostics = build_dag(root, specs(root))
    return list(dag.edges), diagnostics


def _at(root: Path, folder: str, line: int, column: int) -> Location:
    return Location(str(root / "pipelines" / folder / "pipeline.yaml"), line, column)


def test_a_pipeline_reading_what_another_writes_runs_after_it(tmp_path: Path) -> None:
    edges, diagnostics = _dag(
        tmp_path,
        {"a": pipeline_yaml("a", writes=["out/orders"]), "b": pipeline_yaml("b", reads=["out/orders"])},
    )
    assert edges == [DagEdge("a", "b", "dataset", "out/orders")]
    assert diagnostics == []


def test_the_same_file_written_two_ways_is_one_dataset(tmp_path: Path) -> None:
    edges, _ = _dag(
        tmp_path,
        {
            "a": pipeline_yaml("a", writes=["./out//orders/"]),
            "b": pipeline_yaml("b", reads=["out/orders"]),
            "c": pipeline_yaml("c", reads=[str(tmp_path / "out" / "orders")]),
        },
    )
    assert edges == [DagEdge("a", "b", "dataset", "out/orders"), DagEdge("a", "c", "dataset", "out/orders")]


def test_depends_on_makes_an_edge_without_a_shared_dataset(tmp_path: Path) -> None:
    edges, diagnostics = _dag(tmp_path, {"a": pipeline_yaml("a"), "b": pipeline_yaml("b", depends_on=["a"])})
    assert edges == [DagEdge("a", "b", "depends_on", None)]
    assert diagnostics == []


def test_a_dataset_nobody_writes_makes_no_edge(tmp_path: Path) -> None:
    edges, _ = _dag(tmp_path, {"a": pipeline_yaml("a", writes=["out/a"]), "b": pipeline_yaml("b", reads=["out/c"])})
    assert edges == []


def test_upstream_and_downstream_are_the_direct_neighbours_only(tmp_path: Path) -> None:
    project(
        tmp_path,
        {
            "a": pipeline_yaml("a", writes=["out/a"]),
            "b": pipeline_yaml("b", reads=["out/a"], writes=["out/b"]),
            "c": pipeline_yaml("c", reads=["out/b"]),
        },
    )
    dag, _ = build_dag(tmp_path, specs(tmp_path))
    assert dag.upstream_of("c") == {"b"}
    assert dag.downstream_of("a") == {"b"}
    assert dag.upstream_of("a") == frozenset()


def test_the_order_puts_each_pipeline_after_what_it_depends_on_and_ties_by_name(tmp_path: Path) -> None:
    project(
        tmp_path,
        {
            "zeta": pipeline_yaml("zeta", writes=["out/z"]),
            "alpha": pipeline_yaml("alpha", reads=["out/z"]),
            "mid": pipeline_yaml("mid"),
            "beta": pipeline_yaml("beta", depends_on=["alpha", "mid"]),
        },
    )
    dag, _ = build_dag(tmp_path, specs(tmp_path))
    # ready first: mid and zeta (no upstream); then alpha (after zeta); then beta (after alpha and mid)
    assert dag.order() == ["mid", "zeta", "alpha", "beta"]


def test_pipelines_know_their_folder_relative_to_the_root_and_their_tags(tmp_path: Path) -> None:
    project(tmp_path, {"finance/ledger": pipeline_yaml("ledger", tags=["finance", "daily"])})
    dag, _ = build_dag(tmp_path, specs(tmp_path))
    ledger = dag.pipelines["ledger"]
    assert (ledger.folder, ledger.tags) == ("pipelines/finance/ledger", ("finance", "daily"))
    assert ledger.location == _at(tmp_path, "finance/ledger", 1, 7)


def test_an_overlay_can_set_tags_and_depends_on_like_any_key(tmp_path: Path) -> None:
    project(tmp_path, {"a": pipeline_yaml("a"), "b": pipeline_yaml("b")})
    write(tmp_path, "pipelines/b/env/dev.yaml", "depends_on: [a]\ntags: [nightly]\n")
    dag, diagnostics = build_dag(tmp_path, specs(tmp_path))
    assert list(dag.edges) == [DagEdge("a", "b", "depends_on", None)]
    assert dag.pipelines["b"].tags == ("nightly",)
    assert diagnostics == []


def test_depends_on_naming_no_pipeline_is_an_error_at_its_item_with_a_suggestion(tmp_path: Path) -> None:
    _, diagnostics = _dag(
        tmp_path, {"orders": pipeline_yaml("orders"), "report": pipeline_yaml("report", depends_on=["order"])}
    )
    assert [(d.code, d.location, d.hint) for d in diagnostics] == [
        ("unknown-dependency", _at(tmp_path, "report", 2, 14), "did you mean 'orders'?")
    ]
    assert "no pipeline named 'order'" in diagnostics[0].message


def test_a_cycle_of_depends_on_is_an_error_at_each_depends_on_naming_every_pipeline(tmp_path: Path) -> None:
    _, diagnostics = _dag(
        tmp_path,
        {
            "a": pipeline_yaml("a", depends_on=["c"]),
            "b": pipeline_yaml("b", depends_on=["a"]),
            "c": pipeline_yaml("c", depends_on=["b"]),
        },
    )
    assert sorted((d.code, d.location) for d in diagnostics) == [
        ("dependency-cycle", _at(tmp_path, "a", 2, 14)),
        ("dependency-cycle", _at(tmp_path, "b", 2, 14)),
        ("dependency-cycle", _at(tmp_path, "c", 2, 14)),
    ]
    at_a = next(d for d in diagnostics if d.location == _at(tmp_path, "a", 2, 14))
    assert "'a' runs after 'c', which runs after 'b', which runs after 'a'" in at_a.message


def test_depends_on_against_the_data_flow_is_a_cycle_at_the_depends_on_and_the_source(tmp_path: Path) -> None:
    _, diagnostics = _dag(
        tmp_path,
        {
            "load": pipeline_yaml("load", writes=["out/raw"], depends_on=["report"]),
            "report": pipeline_yaml("report", reads=["out/raw"]),
        },
    )
    found = {d.location: d for d in diagnostics}
    assert set(found) == {_at(tmp_path, "load", 2, 14), _at(tmp_path, "report", 5, 5)}
    assert {d.code for d in diagnostics} == {"dependency-cycle"}
    assert "'report' reads out/raw, which 'load' writes" in found[_at(tmp_path, "report", 5, 5)].message
    assert "contradicts the data flow" in (found[_at(tmp_path, "load", 2, 14)].hint or "")


def test_depends_on_itself_is_a_cycle(tmp_path: Path) -> None:
    _, diagnostics = _dag(tmp_path, {"a": pipeline_yaml("a", depends_on=["a"])})
    assert [(d.code, d.location) for d in diagnostics] == [("dependency-cycle", _at(tmp_path, "a", 2, 14))]


def test_two_pipelines_writing_one_dataset_is_an_error_at_both_sinks(tmp_path: Path) -> None:
    _, diagnostics = _dag(
        tmp_path, {"a": pipeline_yaml("a", writes=["out/same"]), "b": pipeline_yaml("b", writes=["./out/same"])}
    )
    assert sorted((d.code, d.location) for d in diagnostics) == [
        ("sink-conflict", _at(tmp_path, "a", 10, 5)),
        ("sink-conflict", _at(tmp_path, "b", 10, 5)),
    ]
    assert diagnostics[0].message == "pipelines 'a' and 'b' both write out/same"


def test_two_pipelines_of_one_name_is_an_error_at_the_second(tmp_path: Path) -> None:
    _, diagnostics = _dag(tmp_path, {"one": pipeline_yaml("same"), "two": pipeline_yaml("same")})
    assert [(d.code, d.location) for d in diagnostics] == [("duplicate-pipeline", _at(tmp_path, "two", 1, 7))]


def test_a_depends_on_naming_a_pipeline_left_out_as_invalid_is_not_unknown(tmp_path: Path) -> None:
    project(tmp_path, {"a": pipeline_yaml("a", depends_on=["broken"])})
    _, diagnostics = build_dag(tmp_path, specs(tmp_path), others=["broken"])
    assert diagnostics == []
