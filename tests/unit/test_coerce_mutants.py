"""How values are coerced to the type the schema asks for (etl_cli/model/coerce.py).

When a value written for a setting that takes text among other types is kept as YAML read it, and when it goes
back to the text the user wrote (``coerce_value`` and its ``_matches``): a value of one of the other allowed types
(a boolean, an integer, a number, null) is kept; any other value (a float where only an integer is allowed, a
boolean where only numbers are, null where it is not allowed, a type the table does not know) becomes its written
text; a mapping or a list is never replaced by its text.

What a string (an interpolated value) becomes (``_from_string``): an integer only from integer digits, a number
from a decimal or exponent (an integer when written as one, else a float), a boolean only where booleans are
allowed, else the string as written, for validation to report.

Which subschema each value is coerced by (``coerce_document`` and ``SchemaWalker.resolve``): the pipeline's own
schema (a stage's options by its ``type``, through ``$ref`` and ``allOf``/``if``/``then``), a mapping's
``additionalProperties`` for keys it does not name, and, in a hand-written schema, branches conditioned on
something other than ``type`` being skipped and a chosen branch being dispatched again. No files, no JVM."""

from __future__ import annotations

from typing import Any

import pytest

from etl_cli.app import registry
from etl_cli.config.nodes import Provenance
from etl_cli.model.coerce import coerce_document, coerce_value
from etl_cli.model.schema import build_schema


def typed(value: Any) -> Any:
    """``value`` with the type of every scalar in it, so that ``5 == 5.0 == True`` do not pass for each other."""
    if isinstance(value, dict):
        return {key: typed(child) for key, child in value.items()}
    if isinstance(value, list):
        return [typed(child) for child in value]
    return (value, type(value).__name__)


@pytest.mark.parametrize(
    ("value", "types", "raw", "expected"),
    [
        pytest.param(True, ["string", "boolean"], "yes", True, id="a-boolean-where-booleans-are-allowed-is-kept"),
        pytest.param(5, ["string", "integer"], "05", 5, id="an-integer-where-integers-are-allowed-is-kept"),
        pytest.param(1.5, ["string", "integer"], "1.50", "1.50", id="a-float-where-only-integers-are-is-text"),
        pytest.param(True, ["string", "integer"], "on", "on", id="a-boolean-is-no-integer"),
        pytest.param(2.5, ["string", "number"], "2.50", 2.5, id="a-float-where-numbers-are-allowed-is-kept"),
        pytest.param(7, ["string", "number"], "007", 7, id="an-integer-is-a-number"),
        pytest.param(False, ["string", "number"], "off", "off", id="a-boolean-is-no-number"),
        pytest.param(None, ["string", "number"], "~", "~", id="null-where-it-is-not-allowed-is-text"),
        pytest.param(None, ["string", "null"], "~", None, id="null-where-null-is-allowed-is-kept"),
        pytest.param(5, ["string", "null"], "5", "5", id="an-integer-where-only-null-is-allowed-is-text"),
        pytest.param(5, ["string", "date"], "5", "5", id="a-type-without-a-check-matches-nothing"),
        pytest.param({"a": 1}, ["string", "object"], "{a: 1}", {"a": 1}, id="a-mapping-is-never-its-text"),
        pytest.param([1], ["string", "array"], "[1]", [1], id="a-list-is-never-its-text"),
    ],
)
def test_a_non_text_value_is_kept_when_its_type_is_allowed_else_it_is_the_text_written(
    value: Any, types: list[str], raw: str, expected: Any
) -> None:
    coerced = coerce_value(value, {"type": types}, raw)
    assert (coerced, type(coerced)) == (expected, type(expected))


@pytest.mark.parametrize(
    ("text", "types", "expected"),
    [
        pytest.param("5", ["number"], 5, id="an-integer-written-where-numbers-are-allowed-is-an-integer"),
        pytest.param(" -12 ", ["number"], -12, id="a-signed-integer-with-spaces-is-an-integer"),
        pytest.param("5.0", ["number"], 5.0, id="a-whole-decimal-stays-a-float"),
        pytest.param("1e3", ["number"], 1000.0, id="a-whole-exponent-stays-a-float"),
        pytest.param("0.25", ["number"], 0.25, id="a-decimal-is-a-float"),
        pytest.param("1.5", ["integer"], "1.5", id="a-decimal-where-only-integers-are-allowed-stays-text"),
        pytest.param("1.5", ["integer", "boolean"], "1.5", id="a-decimal-is-no-integer-nor-boolean"),
        pytest.param("1", ["boolean"], True, id="one-where-only-booleans-are-allowed-is-true"),
        pytest.param("Off", ["boolean"], False, id="off-in-any-case-is-false"),
        pytest.param("yes", ["number"], "yes", id="a-yaml-boolean-word-where-numbers-are-allowed-stays-text"),
        pytest.param("on", ["integer"], "on", id="a-yaml-boolean-word-where-integers-are-allowed-stays-text"),
        pytest.param("maybe", ["boolean"], "maybe", id="a-word-that-is-no-boolean-stays-text"),
        pytest.param("5", ["string", "integer"], "5", id="text-where-text-is-allowed-stays-text"),
    ],
)
def test_a_string_becomes_the_number_or_boolean_it_spells_only_where_that_type_is_allowed(
    text: str, types: list[str], expected: Any
) -> None:
    assert typed(coerce_value(text, {"type": types}, None)) == typed(expected)


def test_the_pipeline_schema_coerces_each_stage_option_by_the_stage_type() -> None:
    document = {
        "sources": [
            {"name": "db", "type": "jdbc", "fetch_size": "500", "num_partitions": "4"},
            {"name": "k", "type": "kafka", "fetch_size": "500", "max_offsets_per_trigger": "1000"},
        ],
        "sinks": [{"name": "out", "type": "csv", "input": "db", "header": "yes", "coalesce": "1"}],
    }
    coerced = coerce_document(document, build_schema(registry()), Provenance())
    assert typed(coerced) == typed(
        {
            "sources": [
                {"name": "db", "type": "jdbc", "fetch_size": 500, "num_partitions": 4},
                # kafka has no fetch_size: left for validation to report as written
                {"name": "k", "type": "kafka", "fetch_size": "500", "max_offsets_per_trigger": 1000},
            ],
            "sinks": [{"name": "out", "type": "csv", "input": "db", "header": True, "coalesce": 1}],
        }
    )


def test_keys_a_mapping_does_not_name_are_coerced_by_its_additional_properties() -> None:
    schema = {
        "type": "object",
        "properties": {
            "limits": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "additionalProperties": {"type": "integer"},
            },
            "closed": {"type": "object", "additionalProperties": False},
        },
    }
    document = {"limits": {"name": "7", "rows": "100", "files": "3"}, "closed": {"rows": "100"}}
    assert typed(coerce_document(document, schema, Provenance())) == typed(
        {"limits": {"name": "7", "rows": 100, "files": 3}, "closed": {"rows": "100"}}
    )


#: stages dispatched on ``type`` through ``$ref``, after branches that are not conditioned on a ``type`` constant
#: (which are skipped); csv and parquet share a ``file`` definition that dispatches on ``type`` again
DISPATCH_SCHEMA: dict[str, Any] = {
    "$ref": "#/$defs/stage",
    "$defs": {
        "stage": {
            "type": "object",
            "properties": {"type": {"type": "string"}, "n": {"type": "string"}},
            "allOf": [
                {"required": ["type"]},
                {"if": {"required": ["mode"]}, "then": {"properties": {"n": {"type": "number"}}}},
                {"if": {"properties": {"mode": {"const": "x"}}}, "then": {"properties": {"n": {"type": "number"}}}},
                {"if": {"properties": {"type": {"enum": ["a"]}}}, "then": {"properties": {"n": {"type": "number"}}}},
                {"if": {"properties": {"type": {"const": "b"}}}, "then": {"properties": {"n": {"type": "boolean"}}}},
                {"if": {"properties": {"type": {"const": "a"}}}, "then": {"properties": {"n": {"type": "integer"}}}},
                {"if": {"properties": {"type": {"const": "csv"}}}, "then": {"$ref": "#/$defs/file"}},
                {"if": {"properties": {"type": {"const": "parquet"}}}, "then": {"$ref": "#/$defs/file"}},
            ],
        },
        "file": {
            "type": "object",
            "allOf": [
                {"if": {"properties": {"type": {"const": "csv"}}}, "then": {"properties": {"n": {"type": "boolean"}}}},
                {
                    "if": {"properties": {"type": {"const": "parquet"}}},
                    "then": {"properties": {"n": {"type": "integer"}}},
                },
            ],
        },
    },
}


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        pytest.param({"type": "a", "n": "1"}, {"type": "a", "n": 1}, id="the-branch-of-its-type-constant"),
        pytest.param({"type": "b", "n": "on"}, {"type": "b", "n": True}, id="another-type-another-branch"),
        pytest.param({"type": "z", "n": "1"}, {"type": "z", "n": "1"}, id="no-branch-the-base-schema"),
        pytest.param({"mode": "x", "n": "1"}, {"mode": "x", "n": "1"}, id="branches-not-on-type-are-skipped"),
        pytest.param({"type": "csv", "n": "1"}, {"type": "csv", "n": True}, id="a-shared-definition-dispatches-again"),
        pytest.param({"type": "parquet", "n": "1"}, {"type": "parquet", "n": 1}, id="by-the-same-type"),
    ],
)
def test_a_mapping_is_coerced_by_the_allof_branch_whose_if_fixes_its_type(
    stage: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert typed(coerce_document(stage, DISPATCH_SCHEMA, Provenance())) == typed(expected)
