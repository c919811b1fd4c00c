"""Where a value of the final document was written (etl_cli/config/nodes.py: ``Provenance.value_location``), pinned
where mutation testing found it loose: a written path is its own place; a path that was not written falls back to
its closest written ancestor, one level at a time (its parent, not its grandparent), up to the whole document; and
where nothing was written there is no place.
"""

from __future__ import annotations

import pytest

from etl_cli.config.nodes import Provenance, to_plain
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
