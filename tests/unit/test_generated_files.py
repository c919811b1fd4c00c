"""The published JSON Schema and docs/reference.md are regenerated whenever a plug-in changes.

Both are built in this process (what ``scripts/gen_reference.py --check`` compares, without its subprocess), so
that mutation testing (scripts/mutation.sh) sees which schema builders of the model these tests reach.
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

from etl_cli.app import registry
from etl_cli.model import lineage
from etl_cli.model.schema import SCHEMA_FILE, schema_json
from tests.clihelp import REPO

STALE = "out of date: run python scripts/gen_reference.py"


def _gen_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", REPO / "scripts" / "gen_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_published_schema_is_the_one_the_plugins_build() -> None:
    assert schema_json(registry()) == SCHEMA_FILE.read_text(encoding="utf-8"), f"{SCHEMA_FILE} is {STALE}"


def test_the_lineage_transport_schema_is_the_published_one() -> None:
    # LINEAGE_SCHEMA is built once, when etl_cli.model.lineage is imported: build its transport part again here
    published = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["properties"]["lineage"]["properties"]
    assert lineage._transport_schema() == published["transport"]
    assert [branch["if"]["properties"]["type"]["const"] for branch in published["transport"]["allOf"]] == [
        "http",
        "kafka",
        "file",
        "console",
    ]


def test_the_reference_is_generated_from_that_schema() -> None:
    gen = _gen_reference()
    assert gen.REFERENCE.read_text(encoding="utf-8") == gen.reference_markdown(), f"{gen.REFERENCE} is {STALE}"
