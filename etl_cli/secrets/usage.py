"""Which secrets a pipeline uses, and whether each one resolves (``etl-cli secrets list/test``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.errors import Location
from etl_cli.model.credentials import leaves, reference_location, secret_references
from etl_cli.model.validation import describe_path
from etl_cli.secrets.refs import SecretRef, SecretRefError, parse_ref
from etl_cli.secrets.resolver import SecretResolver


@dataclass(frozen=True)
class SecretUse:
    """One ``${secret:...}`` written in a pipeline: the reference, the key path, and where."""

    ref: SecretRef | None
    text: str
    key_path: str
    location: Location | None
    problem: str | None = None


@dataclass(frozen=True)
class SecretCheck:
    """Whether one reference resolved; ``error`` is the (value-free) reason when it did not."""

    use: SecretUse
    ok: bool
    error: str | None = None


def secret_uses(document: Any, provenance: Provenance) -> list[SecretUse]:
    """Every secret reference in the merged document, in document order, each at its own position."""
    return [
        _use(match, describe_path(document, path), reference_location(provenance, path, match.group(0)))
        for path, value in leaves(document)
        if isinstance(value, str)
        for match in secret_references(value)
    ]


def _use(match: re.Match[str], key_path: str, location: Location | None) -> SecretUse:
    try:
        return SecretUse(parse_ref(match.group(1), location), match.group(0), key_path, location)
    except SecretRefError as exc:
        return SecretUse(None, match.group(0), key_path, location, exc.message)


def check_uses(uses: list[SecretUse], resolver: SecretResolver) -> list[SecretCheck]:
    """Resolve each distinct reference once; the values are discarded, only the outcome is kept."""
    checks = []
    outcome: dict[SecretRef, str | None] = {}
    for use in uses:
        if use.ref is None:
            checks.append(SecretCheck(use, False, use.problem))
            continue
        if use.ref not in outcome:
            try:
                resolver.resolve(use.ref)
                outcome[use.ref] = None
            except Exception as exc:  # report every failure; the message is masked
                outcome[use.ref] = resolver.redactor.mask(str(exc))
        error = outcome[use.ref]
        checks.append(SecretCheck(use, error is None, error))
    return checks
