"""Turn JSON Schema errors into diagnostics at the ``file:line:col`` that caused them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, did_you_mean, error

_TYPE_WORDS = {
    "object": "a mapping (key: value)",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def describe_path(document: Any, path: tuple[str | int, ...]) -> str:
    """A path as users think of it: ``sinks.orders_out.mode`` rather than ``sinks[0].mode``."""
    parts: list[str] = []
    node = document
    for part in path:
        if isinstance(part, int) and isinstance(node, list):
            item = node[part] if part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            parts.append(str(name) if isinstance(name, str) else f"[{part}]")
            node = item
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts) or "the pipeline"


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class SchemaChecker:
    """Validates a document against the schema and maps every error to a place."""

    def __init__(self, schema: dict[str, Any]):
        self.validator = Draft202012Validator(schema)

    def check(self, document: Any, provenance: Provenance) -> list[Diagnostic]:
        found: list[Diagnostic] = []
        for err in self._leaf_errors(self.validator.iter_errors(document)):
            # a value that is not a mapping fails every `then` of a block's per-type branches alike: say it once
            found.extend(d for d in self._diagnose(err, document, provenance) if d not in found)
        return found

    def _leaf_errors(self, errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
        # allOf and if/then/else hand on their subschemas' errors under those errors' own keywords (Draft 2020-12)
        for err in errors:
            if err.validator in ("anyOf", "oneOf") and err.context:
                yield min(err.context, key=lambda e: len(e.absolute_path))
            else:
                yield err

    def _diagnose(self, err: ValidationError, document: Any, provenance: Provenance) -> list[Diagnostic]:
        path = tuple(err.absolute_path)
        where = describe_path(document, path)
        schema = err.schema if isinstance(err.schema, dict) else {}
        if err.validator == "additionalProperties":
            allowed = list(schema.get("properties", {}))
            extras = [k for k in err.instance if k not in allowed]
            return [
                error(
                    "unknown-key",
                    f"unknown key '{key}' in {where}",
                    provenance.key_location((*path, key)),
                    did_you_mean(key, allowed) or f"allowed keys: {', '.join(allowed)}",
                )
                for key in extras
            ]
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            description = schema.get("properties", {}).get(missing, {}).get("description")
            return [
                error(
                    "missing-key",
                    f"missing required key '{missing}' in {where}",
                    provenance.key_location(path),
                    description,
                )
            ]
        if err.validator == "type":
            wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            words = " or ".join(_TYPE_WORDS.get(str(w), str(w)) for w in wanted)
            return [
                error(
                    "wrong-type", f"{where} must be {words}, got {_show(err.instance)}", provenance.value_location(path)
                )
            ]
        if err.validator in ("enum", "const"):
            choices = [str(c) for c in (err.validator_value if err.validator == "enum" else [err.validator_value])]
            hint = did_you_mean(str(err.instance), choices) if isinstance(err.instance, str) else None
            return [
                error(
                    "invalid-value",
                    f"invalid value {_show(err.instance)} for {where}; expected one of: {', '.join(choices)}",
                    provenance.value_location(path),
                    hint,
                )
            ]
        if err.validator == "pattern" and path and path[-1] == "name":
            return [
                error(
                    "invalid-name",
                    f"{where} {_show(err.instance)} is not a valid name",
                    provenance.value_location(path),
                    "use letters, digits and underscores, starting with a letter",
                )
            ]
        if err.validator == "pattern" and isinstance(schema.get("patternErrorMessage"), str):
            return [
                error(
                    "invalid-value",
                    f"{where}: {_show(err.instance)} is {schema['patternErrorMessage']}",
                    provenance.value_location(path),
                    schema.get("description"),
                )
            ]
        if err.validator in ("minItems", "maxItems"):
            bound = "at least" if err.validator == "minItems" else "at most"
            return [
                error(
                    "wrong-count",
                    f"{where} takes {bound} {err.validator_value} item(s), has {len(err.instance)}",
                    provenance.value_location(path),
                )
            ]
        if err.validator == "not" and isinstance(err.instance, str):
            return [
                error(
                    "invalid-value",
                    f"{where}: {_show(err.instance)} is not allowed here",
                    provenance.value_location(path),
                    schema.get("description"),
                )
            ]
        return [error("schema", f"{where}: {err.message}", provenance.value_location(path), schema.get("description"))]
