"""``--set KEY.PATH=VALUE`` applied to a pipeline's tree in-process (``apply_set`` of etl_cli/config/loader.py):
paths through mappings, named and numbered list items and free-form maps, values read as YAML, each refusal's
message and hint. ``run``, ``dry-run``, ``table`` and the other commands taking ``--set`` all go through it.
"""

from __future__ import annotations

from typing import Any

import pytest

from etl_cli.config.loader import apply_set
from etl_cli.config.nodes import Node, to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.errors import UsageError

PIPELINE = """\
name: demo
spark:
  conf: {spark.sql.shuffle.partitions: 4}
sources:
  - {name: orders, type: csv, path: orders.csv}
  - {name: customers, type: csv, path: customers.csv}
sinks:
  - {name: out, type: parquet, input: orders, path: out}
"""


def tree() -> Node:
    return load_yaml_text(PIPELINE, "pipeline.yaml")


def plain(node: Node) -> Any:
    return to_plain(node)[0]


def test_a_key_of_a_named_list_item_is_replaced() -> None:
    changed = plain(apply_set(tree(), "sinks.out.mode=append"))
    assert changed["sinks"] == [{"name": "out", "type": "parquet", "input": "orders", "path": "out", "mode": "append"}]
    assert changed["sources"][1]["path"] == "customers.csv"


def test_a_list_item_may_be_addressed_by_its_position() -> None:
    changed = plain(apply_set(tree(), "sources.1.path=c2.csv"))
    assert [s["path"] for s in changed["sources"]] == ["orders.csv", "c2.csv"]


def test_a_name_wins_over_a_position_and_a_position_past_the_end_is_no_item() -> None:
    with pytest.raises(UsageError) as refused:
        apply_set(tree(), "sources.2.path=x")
    assert refused.value.message == "--set sources.2.path=x: no item named '2'"
    assert refused.value.hint == "items here: orders, customers"


def test_missing_mappings_are_made_on_the_way() -> None:
    changed = plain(apply_set(tree(), "streaming.trigger.processing_time=5 seconds"))
    assert changed["streaming"] == {"trigger": {"processing_time": "5 seconds"}}


def test_keys_of_free_form_maps_keep_their_dots() -> None:
    changed = plain(apply_set(tree(), "spark.conf.spark.sql.shuffle.partitions=8"))
    assert changed["spark"]["conf"] == {"spark.sql.shuffle.partitions": 8}
    changed = plain(apply_set(tree(), "spark.conf.spark.executor.memory=2g"))
    assert changed["spark"]["conf"] == {"spark.sql.shuffle.partitions": 4, "spark.executor.memory": "2g"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8", 8),
        ("true", True),
        ("1.5", 1.5),
        ("[a, b]", ["a", "b"]),
        ("{real_time: 5 minutes}", {"real_time": "5 minutes"}),
        ("", ""),
        ("   ", ""),
        ("a: b: c", "a: b: c"),
        ("x=y", "x=y"),
    ],
)
def test_the_value_is_read_as_yaml_or_kept_as_text(text: str, value: Any) -> None:
    assert plain(apply_set(tree(), f"vars.v={text}"))["vars"] == {"v": value}


def test_a_scalar_keeps_its_text_as_written_and_a_mapping_has_none() -> None:
    leaf = apply_set(tree(), "vars.v=007").value["vars"].value["v"]
    assert (leaf.value, leaf.raw) == (7, "007")
    leaf = apply_set(tree(), "vars.v=[1]").value["vars"].value["v"]
    assert leaf.raw is None
    assert leaf.loc is not None and leaf.loc.file == "--set vars.v=[1]"


@pytest.mark.parametrize("assignment", ["sinks.out.mode", "=append", " =x", ""])
def test_an_assignment_without_a_key_path_and_value_is_refused(assignment: str) -> None:
    with pytest.raises(UsageError) as refused:
        apply_set(tree(), assignment)
    assert refused.value.message == f"--set expects KEY.PATH=VALUE, got '{assignment}'"
    assert refused.value.hint == "for example --set sinks.out.mode=append"


def test_a_whole_list_item_cannot_be_replaced() -> None:
    with pytest.raises(UsageError) as refused:
        apply_set(tree(), "sinks.out={name: out}")
    assert refused.value.message == "--set sinks.out: cannot replace a whole list item"
    assert refused.value.hint == "set one of its keys"


def test_a_path_through_a_value_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(UsageError) as refused:
        apply_set(tree(), "name.first=x")
    assert refused.value.message == "--set name.first: 'name' is not a mapping"


def test_an_unknown_item_is_refused_with_the_items_there() -> None:
    with pytest.raises(UsageError) as refused:
        apply_set(tree(), "sinks.warehouse.mode=append")
    assert refused.value.message == "--set sinks.warehouse.mode=append: no item named 'warehouse'"
    assert refused.value.hint == "items here: out"


def test_an_unknown_item_of_unnamed_items_has_no_hint() -> None:
    unnamed = load_yaml_text("name: x\nvars:\n  hosts: [a, b]\n", "pipeline.yaml")
    with pytest.raises(UsageError) as refused:
        apply_set(unnamed, "vars.hosts.x.y=1")
    assert refused.value.hint is None
