"""What loading a pipeline reports about its environment overlay, and where the values of the later layers are
said to be written (etl_cli/config/loader.py ``_apply_overlay``, ``apply_set`` and ``_node_of``,
etl_cli/config/overlay.py ``_untagged``), pinned where mutation testing found them loose.

An overlay that links out of the pipeline's ``env/`` folder, that is not a mapping, or that uses ``extends`` is
reported (code, message, place and hint) and, but for ``extends``, not applied. Every node of a ``--set`` value is
located at the ``--set``, key and value, and so is every mapping a ``--set`` creates on its way to its key; a
``--set`` through a value that is not a mapping names the whole path to that value. A ``!replace`` value comes
back as written, only without its tag.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.loader import LoadedConfig, apply_set, load_pipeline
from etl_cli.config.nodes import REPLACE_TAG, Node, NodeInfo, to_plain
from etl_cli.config.overlay import merge
from etl_cli.config.yaml_loader import display_path, load_yaml_text
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import Location, UsageError

from .helpers import PROJECT, make_project, write

PIPELINE = """
    name: demo
    vars: {out: /tmp/base}
    spark:
      conf: {spark.a: 1}
    sources:
      - {name: orders, type: csv, path: orders.csv}
    sinks:
      - {name: out, type: parquet, input: orders, path: "${var:out}"}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"p/pipeline.yaml": PIPELINE}, project=PROJECT)


def load_prod(project: Path) -> LoadedConfig:
    return load_pipeline(project / "p", "prod", environ={})


def overlay(project: Path, text: str) -> tuple[Path, str]:
    """Write the prod overlay; return its path and its name as messages show it."""
    path = write(project, "p/env/prod.yaml", text)
    return path, display_path(path)


# --------------------------------------------------------------------------- the overlay's own problems


def test_an_overlay_linking_out_of_the_env_folder_is_refused_at_the_link_and_not_applied(project: Path) -> None:
    outside = write(project, "elsewhere/prod.yaml", "vars: {out: /tmp/elsewhere}\n")
    link = project / "p" / "env" / "prod.yaml"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    loaded = load_prod(project)
    shown = display_path(link)
    assert loaded.diagnostics == [
        error(
            "overlay-outside",
            f"overlay {shown} links to {outside.resolve()}, outside the pipeline's env/ folder",
            Location(shown, 0, 0),
            "put the overlay itself in env/ instead of a link to it",
        )
    ]
    assert loaded.document["sinks"][0]["path"] == "/tmp/base"


def test_an_overlay_that_is_not_a_mapping_is_an_error_at_its_first_line_and_not_applied(project: Path) -> None:
    _, shown = overlay(project, "- vars\n- spark\n")
    loaded = load_prod(project)
    assert loaded.diagnostics == [
        error("not-a-mapping", "an environment overlay must be a YAML mapping", Location(shown, 1, 1))
    ]
    assert loaded.document["sinks"][0]["path"] == "/tmp/base"


def test_extends_in_an_overlay_is_an_error_at_its_key_and_the_rest_of_the_overlay_applies(project: Path) -> None:
    _, shown = overlay(project, "vars: {out: /tmp/prod}\nextends: base\n")
    loaded = load_prod(project)
    assert loaded.diagnostics == [
        error(
            "overlay-extends",
            "an overlay cannot use 'extends'",
            Location(shown, 2, 1),
            "put 'extends' in the pipeline file",
        )
    ]
    assert "extends" not in loaded.document
    assert loaded.document["sinks"][0]["path"] == "/tmp/prod"


# --------------------------------------------------------------------------- where later layers' values are written


def test_every_node_of_a_set_value_is_located_at_the_set_key_and_value() -> None:
    assignment = "vars.v={hosts: [a, b], port: 5}"
    tree = load_yaml_text("name: demo\nvars: {w: 1}\n", "pipeline.yaml")
    document, provenance = to_plain(apply_set(tree, assignment))
    assert document["vars"]["v"] == {"hosts": ["a", "b"], "port": 5}
    at_set = Location(f"--set {assignment}", 0, 0)
    v = ("vars", "v")
    set_paths = [v, (*v, "hosts"), (*v, "hosts", 0), (*v, "hosts", 1), (*v, "port")]
    assert {path: (provenance.entries[path].loc, provenance.entries[path].key_loc) for path in set_paths} == {
        path: (at_set, at_set) for path in set_paths
    }


def test_a_set_scalar_is_located_at_the_set_key_and_value() -> None:
    tree = load_yaml_text("name: demo\n", "pipeline.yaml")
    leaf = apply_set(tree, "vars.v=5").value["vars"].value["v"]
    at_set = Location("--set vars.v=5", 0, 0)
    assert (leaf.value, leaf.loc, leaf.key_loc, leaf.raw) == (5, at_set, at_set, "5")


def test_the_mappings_a_set_creates_on_its_way_to_its_key_are_located_at_the_set() -> None:
    assignment = "spark.conf.spark.sql.shuffle.partitions=8"
    tree = load_yaml_text("name: demo\n", "pipeline.yaml")
    document, provenance = to_plain(apply_set(tree, assignment))
    assert document == {"name": "demo", "spark": {"conf": {"spark.sql.shuffle.partitions": 8}}}
    at_set = Location(f"--set {assignment}", 0, 0)
    created = [("spark",), ("spark", "conf")]
    assert {path: (provenance.entries[path].loc, provenance.entries[path].key_loc) for path in created} == {
        path: (at_set, at_set) for path in created
    }


def test_a_set_through_a_value_that_is_not_a_mapping_names_the_whole_path_to_that_value() -> None:
    tree = load_yaml_text("vars: {region: eu}\n", "pipeline.yaml")
    with pytest.raises(UsageError) as refused:
        apply_set(tree, "vars.region.code=de")
    assert (refused.value.message, refused.value.hint) == (
        "--set vars.region.code: 'vars.region' is not a mapping",
        None,
    )


def test_a_replace_value_of_an_overlay_is_located_where_the_overlay_writes_it(project: Path) -> None:
    _, shown = overlay(project, "spark:\n  conf: !replace {spark.z: 9}\n")
    loaded = load_prod(project)
    assert loaded.diagnostics == []
    assert loaded.document["spark"]["conf"] == {"spark.z": 9}
    assert loaded.provenance.info(("spark", "conf")) == NodeInfo(
        Location(shown, 2, 9), Location(shown, 2, 3), None, False
    )


def test_merging_a_replace_node_gives_it_back_as_written_only_untagged() -> None:
    """All of the node is kept (place, key, text as written, whether interpolated); only the tag goes."""
    base = Node({"a": Node(1, Location("p.yaml", 1, 5))}, Location("p.yaml", 1, 1))
    value_loc, key_loc = Location("o.yaml", 3, 7), Location("o.yaml", 3, 1)
    over = Node("NO", value_loc, key_loc, raw="NO", tag=REPLACE_TAG, interpolated=True)
    problems: list[Diagnostic] = []
    assert merge(base, over, problems) == Node("NO", value_loc, key_loc, raw="NO", tag=None, interpolated=True)
    assert problems == []
