"""Which stages a ``split`` makes and where they are placed (config/splits.py ``_output_stages``, ``_expandable``,
``_is_name`` and ``_stage``), pinned where mutation testing found them loose.

A split makes one stage per output, then one for ``otherwise`` when it names a stage that is not already an output;
nothing is made for an item that is not a split, for a stage a split made (it has ``output:``), for a split without a
text name or without ``outputs:``, nor for outputs that are not a non-empty mapping of stage names to scalar
conditions (the schema reports those); an ``otherwise`` that is no stage name makes no stage.

Each key of an output's stage (``name``, ``inputs``, ``output``) has its value and its key at the output's key under
``outputs:`` (the ``otherwise`` stage: at the ``otherwise:`` value), its ``type`` at the split's own ``type:``
line, and the one input it reads at the split's ``name:`` value: the places every diagnostic about these stages
gives.
"""

from __future__ import annotations

from typing import Any

import pytest

from etl_cli.config.nodes import Provenance, to_plain
from etl_cli.config.splits import expand_splits
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.errors import Location

from .helpers import column

SPLIT = [
    "transforms:",
    "  - name: by_region",
    "    type: split",
    "    inputs: [orders]",
    "    outputs:",
    "      eu_orders: \"region = 'EU'\"",
    "    otherwise: other_orders",
]


def expanded() -> tuple[dict[str, Any], Provenance]:
    """The document of :data:`SPLIT` with the split's stages after it, and where each of its values was written."""
    document, provenance = to_plain(expand_splits(load_yaml_text("\n".join(SPLIT) + "\n", "p.yaml")))
    assert isinstance(document, dict)
    return document, provenance


def at(line: int, token: str) -> Location:
    """Where ``token`` starts on (1-based) line ``line`` of :data:`SPLIT`."""
    return Location("p.yaml", line, column(SPLIT[line - 1], token))


def places(provenance: Provenance, index: int) -> dict[str, tuple[Location | None, Location | None]]:
    """The value and key location of each key of the stage at ``transforms[index]``, and of its one input."""
    found: dict[str, tuple[Location | None, Location | None]] = {}
    for key in ("name", "type", "inputs", "output"):
        info = provenance.info(("transforms", index, key))
        assert info is not None, key
        found[key] = (info.loc, info.key_loc)
    info = provenance.info(("transforms", index, "inputs", 0))
    assert info is not None
    found["inputs[0]"] = (info.loc, info.key_loc)
    return found


def test_an_outputs_stage_is_placed_at_its_key_under_outputs_and_reads_the_split_at_its_name() -> None:
    document, provenance = expanded()
    assert [s["name"] for s in document["transforms"]] == ["by_region", "eu_orders", "other_orders"]
    output = at(6, "eu_orders")
    assert places(provenance, 1) == {
        "name": (output, output),
        "type": (at(3, "split"), at(3, "type")),
        "inputs": (output, output),
        "output": (output, output),
        "inputs[0]": (at(2, "by_region"), None),
    }


def test_the_otherwise_stage_is_placed_at_the_otherwise_value() -> None:
    _, provenance = expanded()
    otherwise = at(7, "other_orders")
    assert places(provenance, 2) == {
        "name": (otherwise, otherwise),
        "type": (at(3, "split"), at(3, "type")),
        "inputs": (otherwise, otherwise),
        "output": (otherwise, otherwise),
        "inputs[0]": (at(2, "by_region"), None),
    }


@pytest.mark.parametrize(
    ("item", "names"),
    [
        ("{name: by, type: split, outputs: {eu: a, us: b}}", ["by", "eu", "us"]),
        # otherwise naming an output is not made twice; otherwise that is no stage name (or no text) is not made
        ("{name: by, type: split, outputs: {eu: a, us: b}, otherwise: eu}", ["by", "eu", "us"]),
        ("{name: by, type: split, outputs: {eu: a}, otherwise: other-rows}", ["by", "eu"]),
        ("{name: by, type: split, outputs: {eu: a}, otherwise: 5}", ["by", "eu"]),
        # a stage a split made is not split again; an item of another type is no split even with outputs
        ("{name: eu, type: split, inputs: [by], outputs: {eu: a}, output: eu}", ["eu"]),
        ("{name: q, type: sql, outputs: {eu: a}}", ["q"]),
        # a split without a text name or without outputs makes nothing
        ("{type: split, outputs: {eu: a}}", [None]),
        ("{name: 5, type: split, outputs: {eu: a}}", [5]),
        ("{name: by, type: split}", ["by"]),
        # outputs that are not a non-empty mapping of stage names to scalar conditions make nothing, not even otherwise
        ("{name: by, type: split, outputs: [eu, us]}", ["by"]),
        ("{name: by, type: split, outputs: {}, otherwise: rest}", ["by"]),
        ("{name: by, type: split, outputs: {eu: {where: a}}}", ["by"]),
        ("{name: by, type: split, outputs: {eu-orders: a}, otherwise: rest}", ["by"]),
    ],
)
def test_the_stages_a_split_makes_and_the_items_that_make_none(item: str, names: list[Any]) -> None:
    document, _ = to_plain(expand_splits(load_yaml_text(f"transforms:\n  - {item}\n", "p.yaml")))
    assert isinstance(document, dict)
    assert [stage.get("name") for stage in document["transforms"]] == names
