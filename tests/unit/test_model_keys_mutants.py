"""The key rule of ``validate`` (etl_cli/model/keys.py: ``check_keys``), pinned where mutation testing found it loose.

Which stages it reads: only ``encrypt`` and ``decrypt`` items of a ``transforms:`` list whose ``key`` is text, each in
turn (an item that is not a mapping, another transform with a ``key``, a key that is not text or missing are passed
over, not the end of the list); no ``transforms:`` list is no problem. Then, word for word with its hint and its
place (the stage's ``key:`` value): a key not declared under ``keys:`` (hint: the close name, else the keys declared,
else where to declare one); a ``vault_transit``/``aws_kms`` key whose ``secrets:`` entry is not declared for the
environment (not an error when it names the bare type ``vault``/``aws``; the message names the environment when
there is one; hint: the close entry, else the entry to add), or is of another type (an entry's type is its
``type:``, else its name; the environment's entries over the project's); a ``local`` key whose file does not exist
(a warning, its path taken from the project root, hint: the command that creates it).
Projects are read from a real ``etl-project.yaml``, pipelines from YAML text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.nodes import to_plain
from etl_cli.config.project import Project, read_project
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.diagnostics import Diagnostic, error, warning
from etl_cli.errors import Location
from etl_cli.model.keys import check_keys

from .helpers import column, make_project

FILE = "pipeline.yaml"


def project_of(root: Path, text: str) -> Project:
    """The project whose ``etl-project.yaml`` (in ``root``) is ``text``; it must have no problem of its own."""
    project, problems = read_project(make_project(root, project=text))
    assert problems == []
    return project


def checked(project: Project, pipeline: str, env: str | None = None) -> list[Diagnostic]:
    """What ``check_keys`` says of the pipeline whose text (file ``pipeline.yaml``) is ``pipeline``."""
    document, provenance = to_plain(load_yaml_text(pipeline, FILE))
    return check_keys(document, project, env, provenance)


def one_stage(key: str, kind: str = "encrypt") -> tuple[str, Location]:
    """A pipeline whose one transform ``enc`` (of type ``kind``) names ``key``, and where its ``key:`` value is."""
    line = f"    key: {key}"
    text = f"name: p\ntransforms:\n  - name: enc\n    type: {kind}\n    columns: [email]\n{line}\n"
    return text, Location(FILE, 6, column(line, key))


def not_declared(stage: str, key: str, where: Location, hint: str) -> Diagnostic:
    return error("unknown-key", f"transform '{stage}': key '{key}' is not declared in etl-project.yaml", where, hint)


# --------------------------------------------------------------------------- which stages are read


def test_only_encrypt_and_decrypt_stages_naming_a_key_are_checked_each_in_turn(tmp_path: Path) -> None:
    project = project_of(tmp_path, "name: t\n")
    lines = [
        "name: p",
        "transforms:",
        "  - just text",
        "  - {name: f, type: filter, condition: 'x > 1', key: nope0}",
        "  - {name: k, type: encrypt, columns: [a], key: [nope1]}",
        "  - {name: m, type: encrypt, columns: [a]}",
        "  - {name: e, type: encrypt, columns: [a], key: nope2}",
        "  - {type: decrypt, columns: [a], key: nope3}",
        "  - {name: d, type: decrypt, columns: [a], key: nope4}",
    ]
    hint = "declare it under keys: in etl-project.yaml"
    assert checked(project, "\n".join(lines) + "\n") == [
        not_declared("e", "nope2", Location(FILE, 7, column(lines[6], "nope2")), hint),
        not_declared("None", "nope3", Location(FILE, 8, column(lines[7], "nope3")), hint),
        not_declared("d", "nope4", Location(FILE, 9, column(lines[8], "nope4")), hint),
    ]


@pytest.mark.parametrize(
    "pipeline",
    ["name: p\n", "name: p\ntransforms: {type: encrypt, key: nope}\n", "name: p\ntransforms: encrypt\n"],
    ids=["no-transforms", "a-mapping", "a-string"],
)
def test_a_pipeline_without_a_transforms_list_has_no_key_problem(tmp_path: Path, pipeline: str) -> None:
    assert checked(project_of(tmp_path, "name: t\n"), pipeline) == []


# --------------------------------------------------------------------------- a key that is not declared


@pytest.mark.parametrize(
    ("keys", "name", "hint"),
    [
        ("keys:\n  customer: {provider: local, path: c.key}\n  orders: {provider: local, path: o.key}\n", "custmer",
         "did you mean 'customer'?"),
        ("keys:\n  customer: {provider: local, path: c.key}\n  orders: {provider: local, path: o.key}\n", "zzz",
         "keys declared: customer, orders"),
        ("", "customer", "declare it under keys: in etl-project.yaml"),
    ],
    ids=["close-name", "keys-declared", "no-keys"],
)  # fmt: skip
def test_a_key_that_is_not_declared_is_an_error_at_the_stage_s_key(
    tmp_path: Path, keys: str, name: str, hint: str
) -> None:
    for file in ("c.key", "o.key"):
        (tmp_path / file).write_text("k", encoding="utf-8")
    pipeline, where = one_stage(name, "decrypt")
    assert checked(project_of(tmp_path, f"name: t\n{keys}"), pipeline) == [not_declared("enc", name, where, hint)]


# --------------------------------------------------------------------------- the secrets entry of a key service

VAULT_CORP = "keys:\n  customer: {provider: vault_transit, key: etl-customer, secrets: corp}\n"
ADD_CORP = "add secrets: {corp: {type: vault, ...}}"
ENVIRONMENTS = "environments:\n  dev: {}\n  prod:\n    secrets:\n      corp: {type: vault, url: 'https://v'}\n"


def undeclared(provider: str, entry: str, hint: str, env: str = "") -> tuple[str, str, str]:
    message = (
        f"transform 'enc': key 'customer' reaches {provider} through secrets entry '{entry}', "
        f"which etl-project.yaml does not declare{env}"
    )
    return "unknown-key-provider", message, hint


def wrong_type(provider: str, wanted: str, entry: str, kind: str) -> tuple[str, str, None]:
    message = (
        f"transform 'enc': key 'customer' ({provider}) needs a secrets entry of type {wanted}, "
        f"but '{entry}' is of type {kind}"
    )
    return "wrong-key-provider", message, None


@pytest.mark.parametrize(
    ("project", "env", "expected"),
    [
        # the bare type: its settings come from the environment
        ("keys:\n  customer: {provider: vault_transit, key: etl-customer}\n", None, []),
        ("keys:\n  customer: {provider: aws_kms, key_id: alias/x}\n", None, []),
        # an entry of the right type, by its type: or by its name
        (VAULT_CORP + "secrets:\n  corp: {type: vault, url: 'https://v'}\n", None, []),
        ("keys:\n  customer: {provider: vault_transit, key: k}\nsecrets:\n  vault: {url: 'https://v'}\n", None, []),
        ("keys:\n  customer: {provider: aws_kms, key_id: a, secrets: aws}\nsecrets:\n  aws: {region: x}\n", None, []),
        # an entry that is not declared
        (VAULT_CORP, None, [undeclared("vault_transit", "corp", ADD_CORP)]),
        (VAULT_CORP + "secrets:\n  corps: {type: vault}\n", None,
         [undeclared("vault_transit", "corp", "did you mean 'corps'?")]),
        ("keys:\n  customer: {provider: aws_kms, key_id: alias/x, secrets: vault}\n", None,
         [undeclared("aws_kms", "vault", "add secrets: {vault: {type: aws, ...}}")]),
        # an entry of another type, by its type: or by its name
        (VAULT_CORP + "secrets:\n  corp: {type: aws, region: x}\n", None,
         [wrong_type("vault_transit", "vault", "corp", "aws")]),
        (VAULT_CORP + "secrets:\n  corp: {url: 'https://v'}\n", None,
         [wrong_type("vault_transit", "vault", "corp", "corp")]),
        ("keys:\n  customer: {provider: aws_kms, key_id: a, secrets: vault}\nsecrets:\n  vault: {type: vault}\n", None,
         [wrong_type("aws_kms", "aws", "vault", "vault")]),
        # the environment's entries over the project's
        (VAULT_CORP + ENVIRONMENTS, "prod", []),
        (VAULT_CORP + ENVIRONMENTS, None, [undeclared("vault_transit", "corp", ADD_CORP)]),
        (VAULT_CORP + ENVIRONMENTS, "dev",
         [undeclared("vault_transit", "corp", ADD_CORP, " for environment dev")]),
        (VAULT_CORP + "secrets:\n  corp: {type: aws}\n" + ENVIRONMENTS, "prod", []),
        (VAULT_CORP + "secrets:\n  corp: {type: aws}\n" + ENVIRONMENTS, "dev",
         [wrong_type("vault_transit", "vault", "corp", "aws")]),
    ],
    ids=[
        "bare-vault", "bare-aws", "typed-entry", "named-entry", "named-aws-entry",
        "undeclared", "undeclared-close-name", "undeclared-other-bare-type",
        "wrong-type", "untyped-entry-of-another-name", "aws-key-on-vault-entry",
        "env-entry", "env-entry-without-env", "env-entry-in-other-env",
        "env-entry-over-project", "project-entry-in-env",
    ],
)  # fmt: skip
def test_a_key_service_needs_a_secrets_entry_of_its_type_for_the_environment(
    tmp_path: Path, project: str, env: str | None, expected: list[tuple[str, str, str | None]]
) -> None:
    pipeline, where = one_stage("customer")
    assert checked(project_of(tmp_path, f"name: t\n{project}"), pipeline, env) == [
        error(code, message, where, hint) for code, message, hint in expected
    ]


# --------------------------------------------------------------------------- a local key's file


def test_a_local_key_file_that_does_not_exist_is_a_warning_and_one_that_exists_is_not(tmp_path: Path) -> None:
    project = project_of(tmp_path, "name: t\nkeys:\n  dev: {provider: local, path: .etl/keys/dev.key}\n")
    pipeline, where = one_stage("dev")
    key_file = tmp_path / ".etl" / "keys" / "dev.key"
    message = f"transform 'enc': the key file of key 'dev' ({key_file}) does not exist here"
    assert checked(project, pipeline) == [
        warning("missing-key-file", message, where, "create it: etl-cli keys create dev")
    ]
    key_file.parent.mkdir(parents=True)
    key_file.write_text("k", encoding="utf-8")
    assert checked(project, pipeline) == []
