"""JSON Schema of the quality and resilience parts of a pipeline.

Top level: ``checks`` (one definition per registered check type), ``dead_letter`` (any
sink type, without name and input), ``retry`` defaults and ``circuit_breaker``. On
stages: ``contract`` (sources and transforms) and ``retry`` (sources and sinks, the
stages that talk to external systems).
"""

from __future__ import annotations

from typing import Any

from etl_cli.model.streaming_state import SINK_OUTPUT_MODE
from etl_cli.plugins.api import Kind, Plugin
from etl_cli.plugins.checks import DEFAULT_SAMPLES, POLICIES
from etl_cli.plugins.quality.base import Check
from etl_cli.plugins.registry import Registry

_NAME = {
    "type": "string",
    "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
    "description": "Unique name of the check (letters, digits, underscores); reports and dead letters use it.",
}

_RETRY_TEXT = (
    "Retries of reads, writes and connections that fail with a transient error (connection "
    "refused, timeout, broker unavailable); permanent errors are never retried."
)
RETRY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": _RETRY_TEXT,
    "properties": {
        "attempts": {"type": "integer", "minimum": 1, "description": "Tries in all, the first included (1: none)."},
        "initial_delay": {"type": "number", "minimum": 0, "description": "Seconds before the first retry."},
        "max_delay": {"type": "number", "minimum": 0, "description": "Longest wait between two tries, in seconds."},
        "multiplier": {"type": "number", "minimum": 1, "description": "Each wait is this many times the previous."},
        "jitter": {"type": "number", "minimum": 0, "description": "Up to this many random seconds added to a wait."},
    },
}

CIRCUIT_BREAKER = {
    "type": "object",
    "additionalProperties": False,
    "description": "Per external endpoint (database, broker, bucket) within a run: after failure_threshold "
    "consecutive transient failures it opens and later operations on that endpoint fail at once.",
    "properties": {
        "failure_threshold": {
            "type": "integer",
            "minimum": 1,
            "description": "Consecutive failures that open the circuit.",
        },
        "reset_timeout": {
            "type": "number",
            "minimum": 0,
            "description": "Seconds an open circuit waits before letting one trial operation through (half-open).",
        },
    },
}

_CONTRACT_COLUMN = {
    "description": "A Spark SQL type (INT, STRING, DECIMAL(10,2)...), or {type, nullable}.",
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "type": {"type": "string", "minLength": 1, "description": "The Spark SQL type (omit: any type)."},
                "nullable": {
                    "type": "boolean",
                    "default": True,
                    "description": "false: a null in this column fails the run (checked with the stage's checks).",
                },
                "pii": {
                    "oneOf": [
                        {"type": "boolean"},
                        {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                    ],
                    "default": False,
                    "examples": ["email", "name", "phone", "id", "address", "birthdate", "ip", "card", "free_text"],
                    "description": "The column holds personal data: true, or its kind (email, name, phone, id, "
                    "address, birthdate, ip, card, free_text, or a kind of your own). Tagged pii (and pii:<kind>), it "
                    "is masked wherever rows are shown, its tags follow it through the transforms, project "
                    "policies can require it masked or encrypted at given sinks, and a sink registering in a "
                    "catalog tags it there (docs/data-security.md).",
                },
                "tags": {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.:-]*$"},
                    "uniqueItems": True,
                    "description": "Tags of the column (e.g. [contact, gdpr]), carried to the catalog entries of the "
                    "sinks that write it.",
                },
            },
        },
    ],
}

CONTRACT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["columns"],
    "description": "The schema this stage promises, checked as soon as the stage is built, before anything is "
    "written (types and names only; no data is read, except for nullable: false).",
    "properties": {
        "columns": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _CONTRACT_COLUMN,
            "description": "Column name: type (or {type, nullable}).",
        },
        "policy": {
            "enum": list(POLICIES),
            "default": "strict",
            "description": "strict: exactly these columns; allow_extra: other columns are tolerated and removed "
            "from the stage's output; evolve: other columns are kept and flow on to the sinks (new columns).",
        },
    },
}

_THRESHOLD = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "description": "How many failing rows are tolerated before the check counts as breached (default: none).",
    "properties": {
        "max_ratio": {"type": "number", "minimum": 0, "maximum": 1, "description": "Fraction of rows, 0 to 1."},
        "max_count": {"type": "integer", "minimum": 0, "description": "Number of rows."},
    },
}


COUNT_ROWS = {
    "type": "boolean",
    "default": True,
    "description": "Count the rows read from this source in batch runs (run results, metrics). The count sits "
    "between the reader and the stage after it, so Spark cannot push that stage's filter into the reader (the CSV "
    "or JSON parser, Parquet row groups, the database's WHERE). false gives the push-down back; the source's "
    "rows_out is then unknown, unless a sink or a row-keeping transform reading it alone counts the same rows.",
}


def stage_properties(kind: Kind) -> dict[str, Any]:
    """Keys every stage of ``kind`` accepts besides its plug-in's own options."""
    props: dict[str, Any] = {}
    if kind in ("source", "transform"):
        props["contract"] = CONTRACT
    if kind == "source":
        props["count_rows"] = COUNT_ROWS
    if kind in ("source", "sink"):
        props["retry"] = {**RETRY, "description": f"Retries for this stage (over the pipeline's retry:). {_RETRY_TEXT}"}
    if kind == "sink":
        props["output_mode"] = SINK_OUTPUT_MODE
    return props


def _check_definition(plugin: type[Check]) -> dict[str, Any]:
    actions = list(plugin.actions)
    props: dict[str, Any] = {
        "name": _NAME,
        "type": {"const": plugin.type},
        "stage": {"type": "string", "description": "The source or transform whose rows are checked."},
        "description": {"type": "string", "description": "What the check guards against (shown in reports)."},
        "action": {
            "enum": actions,
            "default": "warn",
            "description": "What failing rows cause: warn (keep them, report), drop (remove them), quarantine "
            "(remove them and write them to the dead-letter queue), fail (stop the run before anything is "
            f"written, exit 3). This type allows: {', '.join(actions)}.",
        },
        "severity": {
            "enum": ["error", "warning"],
            "description": "What a breach means: error stops the run (exit 3), warning only reports. "
            "Default: error for action fail, warning otherwise.",
        },
        "samples": {
            "type": "integer",
            "minimum": 0,
            "maximum": 20,
            "default": DEFAULT_SAMPLES,
            "description": "How many failing rows (or keys) the report shows.",
        },
    }
    if plugin.takes_threshold:
        props["threshold"] = _THRESHOLD
    props.update(plugin.options_schema)
    return {
        "type": "object",
        "title": f"check {plugin.type}",
        "description": plugin.description,
        "additionalProperties": False,
        "required": ["name", "type", "stage", *[r for r in plugin.required_options]],
        "properties": props,
    }


def _dead_letter_definition(plugin: type[Plugin]) -> dict[str, Any]:
    options = {k: v for k, v in plugin.options_schema.items() if k not in ("partition_by", "mode")}
    return {
        "type": "object",
        "title": f"dead_letter {plugin.type}",
        "additionalProperties": False,
        "required": ["type", *[r for r in plugin.required_options if r in options]],
        "properties": {
            "type": {"const": plugin.type},
            "description": {"type": "string", "description": "What this queue is for."},
            "retry": RETRY,
            **options,
        },
    }


def _one_per_type(section: str, registry: Registry, defs: dict[str, Any], kind: str) -> dict[str, Any]:
    branches = []
    plugins = registry.plugins("check" if kind == "check" else "sink")
    for plugin in plugins:
        ref = f"{section}.{plugin.type}"
        defs[ref] = (
            _check_definition(registry.get_as(Check, plugin.type))
            if kind == "check"
            else _dead_letter_definition(plugin)
        )
        branches.append(
            {
                "if": {"properties": {"type": {"const": plugin.type}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/{ref}"},
            }
        )
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": [p.type for p in plugins], "description": f"The {section} type."}},
        "allOf": branches,
    }


def top_level_properties(registry: Registry, defs: dict[str, Any]) -> dict[str, Any]:
    """``checks``, ``dead_letter``, ``retry`` and ``circuit_breaker``; fills ``defs`` with their definitions."""
    defs["check"] = _one_per_type("check", registry, defs, "check")
    defs["check"]["required"] = ["name", "type", "stage"]
    defs["check"]["properties"]["name"] = _NAME
    dead_letter = _one_per_type("dead_letter", registry, defs, "sink")
    dead_letter["description"] = (
        "Where rows that cannot be loaded go: malformed source records (on_malformed: dead_letter), rows "
        "quarantined by checks, rows a sink rejected. Any sink type; files are partitioned by run_id."
    )
    return {
        "checks": {
            "type": "array",
            "items": {"$ref": "#/$defs/check"},
            "description": "Data-quality checks on sources and transforms, evaluated before any sink writes.",
        },
        "dead_letter": dead_letter,
        "retry": {**RETRY, "description": f"Default retries for every source and sink. {_RETRY_TEXT}"},
        "circuit_breaker": CIRCUIT_BREAKER,
    }
