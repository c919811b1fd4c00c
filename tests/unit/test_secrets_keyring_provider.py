"""The ``keyring`` provider, against the keyrings.alt plaintext file backend (chosen by PYTHON_KEYRING_BACKEND)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from etl_cli.secrets.errors import SecretNotFound
from etl_cli.secrets.providers.keyring import KeyringProvider
from etl_cli.secrets.refs import parse_ref
from etl_cli.secrets.settings import ProviderContext, ProviderSettings

BACKEND = "keyrings.alt.file.PlaintextKeyring"


@pytest.fixture
def keyring_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file backend keeps its data under $XDG_DATA_HOME/python_keyring."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", BACKEND)
    return tmp_path / "python_keyring"


def provider(**options: object) -> KeyringProvider:
    return KeyringProvider(
        ProviderSettings("keyring", "keyring", options), ProviderContext(Path("/p"), dict(os.environ))
    )


def test_a_stored_value_reads_back(keyring_dir: Path) -> None:
    provider().store(parse_ref("keyring:warehouse#password"), "kr-secret-1")
    assert provider().fetch(parse_ref("keyring:warehouse#password")) == "kr-secret-1"
    assert (keyring_dir / "keyring_pass.cfg").is_file()


def test_entries_live_under_the_configured_service(keyring_dir: Path) -> None:
    provider(service="team-a").store(parse_ref("keyring:db"), "kr-secret-2")
    with pytest.raises(SecretNotFound):
        provider(service="team-b").fetch(parse_ref("keyring:db"))
    assert provider(service="team-a").fetch(parse_ref("keyring:db")) == "kr-secret-2"


def test_names_lists_what_was_stored(keyring_dir: Path) -> None:
    provider().store(parse_ref("keyring:b#password"), "v1")
    provider().store(parse_ref("keyring:a"), "v2")
    provider().store(parse_ref("keyring:a"), "v3")
    assert provider().names() == ["a", "b#password"]


def test_a_missing_entry_names_the_service_and_the_command_to_store_it(keyring_dir: Path) -> None:
    with pytest.raises(SecretNotFound) as raised:
        provider().fetch(parse_ref("keyring:warehouse#password"))
    text = str(raised.value)
    assert "keyring service 'etl-cli' has no entry 'warehouse#password'" in text
    assert BACKEND in text
    assert "etl-cli secrets set keyring:warehouse#password" in text


def test_the_backend_can_be_chosen_in_the_settings(keyring_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    provider(backend=BACKEND).store(parse_ref("keyring:x"), "kr-secret-3")
    assert provider(backend=BACKEND).fetch(parse_ref("keyring:x")) == "kr-secret-3"
