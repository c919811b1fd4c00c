"""The ``depends_on:`` and ``tags:`` keys: where a pipeline sits in its project's DAG (docs/orchestration.md).

Both are lists of names checked by the JSON Schema; what they name is checked against the
whole project by :mod:`etl_cli.orchestration.dag` (a ``depends_on`` naming no pipeline, a cycle).
"""

from __future__ import annotations

from typing import Any

#: what a pipeline name may be (the ``name:`` key's pattern), and so a tag
_NAME_ITEM = {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"}

DEPENDS_ON_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Names of pipelines of the project this one runs after; those whose sinks write what its "
    "sources read need not be named (docs/orchestration.md#the-project-dag).",
    "uniqueItems": True,
    "items": _NAME_ITEM,
}
TAGS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Names to select the pipeline by: etl-cli dag show|run --select tag:NAME "
    "(docs/orchestration.md#selectors).",
    "uniqueItems": True,
    "items": _NAME_ITEM,
}
