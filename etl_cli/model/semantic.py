"""Rules JSON Schema cannot express: unique names, references, cycles, unused stages."""

from __future__ import annotations

import graphlib
from collections.abc import Iterator, Set
from dataclasses import dataclass
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, did_you_mean, error, warning
from etl_cli.errors import Location
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND, Kind


@dataclass(frozen=True)
class _Item:
    kind: Kind
    index: int
    name: str
    data: dict[str, Any]

    @property
    def path(self) -> tuple[str | int, ...]:
        return (SECTION_OF_KIND[self.kind], self.index)


def _items(document: dict[str, Any]) -> Iterator[_Item]:
    for kind in KINDS:
        section = document.get(SECTION_OF_KIND[kind])
        if not isinstance(section, list):
            continue
        for index, data in enumerate(section):
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                yield _Item(kind, index, data["name"], data)


def _references(item: _Item) -> list[tuple[str, tuple[str | int, ...]]]:
    """(referenced name, path of the reference) for every input of ``item``."""
    if item.kind == "sink":
        ref = item.data.get("input")
        return [(ref, (*item.path, "input"))] if isinstance(ref, str) else []
    inputs = item.data.get("inputs")
    if not isinstance(inputs, list):
        return []
    return [(ref, (*item.path, "inputs", i)) for i, ref in enumerate(inputs) if isinstance(ref, str)]


def check_semantics(document: dict[str, Any], provenance: Provenance) -> list[Diagnostic]:
    """Every semantic problem of a merged document, each at its place."""
    items = list(_items(document))
    found: list[Diagnostic] = []
    found += _unique_names(items, provenance)
    readable = {i.name: i for i in items if i.kind != "sink"}
    sinks = {i.name for i in items if i.kind == "sink"}
    dangling = _dangling_references(items, readable, sinks, provenance)
    found += dangling
    found += _cycles(items, readable, provenance)
    if not dangling:
        found += _unused(items, provenance, _check_targets(document))
    found += _sinks(document, items, provenance)
    return found


def _unique_names(items: list[_Item], provenance: Provenance) -> list[Diagnostic]:
    seen: dict[str, _Item] = {}
    found = []
    for item in items:
        if item.name in seen:
            first = provenance.value_location((*seen[item.name].path, "name"))
            found.append(
                error(
                    "duplicate-name",
                    f"{item.kind} name '{item.name}' is already used by a {seen[item.name].kind}",
                    provenance.value_location((*item.path, "name")),
                    f"names are shared by sources, transforms and sinks; the first is at {first}",
                )
            )
        else:
            seen[item.name] = item
    return found


def _dangling_references(
    items: list[_Item], readable: dict[str, _Item], sinks: set[str], provenance: Provenance
) -> list[Diagnostic]:
    found = []
    for item in items:
        for ref, path in _references(item):
            loc = provenance.value_location(path)
            if ref == item.name and item.kind != "sink":
                found.append(error("self-reference", f"{item.kind} '{item.name}' reads itself", loc))
            elif ref in sinks and ref not in readable:
                found.append(
                    error(
                        "input-is-sink",
                        f"{item.kind} '{item.name}' reads '{ref}', which is a sink",
                        loc,
                        "read the stage that sink writes instead",
                    )
                )
            elif ref not in readable:
                hint = did_you_mean(ref, readable) or (
                    f"defined sources and transforms: {', '.join(readable)}" if readable else "define a source first"
                )
                found.append(
                    error("unknown-input", f"{item.kind} '{item.name}' reads '{ref}', which is not defined", loc, hint)
                )
    return found


def _cycles(items: list[_Item], readable: dict[str, _Item], provenance: Provenance) -> list[Diagnostic]:
    graph = {
        i.name: {ref for ref, _ in _references(i) if ref in readable and ref != i.name}
        for i in items
        if i.kind == "transform"
    }
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        loop: list[str] = exc.args[1]
        loop = list(reversed(loop))
        first = readable.get(loop[0])
        loc = provenance.value_location((*first.path, "inputs")) if first else None
        return [
            error(
                "cycle",
                f"transforms read each other in a loop: {' -> '.join(loop)}",
                loc,
                "a transform may only read stages that do not depend on it",
            )
        ]
    return []


def _check_targets(document: dict[str, Any]) -> set[str]:
    """Stages a relationships check reads (``to:``): they are used even when no sink reads them."""
    checks = document.get("checks")
    if not isinstance(checks, list):
        return set()
    return {c["to"] for c in checks if isinstance(c, dict) and isinstance(c.get("to"), str)}


def _unused(items: list[_Item], provenance: Provenance, also_used: Set[str] = frozenset()) -> list[Diagnostic]:
    used = {ref for item in items for ref, _ in _references(item)} | also_used
    return [
        warning(
            "unused-stage",
            f"{item.kind} '{item.name}' is never read by a transform or sink",
            provenance.value_location((*item.path, "name")),
            "remove it or read it from a sink",
        )
        for item in items
        if item.kind != "sink" and item.name not in used
    ]


def _sinks(document: dict[str, Any], items: list[_Item], provenance: Provenance) -> list[Diagnostic]:
    found = []
    if isinstance(document.get("sinks"), list) and not document["sinks"]:
        loc = provenance.key_location(("sinks",))
        found.append(
            error(
                "no-sinks",
                "the pipeline has no sinks, so a run would write nothing",
                loc,
                "add a sink that writes one of the transforms",
            )
        )
    targets: dict[str, tuple[str, Location | None]] = {}
    for item in items:
        target = item.data.get("path") if item.kind == "sink" else None
        if not isinstance(target, str):
            continue
        loc = provenance.value_location((*item.path, "path"))
        if target in targets:
            other, other_loc = targets[target]
            found.append(
                error(
                    "duplicate-target",
                    f"sinks '{other}' and '{item.name}' both write {target}",
                    loc,
                    f"the other one is at {other_loc}",
                )
            )
        else:
            targets[target] = (item.name, loc)
    return found
