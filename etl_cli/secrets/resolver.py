"""Resolving ``${secret:...}`` references for one run: providers, cache, rotation, redaction, audit.

Every value read is registered with the run's :class:`Redactor` before it is returned,
and every access (from the provider or from the cache, successful or not) appends one
record to the audit log. Values are cached for the provider's ``cache_ttl``.

Rotation: a provider that refuses our credentials gets one fresh login and one more
read before the error is reported; and a connection that fails authentication with a
value from the cache can call :meth:`SecretResolver.refresh` (or use
:meth:`SecretResolver.with_rotation`) to re-read it once from its provider.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from etl_cli import tracing
from etl_cli.config.interpolate import resolve_runtime_value
from etl_cli.config.project import Project
from etl_cli.diagnostics import did_you_mean
from etl_cli.secrets.audit import AuditContext, AuditLog, audit_path
from etl_cli.secrets.errors import (
    SecretAuthError,
    SecretNotFound,
    SecretSettingsError,
    SecretUnavailable,
)
from etl_cli.secrets.redaction import MIN_MASKED_LENGTH, Redactor
from etl_cli.secrets.refs import SecretRef, parse_ref
from etl_cli.secrets.registry import ProviderRegistry, SecretProvider, default_registry
from etl_cli.secrets.settings import ProviderContext, ProviderSettings, provider_settings

T = TypeVar("T")
_log = logging.getLogger(__name__)


@dataclass
class _Cached:
    value: str
    expires: float


class SecretResolver:
    """Resolves secret references for one run and remembers what it read."""

    def __init__(
        self,
        settings: Mapping[str, ProviderSettings],
        context: ProviderContext,
        redactor: Redactor,
        audit: AuditLog | None = None,
        registry: ProviderRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = dict(settings)
        self.context = context
        self.redactor = redactor
        self.audit = audit
        self.registry = registry or default_registry()
        self.clock = clock
        self._providers: dict[str, SecretProvider] = {}
        self._cache: dict[SecretRef, _Cached] = {}
        self._unmasked: set[SecretRef] = set()

    @classmethod
    def for_project(
        cls,
        project: Project,
        env: str | None,
        *,
        pipeline: str | None = None,
        run_id: str | None = None,
        redactor: Redactor | None = None,
        environ: Mapping[str, str] | None = None,
        audit_file: Path | None = None,
    ) -> SecretResolver:
        """A resolver with the project's provider settings for ``env``, auditing to the project's log."""
        context = ProviderContext(project.root, os.environ if environ is None else environ)
        audit = AuditLog(audit_file or audit_path(project), AuditContext(run_id, pipeline, env))
        return cls(provider_settings(project, env), context, redactor or Redactor(), audit)

    # -- providers

    def provider(self, name: str) -> SecretProvider:
        """The provider instance called ``name``; a bare type name (``env``) works without settings."""
        if name not in self._providers:
            settings = self.settings.get(name)
            if settings is None:
                if name not in self.registry.types():
                    known = sorted({*self.settings, *self.registry.types()})
                    raise SecretSettingsError(
                        f"unknown secret provider '{name}'",
                        hint=did_you_mean(name, known)
                        or f"configure it under 'secrets:' in etl-project.yaml; known: {', '.join(known)}",
                    )
                settings = ProviderSettings(name, name)
            self._providers[name] = self.registry.create(settings, self.context)
        return self._providers[name]

    # -- resolving

    def resolve(self, ref: SecretRef | str) -> str:
        """The value of ``ref``, from the cache while it is fresh, else from its provider."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        cached = self._cache.get(ref)
        if cached is not None and cached.expires > self.clock():
            self._audit(ref, "cached")
            return cached.value
        return self._read(ref, "resolved")

    def refresh(self, ref: SecretRef | str) -> str:
        """Re-read ``ref`` from its provider, with a fresh login, ignoring the cache."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        self._cache.pop(ref, None)
        self._reconnect(ref)
        return self._read(ref, "refreshed")

    def store(self, ref: SecretRef | str, value: str) -> None:
        """Write ``value`` to a writable provider (keyring, file) and audit it as ``stored``."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        self._register(ref, value)
        with self.redactor.guard():
            try:
                self.provider(ref.provider).store(ref, value)
            except Exception as exc:
                self._audit(ref, _failure_outcome(exc), type(exc).__name__)
                raise
        self._cache.pop(ref, None)
        self._audit(ref, "stored")

    def reveal(self, ref: SecretRef | str) -> str:
        """The value of ``ref`` for a person to see (``secrets get --reveal``), audited as ``revealed``."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        value = self.resolve(ref)
        self._audit(ref, "revealed")
        return value

    def resolve_value(self, value: Any) -> Any:
        """Resolve every ``${secret:...}`` in a finished option value (and unescape ``$${``)."""
        return resolve_runtime_value(value, self.resolve)

    def __call__(self, value: Any) -> Any:
        return self.resolve_value(value)

    def with_rotation(
        self, action: Callable[[Callable[[Any], Any]], T], is_auth_failure: Callable[[BaseException], bool]
    ) -> T:
        """Run ``action(resolve)``; if it fails authentication, re-read its secrets once and run it again.

        ``action`` receives the function to resolve its option values with. The second
        attempt happens only when at least one re-read secret has changed: the same
        password would fail the same way.
        """
        used: list[SecretRef] = []

        def tracking(value: Any) -> Any:
            def resolve_tracked(body: str) -> str:
                ref = parse_ref(body)
                used.append(ref)
                return self.resolve(ref)

            return resolve_runtime_value(value, resolve_tracked)

        with self.redactor.guard():
            try:
                return action(tracking)
            except Exception as exc:
                if not used or not is_auth_failure(exc):
                    raise
                before = {ref: self._cache[ref].value for ref in used if ref in self._cache}
                changed = [ref for ref in dict.fromkeys(used) if self.refresh(ref) != before.get(ref)]
                if not changed:
                    raise
            return action(self.resolve_value)

    # -- internals

    def _read(self, ref: SecretRef, outcome: str) -> str:
        # the span names the provider and the secret, never its value (nor does any span: tracing masks them)
        attributes = {"secret.provider": ref.provider, "secret.name": ref.name}
        with self.redactor.guard(), tracing.span("secret.read", **attributes):
            try:
                provider = self.provider(ref.provider)
                try:
                    value = provider.fetch(ref)
                except SecretAuthError:
                    # The provider's own login may have expired (a rotated token, an AppRole
                    # secret id): log in again and read once more before giving up.
                    provider.reconnect()
                    value = provider.fetch(ref)
                    outcome = "refreshed"
            except Exception as exc:
                self._audit(ref, _failure_outcome(exc), type(exc).__name__)
                raise
        self._register(ref, value)
        self._cache[ref] = _Cached(value, self.clock() + self._ttl(ref))
        self._audit(ref, outcome)
        return value

    def _register(self, ref: SecretRef, value: str) -> None:
        """Have the redactor mask ``value``; say once per run when it is too short to be masked."""
        if self.redactor.register(value) or not value or ref in self._unmasked:
            return
        self._unmasked.add(ref)
        _log.warning(
            "secret %s is shorter than %d characters, so it is not masked in messages: masking so few characters "
            "would garble every word holding them and show where they are; if it is a credential, rotate it into "
            "a longer one",
            ref.reference,
            MIN_MASKED_LENGTH,
        )

    def _reconnect(self, ref: SecretRef) -> None:
        if ref.provider in self._providers:
            self._providers[ref.provider].reconnect()

    def _ttl(self, ref: SecretRef) -> float:
        settings = self.settings.get(ref.provider)
        return settings.cache_ttl if settings is not None else ProviderSettings(ref.provider, ref.provider).cache_ttl

    def _audit(self, ref: SecretRef, outcome: str, error: str | None = None) -> None:
        if self.audit is None:
            return
        settings = self.settings.get(ref.provider)
        type_name = settings.type if settings is not None else ref.provider
        self.audit.record(ref.provider, type_name, str(ref), outcome, error)


def _failure_outcome(exc: BaseException) -> str:
    if isinstance(exc, SecretNotFound):
        return "not_found"
    if isinstance(exc, SecretAuthError):
        return "refused"
    if isinstance(exc, SecretUnavailable):
        return "unavailable"
    return "failed"
