"""Where the stages a ``split`` makes are placed (config/splits.py ``_stage``), pinned where mutation testing found
it loose.

Each key of an output's stage (``name``, ``inputs``, ``output``) has its value and its key at the output's key under
``outputs:`` (the ``otherwise`` stage: at the ``otherwise:`` value), its ``type`` at the split's own ``type:``
line, and the one input it reads at the split's ``name:`` value: the places every diagnostic about these stages
gives.
"""

from __future__ import annotations

from typing import Any

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
