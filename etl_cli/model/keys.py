"""The key rule of ``validate``: each ``encrypt``/``decrypt`` names a key of the project, usable as configured.

Offline: no key service is asked anything. A key must be declared under ``keys:`` in
``etl-project.yaml``; a ``vault_transit`` or ``aws_kms`` key must name a ``secrets:`` entry (for the
pipeline's environment) of type ``vault`` or ``aws`` — or that bare type, which reads its settings
from the environment; a ``local`` key's file that does not exist yet is a warning (``etl-cli keys
create`` writes it). Problems are reported at the stage's ``key:``.
"""

from __future__ import annotations

from typing import Any

from etl_cli.config.keys import PROVIDERS
from etl_cli.config.nodes import Provenance
from etl_cli.config.project import PROJECT_FILE, Project
from etl_cli.diagnostics import Diagnostic, did_you_mean, error, warning

#: the transforms that name a key in their ``key`` option
KEYED_TRANSFORMS = ("encrypt", "decrypt")


def check_keys(document: dict[str, Any], project: Project, env: str | None, provenance: Provenance) -> list[Diagnostic]:
    """Every problem of the keys the pipeline's ``encrypt``/``decrypt`` stages name, each at its ``key:``."""
    found: list[Diagnostic] = []
    transforms = document.get("transforms")
    for index, item in enumerate(transforms if isinstance(transforms, list) else []):
        if not isinstance(item, dict) or item.get("type") not in KEYED_TRANSFORMS:
            continue
        name = item.get("key")
        if not isinstance(name, str):
            continue
        where = provenance.value_location(("transforms", index, "key"))
        stage = f"transform '{item.get('name')}'"
        settings = project.keys.get(name)
        if settings is None:
            known = project.keys
            hint = did_you_mean(name, known) or (
                f"keys declared: {', '.join(known)}" if known else f"declare it under keys: in {PROJECT_FILE}"
            )
            found.append(error("unknown-key", f"{stage}: key '{name}' is not declared in {PROJECT_FILE}", where, hint))
            continue
        _, wanted_type, _ = PROVIDERS[settings.provider]
        if wanted_type is not None and settings.secrets is not None:
            entries = project.secrets_for(env)
            entry = entries.get(settings.secrets)
            kind = (entry or {}).get("type", settings.secrets) if entry is not None else settings.secrets
            if entry is None and settings.secrets != wanted_type:
                hint = (
                    did_you_mean(settings.secrets, entries)
                    or f"add secrets: {{{settings.secrets}: {{type: {wanted_type}, ...}}}}"
                )
                message = (
                    f"{stage}: key '{name}' reaches {settings.provider} through secrets entry '{settings.secrets}', "
                    f"which {PROJECT_FILE} does not declare{f' for environment {env}' if env else ''}"
                )
                found.append(error("unknown-key-provider", message, where, hint))
            elif kind != wanted_type:
                message = (
                    f"{stage}: key '{name}' ({settings.provider}) needs a secrets entry of type {wanted_type}, "
                    f"but '{settings.secrets}' is of type {kind}"
                )
                found.append(error("wrong-key-provider", message, where))
        key_file = settings.key_file(project.root)
        if settings.provider == "local" and key_file is not None and not key_file.is_file():
            message = f"{stage}: the key file of key '{name}' ({key_file}) does not exist here"
            found.append(warning("missing-key-file", message, where, f"create it: etl-cli keys create {name}"))
    return found
