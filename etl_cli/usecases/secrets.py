"""Use cases of ``etl-cli secrets``: store, find, reveal, list, test and audit the secrets pipelines use.

A value leaves this module only through :func:`reveal_secret`, and only to a terminal; the other
functions return references, provider descriptions and outcomes.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from etl_cli.config.loader import load_pipeline
from etl_cli.config.project import Project, load_project
from etl_cli.config.yaml_loader import display_path
from etl_cli.diagnostics import has_errors, sorted_diagnostics
from etl_cli.errors import EtlError, InvalidPipeline, UsageError
from etl_cli.secrets.audit import audit_path, read_audit
from etl_cli.secrets.redaction import MASK as MASK  # what the CLI shows instead of a value
from etl_cli.secrets.refs import SecretRef, parse_ref
from etl_cli.secrets.resolver import SecretResolver
from etl_cli.secrets.usage import SecretCheck, SecretUse, check_uses, secret_uses


def _resolver(project: Project, env: str | None, pipeline: str | None = None) -> SecretResolver:
    """The project's providers as configured for ``env`` (else $ETL_ENV, else the project default)."""
    chosen = project.choose_env(env or os.environ.get("ETL_ENV") or None)
    run_id = "secrets-cli-" + uuid.uuid4().hex[:8]
    return SecretResolver.for_project(project, chosen, pipeline=pipeline, run_id=run_id)


def store_secret(reference: str, env: str | None, project_dir: Path, value: Callable[[], str]) -> tuple[SecretRef, str]:
    """Store ``value()`` under ``reference``; returns the reference and where it went.

    ``value`` is called only once the provider is known to be writable, so nobody types a
    secret that cannot be stored.
    """
    ref = parse_ref(reference)
    resolver = _resolver(load_project(project_dir), env)
    provider = resolver.provider(ref.provider)
    if not provider.writable:
        raise UsageError(
            f"'{ref.provider}' is a {provider.type} provider; etl-cli cannot write to it",
            hint="store the value with that system's own tools, or use a keyring or file provider",
        )
    resolver.store(ref, value())
    return ref, provider.describe()


def find_secret(reference: str, env: str | None, project_dir: Path) -> tuple[SecretRef, str]:
    """Resolve ``reference`` (raising why it does not) and return it with its provider's description."""
    ref = parse_ref(reference)
    resolver = _resolver(load_project(project_dir), env)
    resolver.resolve(ref)
    return ref, resolver.provider(ref.provider).describe()


def reveal_secret(reference: str, env: str | None, project_dir: Path, *, to_terminal: bool) -> str:
    """The value itself, refused unless it goes to a terminal (a pipe or a file would keep it)."""
    ref = parse_ref(reference)
    resolver = _resolver(load_project(project_dir), env)
    if not to_terminal:
        raise UsageError(
            "refusing to reveal a secret to a pipe or a file", hint="run it in a terminal, or leave out --reveal"
        )
    return resolver.reveal(ref)


@dataclass(frozen=True)
class SecretListing:
    """The references a pipeline uses (none without a pipeline) and the entries writable providers hold."""

    uses: list[SecretUse]
    #: per provider: name, where (its description), names stored, and an error when it could not be listed
    stored: list[dict[str, Any]]


def list_secrets(pipeline: Path | None, env: str | None, project_dir: Path) -> SecretListing:
    """What ``pipeline`` references (its own project then applies), and what the providers store."""
    uses: list[SecretUse] = []
    if pipeline is not None:
        loaded = load_pipeline(pipeline, env)
        project, chosen = loaded.project, loaded.env
        uses = secret_uses(loaded.document, loaded.provenance)
    else:
        project, chosen = load_project(project_dir), env
    return SecretListing(uses, _stored_names(_resolver(project, chosen)))


def _stored_names(resolver: SecretResolver) -> list[dict[str, Any]]:
    names = [n for n, s in resolver.settings.items() if resolver.registry.get(s.type).writable]
    names += [t for t in resolver.registry.types() if resolver.registry.get(t).writable and t not in names]
    found = []
    for name in names:
        entry: dict[str, Any] = {"provider": name, "where": "", "names": []}
        try:
            provider = resolver.provider(name)
            entry["names"] = provider.names()
            entry["where"] = provider.describe()
        except EtlError as exc:
            entry["error"] = resolver.redactor.mask(exc.message.splitlines()[0])
        found.append(entry)
    return found


@dataclass(frozen=True)
class PipelineSecrets:
    """Whether each secret reference of a pipeline resolves in an environment."""

    pipeline: str
    env: str | None
    checks: list[SecretCheck]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def check_pipeline_secrets(pipeline: Path, env: str | None, sets: list[str]) -> PipelineSecrets:
    """Resolve every secret reference of ``pipeline`` as a run would; values are never returned."""
    loaded = load_pipeline(pipeline, env, sets)
    if not loaded.document and has_errors(loaded.diagnostics):
        raise InvalidPipeline(
            sorted_diagnostics(loaded.diagnostics), f"{display_path(loaded.pipeline_file)} is invalid"
        )
    name = str(loaded.document.get("name") or loaded.pipeline_dir.name)
    resolver = SecretResolver.for_project(
        loaded.project, loaded.env, pipeline=name, run_id="secrets-test-" + uuid.uuid4().hex[:8]
    )
    return PipelineSecrets(name, loaded.env, check_uses(secret_uses(loaded.document, loaded.provenance), resolver))


def read_secret_audit(
    project_dir: Path, *, pipeline: str | None, provider: str | None, since: str | None, limit: int
) -> tuple[Path, list[dict[str, Any]]]:
    """The audit log's path and its last ``limit`` matching records (0: all); ``since`` as :func:`parse_since`."""
    path = audit_path(load_project(project_dir))
    entries = list(read_audit(path, pipeline=pipeline, provider=provider, since=parse_since(since)))
    return path, entries[-limit:] if limit > 0 else entries


_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``--since``: an ISO date or time (UTC unless it says otherwise) or an age such as ``30m``, ``12h``, ``7d``."""
    if not text:
        return None
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since '{text}' is neither a date nor an age", hint="for example --since 2026-01-31 or --since 12h"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
