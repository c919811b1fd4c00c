"""The resolver: per-run cache with TTL, re-reading once after an auth failure, redaction of every value."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from etl_cli.secrets.errors import SecretAuthError, SecretSettingsError
from etl_cli.secrets.redaction import MASK, Redactor
from etl_cli.secrets.refs import SecretRef
from etl_cli.secrets.registry import ProviderRegistry, SecretProvider
from etl_cli.secrets.resolver import SecretResolver
from etl_cli.secrets.settings import ProviderContext, ProviderSettings


class CountingStore(SecretProvider):
    """Serves ``values[path]``; refuses the first ``refusals`` reads as an expired login would."""

    type: ClassVar[str] = "counting"
    values: ClassVar[dict[str, str]] = {}
    refusals = 0
    reads = 0
    reconnects = 0

    def fetch(self, ref: SecretRef) -> str:
        type(self).reads += 1
        if type(self).refusals > 0:
            type(self).refusals -= 1
            raise SecretAuthError(ref, "token expired", tried=["counting store"])
        return self.values[ref.path]

    def reconnect(self) -> None:
        type(self).reconnects += 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    CountingStore.values = {"db": "first-password", "other": "other-value"}
    CountingStore.refusals = CountingStore.reads = CountingStore.reconnects = 0


def resolver(clock: Clock | None = None, ttl: float = 60) -> SecretResolver:
    registry = ProviderRegistry()
    registry.register(CountingStore)
    settings = {"store": ProviderSettings("store", "counting", {"cache_ttl": ttl})}
    return SecretResolver(settings, ProviderContext(Path("/p"), {}), Redactor(), None, registry, clock or Clock())


def test_a_value_is_read_once_while_the_cache_is_fresh() -> None:
    clock = Clock()
    r = resolver(clock, ttl=60)
    assert r.resolve("store:db") == "first-password"
    clock.now += 59
    assert r.resolve("store:db") == "first-password"
    assert CountingStore.reads == 1


def test_a_value_is_read_again_when_its_ttl_has_passed() -> None:
    clock = Clock()
    r = resolver(clock, ttl=60)
    r.resolve("store:db")
    CountingStore.values["db"] = "rotated-password"
    clock.now += 61
    assert r.resolve("store:db") == "rotated-password"
    assert CountingStore.reads == 2


def test_a_zero_ttl_disables_the_cache() -> None:
    r = resolver(ttl=0)
    r.resolve("store:db")
    r.resolve("store:db")
    assert CountingStore.reads == 2


def test_a_provider_refusal_is_retried_once_after_a_fresh_login() -> None:
    CountingStore.refusals = 1
    assert resolver().resolve("store:db") == "first-password"
    assert (CountingStore.reads, CountingStore.reconnects) == (2, 1)


def test_a_second_refusal_is_reported() -> None:
    CountingStore.refusals = 2
    with pytest.raises(SecretAuthError, match="token expired"):
        resolver().resolve("store:db")
    assert (CountingStore.reads, CountingStore.reconnects) == (2, 1)


def test_refresh_ignores_the_cache_and_logs_in_again() -> None:
    r = resolver()
    r.resolve("store:db")
    CountingStore.values["db"] = "rotated-password"
    assert r.resolve("store:db") == "first-password"
    assert r.refresh("store:db") == "rotated-password"
    assert r.resolve("store:db") == "rotated-password"
    assert CountingStore.reconnects == 1


def test_with_rotation_retries_once_with_the_re_read_secret() -> None:
    r = resolver()
    r.resolve("store:db")  # cached before the rotation happened
    CountingStore.values["db"] = "rotated-password"
    attempts: list[str] = []

    def connect(resolve):  # type: ignore[no-untyped-def]
        password = resolve("${secret:store:db}")
        attempts.append(password)
        if password != "rotated-password":
            raise PermissionError("FATAL: password authentication failed")
        return "connected"

    assert r.with_rotation(connect, lambda exc: isinstance(exc, PermissionError)) == "connected"
    assert attempts == ["first-password", "rotated-password"]


def test_with_rotation_does_not_retry_when_the_secret_has_not_changed() -> None:
    r = resolver()
    calls = 0

    def connect(resolve):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        resolve("${secret:store:db}")
        raise PermissionError("password authentication failed for first-password")

    with pytest.raises(PermissionError) as raised:
        r.with_rotation(connect, lambda exc: isinstance(exc, PermissionError))
    assert calls == 1
    assert "first-password" not in str(raised.value)


def test_with_rotation_does_not_retry_other_failures() -> None:
    r = resolver()

    def connect(resolve):  # type: ignore[no-untyped-def]
        resolve("${secret:store:db}")
        raise TimeoutError("host unreachable")

    with pytest.raises(TimeoutError):
        r.with_rotation(connect, lambda exc: isinstance(exc, PermissionError))
    assert CountingStore.reads == 1


def test_every_resolved_value_is_registered_with_the_redactor() -> None:
    r = resolver()
    r.resolve("store:db")
    assert r.redactor.mask("pw=first-password") == f"pw={MASK}"


def test_resolve_value_fills_references_inside_option_values_and_unescapes() -> None:
    options = {"url": "jdbc:x", "password": "${secret:store:db}", "note": "$${literal}", "n": 3}
    assert resolver().resolve_value(options) == {
        "url": "jdbc:x", "password": "first-password", "note": "${literal}", "n": 3,
    }  # fmt: skip


def test_a_bare_type_name_works_without_settings() -> None:
    r = SecretResolver({}, ProviderContext(Path("/p"), {"PG": "env-pass"}), Redactor())
    assert r.resolve("env:PG") == "env-pass"


def test_an_unknown_provider_suggests_the_closest_name() -> None:
    with pytest.raises(SecretSettingsError) as raised:
        resolver().resolve("stor:db")
    assert "unknown secret provider 'stor'" in str(raised.value)
    assert "did you mean 'store'" in str(raised.value)
