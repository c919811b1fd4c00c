"""Use cases of ``etl-cli keys``: list the project's encryption keys, create and rotate them.

Key material never leaves this module: it returns names, providers, versions and file paths.
Rotation asks the key service for a new key-encryption key version (Vault transit ``rotate``,
KMS on-demand rotation, a new version in the local key file), re-wraps every data key with it,
and adds a new data-key version that later ``encrypt`` runs use; the older versions stay in the
key ring, so what they encrypted stays readable (docs/data-security.md).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from etl_cli.config.project import Project, load_project
from etl_cli.errors import UsageError
from etl_cli.secrets.keys.manager import KeyManager
from etl_cli.secrets.redaction import Redactor
from etl_cli.secrets.resolver import SecretResolver


def _manager(project: Project, env: str | None) -> KeyManager:
    """The project's keys, reaching key services with the secret providers configured for ``env``."""
    chosen = project.choose_env(env or os.environ.get("ETL_ENV") or None)
    resolver = SecretResolver.for_project(project, chosen, run_id="keys-cli-" + uuid.uuid4().hex[:8])
    resolver.redactor.install()
    return KeyManager(project, resolver)


def list_keys(project_dir: Path) -> list[dict[str, Any]]:
    """Each key of ``keys:``: provider, where its KEK lives, its key ring and versions (asks no key service)."""
    project = load_project(project_dir)
    return KeyManager(project, SecretResolver({}, _no_context(project), Redactor())).listing()


def create_key(name: str, env: str | None, project_dir: Path) -> dict[str, Any]:
    """Write what ``name`` lacks: the local key file (local keys), the key ring with data key v1."""
    manager = _manager(load_project(project_dir), env)
    try:
        with manager.redactor.guard():
            return manager.create(name)
    finally:
        manager.close()


def rotate_key(name: str, env: str | None, project_dir: Path, *, kek: bool = True, dek: bool = True) -> dict[str, Any]:
    """Rotate the KEK of ``name`` and re-wrap its data keys (``kek``), and/or start a new data-key version (``dek``)."""
    if not kek and not dek:
        raise UsageError("nothing to rotate: --no-kek and --no-dek together leave nothing to do")
    manager = _manager(load_project(project_dir), env)
    try:
        with manager.redactor.guard():
            return manager.rotate(name, kek=kek, dek=dek)
    finally:
        manager.close()


def _no_context(project: Project) -> Any:
    from etl_cli.secrets.settings import ProviderContext

    return ProviderContext(project.root, {})
