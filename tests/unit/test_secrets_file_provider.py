"""The ``file`` provider: an AES-GCM encrypted store whose key sits in a 0600 key file or the keyring."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from etl_cli.secrets.errors import SecretNotFound, SecretSettingsError
from etl_cli.secrets.providers.file import FileProvider, StoreKeyError, new_key
from etl_cli.secrets.refs import parse_ref
from etl_cli.secrets.settings import ProviderContext, ProviderSettings

VALUE = "file-store-secret-9f2c"


def provider(root: Path, environ: dict[str, str] | None = None, **options: object) -> FileProvider:
    settings = ProviderSettings("file", "file", {"key_file": str(root / "keys" / "key"), **options})
    return FileProvider(settings, ProviderContext(root, environ or {}))


def test_a_stored_value_reads_back(tmp_path: Path) -> None:
    store = provider(tmp_path)
    store.store(parse_ref("file:warehouse#password"), VALUE)
    assert provider(tmp_path).fetch(parse_ref("file:warehouse#password")) == VALUE


def test_the_store_file_holds_no_plaintext(tmp_path: Path) -> None:
    provider(tmp_path).store(parse_ref("file:warehouse#password"), VALUE)
    text = (tmp_path / ".etl" / "secrets.enc").read_text()
    assert VALUE not in text
    assert "warehouse" not in text  # entry names are encrypted too
    assert json.loads(text)["cipher"] == "AES-256-GCM"


def test_the_first_store_creates_a_private_key_file_and_store(tmp_path: Path) -> None:
    provider(tmp_path).store(parse_ref("file:a"), VALUE)
    assert (tmp_path / "keys" / "key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / ".etl" / "secrets.enc").stat().st_mode & 0o777 == 0o600


def test_names_lists_entries_without_values(tmp_path: Path) -> None:
    store = provider(tmp_path)
    store.store(parse_ref("file:b#password"), VALUE)
    store.store(parse_ref("file:a"), "another-value")
    assert store.names() == ["a", "b#password"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    provider(tmp_path).store(parse_ref("file:a"), VALUE)
    key_file = tmp_path / "keys" / "key"
    key_file.chmod(mode)
    with pytest.raises(StoreKeyError) as raised:
        provider(tmp_path).fetch(parse_ref("file:a"))
    assert f"mode {mode:04o}" in str(raised.value)
    assert f"chmod 600 {key_file}" in str(raised.value)


def test_a_missing_entry_says_how_to_store_it(tmp_path: Path) -> None:
    provider(tmp_path).store(parse_ref("file:a"), VALUE)
    with pytest.raises(SecretNotFound) as raised:
        provider(tmp_path).fetch(parse_ref("file:b#password"))
    assert "etl-cli secrets set file:b#password" in str(raised.value)


def test_a_wrong_key_does_not_decrypt(tmp_path: Path) -> None:
    provider(tmp_path).store(parse_ref("file:a"), VALUE)
    (tmp_path / "keys" / "key").write_text(new_key())
    with pytest.raises(StoreKeyError, match="does not decrypt"):
        provider(tmp_path).fetch(parse_ref("file:a"))


def test_a_modified_store_does_not_decrypt(tmp_path: Path) -> None:
    provider(tmp_path).store(parse_ref("file:a"), VALUE)
    path = tmp_path / ".etl" / "secrets.enc"
    envelope = json.loads(path.read_text())
    envelope["ciphertext"] = envelope["ciphertext"][:-8] + "AAAAAAA="
    path.write_text(json.dumps(envelope))
    with pytest.raises(StoreKeyError, match="does not decrypt"):
        provider(tmp_path).fetch(parse_ref("file:a"))


def test_a_key_in_an_environment_variable_is_refused_by_default(tmp_path: Path) -> None:
    store = provider(tmp_path, {"ETL_KEY": new_key()}, key_source="env", key_env="ETL_KEY")
    with pytest.raises(SecretSettingsError, match="refused by default"):
        store.fetch(parse_ref("file:a"))


def test_a_key_in_an_environment_variable_works_when_explicitly_allowed(tmp_path: Path) -> None:
    environ = {"ETL_KEY": new_key()}
    options = {"key_source": "env", "key_env": "ETL_KEY", "allow_env_key": True}
    provider(tmp_path, environ, **options).store(parse_ref("file:a"), VALUE)
    assert provider(tmp_path, environ, **options).fetch(parse_ref("file:a")) == VALUE


def test_the_key_can_live_in_the_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    environ = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    provider(tmp_path, environ, key_source="keyring").store(parse_ref("file:a"), VALUE)
    assert not (tmp_path / "keys" / "key").exists()
    assert provider(tmp_path, environ, key_source="keyring").fetch(parse_ref("file:a")) == VALUE


def test_unknown_settings_are_refused_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(SecretSettingsError) as raised:
        provider(tmp_path, key_fille="x")
    assert "did you mean 'key_file'" in str(raised.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    provider(tmp_path).store(parse_ref("file:a"), VALUE)
    os.chown(tmp_path / "keys" / "key", 65534, 65534)
    with pytest.raises(StoreKeyError, match="belongs to another user"):
        provider(tmp_path).fetch(parse_ref("file:a"))
