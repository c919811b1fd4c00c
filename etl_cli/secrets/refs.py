"""``provider:path#key``: the address of one secret, as written inside ``${secret:...}``.

The provider is a name from the project's ``secrets:`` settings (or a built-in
provider type such as ``env``); the path is what that provider looks up (a Vault
path, an AWS secret id or ARN, a keyring or file-store entry, a variable name); the
optional key picks one field of a structured secret (a KV mapping, a JSON string).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from etl_cli.errors import ConfigError, Location

_PROVIDER = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_EXAMPLE = "${secret:vault:apps/warehouse#password}"


class SecretRefError(ConfigError):
    """A secret reference is malformed (exit 1)."""


@dataclass(frozen=True, order=True)
class SecretRef:
    """One secret's address: which provider, which path, which key of it (optional)."""

    provider: str
    path: str
    key: str | None = None

    @property
    def name(self) -> str:
        """The entry name in local stores (keyring, file): ``path`` or ``path#key``."""
        return self.path if self.key is None else f"{self.path}#{self.key}"

    def __str__(self) -> str:
        return f"{self.provider}:{self.name}"

    @property
    def reference(self) -> str:
        """How the reference is written in YAML: ``${secret:provider:path#key}``."""
        return f"${{secret:{self}}}"


def parse_ref(text: str, location: Location | None = None) -> SecretRef:
    """Parse ``provider:path#key`` (``${secret:`` and ``}`` around it are accepted and dropped).

    The path may itself contain colons (AWS ARNs do); the key is whatever follows the
    last ``#``.
    """
    body = text.strip()
    if body.startswith("${") and body.endswith("}"):
        body = body[2:-1].strip()
    if body.startswith("secret:"):
        body = body[len("secret:") :]
    provider, sep, rest = body.partition(":")
    provider = provider.strip()
    if not sep or not provider:
        raise _bad(text, "it has no provider", location)
    if not _PROVIDER.fullmatch(provider):
        raise _bad(text, f"'{provider}' is not a provider name (letters, digits, '_' and '-')", location)
    path, hash_sign, key = rest.rpartition("#") if "#" in rest else (rest, "", "")
    path, key = path.strip(), key.strip()
    if not path:
        raise _bad(text, "the path is empty", location)
    if hash_sign and not key:
        raise _bad(text, "the key after '#' is empty", location)
    return SecretRef(provider, path, key or None)


def _bad(text: str, why: str, location: Location | None) -> SecretRefError:
    return SecretRefError(
        f"malformed secret reference '{text}': {why}",
        location=location,
        hint=f"write provider:path#key, for example {_EXAMPLE}",
    )
