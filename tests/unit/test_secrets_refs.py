"""Parsing ``provider:path#key`` secret references."""

from __future__ import annotations

import pytest

from etl_cli.errors import ExitCode, Location
from etl_cli.secrets.refs import SecretRef, SecretRefError, parse_ref


def test_a_reference_has_provider_path_and_key() -> None:
    assert parse_ref("vault:apps/warehouse#password") == SecretRef("vault", "apps/warehouse", "password")


def test_the_key_is_optional() -> None:
    assert parse_ref("env:PG_PASSWORD") == SecretRef("env", "PG_PASSWORD", None)


def test_the_interpolation_wrapper_is_accepted() -> None:
    assert parse_ref("${secret:aws:prod/db#user}") == SecretRef("aws", "prod/db", "user")


def test_an_aws_arn_keeps_its_colons_in_the_path() -> None:
    ref = parse_ref("aws:arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf#password")
    assert ref.provider == "aws"
    assert ref.path == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
    assert ref.key == "password"


def test_the_key_is_what_follows_the_last_hash() -> None:
    assert parse_ref("file:a#b#c") == SecretRef("file", "a#b", "c")


def test_name_and_text_forms_round_trip() -> None:
    ref = SecretRef("keyring", "warehouse", "password")
    assert ref.name == "warehouse#password"
    assert str(ref) == "keyring:warehouse#password"
    assert ref.reference == "${secret:keyring:warehouse#password}"
    assert parse_ref(str(ref)) == ref


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("vault", "has no provider"),
        (":path#key", "has no provider"),
        ("9vault:path", "is not a provider name"),
        ("vault:", "the path is empty"),
        ("vault:#key", "the path is empty"),
        ("vault:path#", "the key after '#' is empty"),
    ],
)
def test_malformed_references_say_why_and_show_the_form(text: str, why: str) -> None:
    with pytest.raises(SecretRefError) as raised:
        parse_ref(text, Location("p.yaml", 3, 7))
    assert why in raised.value.message
    assert raised.value.location == Location("p.yaml", 3, 7)
    assert raised.value.hint is not None and "provider:path#key" in raised.value.hint
    assert raised.value.exit_code == ExitCode.INVALID_CONFIG
