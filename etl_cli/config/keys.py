"""``keys:`` in ``etl-project.yaml``: the encryption keys the ``encrypt`` and ``decrypt`` transforms name.

```yaml
keys:
  customer:                       # the name a pipeline writes: encrypt: {columns: [email], key: customer}
    provider: vault_transit       # Vault/OpenBao transit engine
    key: etl-customer             # the transit key (the key-encryption key, KEK)
    mount: transit                # where the transit engine is mounted (default transit)
    secrets: vault                # the secrets: entry whose url/token/TLS settings reach Vault (default vault)
  orders:
    provider: aws_kms
    key_id: alias/etl-orders      # a KMS key id, ARN or alias
    secrets: aws                  # the secrets: entry with region/endpoint/credentials (default aws)
  dev:
    provider: local
    path: .etl/keys/dev.key       # a key file for development (etl-cli keys create dev)
    keyring: keys/dev.keyring.json  # where the wrapped data keys are kept (this is the default)
```

Envelope encryption (docs/data-security.md): the data keys (DEKs) that encrypt values are random,
kept only wrapped by the key-encryption key in the key ring file, which may be committed with the
project. Read by hand like the rest of the project file, each problem at its ``file:line:col``;
no setting is resolved here (``${env:...}`` stays as written until the key is used).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_cli.config.limits import NAME_RULE, is_name
from etl_cli.config.nodes import Node, to_plain
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import Location

#: provider → (its required setting, the secret provider type its ``secrets:`` entry must have, its default entry)
PROVIDERS: dict[str, tuple[str, str | None, str | None]] = {
    "vault_transit": ("key", "vault", "vault"),
    "aws_kms": ("key_id", "aws", "aws"),
    "local": ("path", None, None),
}
_COMMON = ("provider", "keyring")
_SETTINGS: dict[str, tuple[str, ...]] = {
    "vault_transit": (*_COMMON, "key", "mount", "secrets"),
    "aws_kms": (*_COMMON, "key_id", "secrets"),
    "local": (*_COMMON, "path"),
}
#: the folder of the key rings, under the project root, when ``keyring:`` is not set
KEYRING_DIR = "keys"
_EXAMPLE = "for example: keys: {customer: {provider: vault_transit, key: etl-customer}}"


@dataclass(frozen=True)
class KeySettings:
    """One entry of ``keys:``: where its key-encryption key lives and where its wrapped data keys are kept."""

    name: str
    provider: str
    #: ``vault_transit``: the transit key's name
    key: str | None = None
    #: ``vault_transit``: the mount of the transit engine
    mount: str = "transit"
    #: ``aws_kms``: the KMS key (id, ARN or ``alias/...``)
    key_id: str | None = None
    #: ``local``: the key file (relative to the project root)
    path: str | None = None
    #: the ``secrets:`` entry whose settings reach the key service (vault_transit, aws_kms)
    secrets: str | None = None
    #: the key ring file, as written (None: ``keys/<name>.keyring.json`` under the project root)
    keyring: str | None = None
    location: Location | None = None

    def keyring_path(self, root: Path) -> Path:
        """The key ring file: ``keyring:`` (relative to ``root``), else ``<root>/keys/<name>.keyring.json``."""
        written = Path(self.keyring).expanduser() if self.keyring else Path(KEYRING_DIR) / f"{self.name}.keyring.json"
        return written if written.is_absolute() else root / written

    def key_file(self, root: Path) -> Path | None:
        """``local``: the key file, relative paths taken from ``root``."""
        if self.path is None:
            return None
        written = Path(self.path).expanduser()
        return written if written.is_absolute() else root / written

    def describe(self) -> str:
        """Which key-encryption key this is (never key material)."""
        if self.provider == "vault_transit":
            return f"Vault transit key '{self.key}' (mount '{self.mount}', secrets entry '{self.secrets}')"
        if self.provider == "aws_kms":
            return f"AWS KMS key '{self.key_id}' (secrets entry '{self.secrets}')"
        return f"local key file {self.path}"


def read_keys(node: Node | None, problems: list[Diagnostic]) -> dict[str, KeySettings]:
    """The ``keys:`` block ({} when absent); every problem is appended to ``problems``."""
    if node is None or node.value is None:
        return {}
    if not node.is_mapping:
        problems.append(
            error("wrong-type", f"keys must map key names to their settings, got {_show(node)}", node.loc, _EXAMPLE)
        )
        return {}
    found = {}
    for name, entry in node.value.items():
        settings = _entry(name, entry, problems)
        if settings is not None:
            found[name] = settings
    return found


def _entry(name: str, entry: Node, problems: list[Diagnostic]) -> KeySettings | None:
    where = f"keys.{name}"
    if not is_name(name):
        problems.append(error("invalid-name", f"key name '{name}' is not a name: use {NAME_RULE}", entry.key_loc))
        return None
    if not entry.is_mapping:
        problems.append(
            error("wrong-type", f"{where} must be a mapping of settings, got {_show(entry)}", entry.loc, _EXAMPLE)
        )
        return None
    data: dict[str, Node] = dict(entry.value)
    provider_node = data.get("provider")
    provider = provider_node.value if provider_node is not None else None
    if not isinstance(provider, str) or provider not in PROVIDERS:  # a list or mapping is no key of PROVIDERS
        hint = (did_you_mean(str(provider), PROVIDERS) if isinstance(provider, str) else None) or (
            f"providers: {', '.join(PROVIDERS)}"
        )
        got = _show(provider_node) if provider_node else "nothing"
        message = f"{where}.provider must be one of {', '.join(PROVIDERS)}, got {got}"
        problems.append(error("invalid-key", message, provider_node.loc if provider_node else entry.loc, hint))
        return None
    known = _SETTINGS[provider]
    bad = False
    for key, value in data.items():
        if key not in known:
            hint = did_you_mean(key, known) or f"{provider} settings: {', '.join(known)}"
            problems.append(error("unknown-key", f"unknown key '{key}' in {where} ({provider})", value.key_loc, hint))
            bad = True
        elif not isinstance(value.value, str) or not value.value:
            problems.append(
                error("wrong-type", f"{where}.{key} must be a non-empty string, got {_show(value)}", value.loc)
            )
            bad = True
    required, _, default_secrets = PROVIDERS[provider]
    if required not in data:
        problems.append(
            error("missing-key", f"{where} ({provider}) needs '{required}'", entry.loc, _required_hint(provider))
        )
        bad = True
    if bad:
        return None
    text = {key: str(value.value) for key, value in data.items()}
    return KeySettings(
        name=name,
        provider=provider,
        key=text.get("key"),
        mount=text.get("mount", "transit").strip("/"),
        key_id=text.get("key_id"),
        path=text.get("path"),
        secrets=text.get("secrets", default_secrets),
        keyring=text.get("keyring"),
        location=entry.key_loc or entry.loc,
    )


def _required_hint(provider: str) -> str:
    return {
        "vault_transit": "key: the name of the transit key, e.g. key: etl-customer",
        "aws_kms": "key_id: a KMS key id, ARN or alias, e.g. key_id: alias/etl-customer",
        "local": "path: the key file, e.g. path: .etl/keys/dev.key (etl-cli keys create NAME writes it)",
    }[provider]


def _show(node: Node) -> str:
    value: Any = to_plain(node)[0]
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
