"""The ``env`` provider: secrets from environment variables, read at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.secrets.errors import SecretNotFound
from etl_cli.secrets.providers.env import EnvProvider
from etl_cli.secrets.refs import parse_ref
from etl_cli.secrets.settings import ProviderContext, ProviderSettings


def provider(environ: dict[str, str], **options: object) -> EnvProvider:
    return EnvProvider(ProviderSettings("env", "env", options), ProviderContext(Path("/project"), environ))


def test_reads_the_named_variable() -> None:
    assert provider({"PG_PASSWORD": "pw-from-env"}).fetch(parse_ref("env:PG_PASSWORD")) == "pw-from-env"


def test_a_prefix_is_prepended() -> None:
    assert provider({"ETL_PG": "x1y2"}, prefix="ETL_").fetch(parse_ref("env:PG")) == "x1y2"


def test_a_key_picks_a_field_of_a_json_variable() -> None:
    environ = {"DB": '{"user": "etl", "password": "pw-json"}'}
    assert provider(environ).fetch(parse_ref("env:DB#password")) == "pw-json"


def test_an_unset_variable_names_the_variable_and_how_to_set_it() -> None:
    with pytest.raises(SecretNotFound) as raised:
        provider({}).fetch(parse_ref("env:PG_PASSWORD"))
    assert "environment variable PG_PASSWORD is not set" in str(raised.value)
    assert "export PG_PASSWORD=" in str(raised.value)


def test_a_key_of_a_plain_variable_is_not_found_and_the_value_is_not_shown() -> None:
    with pytest.raises(SecretNotFound) as raised:
        provider({"PG": "plain-value-123"}).fetch(parse_ref("env:PG#password"))
    assert "plain string" in str(raised.value)
    assert "plain-value-123" not in str(raised.value)


def test_a_missing_key_lists_the_keys_but_no_values() -> None:
    with pytest.raises(SecretNotFound) as raised:
        provider({"DB": '{"user": "etl", "pasword": "pw-typo-value"}'}).fetch(parse_ref("env:DB#password"))
    text = str(raised.value)
    assert "its keys: pasword, user" in text
    assert "did you mean 'pasword'" in text
    assert "pw-typo-value" not in text
