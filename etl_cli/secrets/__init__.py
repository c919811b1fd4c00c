"""Secrets: ``${secret:provider:path#key}`` references resolved at run time, masked everywhere, audited.

See docs/secrets.md. The pieces: :mod:`.refs` (the reference), :mod:`.settings` (the
project's ``secrets:`` section), :mod:`.registry` and :mod:`.providers` (where values
live), :mod:`.resolver` (cache, rotation), :mod:`.redaction`, :mod:`.audit`.
"""

from etl_cli.secrets.audit import AuditContext, AuditLog, audit_path, read_audit
from etl_cli.secrets.errors import (
    ProviderNotInstalled,
    SecretAuthError,
    SecretError,
    SecretNotFound,
    SecretSettingsError,
    SecretUnavailable,
)
from etl_cli.secrets.redaction import RedactingFilter, Redactor
from etl_cli.secrets.refs import SecretRef, SecretRefError, parse_ref
from etl_cli.secrets.resolver import SecretResolver

__all__ = [
    "AuditContext",
    "AuditLog",
    "ProviderNotInstalled",
    "RedactingFilter",
    "Redactor",
    "SecretAuthError",
    "SecretError",
    "SecretNotFound",
    "SecretRef",
    "SecretRefError",
    "SecretResolver",
    "SecretSettingsError",
    "SecretUnavailable",
    "audit_path",
    "parse_ref",
    "read_audit",
]
