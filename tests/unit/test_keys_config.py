"""``keys:`` of the project file read in-process (etl_cli/config/keys.py): each provider's settings and defaults,
every problem's code, message, hint and place, and what a key's settings say about itself.

The encryption tests (tests/unit/test_crypto*.py, tests/spark/test_crypto.py) use keys through ``etl-cli``;
mutation testing (docs/testing.md) sees only tests that call the module in the test's own process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.keys import KeySettings, read_keys
from etl_cli.diagnostics import Diagnostic

from .helpers import column, project_block, said

EXAMPLE = "for example: keys: {customer: {provider: vault_transit, key: etl-customer}}"
PROVIDERS = "vault_transit, aws_kms, local"


def read(text: str) -> tuple[dict[str, KeySettings], list[Diagnostic]]:
    """The keys of a project file whose text is ``text``, and the problems found."""
    found, problems = project_block(read_keys, "keys", text)
    return found, problems


def test_each_provider_with_its_settings_and_defaults() -> None:
    keys, problems = read(
        "keys:\n"
        "  customer:\n"
        "    provider: vault_transit\n"
        "    key: etl-customer\n"
        "  archive:\n"
        "    provider: vault_transit\n"
        "    key: etl-archive\n"
        "    mount: /kv/transit/\n"
        "    secrets: vault-prod\n"
        "    keyring: rings/archive.json\n"
        "  orders: {provider: aws_kms, key_id: alias/etl-orders}\n"
        "  dev: {provider: local, path: .etl/keys/dev.key}\n"
    )
    assert problems == []
    assert list(keys) == ["customer", "archive", "orders", "dev"]
    customer, archive, orders, dev = keys.values()
    assert (customer.provider, customer.key, customer.mount, customer.secrets, customer.keyring) == (
        "vault_transit",
        "etl-customer",
        "transit",
        "vault",
        None,
    )
    assert customer.location is not None and (customer.location.line, customer.location.column) == (2, 3)
    assert (archive.mount, archive.secrets, archive.keyring) == ("kv/transit", "vault-prod", "rings/archive.json")
    assert (orders.provider, orders.key_id, orders.secrets, orders.key, orders.path) == (
        "aws_kms",
        "alias/etl-orders",
        "aws",
        None,
        None,
    )
    assert (dev.provider, dev.path, dev.secrets, dev.key_id) == ("local", ".etl/keys/dev.key", None, None)
    assert (dev.name, orders.name) == ("dev", "orders")


def test_no_keys_and_null_keys_are_none() -> None:
    assert read("name: x\n") == ({}, [])
    assert read("keys:\n") == ({}, [])


def test_keys_that_are_not_a_mapping_are_one_problem() -> None:
    keys, (problem,) = read("keys: [customer]\n")
    assert keys == {}
    assert said(problem) == ("wrong-type", "keys must map key names to their settings, got ['customer']", EXAMPLE, 1, 7)


def test_a_key_name_that_is_not_a_name_is_refused_at_its_key() -> None:
    keys, (problem,) = read("keys:\n  good: {provider: local, path: k}\n  'bad name': {provider: local, path: k}\n")
    assert list(keys) == ["good"]
    code, message, hint, line, col = said(problem)
    assert (code, hint, line, col) == ("invalid-name", None, 3, 3)
    assert message.startswith("key name 'bad name' is not a name: use ")


def test_settings_that_are_not_a_mapping_are_refused_with_an_example() -> None:
    keys, (problem,) = read("keys:\n  customer: etl-customer\n")
    assert keys == {}
    message = "keys.customer must be a mapping of settings, got 'etl-customer'"
    assert said(problem) == ("wrong-type", message, EXAMPLE, 2, 13)


def test_a_long_value_is_shown_cut_at_60_characters() -> None:
    # the quoted text is cut to 57 characters and "..." when it is longer than 60
    _, (problem,) = read(f"keys:\n  customer: {'x' * 59}\n")
    assert problem.message == f"keys.customer must be a mapping of settings, got '{'x' * 56}..."
    _, (problem,) = read(f"keys:\n  customer: {'x' * 58}\n")
    assert problem.message == f"keys.customer must be a mapping of settings, got '{'x' * 58}'"


def test_an_unknown_provider_is_refused_with_the_closest_or_every_one() -> None:
    line = "  customer: {provider: vault_transt, key: k}"
    keys, (problem,) = read(f"keys:\n{line}\n")
    assert keys == {}
    message = f"keys.customer.provider must be one of {PROVIDERS}, got 'vault_transt'"
    assert said(problem) == ("invalid-key", message, "did you mean 'vault_transit'?", 2, column(line, "vault_transt"))
    _, (problem,) = read("keys:\n  customer: {provider: gpg, key: k}\n")
    assert problem.hint == f"providers: {PROVIDERS}"
    _, (problem,) = read("keys:\n  customer: {provider: 7, key: k}\n")
    assert (problem.message, problem.hint) == (
        f"keys.customer.provider must be one of {PROVIDERS}, got 7",
        f"providers: {PROVIDERS}",
    )


def test_a_missing_provider_is_reported_at_the_settings() -> None:
    line = "  customer: {key: k}"
    keys, (problem,) = read(f"keys:\n{line}\n")
    assert keys == {}
    message = f"keys.customer.provider must be one of {PROVIDERS}, got nothing"
    assert said(problem) == ("invalid-key", message, f"providers: {PROVIDERS}", 2, column(line, "{"))


def test_a_setting_of_another_provider_is_unknown_with_the_closest_or_every_one() -> None:
    line = "  orders: {provider: aws_kms, key_id: a, mount: transit, keyid: b}"
    keys, problems = read(f"keys:\n{line}\n")
    assert keys == {}
    assert [said(p) for p in problems] == [
        (
            "unknown-key",
            "unknown key 'mount' in keys.orders (aws_kms)",
            "aws_kms settings: provider, keyring, key_id, secrets",
            2,
            column(line, "mount"),
        ),
        (
            "unknown-key",
            "unknown key 'keyid' in keys.orders (aws_kms)",
            "did you mean 'key_id'?",
            2,
            column(line, "keyid"),
        ),
    ]


@pytest.mark.parametrize("value", ["''", "3", "[a]", "null"])
def test_a_setting_must_be_a_non_empty_string(value: str) -> None:
    line = f"  dev: {{provider: local, path: {value}}}"
    keys, (problem,) = read(f"keys:\n{line}\n")
    assert keys == {}
    shown = {"''": "''", "3": "3", "[a]": "['a']", "null": "None"}[value]
    message = f"keys.dev.path must be a non-empty string, got {shown}"
    assert said(problem) == ("wrong-type", message, None, 2, column(line, f"path: {value}") + len("path: "))


@pytest.mark.parametrize(
    ("provider", "required", "hint"),
    [
        ("vault_transit", "key", "key: the name of the transit key, e.g. key: etl-customer"),
        ("aws_kms", "key_id", "key_id: a KMS key id, ARN or alias, e.g. key_id: alias/etl-customer"),
        ("local", "path", "path: the key file, e.g. path: .etl/keys/dev.key (etl-cli keys create NAME writes it)"),
    ],
)
def test_each_provider_needs_its_one_setting(provider: str, required: str, hint: str) -> None:
    line = f"  k: {{provider: {provider}}}"
    keys, (problem,) = read(f"keys:\n{line}\n")
    assert keys == {}
    assert said(problem) == ("missing-key", f"keys.k ({provider}) needs '{required}'", hint, 2, column(line, "{"))


def test_every_problem_of_an_entry_is_reported_and_the_other_entries_kept() -> None:
    keys, problems = read("keys:\n  a: {provider: local, path: '', extra: 1}\n  b: {provider: local, path: k}\n")
    assert list(keys) == ["b"]
    assert [p.code for p in problems] == ["wrong-type", "unknown-key"]
    keys, problems = read("keys:\n  a: {provider: local, extra: 1}\n")
    assert keys == {}
    assert [p.code for p in problems] == ["unknown-key", "missing-key"]


def test_the_keyring_and_key_file_paths(tmp_path: Path) -> None:
    root = tmp_path / "project"
    plain = KeySettings("dev", "local", path="keys/dev.key")
    assert plain.keyring_path(root) == root / "keys" / "dev.keyring.json"
    assert plain.key_file(root) == root / "keys" / "dev.key"
    placed = KeySettings("dev", "local", path=str(tmp_path / "abs.key"), keyring=str(tmp_path / "ring.json"))
    assert placed.keyring_path(root) == tmp_path / "ring.json"
    assert placed.key_file(root) == tmp_path / "abs.key"
    assert KeySettings("dev", "local", keyring="rings/r.json").keyring_path(root) == root / "rings" / "r.json"
    assert KeySettings("c", "vault_transit", key="k").key_file(root) is None
    home = KeySettings("dev", "local", path="~/dev.key", keyring="~/ring.json")
    assert home.key_file(root) == Path.home() / "dev.key"
    assert home.keyring_path(root) == Path.home() / "ring.json"


def test_a_key_describes_where_it_lives_without_key_material() -> None:
    assert KeySettings("c", "vault_transit", key="etl-c", mount="t", secrets="v").describe() == (
        "Vault transit key 'etl-c' (mount 't', secrets entry 'v')"
    )
    assert KeySettings("o", "aws_kms", key_id="alias/o", secrets="aws").describe() == (
        "AWS KMS key 'alias/o' (secrets entry 'aws')"
    )
    assert KeySettings("d", "local", path="k.key").describe() == "local key file k.key"
