"""Picking one key out of a structured secret (a KV mapping, a JSON document)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from etl_cli.diagnostics import did_you_mean
from etl_cli.secrets.errors import SecretNotFound
from etl_cli.secrets.refs import SecretRef


def pick_key(ref: SecretRef, data: Mapping[str, Any], what: str, tried: Sequence[str]) -> str:
    """``data[ref.key]`` as text; a missing key names the keys that do exist (never values)."""
    if ref.key is None:
        keys = ", ".join(sorted(data)) or "none"
        raise SecretNotFound(
            ref,
            f"{what} holds several keys ({keys}); the reference must name one",
            tried=tried,
            hint=f"write ${{secret:{ref.provider}:{ref.path}#KEY}}",
        )
    if ref.key not in data:
        keys = ", ".join(sorted(data)) or "none"
        raise SecretNotFound(
            ref,
            f"{what} has no key '{ref.key}' (its keys: {keys})",
            tried=tried,
            hint=did_you_mean(ref.key, data),
        )
    value = data[ref.key]
    return value if isinstance(value, str) else json.dumps(value)


def pick_json_key(ref: SecretRef, text: str, what: str, tried: Sequence[str]) -> str:
    """The key of a JSON object held as text; the whole text when the reference names no key."""
    if ref.key is None:
        return text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SecretNotFound(
            ref,
            f"{what} is a plain string, not a JSON object, so it has no key '{ref.key}'",
            tried=tried,
            hint=f"drop '#{ref.key}' to use the whole string",
        )
    return pick_key(ref, data, what, tried)
