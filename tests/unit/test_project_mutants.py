"""etl-project.yaml as config/project.py reads it, pinned where mutation testing found it loose: how its messages
show a wrong value (``_show``), each entry of ``environments:`` (``_ProjectReader._environment``), the environments
a project has when it names none (``_default_environments``), the secret providers of an environment
(``Project.secrets_for``), how an invalid project reads as an error (``InvalidProject``) and the rule messages give
for relative paths (``Project.relative_paths_rule``).

Text is shown quoted, anything else as YAML read it (a date as a date, a list as a list), and a value longer than
60 characters as its first 57 and ``...``: a message shows what was written, not the reader's internals.
An environment entry that is not a name, not a mapping, or holds a wrong ``protected``, ``secrets`` or ``lineage``
is reported at its place (code, message, hint) and the right entries are kept with their settings. An
environment's provider of the same type as the project's updates it key by key, a new one is added, and an
environment the project does not list gets the project's providers. A project that names no environments (no
``environments:``, no etl-project.yaml, or a file too broken to read) has dev, staging and prod, only prod
protected. An invalid project reads as its title and then each problem on its own line; relative paths are said to
be relative to the project root, the folder of etl-project.yaml or the folder where none was found.

The project's and an environment's ``lineage:`` under a pipeline (``Project.lineage_under``): the project's block,
then the chosen environment's (``!replace`` replaces a key), then the pipeline's own, merged key by key into the
pipeline's ``lineage:``, which comes after its other keys; an environment without lineage settings, or one the
project does not list, adds nothing. A pipeline is left as it is when no block applies or it is not a mapping. A
``!delete`` with nothing beneath it is reported where it is written, the project file or the pipeline. The merged
blocks are copies: what later steps do to the pipeline (interpolation, dropping tags) leaves the project's as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.interpolate import Interpolator
from etl_cli.config.limits import NAME_RULE
from etl_cli.config.nodes import Node, to_plain
from etl_cli.config.overlay import strip_tags
from etl_cli.config.project import Environment, InvalidProject, Project, load_project, read_project
from etl_cli.config.yaml_loader import display_path, load_yaml_text
from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import Location

from .helpers import make_project, said


def messages(root: Path, project: str) -> list[str]:
    """The message of each problem of an etl-project.yaml whose text is ``project``."""
    _, problems = read_project(make_project(root, project=project))
    return [d.message for d in problems]


def test_values_that_are_not_text_are_shown_as_written(tmp_path: Path) -> None:
    project = "name: 2024-01-31\ntemplates_dir: 5\nstate_dir: [a, b]\n"
    assert messages(tmp_path, project) == [
        "name must be a string, got 2024-01-31",
        "templates_dir must be a string, got 5",
        "state_dir must be a string, got ['a', 'b']",
    ]


def test_text_is_shown_quoted(tmp_path: Path) -> None:
    assert messages(tmp_path, "history: every day\n") == ["history must be a mapping, got 'every day'"]


def test_a_value_shown_in_60_characters_is_shown_whole(tmp_path: Path) -> None:
    text = "a" * 58  # quoted: 60 characters
    assert messages(tmp_path, f"history: {text}\n") == [f"history must be a mapping, got '{text}'"]


def test_a_value_longer_than_60_characters_is_cut_to_57_and_an_ellipsis(tmp_path: Path) -> None:
    text = "abcdefghij" * 5 + "klmnopqrs"  # 59 characters, quoted: 61
    assert messages(tmp_path, f"history: {text}\n") == [f"history must be a mapping, got '{text[:56]}..."]


# --------------------------------------------------------------------------- environments: entries and their settings

ENVIRONMENTS = """\
environments:
  ../x: {}
  dev:
  qa: 5
  stage: {protected: maybe, protectd: true}
  test: {secrets: 5, lineage: [a]}
  prod:
    protected: true
    secrets: {vault: {url: "https://vault.prod"}}
    lineage: {namespace: prod-team}
"""


def test_each_wrong_environment_entry_is_reported_at_its_place_and_the_others_are_kept(tmp_path: Path) -> None:
    project, problems = read_project(make_project(tmp_path, project=ENVIRONMENTS))
    assert [said(d) for d in problems] == [
        ("invalid-name", f"environment '../x' is not a name: use {NAME_RULE}", None, 2, 3),
        ("wrong-type", "environments.qa must be a mapping of settings, got 5", "for example: {protected: true}", 4, 7),
        ("wrong-type", "environments.stage.protected must be true or false, got 'maybe'", None, 5, 22),
        ("unknown-key", "unknown key 'protectd' in environments.stage", "did you mean 'protected'?", 5, 29),
        ("wrong-type", "'environments.test.secrets' must map provider names to their settings", None, 6, 19),
        ("wrong-type", "'environments.test.lineage' must be a mapping of settings, got ['a']", None, 6, 31),
    ]
    assert project.environments == {
        "dev": Environment("dev"),
        "stage": Environment("stage"),
        "test": Environment("test"),
        "prod": Environment("prod", True, {"vault": {"url": "https://vault.prod"}}),
    }
    lineage = {name: env.lineage and to_plain(env.lineage)[0] for name, env in project.environments.items()}
    assert lineage == {"dev": None, "stage": None, "test": None, "prod": {"namespace": "prod-team"}}


# --------------------------------------------------------------------------- secrets_for: an environment's providers

SECRETS = """\
secrets:
  db: {type: keyring, service: etl, collection: shop}
  vault: {url: "http://127.0.0.1:8200"}
environments:
  dev:
    secrets:
      db: {type: keyring, service: etl-dev}
      file: {path: secrets.json}
  prod: {}
"""


def test_an_environment_s_providers_are_laid_over_the_project_s_key_by_key_and_may_add_some(tmp_path: Path) -> None:
    """``db`` names the same type as the project's entry, though not its own name: it is updated, not replaced."""
    project, problems = read_project(make_project(tmp_path, project=SECRETS))
    assert problems == []
    project_wide = {
        "db": {"type": "keyring", "service": "etl", "collection": "shop"},
        "vault": {"url": "http://127.0.0.1:8200"},
    }
    assert project.secrets_for("dev") == {
        "db": {"type": "keyring", "service": "etl-dev", "collection": "shop"},
        "vault": {"url": "http://127.0.0.1:8200"},
        "file": {"path": "secrets.json"},
    }
    assert project.secrets_for("prod") == project_wide
    assert project.secrets_for(None) == project_wide


def test_an_environment_the_project_does_not_list_gets_the_project_s_providers(tmp_path: Path) -> None:
    project, problems = read_project(make_project(tmp_path, project="environments: {}\nsecrets:\n  vault: {url: x}\n"))
    assert problems == []
    assert project.choose_env("qa") == "qa"
    assert project.secrets_for("qa") == {"vault": {"url": "x"}}


# --------------------------------------------------------------------------- a project that names no environments


@pytest.mark.parametrize(
    ("project", "problems"),
    [(None, []), ("name: t\n", []), ("- not\n- a mapping\n", ["not-a-mapping"]), ("name: [\n", ["yaml-syntax"])],
    ids=["no project file", "no environments key", "not a mapping", "unreadable"],
)
def test_a_project_naming_no_environments_has_dev_staging_and_prod_with_only_prod_protected(
    tmp_path: Path, project: str | None, problems: list[str]
) -> None:
    if project is not None:
        make_project(tmp_path, project=project)
    read, found = read_project(tmp_path)
    assert [d.code for d in found] == problems
    assert read.root == tmp_path.resolve()
    assert read.config_file == (None if project is None else tmp_path.resolve() / "etl-project.yaml")
    assert read.environments == {
        "dev": Environment("dev"),
        "staging": Environment("staging"),
        "prod": Environment("prod", True),
    }
    assert [read.is_protected(env) for env in ("dev", "staging", "prod")] == [False, False, True]


# --------------------------------------------------------------------------- messages about the project as a whole


def test_an_invalid_project_reads_as_its_title_then_each_problem_on_its_own_line(tmp_path: Path) -> None:
    make_project(tmp_path, project="history: 5\nnmae: t\n")
    with pytest.raises(InvalidProject) as caught:
        load_project(tmp_path)
    shown = display_path(tmp_path / "etl-project.yaml")
    assert str(caught.value) == (
        "etl-project.yaml is invalid\n"
        f"{shown}:1:10: error: history must be a mapping, got 5 [wrong-type]\n"
        "    hint: for example: history: {keep_days: 30}\n"
        f"{shown}:2:1: error: unknown key 'nmae' in etl-project.yaml [unknown-key]\n"
        "    hint: did you mean 'name'?"
    )


@pytest.mark.parametrize(
    ("project", "where"),
    [("name: t\n", "the folder of etl-project.yaml"), (None, "no etl-project.yaml was found there or above")],
)
def test_relative_paths_are_said_to_be_relative_to_the_project_root_and_why_it_is_the_root(
    tmp_path: Path, project: str | None, where: str
) -> None:
    if project is not None:
        make_project(tmp_path, project=project)
    read, _ = read_project(tmp_path)
    assert read.relative_paths_rule() == f"relative paths are relative to the project root {tmp_path} ({where})"


# --------------------------------------------------------------------------- lineage_under: the project's lineage

LINEAGE = """\
name: shop
lineage:
  namespace: shop-team
  transport: {type: http, url: "http://marquez:5000"}
environments:
  dev:
    lineage:
      transport: !replace {type: console}
  prod: {protected: true}
"""

PROJECT_WIDE = {"namespace": "shop-team", "transport": {"type": "http", "url": "http://marquez:5000"}}


def lineage_project(root: Path, project: str = LINEAGE) -> Project:
    read, problems = read_project(make_project(root, project=project))
    assert problems == []
    return read


def pipeline(text: str) -> Node:
    return load_yaml_text(text, "pipeline.yaml")


@pytest.mark.parametrize(
    ("env", "text", "document"),
    [
        (None, "name: p\n", [("name", "p"), ("lineage", PROJECT_WIDE)]),
        ("prod", "name: p\n", [("name", "p"), ("lineage", PROJECT_WIDE)]),
        ("qa", "name: p\n", [("name", "p"), ("lineage", PROJECT_WIDE)]),
        (
            "dev",
            "name: p\n",
            [("name", "p"), ("lineage", {"namespace": "shop-team", "transport": {"type": "console"}})],
        ),
        (
            "dev",
            "lineage: {namespace: orders-team}\nname: p\nmode: batch\n",
            [
                ("name", "p"),
                ("mode", "batch"),
                ("lineage", {"namespace": "orders-team", "transport": {"type": "console"}}),
            ],
        ),
    ],
    ids=["no-env", "env-without-lineage", "env-not-listed", "env-lineage", "pipeline-lineage-wins"],
)
def test_the_projects_then_the_environments_then_the_pipelines_lineage_are_merged_after_its_other_keys(
    tmp_path: Path, env: str | None, text: str, document: list[tuple[str, object]]
) -> None:
    tree = pipeline(text)
    diagnostics: list[Diagnostic] = []
    merged = lineage_project(tmp_path).lineage_under(tree, env, diagnostics)
    assert diagnostics == []
    assert list(to_plain(merged)[0].items()) == document
    assert merged.loc == Location("pipeline.yaml", 1, 1)


@pytest.mark.parametrize(
    ("project", "text"),
    [
        ("name: shop\nenvironments:\n  dev: {}\n", "lineage: {namespace: a}\nname: p\n"),
        (LINEAGE, "- name: p\n"),
    ],
    ids=["no-lineage-settings", "not-a-mapping"],
)
def test_a_pipeline_is_left_as_it_is_when_no_lineage_applies_or_it_is_not_a_mapping(
    tmp_path: Path, project: str, text: str
) -> None:
    tree = pipeline(text)
    diagnostics: list[Diagnostic] = []
    assert lineage_project(tmp_path, project).lineage_under(tree, "dev", diagnostics) is tree
    assert diagnostics == []


@pytest.mark.parametrize(
    ("project", "text", "where", "expected"),
    [
        (
            "name: shop\nlineage: !delete {namespace: x}\n",
            "name: p\n",
            "etl-project.yaml",
            ("overlay-delete", "!delete of 'lineage', which is not set", None, 2, 1),
        ),
        (
            "name: shop\nlineage: {namespace: x}\n",
            "name: p\nlineage:\n  transport: !delete\n",
            "pipeline.yaml",
            ("overlay-delete", "!delete of 'transport', which is not set", None, 3, 3),
        ),
    ],
    ids=["in-the-project", "in-the-pipeline"],
)
def test_a_delete_with_nothing_beneath_it_is_reported_where_it_is_written(
    tmp_path: Path, project: str, text: str, where: str, expected: tuple[object, ...]
) -> None:
    diagnostics: list[Diagnostic] = []
    lineage_project(tmp_path, project).lineage_under(pipeline(text), None, diagnostics)
    assert [said(d) for d in diagnostics] == [expected]
    assert diagnostics[0].location is not None and Path(diagnostics[0].location.file).name == where


def test_the_projects_lineage_stays_as_written_whatever_later_steps_do_to_a_pipeline_built_on_it(
    tmp_path: Path,
) -> None:
    project = lineage_project(tmp_path, LINEAGE.replace("namespace: shop-team", "namespace: ${env:TEAM}"))
    own, dev = project.lineage, project.environments["dev"].lineage
    assert own is not None and dev is not None
    written = ({**PROJECT_WIDE, "namespace": "${env:TEAM}"}, {"transport": {"type": "console"}})
    assert (to_plain(own)[0], to_plain(dev)[0]) == written
    for team in ("orders", "billing"):
        diagnostics: list[Diagnostic] = []
        merged = strip_tags(project.lineage_under(pipeline("name: p\n"), "dev", diagnostics), diagnostics)
        resolved = Interpolator(None, {"TEAM": team}).resolve_document(merged)
        assert diagnostics == []
        assert to_plain(resolved)[0]["lineage"] == {"namespace": team, "transport": {"type": "console"}}
    assert (to_plain(own)[0], to_plain(dev)[0]) == written
