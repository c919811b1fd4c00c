"""Which stage reads which: the one walk over a pipeline's stage graph.

Validation walks it over the items of a document that may still be invalid (names missing or
repeated, inputs naming no stage); the plan walks it over the validated stages. Both use this
module, so "upstream" and "downstream" mean the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class StageGraph:
    """Each stage's inputs that are stages of the graph (an input naming no stage is left out)."""

    inputs: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, stages: Iterable[tuple[str, Iterable[str]]]) -> StageGraph:
        """The graph of ``(name, inputs)`` pairs; a name given twice reads the inputs of both."""
        pairs = [(name, tuple(inputs)) for name, inputs in stages]
        names = {name for name, _ in pairs}
        found: dict[str, tuple[str, ...]] = {}
        for name, inputs in pairs:
            known = tuple(i for i in inputs if i in names)
            found[name] = tuple(dict.fromkeys(found.get(name, ()) + known))
        return cls(MappingProxyType(found))

    def readers(self, name: str) -> tuple[str, ...]:
        """The stages that read ``name`` directly, in the graph's order."""
        return tuple(other for other, inputs in self.inputs.items() if name in inputs)

    def upstream(self, name: str) -> tuple[str, ...]:
        """Every stage ``name`` reads, directly or not, nearest first."""
        found: list[str] = []
        todo = list(self.inputs.get(name, ()))
        while todo:
            current = todo.pop(0)
            if current not in found:
                found.append(current)
                todo.extend(self.inputs[current])
        return tuple(found)

    def downstream(self, names: Iterable[str]) -> set[str]:
        """``names`` and every stage that reads one of them, directly or not."""
        found = set(names)
        todo = list(found)
        while todo:
            for reader in self.readers(todo.pop()):
                if reader not in found:
                    found.add(reader)
                    todo.append(reader)
        return found
