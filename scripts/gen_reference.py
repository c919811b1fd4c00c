"""Regenerate the published JSON Schema and docs/reference.md from the registered plug-ins.

.venv/bin/python scripts/gen_reference.py          # write both files
.venv/bin/python scripts/gen_reference.py --check  # fail if either is out of date (CI)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from etl_cli.app import registry
from etl_cli.model.schema import SCHEMA_FILE, build_schema, schema_json
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def _type_text(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return " or ".join(kinds)
    if kinds == "array" and isinstance(schema.get("items"), dict) and schema["items"].get("type"):
        return f"list of {schema['items']['type']}"
    if kinds:
        return str(kinds)
    if "oneOf" in schema or "anyOf" in schema:
        return " or ".join(_type_text(s) for s in schema.get("oneOf", schema.get("anyOf", [])))
    return "any"


def _table(properties: dict[str, Any], required: list[str]) -> list[str]:
    lines = ["| key | type | required | description |", "|---|---|---|---|"]
    for key, sub in properties.items():
        description = str(sub.get("description", "")).replace("\n", " ").replace("|", "\\|")
        if "default" in sub:
            description += f" Default: `{json.dumps(sub['default'])}`."
        lines.append(f"| `{key}` | {_type_text(sub)} | {'yes' if key in required else ''} | {description} |")
    return lines


def reference_markdown() -> str:
    schema = build_schema(registry())
    out = [
        "# Pipeline reference",
        "",
        "Generated from the pipeline JSON Schema by `scripts/gen_reference.py`; do not edit by hand.",
        "The schema itself ships in the package as `etl_cli/model/pipeline.schema.json` (`etl-cli schema` prints it).",
        "",
        "## Top level",
        "",
        *_table(schema["properties"], schema.get("required", [])),
        "",
        "### `params`",
        "",
        "Each key of `params:` names a parameter, used as `${param:NAME}` and set with `--param NAME=VALUE`; "
        "its value is a mapping of these keys. See [orchestration.md](orchestration.md#parameters).",
        "",
        *_table(schema["properties"]["params"]["additionalProperties"]["properties"], []),
        "",
        "### `spark`",
        "",
        *_table(schema["properties"]["spark"]["properties"], []),
        "",
        "### `streaming`",
        "",
        "See [streaming.md](streaming.md).",
        "",
        *_table(schema["properties"]["streaming"]["properties"], []),
        "",
        "### `monitoring`",
        "",
        "See [observability.md](observability.md#live-endpoint).",
        "",
        *_table(schema["properties"]["monitoring"]["properties"], []),
        "",
        "### `tracing`",
        "",
        "See [observability.md](observability.md#traces).",
        "",
        *_table(schema["properties"]["tracing"]["properties"], []),
        "",
        "### `checkpoints`",
        "",
        "See [orchestration.md](orchestration.md#within-a-pipeline-stage-selection-and-checkpoints).",
        "",
        *_table(schema["properties"]["checkpoints"]["properties"], []),
    ]
    for kind in KINDS:
        out += ["", f"## {SECTION_OF_KIND[kind].capitalize()}", ""]
        for name in registry().types(kind):
            definition = schema["$defs"][f"{kind}.{name}"]
            out += [f"### {kind} `{name}`", "", definition.get("description", ""), ""]
            out += _table(definition["properties"], definition.get("required", []))
            out.append("")
    out += _quality_sections(schema)
    return "\n".join(out).rstrip() + "\n"


def _quality_sections(schema: dict[str, Any]) -> list[str]:
    """Checks (one table per type), retry, circuit_breaker and a stage's contract (see docs/quality.md)."""
    out = ["", "## Checks", "", "See [quality.md](quality.md) for how checks are evaluated.", ""]
    for name in registry().types("check"):
        definition = schema["$defs"][f"check.{name}"]
        out += [f"### check `{name}`", "", definition.get("description", ""), ""]
        out += _table(definition["properties"], definition.get("required", []))
        out.append("")
    contract = schema["$defs"]["source.csv"]["properties"]["contract"]
    out += ["## `contract` (sources and transforms)", "", contract["description"], ""]
    out += _table(contract["properties"], contract.get("required", []))
    for key, doc in (("retry", "retries.md"), ("circuit_breaker", "retries.md")):
        out += ["", f"## `{key}`", "", f"{schema['properties'][key]['description']} See [{doc}]({doc}).", ""]
        out += _table(schema["properties"][key]["properties"], [])
    out += ["", "## `dead_letter`", "", schema["properties"]["dead_letter"]["description"], ""]
    out.append("See [dead-letter.md](dead-letter.md); it takes the options of the sink type it names.")
    out += ["", "## `metrics`", "", schema["properties"]["metrics"]["description"], ""]
    for name in registry().types("metrics"):
        definition = schema["$defs"][f"metrics.{name}"]
        out += [f"### metrics `{name}`", "", definition.get("description", ""), ""]
        out += _table(definition["properties"], definition.get("required", []))
        out.append("")
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail if the generated files are out of date")
    args = parser.parse_args()
    wanted = {SCHEMA_FILE: schema_json(registry()), REFERENCE: reference_markdown()}
    stale = [p for p, text in wanted.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run python scripts/gen_reference.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
