"""Provider settings from ``etl-project.yaml``: a top-level ``secrets:`` and per-environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.project import load_project
from etl_cli.errors import ConfigError
from etl_cli.secrets.errors import SecretSettingsError
from etl_cli.secrets.settings import ProviderContext, ProviderSettings, provider_settings
from tests.unit.helpers import make_project

PROJECT = """
    default_env: dev
    secrets:
      db: {type: keyring, service: etl-dev}
      vault: {url: "http://127.0.0.1:8200", mount: secret, kv_version: 2}
    environments:
      dev: {}
      prod:
        protected: true
        secrets:
          db: {type: vault, url: "https://vault.prod:8200", mount: kv}
          vault: {url: "https://vault.prod:8200"}
"""


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return make_project(tmp_path, project=PROJECT)


def test_the_top_level_settings_apply_without_an_override(project_dir: Path) -> None:
    settings = provider_settings(load_project(project_dir), "dev")
    assert settings["db"] == ProviderSettings("db", "keyring", {"service": "etl-dev"})
    assert settings["vault"].options["url"] == "http://127.0.0.1:8200"


def test_an_environment_overrides_a_provider_key_by_key(project_dir: Path) -> None:
    vault = provider_settings(load_project(project_dir), "prod")["vault"]
    assert vault.options == {"url": "https://vault.prod:8200", "mount": "secret", "kv_version": 2}


def test_an_environment_naming_another_type_replaces_the_provider(project_dir: Path) -> None:
    db = provider_settings(load_project(project_dir), "prod")["db"]
    assert db == ProviderSettings("db", "vault", {"url": "https://vault.prod:8200", "mount": "kv"})


def test_secrets_must_map_names_to_mappings(tmp_path: Path) -> None:
    make_project(tmp_path, project="secrets:\n  vault: http://x\n")
    with pytest.raises(ConfigError, match=r"'secrets\.vault' must be a mapping"):
        load_project(tmp_path)


def test_env_references_in_settings_are_resolved_when_used() -> None:
    settings = ProviderSettings("vault", "vault", {"token": "${env:VAULT_TOKEN}", "url": "${env:ADDR:-http://x}"})
    context = ProviderContext(Path("/p"), {"VAULT_TOKEN": "t-123"})
    assert context.resolve(settings, "token") == "t-123"
    assert context.resolve(settings, "url") == "http://x"


def test_an_unset_env_reference_in_settings_names_the_setting_and_variable() -> None:
    settings = ProviderSettings("vault", "vault", {"token": "${env:VAULT_TOKEN}"})
    with pytest.raises(SecretSettingsError) as raised:
        ProviderContext(Path("/p"), {}).resolve(settings, "token")
    assert "etl-project.yaml secrets.vault.token reads environment variable VAULT_TOKEN" in str(raised.value)


def test_relative_paths_are_taken_from_the_project_root() -> None:
    settings = ProviderSettings("file", "file", {"path": "state/s.enc", "key_file": "~/k"})
    context = ProviderContext(Path("/project"), {})
    assert context.path(settings, "path") == Path("/project/state/s.enc")
    assert context.path(settings, "key_file") == Path("~/k").expanduser()
