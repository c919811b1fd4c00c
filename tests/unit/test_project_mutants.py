"""etl-project.yaml as config/project.py reads it, pinned where mutation testing found it loose: how its messages
show a wrong value (``_show``), each entry of ``environments:`` (``_ProjectReader._environment``) and the secret
providers of an environment (``Project.secrets_for``).

Text is shown quoted, anything else as YAML read it (a date as a date, a list as a list), and a value longer than
60 characters as its first 57 and ``...``: a message shows what was written, not the reader's internals.
An environment entry that is not a name, not a mapping, or holds a wrong ``protected``, ``secrets`` or ``lineage``
is reported at its place (code, message, hint) and the right entries are kept with their settings. An
environment's provider of the same type as the project's updates it key by key, a new one is added, and an
environment the project does not list gets the project's providers.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.limits import NAME_RULE
from etl_cli.config.nodes import to_plain
from etl_cli.config.project import Environment, read_project

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
