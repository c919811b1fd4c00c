"""What ``SchemaChecker`` says about each kind of JSON Schema error: its code, message, hint and place.

Every branch of ``SchemaChecker._diagnose`` is pinned through ``SchemaChecker.check`` on a small YAML document
(file ``f.yaml``) and a schema made for it: unknown and missing keys, wrong types, invalid values (enum and
const), invalid names, patterns with their own message, list lengths, ``not`` and the generic fallback. A few
cases go through the real pipeline schema too, so the messages users read are the ones pinned here. How a wrong
value is shown (a text quoted, a date as written, cut to 57 characters and "..." past 60) and how ``describe_path``
names a place (stages by name, an index past its list, a number key of a mapping, keys under a text, the whole
document) are pinned too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.config.nodes import to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.model.check import check_pipeline
from etl_cli.model.validation import SchemaChecker, describe_path
from tests.unit.helpers import make_project, said

Said = tuple[str, str, str | None, int, int]


def checked(schema: dict[str, Any], text: str) -> list[Said]:
    """What checking the YAML ``text`` against ``schema`` reports: code, message, hint, line, column of each."""
    document, provenance = to_plain(load_yaml_text(text, "f.yaml"))
    return [said(d) for d in SchemaChecker(schema).check(document, provenance)]


def pipeline_errors(tmp_path: Path, text: str) -> list[Said]:
    """What validating the pipeline ``text`` (``p/pipeline.yaml``) reports, through the real pipeline schema."""
    make_project(tmp_path, {"p/pipeline.yaml": text, "a.csv": "id\n1\n"})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    return [said(d) for d in diagnostics if d.severity == "error"]


# unknown keys (additionalProperties)


def test_an_unknown_key_is_reported_at_the_key_with_a_did_you_mean() -> None:
    schema = {
        "type": "object",
        "properties": {"m": {"type": "object", "additionalProperties": False, "properties": {"path": {}, "mode": {}}}},
    }
    assert checked(schema, "m:\n  pth: x\n") == [
        ("unknown-key", "unknown key 'pth' in m", "did you mean 'path'?", 2, 3)
    ]


def test_an_unknown_key_with_no_close_match_lists_every_allowed_key() -> None:
    schema = {"type": "object", "additionalProperties": False, "properties": {"alpha": {}, "beta": {}}}
    assert checked(schema, "alpha: 1\nzzzzzz: 2\n") == [
        ("unknown-key", "unknown key 'zzzzzz' in the pipeline", "allowed keys: alpha, beta", 2, 1)
    ]


def test_an_unknown_key_where_no_key_is_allowed_lists_none() -> None:
    assert checked({"type": "object", "additionalProperties": False}, "alpha: 1\n") == [
        ("unknown-key", "unknown key 'alpha' in the pipeline", "allowed keys: ", 1, 1)
    ]


# missing keys (required)


def test_a_missing_key_is_reported_at_its_mappings_key_with_the_keys_description() -> None:
    schema = {
        "type": "object",
        "properties": {
            "m": {"type": "object", "required": ["url"], "properties": {"url": {"description": "The address."}}}
        },
    }
    assert checked(schema, "x: 0\nm:\n  a: 1\n") == [
        ("missing-key", "missing required key 'url' in m", "The address.", 2, 1)
    ]


def test_a_missing_key_without_a_description_has_no_hint() -> None:
    schema = {"type": "object", "required": ["sinks"], "properties": {"sources": {}}}
    assert checked(schema, "sources: []\n") == [
        ("missing-key", "missing required key 'sinks' in the pipeline", None, 1, 1)
    ]


# wrong types


def test_a_wrong_type_names_the_type_in_words_and_the_value_at_the_value() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string"}, "b": {"type": "boolean"}}}
    assert checked(schema, "s: 4\nb: 'yes'\n") == [
        ("wrong-type", "s must be a string, got 4", None, 1, 4),
        ("wrong-type", "b must be true or false, got 'yes'", None, 2, 4),
    ]


def test_a_wrong_type_with_several_allowed_types_names_them_all() -> None:
    schema = {"type": "object", "properties": {"n": {"type": ["integer", "null"]}}}
    assert checked(schema, "n: abc\n") == [("wrong-type", "n must be an integer or empty, got 'abc'", None, 1, 4)]


def test_a_wrong_type_in_a_list_of_stages_names_the_stage() -> None:
    schema = {
        "type": "object",
        "properties": {
            "sources": {"type": "array", "items": {"type": "object", "properties": {"options": {"type": "object"}}}}
        },
    }
    assert checked(schema, "sources:\n  - name: a\n    options: [1, 2]\n") == [
        ("wrong-type", "sources.a.options must be a mapping (key: value), got [1, 2]", None, 3, 14)
    ]


def test_a_wrong_value_is_shown_as_written_and_cut_past_60_characters() -> None:
    # a text is quoted (its quotes count); a date as written, not as Python's repr of it
    schema = {"type": "object", "additionalProperties": {"type": "integer"}}
    sixty, sixty_one = "x" * 58, "y" * 59  # quoted: 60 and 61 characters
    found = checked(schema, f"a: 2024-01-01\nb: {sixty}\nc: {sixty_one}\n")
    assert sorted(found, key=lambda said: said[3]) == [
        ("wrong-type", "a must be an integer, got 2024-01-01", None, 1, 4),
        ("wrong-type", f"b must be an integer, got '{sixty}'", None, 2, 4),
        ("wrong-type", f"c must be an integer, got '{'y' * 56}...", None, 3, 4),
    ]


# invalid values (enum, const)


def test_an_invalid_value_lists_the_choices_with_a_did_you_mean() -> None:
    schema = {"type": "object", "properties": {"mode": {"enum": ["append", "overwrite"]}}}
    assert checked(schema, "mode: apend\n") == [
        (
            "invalid-value",
            "invalid value 'apend' for mode; expected one of: append, overwrite",
            "did you mean 'append'?",
            1,
            7,
        )
    ]


def test_an_invalid_value_that_is_not_a_string_gets_no_did_you_mean() -> None:
    schema = {"type": "object", "properties": {"e": {"enum": ["10", "100"]}}}
    assert checked(schema, "e: 10\n") == [
        ("invalid-value", "invalid value 10 for e; expected one of: 10, 100", None, 1, 4)
    ]


def test_a_value_other_than_a_constant_names_the_constant() -> None:
    schema = {"type": "object", "properties": {"type": {"const": "pushgateway"}}}
    assert checked(schema, "type: pushgatway\n") == [
        (
            "invalid-value",
            "invalid value 'pushgatway' for type; expected one of: pushgateway",
            "did you mean 'pushgateway'?",
            1,
            7,
        )
    ]


def test_an_unknown_stage_type_in_a_pipeline_names_the_choices(tmp_path: Path) -> None:
    found = pipeline_errors(
        tmp_path,
        "sources:\n  - {name: a, type: csvv, path: a.csv}\nsinks:\n  - {name: out, type: parquet, input: a, path: o}\n",
    )
    code, message, hint, line, col = found[0]
    assert (code, hint, line, col) == ("invalid-value", "did you mean 'csv'?", 2, 21)
    assert (
        message.startswith("invalid value 'csvv' for sources.a.type; expected one of: ")
        and "one of: csv, delta, " in message
    )


# names (pattern on a "name" key)


def test_an_invalid_name_is_reported_at_the_name_with_the_naming_rule() -> None:
    schema = {
        "type": "object",
        "properties": {
            "sources": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}},
                },
            }
        },
    }
    assert checked(schema, "sources:\n  - name: 1abc\n") == [
        (
            "invalid-name",
            "sources.1abc.name '1abc' is not a valid name",
            "use letters, digits and underscores, starting with a letter",
            2,
            11,
        )
    ]


def test_a_pattern_on_a_key_that_is_not_a_name_is_not_about_naming() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[a-z]+$"}}}},
    }
    assert checked(schema, "name:\n  code: A1\n") == [
        ("schema", "name.code: 'A1' does not match '^[a-z]+$'", None, 2, 9)
    ]


def test_an_invalid_pipeline_stage_name_is_reported_at_it(tmp_path: Path) -> None:
    found = pipeline_errors(
        tmp_path,
        "sources:\n  - {name: 1a, type: csv, path: a.csv}\nsinks:\n  - {name: o, type: parquet, input: 1a, path: o}\n",
    )
    assert found[0] == (
        "invalid-name",
        "sources.1a.name '1a' is not a valid name",
        "use letters, digits and underscores, starting with a letter",
        2,
        12,
    )


# patterns with their own message


def test_a_pattern_with_its_own_message_says_it_and_hints_the_description() -> None:
    schema = {
        "type": "object",
        "properties": {
            "cron": {
                "type": "string",
                "pattern": "^[0-9*]",
                "patternErrorMessage": "not a cron expression",
                "description": "Five cron fields.",
            }
        },
    }
    assert checked(schema, "cron: daily\n") == [
        ("invalid-value", "cron: 'daily' is not a cron expression", "Five cron fields.", 1, 7)
    ]


def test_a_pattern_with_its_own_message_and_no_description_has_no_hint() -> None:
    schema = {
        "type": "object",
        "properties": {
            "cron": {"type": "string", "pattern": "^[0-9*]", "patternErrorMessage": "not a cron expression"}
        },
    }
    assert checked(schema, "cron: daily\n") == [("invalid-value", "cron: 'daily' is not a cron expression", None, 1, 7)]


# list lengths


def test_too_few_items_say_at_least_how_many() -> None:
    schema = {"type": "object", "properties": {"keys": {"type": "array", "minItems": 2}}}
    assert checked(schema, "x: 1\nkeys: [a]\n") == [("wrong-count", "keys takes at least 2 item(s), has 1", None, 2, 7)]


def test_too_many_items_say_at_most_how_many() -> None:
    schema = {"type": "object", "properties": {"keys": {"type": "array", "maxItems": 1}}}
    assert checked(schema, "x: 1\nkeys: [a, b, c]\n") == [
        ("wrong-count", "keys takes at most 1 item(s), has 3", None, 2, 7)
    ]


# values a "not" forbids


def test_a_forbidden_string_is_not_allowed_here_with_the_description() -> None:
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string", "not": {"enum": ["job"]}, "description": "A label of your own."}},
    }
    assert checked(schema, "label: job\n") == [
        ("invalid-value", "label: 'job' is not allowed here", "A label of your own.", 1, 8)
    ]


def test_a_forbidden_string_without_a_description_has_no_hint() -> None:
    schema = {"type": "object", "properties": {"label": {"not": {"enum": ["job"]}}}}
    assert checked(schema, "label: job\n") == [("invalid-value", "label: 'job' is not allowed here", None, 1, 8)]


# everything else


def test_any_other_error_keeps_jsonschemas_message_and_hints_the_description() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "description": "How many."}}}
    assert checked(schema, "x: 1\nn: 0\n") == [("schema", "n: 0 is less than the minimum of 1", "How many.", 2, 4)]


def test_any_other_error_without_a_description_has_no_hint() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    assert checked(schema, "n: 0\n") == [("schema", "n: 0 is less than the minimum of 1", None, 1, 4)]


def test_a_false_schema_is_reported_as_a_schema_error() -> None:
    assert checked({"type": "object", "properties": {"x": False}}, "x: 1\n") == [
        ("schema", "the pipeline: False schema does not allow 1", None, 1, 1)
    ]


# describe_path: how a place in the document is named


@pytest.mark.parametrize(
    ("document", "path", "named"),
    [
        pytest.param({"sources": [{"name": "raw"}]}, ("sources", 0, "path"), "sources.raw.path", id="a-stage-by-name"),
        pytest.param({"sources": [{"name": "raw"}]}, ("sources", 1), "sources.[1]", id="an-index-past-the-list"),
        pytest.param({"sources": []}, ("sources", 0, "path"), "sources.[0].path", id="an-index-of-an-empty-list"),
        pytest.param({"vars": {7: {"name": "x"}}}, ("vars", 7), "vars.7", id="a-number-key-of-a-mapping"),
        pytest.param({"path": "in.csv"}, ("path", "deeper"), "path.deeper", id="a-key-under-a-text"),
        pytest.param({}, (), "the pipeline", id="the-whole-document"),
    ],
)
def test_a_place_is_named_by_its_keys_and_stage_names(
    document: dict[Any, Any], path: tuple[str | int, ...], named: str
) -> None:
    assert describe_path(document, path) == named


# one of several shapes (oneOf, anyOf)

SHAPES = [{"type": "object", "properties": {"times": {"type": "integer"}}}, {"type": "integer"}]


@pytest.mark.parametrize("keyword", ["oneOf", "anyOf"])
def test_a_value_of_no_allowed_shape_is_told_the_shallowest_reason_once(keyword: str) -> None:
    # the mapping branch fails deeper (at retry.times) and comes first: the branch failing at retry itself is said
    schema = {"type": "object", "properties": {"retry": {keyword: SHAPES}}}
    assert checked(schema, "x: 1\nretry: {times: x}\n") == [
        ("wrong-type", "retry must be an integer, got {'times': 'x'}", None, 2, 8)
    ]


def test_a_value_matching_several_shapes_of_a_one_of_keeps_jsonschemas_message() -> None:
    schema = {"type": "object", "properties": {"n": {"oneOf": [{"type": "integer"}, {"minimum": 0}]}}}
    assert checked(schema, "n: 3\n") == [
        ("schema", "n: 3 is valid under each of {'minimum': 0}, {'type': 'integer'}", None, 1, 4)
    ]
