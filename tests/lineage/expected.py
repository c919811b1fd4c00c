"""Read the hand-written expected lineage of a corpus case (``tests/lineage/corpus/*/expected.lineage``).

One statement a line (``#`` starts a comment):

- ``columns NODE: a, b, c`` the node's columns in order; ``columns NODE: ?`` they are unknown offline;
- ``edge SOURCE -> TARGET HOW`` or ``edge SOURCE -> TARGET HOW | EXPRESSION`` column edges, where SOURCE
  and TARGET are ``NODE#column`` or ``NODE#{a,b,c}``: two lists of the same length pair up (a→a, b→b),
  one column and a list fan out or in;
- ``unknown NODE`` the node has an Unknown.

``{root}`` stands for the case's folder (dataset names of local files are absolute paths).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

Edge = tuple[str, str, str, str, str, str | None]


@dataclass
class Expected:
    columns: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    edges: set[Edge] = field(default_factory=set)
    unknowns: set[str] = field(default_factory=set)


def read_expected(path: Path, root: Path) -> Expected:
    expected = Expected()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("  #", 1)[0].strip().replace("{root}", str(root))
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword == "columns":
            node, _, names = rest.rpartition(": ")
            expected.columns[node] = None if names == "?" else tuple(n.strip() for n in names.split(","))
        elif keyword == "edge":
            for edge in _edges(rest):
                assert edge not in expected.edges, f"{path}:{number}: edge written twice: {edge}"
                expected.edges.add(edge)
        elif keyword == "unknown":
            expected.unknowns.add(rest)
        else:
            raise AssertionError(f"{path}:{number}: unknown statement {keyword!r}")
    pairs = [(e[0], e[1], e[2], e[3]) for e in expected.edges]
    assert len(pairs) == len(set(pairs)), f"{path}: two edges between the same columns"
    return expected


def _edges(text: str) -> list[Edge]:
    arrow, _, expression = text.partition(" | ")
    source, _, rest = arrow.partition(" -> ")
    target, _, how = rest.rpartition(" ")
    source_node, source_columns = _ref(source)
    target_node, target_columns = _ref(target)
    if len(source_columns) == len(target_columns):
        pairs = list(zip(source_columns, target_columns, strict=True))
    elif len(source_columns) == 1:
        pairs = [(source_columns[0], column) for column in target_columns]
    else:
        assert len(target_columns) == 1, f"cannot pair {source} with {target}"
        pairs = [(column, target_columns[0]) for column in source_columns]
    return [(source_node, s, target_node, t, how, expression or None) for s, t in pairs]


def _ref(text: str) -> tuple[str, list[str]]:
    node, _, columns = text.strip().rpartition("#")
    if columns.startswith("{"):
        return node, [c.strip() for c in columns.strip("{}").split(",")]
    return node, [columns]
