"""One plug-in registry for every kind, secret providers included, and the attributes plug-ins declare."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from jsonschema import Draft202012Validator

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import PendingWrite, Plugin, Sink, Source, StageSpec
from etl_cli.plugins.registry import REGISTRY, Registry
from etl_cli.secrets.errors import SecretSettingsError
from etl_cli.secrets.registry import ProviderRegistry, SecretProvider, default_registry
from etl_cli.secrets.settings import ProviderContext, ProviderSettings

#: the settings each built-in provider took before it declared them as JSON Schema (docs/secrets.md)
PROVIDER_SETTINGS = {
    "aws": {
        "region", "endpoint_url", "profile", "access_key_id", "secret_access_key", "session_token",
        "version_stage", "timeout",
    },
    "env": {"prefix"},
    "file": {"path", "key_source", "key_file", "key_service", "key_entry", "key_env", "allow_env_key"},
    "keyring": {"service", "backend", "allow_plaintext"},
    "vault": {
        "url", "auth", "token", "role_id", "secret_id", "approle_mount", "namespace", "mount", "kv_version",
        "verify", "ca_cert", "client_cert", "client_key", "timeout",
    },
}  # fmt: skip


def settings(type_name: str, **options: object) -> ProviderSettings:
    return ProviderSettings("db", type_name, options)


CONTEXT = ProviderContext(Path("/project"), {})


class Store(SecretProvider):
    type: ClassVar[str] = "store"


# --- secret providers in the plug-in registry ---------------------------------------------------------


def test_the_built_in_secret_providers_are_registered_in_the_plugin_registry() -> None:
    default_registry()
    assert REGISTRY.types("secret_provider") == ["aws", "env", "file", "keyring", "vault"]


def test_the_secrets_registry_is_a_view_of_the_plugin_registry() -> None:
    plugins = Registry()
    ProviderRegistry(plugins).register(Store)
    assert plugins.get("secret_provider", "store") is Store


@pytest.mark.parametrize("type_name", sorted(PROVIDER_SETTINGS))
def test_each_secret_provider_declares_its_settings_as_json_schema(type_name: str) -> None:
    provider = default_registry().get(type_name)
    Draft202012Validator.check_schema({"type": "object", "properties": provider.options_schema})
    assert set(provider.options_schema) == PROVIDER_SETTINGS[type_name]
    assert all(schema.get("description") for schema in provider.options_schema.values())


@pytest.mark.parametrize("type_name", sorted(PROVIDER_SETTINGS))
def test_every_secret_provider_takes_a_cache_ttl(type_name: str) -> None:
    provider = default_registry().get(type_name)(settings(type_name, cache_ttl=5), CONTEXT)
    assert provider.settings.cache_ttl == 5.0


def test_an_unknown_setting_is_refused_with_the_closest_declared_one() -> None:
    with pytest.raises(SecretSettingsError) as raised:
        default_registry().create(settings("keyring", servise="etl"), CONTEXT)
    assert str(raised.value) == (
        "unknown setting 'servise' in etl-project.yaml secrets.db\n  hint: did you mean 'service'?"
    )


def test_an_unknown_provider_type_says_which_types_exist() -> None:
    with pytest.raises(SecretSettingsError) as raised:
        default_registry().create(settings("vualt"), CONTEXT)
    assert str(raised.value) == "unknown secret provider type 'vualt'\n  hint: did you mean 'vault'?"


def test_a_provider_type_registered_twice_is_refused() -> None:
    providers = ProviderRegistry(Registry())
    providers.register(Store)

    class Other(SecretProvider):
        type: ClassVar[str] = "store"

    with pytest.raises(ConfigError) as raised:
        providers.register(Other)
    assert "secret provider type 'store' registered twice" in str(raised.value)


# --- typed look-up -----------------------------------------------------------------------------------


def test_get_as_returns_the_class_registered_for_the_kind_of_its_base() -> None:
    assert REGISTRY.get_as(Sink, "csv") is REGISTRY.get("sink", "csv")
    assert REGISTRY.get_as(Source, "csv") is REGISTRY.get("source", "csv")


def test_get_as_refuses_a_plugin_that_does_not_subclass_the_base_of_its_kind() -> None:
    class Loose(Plugin):
        kind = "sink"
        type = "loose"

    plugins = Registry()
    plugins.register(Loose)
    with pytest.raises(ConfigError) as raised:
        plugins.get_as(Sink, "loose")
    assert "does not subclass etl_cli.plugins.api.Sink" in str(raised.value)


# --- declared attributes --------------------------------------------------------------------------------


def test_a_plugin_names_no_endpoint_of_its_own_by_default() -> None:
    stage = StageSpec("s", "source", "csv", (), {"path": "in.csv"})
    assert REGISTRY.get("source", "csv").endpoint(stage) is None


def test_a_pending_write_has_no_details_by_default() -> None:
    assert dict(PendingWrite().details) == {}
