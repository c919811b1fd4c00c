"""The located YAML tree: every value remembers the file, line and column it came from.

Merging, templating and interpolation work on this tree so that every key of the
final document can be traced back to where it was written (provenance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from etl_cli.errors import Location

DELETE_TAG = "!delete"
REPLACE_TAG = "!replace"


@dataclass
class Node:
    """A YAML value with its location.

    ``value`` is a ``dict[str, Node]``, a ``list[Node]`` or a plain scalar.
    ``raw`` keeps the source text of an unquoted scalar, so that ``country: NO`` can
    still become the string ``"NO"`` when the schema asks for a string.
    """

    value: Any
    loc: Location
    key_loc: Location | None = None
    raw: str | None = None
    tag: str | None = None
    interpolated: bool = False
    #: for an interpolated value built from one ``${var:NAME}``: where that var's value was set
    origin: Location | None = None

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.value, list)

    def get(self, key: str) -> Node | None:
        return self.value.get(key) if self.is_mapping else None

    def item_name(self) -> str | None:
        """The ``name`` of a mapping in a list of named items, if it has a string one."""
        name = self.get("name")
        return name.value if name is not None and isinstance(name.value, str) else None


@dataclass(frozen=True)
class NodeInfo:
    """What provenance keeps about one path of the final document."""

    loc: Location
    key_loc: Location | None
    raw: str | None
    interpolated: bool
    #: see :attr:`Node.origin`
    origin: Location | None = None


Path = tuple[str | int, ...]


@dataclass
class Provenance:
    """Path of the final document → where it was written."""

    entries: dict[Path, NodeInfo] = field(default_factory=dict)
    #: the template files merged in (as locations name them): what they set is not the user's own line
    templates: frozenset[str] = frozenset()

    def info(self, path: Path) -> NodeInfo | None:
        return self.entries.get(tuple(path))

    def value_location(self, path: Path) -> Location | None:
        """Where the value at ``path`` was written, or its closest written ancestor."""
        path = tuple(path)
        while True:
            info = self.entries.get(path)
            if info is not None:
                return info.loc
            if not path:
                return None
            path = path[:-1]

    def user_location(self, path: Path) -> Location | None:
        """Where the user set the value at ``path``: the var it was built from, or the key's own line.

        A value a template writes as ``${var:NAME}`` is the user's when they gave NAME (a parameter,
        ``vars:``, an overlay, ``--set``). None when only a template set it: a message then points at
        something else the user wrote rather than a template line they never saw.
        """
        info = self.info(path)
        if info is None:
            return None
        for location in (info.origin, info.key_loc or info.loc):
            if location is not None and location.file not in self.templates:
                return location
        return None

    def key_location(self, path: Path) -> Location | None:
        """Where the key at ``path`` was written (falls back to the value, then ancestors)."""
        info = self.entries.get(tuple(path))
        if info is not None and info.key_loc is not None:
            return info.key_loc
        return self.value_location(path)


def to_plain(node: Node) -> tuple[Any, Provenance]:
    """Strip locations: return the plain document and its provenance map."""
    provenance = Provenance()

    def walk(n: Node, path: Path) -> Any:
        provenance.entries[path] = NodeInfo(n.loc, n.key_loc, n.raw, n.interpolated, n.origin)
        if n.is_mapping:
            return {k: walk(v, (*path, k)) for k, v in n.value.items()}
        if n.is_sequence:
            return [walk(v, (*path, i)) for i, v in enumerate(n.value)]
        return n.value

    return walk(node, ()), provenance


def from_plain(value: Any, loc: Location) -> Node:
    """Build a located tree from plain data, every node at ``loc`` (command line, defaults)."""
    if isinstance(value, dict):
        return Node({str(k): _keyed(from_plain(v, loc), loc) for k, v in value.items()}, loc)
    if isinstance(value, list):
        return Node([from_plain(v, loc) for v in value], loc)
    return Node(value, loc)


def _keyed(node: Node, key_loc: Location) -> Node:
    node.key_loc = key_loc
    return node
