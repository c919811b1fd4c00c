"""Behaviours found untested by mutation testing (mutmut) of config/overlay.py and config/interpolate.py.

Overlays: named-list merges by name (deleting an undefined item, later items after a delete, problems inside an item,
the hint for an unknown item, where the merged list is placed, named lists at the top of a document), what replaces
instead of merging (a mapping against a scalar or a list, lists whose items are not all named mappings), the keys of an
overlay mapping after a ``!delete``, and ``!delete`` marks left with nothing to delete. Interpolation: undefined
variables and loops (their report and the value they leave), the 32-variable and 100-level limits at their exact
boundaries, the 10,000-node and 16 MiB limits reached by copies of lists, where copied items are placed, and the
interpolated mark the literal-credential rule reads. Every test loads through the public entry points and asserts the
document, the provenance or the diagnostic (code, message, place, hint) a user sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.interpolate import Interpolator
from etl_cli.config.loader import LoadedConfig, load_pipeline
from etl_cli.config.nodes import to_plain
from etl_cli.config.overlay import merge
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.diagnostics import Diagnostic
from etl_cli.model.credentials import check_literal_credentials

from .helpers import PROJECT, make_project, write

PIPELINE = """
    name: demo
    sources:
      - name: orders
        type: csv
        path: orders.csv
        options: {sep: ","}
      - name: customers
        type: csv
        path: customers.csv
"""

ORDERS = {"name": "orders", "type": "csv", "path": "orders.csv", "options": {"sep": ","}}
CUSTOMERS = {"name": "customers", "type": "csv", "path": "customers.csv"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"p/pipeline.yaml": PIPELINE}, project=PROJECT)


def with_overlay(project: Path, overlay: str) -> LoadedConfig:
    write(project, "p/env/prod.yaml", overlay)
    return load_pipeline(project / "p", "prod", environ={})


def load(tmp_path: Path, body: str, environ: dict[str, str] | None = None, folder: str = "p") -> LoadedConfig:
    write(tmp_path, f"{folder}/pipeline.yaml", body)
    return load_pipeline(tmp_path / folder, None, environ=environ or {})


def report(diag: Diagnostic) -> tuple[str, str, int, int]:
    """Code, message, line and column: what a user reads of a diagnostic."""
    assert diag.location is not None
    return diag.code, diag.message, diag.location.line, diag.location.column


def nested(levels: int, leaf: str, opening: str = "[", closing: str = "]") -> str:
    """``leaf`` inside ``levels`` flow lists (or mappings, with ``opening="{k: "`` and ``closing="}"``)."""
    return opening * levels + leaf + closing * levels


def innermost(value: Any, levels: int) -> Any:
    """What ``levels`` nested one-element lists or one-key (``k`` or ``a``) mappings hold."""
    for _ in range(levels):
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
    return value


# --- overlays: named lists merge by name --------------------------------------------------------------------------


def test_delete_of_an_undefined_named_item_is_reported_at_the_overlay_and_changes_nothing(project: Path) -> None:
    loaded = with_overlay(project, "sources:\n  - !delete {name: custmers}\n")
    assert loaded.document["sources"] == [ORDERS, CUSTOMERS]
    (diag,) = loaded.diagnostics
    assert report(diag) == ("overlay-target", "!delete of sources item 'custmers', which is not defined", 2, 5)
    assert diag.location is not None and diag.location.file.endswith("p/env/prod.yaml")
    assert diag.hint == "did you mean 'customers'?"


def test_items_after_a_deleted_named_item_still_apply_without_a_report(project: Path) -> None:
    loaded = with_overlay(project, "sources:\n  - !delete {name: customers}\n  - name: orders\n    path: prod.csv\n")
    assert loaded.diagnostics == []
    assert loaded.document["sources"] == [{**ORDERS, "path": "prod.csv"}]


def test_a_problem_inside_a_named_item_of_an_overlay_is_reported_at_its_key(project: Path) -> None:
    loaded = with_overlay(project, "sources:\n  - name: orders\n    optoins: !delete\n")
    assert loaded.document["sources"] == [ORDERS, CUSTOMERS]
    (diag,) = loaded.diagnostics
    assert report(diag) == ("overlay-delete", "!delete of 'optoins', which is not set", 3, 5)
    assert diag.hint == "did you mean 'options'?"


def test_an_unknown_item_without_a_type_and_no_close_name_is_told_to_give_a_type(project: Path) -> None:
    loaded = with_overlay(project, "sources:\n  - name: zzz\n    path: z.csv\n")
    assert loaded.document["sources"] == [ORDERS, CUSTOMERS]
    (diag,) = loaded.diagnostics
    assert report(diag) == ("overlay-target", "overlay changes sources item 'zzz', which is not defined", 2, 5)
    assert diag.hint == "give it a 'type' to add a new item, or fix the name"


def test_a_merged_named_list_is_placed_at_the_overlay_and_its_items_where_each_value_was_set(project: Path) -> None:
    loaded = with_overlay(project, "# prod\nsources:\n  - name: orders\n    path: prod.csv\n")
    provenance = loaded.provenance
    located = {
        path: (where.file.rsplit("/", 2)[-2:], where.line, where.column)
        for path in [("sources",), ("sources", 0, "path"), ("sources", 1, "path")]
        if (where := provenance.value_location(path)) is not None
    }
    assert located == {
        ("sources",): (["env", "prod.yaml"], 3, 3),
        ("sources", 0, "path"): (["env", "prod.yaml"], 4, 11),
        ("sources", 1, "path"): (["p", "pipeline.yaml"], 9, 11),
    }


def test_named_lists_at_the_top_of_a_document_merge_by_name() -> None:
    # outside sources/transforms/sinks/checks a new name needs no 'type', and messages call the section "list"
    base = load_yaml_text("- {name: a, x: 1}\n- {name: b, x: 2}\n", "base.yaml")
    over = load_yaml_text("- {name: a, x: 10}\n- {name: c, x: 3}\n- !delete {name: zz}\n", "over.yaml")
    diagnostics: list[Diagnostic] = []
    merged, _ = to_plain(merge(base, over, diagnostics))
    assert merged == [{"name": "a", "x": 10}, {"name": "b", "x": 2}, {"name": "c", "x": 3}]
    (diag,) = diagnostics
    assert report(diag) == ("overlay-target", "!delete of list item 'zz', which is not defined", 3, 3)


@pytest.mark.parametrize(
    ("base", "over", "merged"),
    [
        ("{a: 1}", "5", 5),
        ("5", "{a: 1}", {"a": 1}),
        ("{a: 1}", "[a]", ["a"]),
        ("[a]", "{a: 1}", {"a": 1}),
        ("[{a: 1}, {b: 2}]", "[{c: 3}]", [{"c": 3}]),
        ("[{name: a, v: 1}, {v: 2}]", "[{name: b, v: 3}]", [{"name": "b", "v": 3}]),
        ("[{name: a, v: 1}]", "[{name: a, v: 2}, {v: 3}]", [{"name": "a", "v": 2}, {"v": 3}]),
    ],
)
def test_values_that_are_not_both_mappings_or_both_named_lists_are_replaced_by_the_overlay(
    base: str, over: str, merged: Any
) -> None:
    """A list merges by name only when every item of both lists is a mapping with a ``name``."""
    diagnostics: list[Diagnostic] = []
    result = merge(
        load_yaml_text(f"x: {base}\n", "base.yaml"), load_yaml_text(f"x: {over}\n", "over.yaml"), diagnostics
    )
    assert to_plain(result)[0] == {"x": merged}
    assert diagnostics == []


def test_keys_of_an_overlay_mapping_after_a_delete_still_apply() -> None:
    base = load_yaml_text("a: 1\nb: 2\nc: 3\n", "base.yaml")
    over = load_yaml_text("a: !delete\nzz: !delete\nb: 20\nd: 4\n", "over.yaml")
    diagnostics: list[Diagnostic] = []
    assert to_plain(merge(base, over, diagnostics))[0] == {"b": 20, "c": 3, "d": 4}
    assert [report(d) for d in diagnostics] == [("overlay-delete", "!delete of 'zz', which is not set", 2, 1)]
    assert diagnostics[0].hint is None


# --- overlays: !delete with nothing under it ----------------------------------------------------------------------


def test_delete_marks_with_no_lower_layer_are_reported_and_dropped(tmp_path: Path) -> None:
    body = """
        name: demo
        spark:
          conf: !delete
          master: local[2]
        sources:
          - {name: a, type: csv}
          - !delete {name: b}
          - name: c
            type: csv
            options: !delete
          - {name: d, type: csv}
    """
    loaded = load(tmp_path, body)
    assert [report(d) for d in loaded.diagnostics] == [
        ("overlay-delete", "!delete of 'conf', which no lower layer sets", 3, 3),
        ("overlay-delete", "!delete has nothing to delete here", 7, 5),
        ("overlay-delete", "!delete of 'options', which no lower layer sets", 10, 5),
    ]
    assert loaded.document["spark"] == {"master": "local[2]"}
    assert loaded.document["sources"] == [
        {"name": "a", "type": "csv"},
        {"name": "c", "type": "csv"},
        {"name": "d", "type": "csv"},
    ]


# --- interpolation: undefined variables and loops -----------------------------------------------------------------


def test_an_undefined_variable_is_reported_where_it_is_used_and_reads_as_empty(tmp_path: Path) -> None:
    loaded = load(tmp_path, "x: a${var:nope}b\n")
    assert loaded.document == {"x": "ab"}
    (diag,) = loaded.diagnostics
    assert report(diag) == ("unset-variable", "variable 'nope' is not defined", 1, 4)
    assert diag.hint == "declare it under 'vars:' (or pass --set vars.NAME=value)"


def test_a_variable_loop_is_reported_at_the_value_closing_it_and_the_loop_reads_as_empty(tmp_path: Path) -> None:
    loaded = load(tmp_path, "vars:\n  a: x${var:b}\n  b: ${var:a}\nout: ${var:a}\n")
    assert loaded.document == {"vars": {"a": "x", "b": ""}, "out": "x"}
    (diag,) = loaded.diagnostics
    assert report(diag) == ("variable-cycle", "variables refer to each other in a loop: a -> b -> a", 3, 6)


def test_variables_nested_more_than_32_deep_stop_loading_with_the_chain_and_a_hint(tmp_path: Path) -> None:
    # v0 (line 2) -> v1 -> ... : v31, on line 33, asks for a 33rd variable
    chain = "".join(f"  v{i}: ${{var:v{i + 1}}}\n" for i in range(40))
    loaded = load(tmp_path, "vars:\n" + chain + "  v40: end\nx: ${var:v0}\n")
    assert loaded.document == {}
    (diag,) = loaded.diagnostics
    names = " -> ".join(f"v{i}" for i in range(33))
    assert report(diag) == ("variable-depth", f"variables nest more than 32 deep: {names}", 33, 8)
    assert diag.hint == "refer to fewer variables in a row: write one of them out"


# --- interpolation: nesting limit (the root mapping is level 1, at most 100) ---------------------------------------


def test_values_nesting_exactly_100_levels_are_resolved(tmp_path: Path) -> None:
    # x and y are level 2: 98 mappings or lists put the reference at level 100
    leaf = "'${env:LEAF}'"  # quoted: braces end flow collections
    body = f"x: {nested(98, leaf, '{a: ', '}')}\ny: {nested(98, leaf)}\n"
    loaded = load(tmp_path, body, {"LEAF": "leaf"})
    assert loaded.diagnostics == []
    assert innermost(loaded.document["x"], 98) == "leaf"
    assert innermost(loaded.document["y"], 98) == "leaf"


def test_a_document_that_is_a_list_counts_its_levels_from_1() -> None:
    root = load_yaml_text(nested(99, "'${env:LEAF}'") + "\n", "f.yaml")
    resolved, _ = to_plain(Interpolator(None, {"LEAF": "leaf"}).resolve_document(root))
    assert innermost(resolved, 99) == "leaf"


@pytest.mark.parametrize(
    ("value", "column"),
    [
        pytest.param(nested(97, "1"), 6 + 97, id="lists"),
        pytest.param(nested(97, "1", "{k: ", "}"), 6 + 97 * 4, id="mappings"),
    ],
)
def test_a_variable_resolved_inside_another_past_level_100_stops_at_the_value_going_over(
    tmp_path: Path, value: str, column: int
) -> None:
    # b's "1" is at level 100 where b is written (level 3); a uses b one level deeper, at level 4, which puts it
    # at level 101
    loaded = load(tmp_path, f"vars:\n  a:\n    k: ${{var:b}}\n  b: {value}\n")
    (diag,) = loaded.diagnostics
    assert report(diag) == ("value-depth", "values nest more than 100 levels deep here", 4, column)


def test_a_copy_reaching_level_100_loads_and_one_level_deeper_is_refused_at_the_reference(tmp_path: Path) -> None:
    # v is 98 levels high (97 lists and the scalar): copied at level 3 it reaches 100, at level 4 it would reach 101
    variables = f"vars:\n  v: {nested(97, '1')}\n"
    fits = load(tmp_path, variables + "x:\n  a: ${var:v}\n", folder="fits")
    assert fits.diagnostics == []
    assert innermost(fits.document["x"]["a"], 97) == 1
    too_deep = load(tmp_path, variables + "x:\n  a:\n    b: ${var:v}\n", folder="deep")
    assert too_deep.document == {}
    (diag,) = too_deep.diagnostics
    assert report(diag) == ("value-depth", "this copy makes values nest more than 100 levels deep", 5, 8)


# --- interpolation: what copies of lists add up to -----------------------------------------------------------------


def copies(extra: str = "") -> str:
    """A list var of 100 nodes (the list and 99 items) copied 100 times: exactly 10,000 nodes, then ``extra``."""
    return "vars:\n  l: [" + ", ".join(["x"] * 99) + "]\n  e: []\nitems:\n" + "  - ${var:l}\n" * 100 + extra


def test_copies_of_lists_may_add_up_to_exactly_10000_nodes(tmp_path: Path) -> None:
    loaded = load(tmp_path, copies())
    assert loaded.diagnostics == []
    assert loaded.document["items"] == [["x"] * 99] * 100


def test_the_copy_passing_10000_nodes_stops_loading_at_its_reference(tmp_path: Path) -> None:
    # items are on lines 5 to 104: the copy of the empty list on line 105 is node 10,001
    loaded = load(tmp_path, copies("  - ${var:e}\n"))
    assert loaded.document == {}
    (diag,) = loaded.diagnostics
    message = "${var:...} copies of lists and mappings pass 10,000 nodes in this pipeline here"
    assert report(diag) == ("interpolation-size", message, 105, 5)
    assert diag.hint == "a var used N times is copied N times: use fewer copies of large lists"


def test_text_in_copied_lists_counts_toward_the_16_mib_per_pipeline(tmp_path: Path) -> None:
    # s1, s2, s3 and l's item write 10**4 + 10**5 + 10**6 + 10**6 = 2,110,000 characters; each copy of l adds
    # 10**6 more, so the 15th copy (line 9 + 14) passes 16 MiB (16,777,216)
    body = (
        "vars:\n"
        f"  s0: {'x' * 1000}\n"
        + "".join(f"  s{i}: {f'${{var:s{i - 1}}}' * 10}\n" for i in range(1, 4))
        + "  l:\n    - ${var:s3}\nitems:\n"
        + "  - ${var:l}\n" * 20
    )
    loaded = load(tmp_path, body)
    (diag,) = loaded.diagnostics
    message = "interpolation writes more than 16,777,216 characters (16 MiB) into this pipeline by this value"
    assert report(diag) == ("interpolation-size", message, 23, 5)


def test_copied_list_items_are_placed_at_the_reference_that_copied_them(tmp_path: Path) -> None:
    loaded = load(tmp_path, "vars:\n  cols: [a, b]\nx: 1\ny: ${var:cols}\n")
    assert loaded.document["y"] == ["a", "b"]
    where = loaded.provenance.value_location(("y", 1))
    assert where is not None and (where.line, where.column) == (4, 4)


def test_a_credential_given_through_an_env_reference_is_not_a_literal(tmp_path: Path) -> None:
    body = "vars:\n  db_password: ${env:DB_PASSWORD}\n  api_token: hunter2\n"
    loaded = load(tmp_path, body, {"DB_PASSWORD": "s3cret"})
    assert loaded.document["vars"] == {"db_password": "s3cret", "api_token": "hunter2"}
    flagged = check_literal_credentials(loaded.document, loaded.provenance, protected=True)
    assert [(d.code, d.message) for d in flagged] == [
        ("literal-credential", "vars.api_token is a credential written as plain text")
    ]
