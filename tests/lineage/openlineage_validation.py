"""Validate OpenLineage events against the specification's JSON Schemas (vendored in openlineage_spec/).

Every ``$ref`` between the schemas resolves through one ``referencing`` registry keyed by their
``$id``, offline. An event is checked against ``OpenLineage.json#/$defs/RunEvent``, and each
facet against the schema its ``_schemaURL`` names (the core schema alone accepts any facet).
Formats are checked too: ``uuid`` by jsonschema, ``date-time`` and ``uri`` by the two small
checkers below (jsonschema needs extra packages for them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SPEC = Path(__file__).with_name("openlineage_spec")
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@cache
def schemas() -> Registry:
    """Every vendored schema by its ``$id``."""
    resources = []
    for path in sorted(SPEC.rglob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _formats() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parsed = datetime.fromisoformat(value)
        return "T" in value.upper() and parsed.tzinfo is not None

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or bool(_SCHEME.match(value))

    return checker


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=schemas(), format_checker=_formats())


def problems(event: dict[str, Any]) -> list[str]:
    """Everything in ``event`` that breaks the specification (empty: it is valid)."""
    found = [f"event: {error.message} at {list(error.absolute_path)}" for error in
             _validator(f"{CORE}#/$defs/RunEvent").iter_errors(event)]  # fmt: skip
    for where, facet in facets(event):
        url = facet.get("_schemaURL")
        schema_id = str(url).partition("#")[0]
        if schema_id not in schemas():
            found.append(f"{where}: its _schemaURL {url} names no vendored schema")
            continue
        found += [f"{where}: {error.message}" for error in _validator(str(url)).iter_errors(facet)]
    return found


def facets(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every facet of ``event``, with where it is (``run.facets.parent``, ``outputs[0].outputFacets.x``...)."""
    for owner in ("run", "job"):
        for name, facet in (event.get(owner, {}).get("facets") or {}).items():
            yield f"{owner}.facets.{name}", facet
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for index, dataset in enumerate(event.get(side) or []):
            for group in ("facets", extra):
                for name, facet in (dataset.get(group) or {}).items():
                    yield f"{side}[{index}].{group}.{name}", facet
