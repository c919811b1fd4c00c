"""The keys of one project and environment: data keys for a run, and the operations of ``etl-cli keys``.

:class:`KeyManager` is the run's :class:`etl_cli.plugins.api.KeyStore`: ``encrypt`` and ``decrypt``
ask it for the data keys of a key name, which it reads from the key ring and unwraps with the
key-encryption key (etl_cli/secrets/keys/kek.py). The first use of a key name creates its ring
with data key version 1 (except in ``dry-run``, which writes nothing: it encrypts its samples with
a data key it throws away). Every unwrapped key is registered with the run's redactor (its bytes
as hex and base64), so a message that would show one is masked; and the run results name the keys
used, their provider and versions, never their material.
"""

from __future__ import annotations

import base64
import secrets as random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from etl_cli.config.keys import KeySettings
from etl_cli.config.project import PROJECT_FILE, Project
from etl_cli.diagnostics import did_you_mean
from etl_cli.plugins.api import DataKeys
from etl_cli.secrets.keys.kek import Kek, KeyServiceError, KeySettingsError, LocalKek, kek_for
from etl_cli.secrets.keys.ring import KeyRing, WrappedKey, now, read_ring, write_ring
from etl_cli.secrets.redaction import Redactor
from etl_cli.secrets.resolver import SecretResolver

#: bytes of a data key: AES-256
DEK_BYTES = 32


class KeyManager:
    """Reads, creates and rotates the data keys of the project's ``keys:`` for one environment."""

    def __init__(self, project: Project, resolver: SecretResolver, *, may_create: bool = True) -> None:
        self.project = project
        self.resolver = resolver
        self.may_create = may_create
        self._keks: dict[str, Kek] = {}
        self._loaded: dict[str, DataKeys] = {}
        self._used: dict[str, dict[str, Any]] = {}

    @property
    def redactor(self) -> Redactor:
        return self.resolver.redactor

    # -- settings

    def settings(self, name: str) -> KeySettings:
        if name not in self.project.keys:
            known = self.project.keys
            hint = did_you_mean(name, known) or (
                f"keys in {PROJECT_FILE}: {', '.join(known)}" if known else f"declare it under keys: in {PROJECT_FILE}"
            )
            raise KeySettingsError(f"unknown key '{name}'", hint=hint)
        return self.project.keys[name]

    def ring_path(self, name: str) -> Path:
        return self.settings(name).keyring_path(self.project.root)

    def kek(self, name: str) -> Kek:
        if name not in self._keks:
            settings = self.settings(name)
            provider = self.resolver.provider(settings.secrets) if settings.secrets else None
            kek = kek_for(settings, self.project.root, provider)
            if isinstance(kek, LocalKek) and kek.exists():
                for material in kek.material():
                    self._register(material)
            self._keks[name] = kek
        return self._keks[name]

    # -- a run's data keys (the KeyStore protocol)

    def data_keys(self, name: str) -> DataKeys:
        """Every data-key version of ``name``, unwrapped; the ring is created on first use (not in dry-run)."""
        if name in self._loaded:
            return self._loaded[name]
        settings = self.settings(name)
        with self.redactor.guard():
            ring = read_ring(self.ring_path(name))
            if ring is None and not self.may_create:
                dek = random.token_bytes(DEK_BYTES)  # dry-run: a throwaway key, nothing written
                self._register(dek)
                keys = DataKeys(name, settings.provider, 1, {1: dek})
                self._loaded[name] = keys
                self._used[name] = {"name": name, "provider": settings.provider, "key_version": 1, "created": False}
                return keys
            created = ring is None
            ring = ring or self._first_ring(name)
            kek = self.kek(name)
            unwrapped = {v.version: self._unwrap(kek, v) for v in ring.versions}
        keys = DataKeys(name, settings.provider, ring.current, unwrapped)
        self._loaded[name] = keys
        current = ring.version(ring.current)
        self._used[name] = {
            "name": name,
            "provider": settings.provider,
            "key_version": ring.current,
            "kek_version": current.kek_version if current else None,
            "created": created,
        }
        return keys

    def report(self) -> list[dict[str, Any]] | None:
        """What the run results say of the keys used: name, provider, data-key version (never material)."""
        return [dict(entry) for entry in self._used.values()] or None

    def _unwrap(self, kek: Kek, version: WrappedKey) -> bytes:
        dek = kek.unwrap(version.wrapped, version.version)
        if len(dek) != DEK_BYTES:
            raise KeyServiceError(f"key '{kek.settings.name}': data key v{version.version} is not {DEK_BYTES} bytes")
        self._register(dek)
        return dek

    def _register(self, material: bytes) -> None:
        for text in (material.hex(), material.hex().upper(), base64.b64encode(material).decode()):
            self.redactor.register(text)

    def _first_ring(self, name: str) -> KeyRing:
        """A ring with one new data key, written unless another run wrote one first (then that one)."""
        settings = self.settings(name)
        kek = self.kek(name)
        dek = random.token_bytes(DEK_BYTES)
        self._register(dek)
        wrapped = kek.wrap(dek, 1)
        ring = KeyRing(name, settings.provider, 1, (WrappedKey(1, wrapped, kek.version_of(wrapped), now()),))
        path = self.ring_path(name)
        if write_ring(path, ring, exclusive=True):
            return ring
        existing = read_ring(path)
        if existing is None:
            raise KeyServiceError(f"key ring {path} vanished while it was being created")
        return existing

    # -- etl-cli keys

    def create(self, name: str) -> dict[str, Any]:
        """``keys create``: the local key file (local keys) and the ring with data key v1, where missing."""
        settings = self.settings(name)
        kek = self.kek(name)
        made = []
        if isinstance(kek, LocalKek) and not kek.exists():
            kek.create()
            for material in kek.material():
                self._register(material)
            made.append(f"key file {kek.file}")
        with self.redactor.guard():
            if read_ring(self.ring_path(name)) is None:
                self._first_ring(name)
                made.append(f"key ring {self.ring_path(name)}")
        return {"name": name, "provider": settings.provider, "created": made}

    def rotate(self, name: str, *, kek: bool = True, dek: bool = True) -> dict[str, Any]:
        """``keys rotate``: a new KEK version with every data key re-wrapped by it, and/or a new data key version.

        Old data keys stay in the ring, so what they encrypted stays readable; re-encrypting it
        with the new version is a run (``encrypt`` with ``reencrypt: true``).
        """
        settings = self.settings(name)
        service = self.kek(name)
        with self.redactor.guard():
            ring = read_ring(self.ring_path(name))
            if ring is None:
                raise KeySettingsError(
                    f"key '{name}' has no key ring at {self.ring_path(name)} yet",
                    hint=f"etl-cli keys create {name}, or run a pipeline that encrypts with it",
                )
            summary: dict[str, Any] = {"name": name, "provider": settings.provider}
            versions = list(ring.versions)
            if kek:
                summary["kek_version"] = service.rotate()
                versions = [self._rewrapped(service, v) for v in versions]
                summary["rewrapped"] = [v.version for v in versions]
            current = ring.current
            if dek:
                current = max(v.version for v in versions) + 1
                fresh = random.token_bytes(DEK_BYTES)
                self._register(fresh)
                wrapped = service.wrap(fresh, current)
                versions.append(WrappedKey(current, wrapped, service.version_of(wrapped), now()))
            summary["key_version"] = current
            write_ring(self.ring_path(name), KeyRing(ring.key, ring.provider, current, tuple(versions)))
        self._loaded.pop(name, None)
        return summary

    def _rewrapped(self, service: Kek, version: WrappedKey) -> WrappedKey:
        wrapped = service.rewrap(version.wrapped, version.version)
        return WrappedKey(version.version, wrapped, service.version_of(wrapped), version.created)

    def listing(self) -> list[dict[str, Any]]:
        """``keys list``: each key of ``keys:``, where its KEK lives and its ring's versions (offline)."""
        found = []
        for name, settings in self.project.keys.items():
            entry: dict[str, Any] = {
                "name": name,
                "provider": settings.provider,
                "kek": settings.describe(),
                "keyring": str(self.ring_path(name)),
            }
            try:
                ring = read_ring(self.ring_path(name))
            except Exception as exc:  # a broken ring is listed, not fatal to the listing
                entry["error"] = str(exc)
                found.append(entry)
                continue
            entry["key_version"] = ring.current if ring else None
            entry["versions"] = (
                [{"version": v.version, "kek_version": v.kek_version, "created": v.created} for v in ring.versions]
                if ring
                else []
            )
            found.append(entry)
        return found

    def close(self) -> None:
        for kek in self._keks.values():
            kek.close()


def key_manager(
    project: Project,
    env: str | None,
    *,
    resolver: SecretResolver | None = None,
    may_create: bool = True,
    environ: Mapping[str, str] | None = None,
) -> KeyManager:
    """The keys of ``project`` in ``env``, reaching key services with the secret providers of that environment."""
    resolver = resolver or SecretResolver.for_project(project, env, environ=environ)
    return KeyManager(project, resolver, may_create=may_create)
