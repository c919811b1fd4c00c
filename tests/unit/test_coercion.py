"""Values are coerced to the type the schema asks for."""

from __future__ import annotations

from etl_cli.config.nodes import NodeInfo, Provenance
from etl_cli.errors import Location
from etl_cli.model.coerce import coerce_document, coerce_value

SCHEMA = {
    "type": "object",
    "properties": {
        "port": {"type": "integer"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "country": {"type": "string"},
        "items": {"type": "array", "items": {"type": "integer"}},
        "conf": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
    },
}


def test_interpolated_strings_become_numbers_and_booleans() -> None:
    doc = {"port": "5432", "ratio": "0.5", "flag": "true", "items": ["1", "2"]}
    assert coerce_document(doc, SCHEMA, Provenance()) == {"port": 5432, "ratio": 0.5, "flag": True, "items": [1, 2]}


def test_plain_yaml_word_becomes_the_string_that_was_written() -> None:
    loc = Location("f.yaml", 1, 1)
    provenance = Provenance({("country",): NodeInfo(loc, loc, "NO", False)})
    assert coerce_document({"country": False}, SCHEMA, provenance) == {"country": "NO"}


def test_a_string_that_is_not_a_number_is_left_for_validation_to_report() -> None:
    assert coerce_value("54x", {"type": "integer"}, None) == "54x"


def test_free_form_values_allowing_strings_stay_as_written() -> None:
    assert coerce_document({"conf": {"a": "8"}}, SCHEMA, Provenance()) == {"conf": {"a": "8"}}
