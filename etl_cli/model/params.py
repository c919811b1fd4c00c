"""The ``params:`` section in the pipeline JSON Schema (the values themselves are read in config/params.py)."""

from __future__ import annotations

from typing import Any

from etl_cli.config.params import PARAM_TYPES

PARAMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Run-time parameters, used as ${param:name} and set with --param name=value "
    "(docs/orchestration.md#parameters).",
    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "type": {
                "enum": list(PARAM_TYPES),
                "description": "What a value must be: string (default), int, float, bool, date (YYYY-MM-DD) "
                "or timestamp (ISO 8601).",
            },
            "default": {"description": "The value when no --param gives one (a parameter with a default is optional)."},
            "description": {"type": "string", "description": "What the parameter is for."},
            "choices": {"type": "array", "minItems": 1, "description": "The only values allowed."},
            "required": {
                "type": "boolean",
                "description": "Whether a run needs a value (default: true when there is no default).",
            },
        },
    },
}
