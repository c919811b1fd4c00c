"""``keys:`` of the project file (etl_cli/config/keys.py), pinned where mutation testing found it loose.

A wrong value that is not text is shown as YAML read it (a date as ``2024-01-01``, ``_show``); a provider that is a
list is an ``invalid-key`` error at it with the list of providers as its hint (``_entry``: it used to stop the read
with ``TypeError: unhashable type``); a transit mount loses its leading and trailing slashes and nothing else.
"""

from __future__ import annotations

from etl_cli.config.keys import KeySettings, read_keys
from etl_cli.diagnostics import Diagnostic

from .helpers import column, project_block, said

PROVIDERS = "vault_transit, aws_kms, local"


def read(text: str) -> tuple[dict[str, KeySettings], list[Diagnostic]]:
    """The keys of a project file whose text is ``text``, and the problems found."""
    found, problems = project_block(read_keys, "keys", text)
    return found, problems


def test_a_wrong_value_that_is_not_text_is_shown_as_yaml_read_it() -> None:
    keys, problems = read("keys: 2024-01-01\n")
    assert keys == {}
    assert [said(p) for p in problems] == [
        (
            "wrong-type",
            "keys must map key names to their settings, got 2024-01-01",
            "for example: keys: {customer: {provider: vault_transit, key: etl-customer}}",
            1,
            7,
        )
    ]


def test_a_provider_that_is_a_list_is_refused_at_it_with_the_list_of_providers() -> None:
    line = "  dev: {provider: [local], path: k.key}"
    keys, problems = read(f"keys:\n{line}\n")
    assert keys == {}
    assert [said(p) for p in problems] == [
        (
            "invalid-key",
            f"keys.dev.provider must be one of {PROVIDERS}, got ['local']",
            f"providers: {PROVIDERS}",
            2,
            column(line, "[local]"),
        )
    ]


def test_a_transit_mount_loses_only_its_leading_and_trailing_slashes() -> None:
    keys, problems = read("keys:\n  c: {provider: vault_transit, key: k, mount: /Xfer/transit-X/}\n")
    assert problems == []
    assert keys["c"].mount == "Xfer/transit-X"
