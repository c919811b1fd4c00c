"""A ``split`` transform becomes one stage per output, so every mechanism that reads stages reads its outputs.

    - name: by_region
      type: split
      inputs: [orders]
      outputs:
        eu_orders: "region = 'EU'"
        us_orders: "region = 'US'"
      otherwise: other_orders

A pipeline has one output per stage, and downstream stages, sinks, checks, lineage, plans, dry-run
and run all address stages by name. So the split stays a stage of its own (it passes its input
through, and Spark analyses its conditions there), and after it come ``eu_orders``, ``us_orders``
and ``other_orders``: each a ``split`` stage reading ``by_region`` with ``output:`` naming the rows
it keeps. They are built on the located tree, from the split's own nodes, so every place a
diagnostic gives for them is a line of the split: an output's stage is at its key under
``outputs:``, the ``otherwise`` stage at the ``otherwise:`` value.

A split whose ``outputs`` or ``otherwise`` is not of the expected shape is left as written: the
schema of the ``split`` transform reports it.
"""

from __future__ import annotations

import re
from typing import Any

from etl_cli.config.nodes import Node
from etl_cli.errors import Location

SPLIT = "split"
#: a stage name (model/schema.py's NAME_PATTERN, which the config layer does not import)
_STAGE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def expand_splits(tree: Node) -> Node:
    """``tree`` with each ``split`` transform followed by the stages of its outputs."""
    transforms = tree.get("transforms")
    if transforms is None or not transforms.is_sequence:
        return tree
    expanded: list[Node] = []
    for item in transforms.value:
        expanded.append(item)
        expanded.extend(_output_stages(item))
    transforms.value = expanded
    return tree


def _output_stages(item: Node) -> list[Node]:
    """The stages a split makes, one per output then the ``otherwise`` one (none for any other item)."""
    kind, name, outputs = (item.get(key) for key in ("type", "name", "outputs"))
    if kind is None or kind.value != SPLIT or item.get("output") is not None:
        return []
    if name is None or not isinstance(name.value, str) or outputs is None or not _expandable(outputs):
        return []
    made = [_stage(item, key, outputs.value[key].key_loc or outputs.loc) for key in outputs.value]
    otherwise = item.get("otherwise")
    if otherwise is not None and _is_name(otherwise.value) and otherwise.value not in outputs.value:
        made.append(_stage(item, otherwise.value, otherwise.loc))
    return made


def _expandable(outputs: Node) -> bool:
    """Whether ``outputs`` can make stages: names that are stage names, scalar conditions (the schema says the rest)."""
    if not outputs.is_mapping or not outputs.value:
        return False
    scalars = not any(v.is_mapping or v.is_sequence for v in outputs.value.values())
    return scalars and all(_STAGE_NAME.match(key) for key in outputs.value)


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and _STAGE_NAME.match(value) is not None


def _stage(split: Node, output: str, where: Location) -> Node:
    """One output's stage: a split reading ``split`` that keeps ``output``'s rows, placed at ``where``."""
    name = split.value["name"]
    kind = split.value["type"]
    stage = {
        "name": Node(output, where, key_loc=where),
        "type": Node(SPLIT, kind.loc, key_loc=kind.key_loc),
        "inputs": Node([Node(name.value, name.loc)], where, key_loc=where),
        "outputs": split.value["outputs"],
        "output": Node(output, where, key_loc=where),
    }
    if "otherwise" in split.value:
        stage["otherwise"] = split.value["otherwise"]
    return Node(stage, where)
