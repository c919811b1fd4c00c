"""The ``lineage:`` block: where a run's OpenLineage events go, and the namespace of its job.

```yaml
# etl-project.yaml: every pipeline of the project starts from this
lineage:
  namespace: payments                  # default: the project's name
  transport: {type: http, url: "http://marquez:5000"}
environments:
  dev:
    lineage:
      transport: !replace {type: file, log_file_path: .etl/lineage/events.jsonl, append: true}
```

The project's block, then its environment's, are the lowest layers of the pipeline's own
``lineage:`` (config/project.py), so a pipeline, its overlay or ``--set`` override them key by
key, ``enabled: false`` turns lineage off for one pipeline, and this one JSON Schema checks
them all, errors pointing at the line that set the value. ``transport`` holds the settings of
the official client's transport of that ``type`` (HttpConfig, KafkaConfig, FileConfig,
ConsoleConfig), secrets still as ``${secret:...}`` references: the run resolves them.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.config.project import Project
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import Location, UsageError

#: the transports a ``lineage:`` block may name (the client would also import any class named by its path)
TRANSPORTS = ("http", "kafka", "file", "console")
#: what ``--parent-run`` and ``OPENLINEAGE_PARENT_ID`` hold
PARENT_FORMAT = "NAMESPACE/JOB/RUN_ID"
#: the environment variables other OpenLineage integrations (dbt, Spark) read their parent run from
PARENT_VARIABLES = ("OPENLINEAGE_PARENT_ID", "OPENLINEAGE_ROOT_PARENT_ID")
EXTRA_HINT = "pip install 'etl-cli[openlineage]'"
KAFKA_HINT = (
    "pip install 'etl-cli[openlineage]' (it brings confluent-kafka, which the client's Kafka transport produces with)"
)


@dataclass(frozen=True)
class LineageSpec:
    """Where a run's OpenLineage events go: the job's namespace and the client transport's settings."""

    namespace: str
    #: the transport's settings as written (``type`` and the client's options), secrets still references
    transport: Mapping[str, Any]
    #: what a relative ``log_file_path`` is relative to
    project_root: Path
    location: Location | None = None

    @property
    def transport_type(self) -> str:
        return str(self.transport["type"])


@dataclass(frozen=True)
class ParentRun:
    """The run that started this one (a DAG run, an Airflow task): its job's namespace and name, its run id."""

    namespace: str
    job: str
    run_id: str
    #: the run at the top of the chain, when the parent has one above it
    root: ParentRun | None = None


def lineage_of(document: Mapping[str, Any], provenance: Provenance, project: Project) -> LineageSpec | None:
    """The pipeline's lineage settings (project's, environment's and its own merged), None when off."""
    raw = document.get("lineage")
    if not raw or raw.get("enabled") is False:
        return None
    return LineageSpec(
        namespace=raw.get("namespace") or project.name,
        transport=dict(raw["transport"]),
        project_root=project.root,
        location=provenance.key_location(("lineage",)),
    )


def check_lineage(document: Mapping[str, Any], provenance: Provenance) -> list[Diagnostic]:
    """An error when lineage is on and the client library its transport needs is not installed.

    Only the module's presence is looked up (no import), so ``validate`` stays fast.
    """
    raw = document.get("lineage")
    if not isinstance(raw, dict) or raw.get("enabled") is False:
        return []
    where = provenance.key_location(("lineage",))
    if not _installed("openlineage.client"):
        message = "lineage: sending OpenLineage events needs the openlineage-python client, which is not installed"
        return [error("missing-extra", message, where, f"{EXTRA_HINT}, or set lineage.enabled: false")]
    transport = raw.get("transport")
    if isinstance(transport, dict) and transport.get("type") == "kafka" and not _installed("confluent_kafka"):
        message = "lineage: the kafka transport needs the confluent-kafka package, which is not installed"
        return [error("missing-extra", message, where, KAFKA_HINT)]
    return []


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package that is missing, or broken
        return False


def parent_run(given: str | None, environ: Mapping[str, str]) -> ParentRun | None:
    """The parent run: ``given`` (``--parent-run``), else ``OPENLINEAGE_PARENT_ID`` (and its root), else None."""
    if given is not None:
        return _parse_parent(given, "--parent-run")
    variable, root_variable = PARENT_VARIABLES
    if not environ.get(variable):
        return None
    root = _parse_parent(environ[root_variable], root_variable) if environ.get(root_variable) else None
    found = _parse_parent(environ[variable], variable)
    return ParentRun(found.namespace, found.job, found.run_id, root)


def _parse_parent(text: str, origin: str) -> ParentRun:
    namespace, _, rest = text.partition("/")
    job, _, run_id = rest.rpartition("/")
    if not (namespace and job and run_id):
        raise UsageError(
            f"{origin} '{text}' is not {PARENT_FORMAT}",
            hint=f"for example {origin} airflow/daily_orders.load/0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a",
        )
    try:
        uuid.UUID(run_id)
    except ValueError:
        raise UsageError(
            f"{origin} '{text}': the run id '{run_id}' is not a UUID",
            hint=f"{PARENT_FORMAT}: OpenLineage run ids are UUIDs, as the parent's own events carry them",
        ) from None
    return ParentRun(namespace, job, run_id)


# --------------------------------------------------------------------------- the JSON Schema of the block

_HTTP = {
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://", "description": "The consumer's base URL (Marquez...)."},
        "endpoint": {"type": "string", "description": "Path of the lineage API (default: api/v1/lineage)."},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "description": "Seconds per request (default: 5)."},
        "verify": {"type": "boolean", "description": "Check the server's TLS certificate (default: true)."},
        "auth": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": ["api_key", "jwt", "oauth2"]}},
            "description": "The client's token provider and its settings, e.g. {type: api_key, apiKey: "
            '"${secret:env:MARQUEZ_API_KEY}"}.',
        },
        "compression": {"enum": ["gzip"], "description": "Compress request bodies."},
        "custom_headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Extra HTTP headers.",
        },
        "retry": {"type": "object", "description": "The client's retry settings (total, backoff_factor...)."},
    },
}
_KAFKA = {
    "required": ["topic", "config"],
    "properties": {
        "topic": {"type": "string", "minLength": 1, "description": "The topic events are produced to."},
        "config": {
            "type": "object",
            "required": ["bootstrap.servers"],
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "librdkafka producer settings (bootstrap.servers, security.protocol, sasl.*...).",
        },
        "messageKey": {"type": "string", "description": "Key of every message (default: the job or parent job)."},
        "flush": {"type": "boolean", "description": "Wait until each event is delivered (default: true)."},
    },
}
_FILE = {
    "required": ["log_file_path"],
    "properties": {
        "log_file_path": {
            "type": "string",
            "minLength": 1,
            "description": "Where events are written (relative to the project root); with append: false, one "
            "file per event, the path followed by a timestamp.",
        },
        "append": {"type": "boolean", "description": "Append every event as a line of one file (default: false)."},
    },
}
_TRANSPORT_OPTIONS: dict[str, dict[str, Any]] = {"http": _HTTP, "kafka": _KAFKA, "file": _FILE, "console": {}}


def _transport_schema() -> dict[str, Any]:
    branches = [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {
                "additionalProperties": False,
                "required": ["type", *options.get("required", [])],
                "properties": {"type": {"const": name}, **options.get("properties", {})},
            },
        }
        for name, options in _TRANSPORT_OPTIONS.items()
    ]
    return {
        "type": "object",
        "required": ["type"],
        "description": "The openlineage-python transport events go through, and its settings.",
        "properties": {"type": {"enum": list(TRANSPORTS), "description": f"One of: {', '.join(TRANSPORTS)}."}},
        "allOf": branches,
    }


LINEAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Send OpenLineage events for each run (START, COMPLETE, FAIL, ABORT) through the official "
    "client. etl-project.yaml may set it for every pipeline, and per environment. See docs/lineage.md.",
    "additionalProperties": False,
    "if": {"properties": {"enabled": {"const": False}}, "required": ["enabled"]},
    "else": {"required": ["transport"]},
    "properties": {
        "enabled": {"type": "boolean", "description": "false: no events for this pipeline (default: true)."},
        "namespace": {
            "type": "string",
            "minLength": 1,
            "description": "The namespace of the pipeline's job (default: the project's name).",
        },
        "transport": _transport_schema(),
    },
}
