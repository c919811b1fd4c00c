"""Coerce values to the type the schema asks for.

Interpolated values are strings (``port: ${env:PG_PORT}``); YAML 1.1 turns some
plain words into booleans (``country: NO``). Both are fixed here, guided by the
schema, before validation, so users get the value they meant.
"""

from __future__ import annotations

import re
from typing import Any

from etl_cli.config.nodes import Provenance

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class SchemaWalker:
    """Resolves the subschema for a document path (``$ref`` and ``if/then`` on ``type``)."""

    def __init__(self, schema: dict[str, Any]):
        self.root = schema

    def resolve(self, schema: dict[str, Any], instance: Any) -> dict[str, Any]:
        if "$ref" in schema:
            schema = self._ref(schema["$ref"])
        if "allOf" in schema and isinstance(instance, dict):
            for branch in schema["allOf"]:
                cond = branch.get("if", {}).get("properties", {}).get("type", {})
                if "const" in cond and instance.get("type") == cond["const"]:
                    return self.resolve(branch["then"], instance)
        return schema

    def _ref(self, ref: str) -> dict[str, Any]:
        node: Any = self.root
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    return list(declared or [])


def coerce_value(value: Any, schema: dict[str, Any], raw: str | None) -> Any:
    """Coerce one scalar to ``schema``'s type when that is unambiguous."""
    types = _types(schema)
    if not types or isinstance(value, (dict, list)):
        return value
    if isinstance(value, str):
        return _from_string(value, types)
    if "string" in types and raw is not None and not _matches(value, types):
        return raw
    return value


def _matches(value: Any, types: list[str]) -> bool:
    checks = {
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "null": value is None,
    }
    return any(checks.get(t, False) for t in types)


def _from_string(value: str, types: list[str]) -> Any:
    if "string" in types:
        return value
    text = value.strip()
    if "integer" in types and _INT.match(text):
        return int(text)
    if "number" in types and _FLOAT.match(text):
        number = float(text)
        return int(number) if number.is_integer() and _INT.match(text) else number
    if "boolean" in types and text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    return value


def coerce_document(document: Any, schema: dict[str, Any], provenance: Provenance) -> Any:
    """Return ``document`` with every scalar coerced as the schema asks."""
    walker = SchemaWalker(schema)

    def walk(value: Any, sub: dict[str, Any], path: tuple[str | int, ...]) -> Any:
        sub = walker.resolve(sub, value)
        if isinstance(value, dict):
            props = sub.get("properties", {})
            extra = sub.get("additionalProperties")
            out = {}
            for key, child in value.items():
                child_schema = props.get(key, extra if isinstance(extra, dict) else {})
                out[key] = walk(child, child_schema, (*path, key))
            return out
        if isinstance(value, list):
            items = sub.get("items", {})
            return [walk(child, items, (*path, i)) for i, child in enumerate(value)]
        info = provenance.info(path)
        return coerce_value(value, sub, info.raw if info else None)

    return walk(document, schema, ())
