"""Where a value of the final document was written (etl_cli/config/nodes.py: ``to_plain``,
``Provenance.value_location``), pinned where mutation testing found it loose: every path of the document keeps its
place, its key's place, the text of an unquoted scalar as written, whether it was interpolated and where the var it
came from was set; a written path is its own place; a path that was not written falls back to its closest written
ancestor, one level at a time (its parent, not its grandparent), up to the whole document; and where nothing was
written there is no place.
"""

from __future__ import annotations

import pytest

from etl_cli.config.nodes import Node, NodeInfo, Provenance, to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.errors import Location

TEXT = "name: p\nspark:\n  conf:\n    a: 1\n"


@pytest.mark.parametrize(
    ("path", "place"),
    [
        pytest.param(("spark", "conf", "a"), (4, 8), id="a-written-value"),
        pytest.param(("spark", "conf"), (4, 5), id="a-written-mapping"),
        pytest.param(("spark", "zz"), (3, 3), id="a-missing-key-is-placed-at-its-parent"),
        pytest.param(("spark", "conf", "zz"), (4, 5), id="a-missing-key-deeper-down-at-its-parent"),
        pytest.param(("spark", "conf", "zz", "yy"), (4, 5), id="two-missing-levels-at-the-closest-written"),
        pytest.param(("zz",), (1, 1), id="a-missing-top-level-key-at-the-document"),
        pytest.param((), (1, 1), id="the-whole-document"),
    ],
)
def test_a_value_is_placed_where_it_or_its_closest_written_ancestor_was_written(
    path: tuple[str, ...], place: tuple[int, int]
) -> None:
    _, provenance = to_plain(load_yaml_text(TEXT, "f.yaml"))
    assert provenance.value_location(path) == Location("f.yaml", *place)


def test_where_nothing_was_written_there_is_no_place() -> None:
    assert Provenance().value_location(("spark", "conf")) is None


def test_every_path_of_the_document_keeps_where_and_how_it_was_written() -> None:
    """Places of value and key, the text of an unquoted scalar as written (a quoted one, a mapping or a list has
    none), and, for an interpolated value, that it was and where its var was set."""
    tree = load_yaml_text("a: 0x1F\nb: [yes, 'q']\nc: {d: 1.50}\n", "f.yaml")
    var_at = Location("vars.yaml", 7, 3)
    tree.value["e"] = Node("eu", Location("f.yaml", 4, 4), Location("f.yaml", 4, 1), "${var:r}", None, True, var_at)
    document, provenance = to_plain(tree)

    def at(line: int, col: int) -> Location:
        return Location("f.yaml", line, col)

    assert document == {"a": 31, "b": [True, "q"], "c": {"d": 1.5}, "e": "eu"}
    assert provenance.entries == {
        (): NodeInfo(at(1, 1), None, None, False),
        ("a",): NodeInfo(at(1, 4), at(1, 1), "0x1F", False),
        ("b",): NodeInfo(at(2, 4), at(2, 1), None, False),
        ("b", 0): NodeInfo(at(2, 5), None, "yes", False),
        ("b", 1): NodeInfo(at(2, 10), None, None, False),
        ("c",): NodeInfo(at(3, 4), at(3, 1), None, False),
        ("c", "d"): NodeInfo(at(3, 8), at(3, 5), "1.50", False),
        ("e",): NodeInfo(at(4, 4), at(4, 1), "${var:r}", True, var_at),
    }
