"""The pipeline JSON Schema, assembled from the registered plug-ins.

The same schema validates pipelines, is published inside the package
(``etl_cli/model/pipeline.schema.json``) for editors, and documents every field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from etl_cli.model.catalog import REGISTRATION_SCHEMA, registrable
from etl_cli.model.checkpoints import CHECKPOINT_KEY, CHECKPOINT_SCHEMA, CHECKPOINTS_SCHEMA
from etl_cli.model.dependencies import DEPENDS_ON_SCHEMA, TAGS_SCHEMA
from etl_cli.model.lineage import LINEAGE_SCHEMA
from etl_cli.model.metrics import metrics_schema
from etl_cli.model.monitoring import MONITORING_SCHEMA
from etl_cli.model.params import PARAMS_SCHEMA
from etl_cli.model.quality_schema import stage_properties, top_level_properties
from etl_cli.model.schedule import SCHEDULE_SCHEMA
from etl_cli.model.streaming import STREAMING_SCHEMA
from etl_cli.model.tracing import TRACING_SCHEMA
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND, Kind, Plugin, Sink, Transform
from etl_cli.plugins.registry import Registry

SCHEMA_FILE = Path(__file__).with_name("pipeline.schema.json")
NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"

_NAME = {
    "type": "string",
    "pattern": NAME_PATTERN,
    "description": "Unique name of the stage; other stages refer to it (letters, digits, underscores).",
}
_DESCRIPTION = {"type": "string", "description": "What this part is for (shown by render and dry-run)."}
_SENSITIVE = {
    "type": "array",
    "items": {"type": "string", "minLength": 1},
    "uniqueItems": True,
    "description": "Columns holding personal or secret data: etl-debug, quality reports and dead-letter listings "
    "mask their values, matched by column name in this stage and in every other stage of the pipeline.",
}

_SPARK = {
    "type": "object",
    "description": "How to run on Spark.",
    "additionalProperties": False,
    "properties": {
        "master": {
            "type": "string",
            "description": "Spark master URL: local[*] (default), local[N], spark://host:7077, yarn, k8s://...",
        },
        "remote": {
            "type": "string",
            "pattern": "^sc://",
            "description": "A Spark Connect server to run on instead of a master: sc://host:port "
            "(docs/cluster.md; needs the connect extra).",
        },
        "app_name": {"type": "string", "description": "Spark application name (default: etl-cli:<pipeline>)."},
        "conf": {
            "type": "object",
            "description": "Spark configuration, for example spark.sql.shuffle.partitions: 8.",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "packages": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[^:]+:[^:]+:[^:]+$"},
            "description": "Extra Maven coordinates (group:artifact:version) to put on the classpath.",
        },
        "jars": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Local jar files to put on the classpath (for machines without Maven access).",
        },
    },
}

_EXTENDS_ONE: list[dict[str, Any]] = [
    {"type": "string"},
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["template"],
        "properties": {"template": {"type": "string"}, "params": {"type": "object"}},
    },
]
_EXTENDS = {
    "description": "Template(s) this pipeline builds on: a name, {template: NAME, params: {...}}, or a list of "
    "these merged in order (a later template wins).",
    "oneOf": [*_EXTENDS_ONE, {"type": "array", "minItems": 1, "items": {"oneOf": _EXTENDS_ONE}}],
}


def _kind_properties(kind: Kind, plugin: type[Plugin]) -> dict[str, Any]:
    props: dict[str, Any] = {"name": _NAME, "type": {"const": plugin.type}, "description": _DESCRIPTION}
    if kind != "sink":
        props["sensitive"] = _SENSITIVE
        props[CHECKPOINT_KEY] = CHECKPOINT_SCHEMA
    if kind == "transform":
        assert issubclass(plugin, Transform)
        inputs: dict[str, Any] = {
            "type": "array",
            "items": {"type": "string"},
            "minItems": plugin.min_inputs,
            "description": "Names of the sources or transforms this transform reads.",
        }
        if plugin.single_input:
            inputs["maxItems"] = 1
        props["inputs"] = inputs
    if kind == "sink":
        assert issubclass(plugin, Sink)
        props["input"] = {"type": "string", "description": "Name of the source or transform this sink writes."}
        props["mode"] = {
            "enum": list(plugin.modes),
            "default": plugin.default_mode,
            "description": f"What to do when the target exists: {', '.join(plugin.modes)}.",
        }
        if registrable(plugin):
            props["catalog"] = REGISTRATION_SCHEMA
    props.update(stage_properties(kind))
    props.update(plugin.options_schema)
    return props


def _required(kind: Kind, plugin: type[Plugin]) -> list[str]:
    base = ["name", "type"]
    if kind == "transform":
        base.append("inputs")
    if kind == "sink":
        base.append("input")
    return base + [r for r in plugin.required_options if r not in base]


def _kind_schema(kind: Kind, registry: Registry, defs: dict[str, Any]) -> dict[str, Any]:
    branches = []
    for plugin in registry.plugins(kind):
        ref = f"{kind}.{plugin.type}"
        defs[ref] = {
            "type": "object",
            "title": f"{kind} {plugin.type}",
            "description": plugin.description,
            "additionalProperties": False,
            "required": _required(kind, plugin),
            "properties": _kind_properties(kind, plugin),
        }
        branches.append(
            {
                "if": {"properties": {"type": {"const": plugin.type}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/{ref}"},
            }
        )
    return {
        "type": "object",
        "required": ["name", "type"],
        "properties": {
            "name": _NAME,
            "type": {"enum": registry.types(kind), "description": f"The {kind} type."},
        },
        "allOf": branches,
    }


def build_schema(registry: Registry) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a merged pipeline document."""
    defs: dict[str, Any] = {}
    properties: dict[str, Any] = {
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
            "description": "Pipeline name (default: its folder name).",
        },
        "description": _DESCRIPTION,
        "depends_on": DEPENDS_ON_SCHEMA,
        "tags": TAGS_SCHEMA,
        "extends": _EXTENDS,
        "vars": {"type": "object", "description": "Variables, used as ${var:name} anywhere in the pipeline."},
        "params": PARAMS_SCHEMA,
        "spark": _SPARK,
        "streaming": STREAMING_SCHEMA,
    }
    for kind in KINDS:
        defs[kind] = _kind_schema(kind, registry, defs)
        properties[SECTION_OF_KIND[kind]] = {
            "type": "array",
            "items": {"$ref": f"#/$defs/{kind}"},
            "description": f"The pipeline's {SECTION_OF_KIND[kind]}.",
        }
    properties.update(top_level_properties(registry, defs))
    properties["metrics"] = metrics_schema(registry, defs)
    properties["monitoring"] = MONITORING_SCHEMA
    properties["lineage"] = LINEAGE_SCHEMA
    properties["tracing"] = TRACING_SCHEMA
    properties["checkpoints"] = CHECKPOINTS_SCHEMA
    properties["schedule"] = SCHEDULE_SCHEMA
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:etl-cli:pipeline",
        "title": "etl-cli pipeline",
        "description": "A pipeline: sources, transforms and sinks, run on Apache Spark.",
        "type": "object",
        "additionalProperties": False,
        "required": ["sources", "sinks"],
        "properties": properties,
        "$defs": defs,
    }


def schema_json(registry: Registry) -> str:
    return json.dumps(build_schema(registry), indent=2, sort_keys=False) + "\n"
