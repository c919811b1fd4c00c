"""``StageGraph``: which stage reads which, the walk validation and the plan share (etl_cli/model/graph.py).

Written for the mutants that survived in it (docs/testing.md, "Mutation testing").
"""

from __future__ import annotations

from etl_cli.model.graph import StageGraph

#: a -> b -> d, a -> c -> d, d -> sink; "ghost" names no stage
GRAPH = StageGraph.of(
    [("a", []), ("b", ["a"]), ("c", ["a", "ghost"]), ("d", ["b", "c"]), ("sink", ["d"])],
)


def test_an_input_naming_no_stage_is_left_out() -> None:
    assert GRAPH.inputs["c"] == ("a",)


def test_a_name_given_twice_reads_the_inputs_of_both_once_each() -> None:
    graph = StageGraph.of([("a", []), ("b", []), ("x", ["b"]), ("x", ["a", "b"])])
    assert graph.inputs["x"] == ("b", "a")


def test_readers_are_the_direct_readers_in_the_graphs_order() -> None:
    assert GRAPH.readers("a") == ("b", "c")
    assert GRAPH.readers("sink") == ()


def test_upstream_is_every_stage_read_directly_or_not_nearest_first() -> None:
    assert GRAPH.upstream("sink") == ("d", "b", "c", "a")
    assert GRAPH.upstream("a") == ()
    assert GRAPH.upstream("ghost") == ()


def test_downstream_is_the_names_and_every_stage_reading_them_directly_or_not() -> None:
    assert GRAPH.downstream(["b"]) == {"b", "d", "sink"}
    assert GRAPH.downstream(["a", "c"]) == {"a", "b", "c", "d", "sink"}
    assert GRAPH.downstream([]) == set()
