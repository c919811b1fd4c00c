"""The key ring file of one key name: its data keys (DEKs), each version wrapped by the key-encryption key.

```json
{"format": "etl-cli-keyring/1", "key": "customer", "provider": "vault_transit", "current": 2,
 "versions": [{"version": 1, "wrapped": "vault:v1:...", "kek_version": "v1", "created": "..."},
              {"version": 2, "wrapped": "vault:v2:...", "kek_version": "v2", "created": "..."}]}
```

A wrapped key is useless without its KEK (held by Vault, KMS or the local key file), so the ring
may be committed with the project or kept on shared storage: any machine that can reach the KEK
decrypts what any other encrypted. Writes go to a temporary file renamed over the ring; the first
version is created exclusively, so two runs starting at once agree on one data key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl_cli.errors import ConfigError

FORMAT = "etl-cli-keyring/1"


class KeyRingError(ConfigError):
    """A key ring file cannot be read as one (exit 1)."""


@dataclass(frozen=True)
class WrappedKey:
    """One data-key version as the ring keeps it: wrapped, with the KEK version that wrapped it."""

    version: int
    wrapped: str
    kek_version: str
    created: str

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "wrapped": self.wrapped,
            "kek_version": self.kek_version,
            "created": self.created,
        }


@dataclass(frozen=True)
class KeyRing:
    key: str
    provider: str
    current: int
    versions: tuple[WrappedKey, ...] = field(default=())

    def version(self, number: int) -> WrappedKey | None:
        return next((v for v in self.versions if v.version == number), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "key": self.key,
            "provider": self.provider,
            "current": self.current,
            "versions": [v.to_json() for v in self.versions],
        }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_ring(path: Path) -> KeyRing | None:
    """The ring at ``path``, or None when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(data.get("format"))
        versions = tuple(
            WrappedKey(int(v["version"]), str(v["wrapped"]), str(v.get("kek_version", "?")), str(v.get("created", "")))
            for v in data["versions"]
        )
        ring = KeyRing(str(data["key"]), str(data["provider"]), int(data["current"]), versions)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyRingError(f"{path} is not a key ring etl-cli wrote ({FORMAT})") from None
    if ring.version(ring.current) is None:
        raise KeyRingError(f"{path}: the current version v{ring.current} is not in the ring")
    return ring


def write_ring(path: Path, ring: KeyRing, *, exclusive: bool = False) -> bool:
    """Write ``ring`` atomically; with ``exclusive``, only when no ring is there yet (False: one was)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(ring.to_json(), indent=2) + "\n", encoding="utf-8")
    try:
        if not exclusive:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)  # fails when another run created the ring first
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)
