"""What loading a pipeline gives and reports (etl_cli/config/loader.py ``load_pipeline``, ``_apply_overlay``,
``apply_set`` and ``_node_of``, etl_cli/config/overlay.py ``_untagged``), pinned where mutation testing found it loose.

A project file with problems stops the load before the pipeline is read: the result is its problems, the project as
read, no environment, an empty document and provenance, and only the pipeline's file. A pipeline file that is not YAML
or not a mapping gives the same empty result, but for the environment chosen. The project's ``lineage:`` and then the
chosen environment's lie beneath the pipeline's own, and a ``!delete`` there with nothing beneath is reported. A
required parameter not given to a command that runs, and a ``--param`` the pipeline does not declare, name the
pipeline as messages show it.

An overlay that links out of the pipeline's ``env/`` folder, that is not a mapping, or that uses ``extends`` is
reported (code, message, place and hint) and, but for ``extends``, not applied. Every node of a ``--set`` value is
located at the ``--set``, key and value, and so is every mapping a ``--set`` creates on its way to its key; a
``--set`` through a value that is not a mapping names the whole path to that value. A ``!replace`` value comes
back as written, only without its tag.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from etl_cli.config.loader import LoadedConfig, apply_set, load_pipeline
from etl_cli.config.nodes import REPLACE_TAG, Node, NodeInfo, Provenance, to_plain
from etl_cli.config.overlay import merge
from etl_cli.config.params import PLACEHOLDER
from etl_cli.config.project import read_project
from etl_cli.config.yaml_loader import YamlFileError, display_path, load_yaml_file, load_yaml_text
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


# --------------------------------------------------------------------------- what stops a load early


def test_a_project_file_with_problems_stops_the_load_before_the_pipeline_is_read(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"p/pipeline.yaml": PIPELINE}, project="name: t\nbogus: 1\n")
    project, problems = read_project(root / "p")
    assert [d.code for d in problems] == ["unknown-key"]
    loaded = load_pipeline(root / "p", "prod", environ={})
    pipeline_file = root / "p" / "pipeline.yaml"
    assert loaded == LoadedConfig(pipeline_file, project, None, {}, Provenance(), problems, [pipeline_file])
    assert loaded.params == {}


def not_a_mapping(pipeline_file: Path) -> list[Diagnostic]:
    shown = display_path(pipeline_file)
    return [error("not-a-mapping", "a pipeline file must be a YAML mapping (key: value)", Location(shown, 1, 1))]


def yaml_problems(pipeline_file: Path) -> list[Diagnostic]:
    with pytest.raises(YamlFileError) as caught:
        load_yaml_file(pipeline_file)
    return caught.value.diagnostics


@pytest.mark.parametrize(
    ("text", "expected"),
    [("- name: demo\n", not_a_mapping), ("name: [demo\n", yaml_problems)],
    ids=["not-a-mapping", "not-yaml"],
)
def test_a_pipeline_file_that_is_not_a_yaml_mapping_loads_as_nothing_in_the_environment_chosen(
    tmp_path: Path, text: str, expected: Callable[[Path], list[Diagnostic]]
) -> None:
    root = make_project(tmp_path, {"p/pipeline.yaml": text}, project=PROJECT)
    pipeline_file = root / "p" / "pipeline.yaml"
    loaded = load_prod(root)
    problems = expected(pipeline_file)
    assert problems
    assert loaded == LoadedConfig(
        pipeline_file, read_project(root)[0], "prod", {}, Provenance(), problems, [pipeline_file]
    )
    assert loaded.params == {}


# --------------------------------------------------------------------------- the project's layers and parameters

LINEAGE_PROJECT = """
    lineage: {namespace: shop, enabled: true}
    default_env: dev
    environments:
      dev: {}
      prod: {lineage: {namespace: shop-prod}}
"""


@pytest.mark.parametrize(("env", "namespace"), [("dev", "shop"), ("prod", "shop-prod")])
def test_the_lineage_of_the_project_and_then_of_the_environment_lie_beneath_the_pipeline_s(
    tmp_path: Path, env: str, namespace: str
) -> None:
    """The pipeline's own ``lineage:`` goes over both; its ``!delete`` of a key neither sets is reported there."""
    pipeline = "name: demo\nlineage:\n  transport: !delete\n  facets: {a: 1}\n"
    root = make_project(tmp_path, {"p/pipeline.yaml": pipeline}, project=LINEAGE_PROJECT)
    loaded = load_pipeline(root / "p", env, environ={})
    shown = display_path(root / "p" / "pipeline.yaml")
    assert loaded.diagnostics == [
        error("overlay-delete", "!delete of 'transport', which is not set", Location(shown, 3, 3))
    ]
    assert loaded.document == {
        "name": "demo",
        "lineage": {"namespace": namespace, "enabled": True, "facets": {"a": 1}},
    }


PARAMS_PIPELINE = """
    name: daily
    params:
      ds: {type: date, required: true}
"""


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            [],
            "parameter 'ds' of {shown} is required: it has no default and no --param ds=VALUE was given; "
            "it is declared at {shown}:3:3",
        ),
        (["ds=2026-01-31", "zz=1"], "--param zz: {shown} declares no parameter 'zz'"),
    ],
    ids=["required-not-given", "not-declared"],
)
def test_a_parameter_refused_names_the_pipeline_as_messages_show_it(
    tmp_path: Path, given: list[str], message: str
) -> None:
    root = make_project(tmp_path, {"p/pipeline.yaml": PARAMS_PIPELINE}, project=PROJECT)
    with pytest.raises(UsageError) as refused:
        load_pipeline(root / "p", "dev", environ={}, params=given, require_params=True)
    assert refused.value.message == message.format(shown=display_path(root / "p" / "pipeline.yaml"))


@pytest.mark.parametrize(
    ("process_env", "environ"),
    [("prod", None), ("dev", {"ETL_ENV": "prod"})],
    ids=["from-the-process", "from-the-environ-given"],
)
def test_without_env_the_etl_env_of_the_environ_given_else_of_the_process_chooses_the_overlay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, process_env: str, environ: dict[str, str] | None
) -> None:
    """Then the ``--set`` goes over the overlay, and a required parameter not given takes a placeholder."""
    monkeypatch.setenv("ETL_ENV", process_env)
    files = {"p/pipeline.yaml": PARAMS_PIPELINE + "    vars: {v: 1}\n", "p/env/prod.yaml": "vars: {v: 2, w: 2}\n"}
    root = make_project(tmp_path, files, project=PROJECT)
    loaded = load_pipeline(root / "p", environ=environ, sets=["vars.w=3"])
    assert (loaded.env, loaded.document["vars"], loaded.diagnostics) == ("prod", {"v": 2, "w": 3}, [])
    assert {name: value.source for name, value in loaded.params.items()} == {"ds": PLACEHOLDER}


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
