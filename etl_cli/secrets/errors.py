"""Errors of secret resolution. None of them ever carries a secret value.

Each names the provider, the path and the key that failed and lists what was tried,
so a failed run says where to look next without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from etl_cli.errors import ConfigError, EnvironmentSetupError, RunError
from etl_cli.secrets.refs import SecretRef


class SecretError(RunError):
    """A secret could not be read (exit 4): the base of the more precise errors below."""

    reason = "could not be read"

    def __init__(self, ref: SecretRef, detail: str, *, tried: Sequence[str] = (), hint: str | None = None) -> None:
        lines = [f"secret {ref} {self.reason}: {detail}"]
        lines += [f"  tried: {step}" for step in tried]
        super().__init__("\n".join(lines), hint=hint)
        self.ref = ref
        self.detail = detail
        self.tried = tuple(tried)


class SecretNotFound(SecretError):
    """The provider answered, but has no such path or key."""

    reason = "was not found"


class SecretAuthError(SecretError):
    """The provider refused our credentials (a bad or expired token, wrong keys, no permission)."""

    reason = "was refused"


class SecretUnavailable(SecretError):
    """The provider could not be reached or failed (network, TLS, timeout, server error)."""

    reason = "is unavailable"


class SecretSettingsError(ConfigError):
    """The ``secrets:`` settings in ``etl-project.yaml`` are wrong (exit 1)."""


class ProviderNotInstalled(EnvironmentSetupError):
    """A provider's client library is not installed (exit 4); the hint names the pip extra."""
