"""The ``keyring`` provider with real keyring backends, chosen as keyring users choose them (PYTHON_KEYRING_BACKEND).

keyrings.alt's plaintext file backend stands in for a keyring that works (opted into), and is the backend that
must be refused unless opted into; keyring's own null and fail backends for keyrings that keep nothing or fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from keyring.backends.chainer import ChainerBackend
from keyrings.alt.file import PlaintextKeyring

from etl_cli.secrets.errors import SecretNotFound, SecretSettingsError, SecretUnavailable
from etl_cli.secrets.providers.keyring import KeyringProvider
from etl_cli.secrets.refs import parse_ref
from etl_cli.secrets.settings import ProviderContext, ProviderSettings

BACKEND = "keyrings.alt.file.PlaintextKeyring"


ALLOW = "ETL_KEYRING_ALLOW_PLAINTEXT"


class TeamPlaintextKeyring(PlaintextKeyring):
    """A backend built on the plaintext one: it keeps values unencrypted too."""


@pytest.fixture
def plaintext_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plaintext backend chosen, not opted into; it keeps its data under $XDG_DATA_HOME/python_keyring."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", BACKEND)
    monkeypatch.delenv(ALLOW, raising=False)
    return tmp_path / "python_keyring"


@pytest.fixture
def keyring_dir(plaintext_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plaintext backend, opted into with the environment variable."""
    monkeypatch.setenv(ALLOW, "1")
    return plaintext_dir


def provider(**options: object) -> KeyringProvider:
    return KeyringProvider(
        ProviderSettings("keyring", "keyring", options), ProviderContext(Path("/p"), dict(os.environ))
    )


def use_backend(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    monkeypatch.delenv(ALLOW, raising=False)


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


def test_a_plaintext_backend_is_refused_without_opting_in(plaintext_dir: Path) -> None:
    with pytest.raises(SecretSettingsError) as raised:
        provider().store(parse_ref("keyring:warehouse#password"), "kr-secret-4")
    message = str(raised.value)
    assert f"refusing keyring backend {BACKEND}: it keeps values unencrypted in {plaintext_dir}" in message
    assert "allow_plaintext: true" in message and f"{ALLOW}=1" in message
    assert not plaintext_dir.exists()


def test_a_plaintext_backend_is_refused_for_reading_too(keyring_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider().store(parse_ref("keyring:db"), "kr-secret-5")
    monkeypatch.delenv(ALLOW)
    with pytest.raises(SecretSettingsError):
        provider().fetch(parse_ref("keyring:db"))


def test_the_provider_setting_opts_into_a_plaintext_backend(plaintext_dir: Path) -> None:
    provider(allow_plaintext=True).store(parse_ref("keyring:db"), "kr-secret-6")
    assert provider(allow_plaintext=True).fetch(parse_ref("keyring:db")) == "kr-secret-6"


def test_a_false_setting_does_not_opt_in(plaintext_dir: Path) -> None:
    with pytest.raises(SecretSettingsError, match="refusing keyring backend"):
        provider(allow_plaintext=False).store(parse_ref("keyring:db"), "kr-secret-7")


def test_a_backend_derived_from_the_plaintext_one_is_refused(plaintext_dir: Path) -> None:
    with pytest.raises(SecretSettingsError) as raised:
        provider(backend=f"{__name__}.TeamPlaintextKeyring").store(parse_ref("keyring:db"), "kr-secret-8")
    assert f"refusing keyring backend {__name__}.TeamPlaintextKeyring" in str(raised.value)


def test_a_chain_that_writes_to_a_plaintext_backend_is_refused(
    plaintext_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ChainerBackend, "backends", [PlaintextKeyring()])
    with pytest.raises(SecretSettingsError) as raised:
        provider(backend="keyring.backends.chainer.ChainerBackend").store(parse_ref("keyring:db"), "kr-secret-9")
    assert f"refusing keyring backend {BACKEND}" in str(raised.value)


def test_the_description_names_the_backend_and_says_it_is_unencrypted_when_allowed(keyring_dir: Path) -> None:
    shown = provider()
    shown.store(parse_ref("keyring:db"), "kr-secret-10")
    assert shown.describe() == (
        f"keyring service 'etl-cli' (provider 'keyring', backend {BACKEND}, unencrypted: allowed by {ALLOW})"
    )


def test_a_backend_that_keeps_nothing_is_reported_when_storing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_backend(monkeypatch, "keyring.backends.null.Keyring")
    with pytest.raises(SecretUnavailable) as raised:
        provider().store(parse_ref("keyring:db"), "kr-secret-11")
    assert "the keyring backend keyring.backends.null.Keyring did not keep the value" in str(raised.value)


def test_a_failing_backend_is_named_with_how_to_choose_another(monkeypatch: pytest.MonkeyPatch) -> None:
    use_backend(monkeypatch, "keyring.backends.fail.Keyring")
    with pytest.raises(SecretUnavailable) as raised:
        provider().store(parse_ref("keyring:db"), "kr-secret-12")
    assert "backend keyring.backends.fail.Keyring" in str(raised.value)
    assert "PYTHON_KEYRING_BACKEND" in str(raised.value)


def test_a_backend_that_cannot_be_loaded_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    use_backend(monkeypatch, "keyrings.nowhere.Keyring")
    with pytest.raises(SecretSettingsError) as raised:
        provider().fetch(parse_ref("keyring:db"))
    assert "keyring backend 'keyrings.nowhere.Keyring' could not be loaded" in str(raised.value)
