"""The wizard's answer parsing and file writing, without a terminal or Spark."""

from __future__ import annotations

import pytest

from etl_cli.authoring.questions import Answers, Question, flatten, load_answers_file, parse_assignments
from etl_cli.authoring.recipes import assignments, function_calls
from etl_cli.authoring.writer import _yaml
from etl_cli.errors import UsageError
from etl_cli.plugins.transforms.aggregate import AGGREGATE_FUNCTIONS


def test_aggregations_are_typed_as_name_equals_function_of_column() -> None:
    parse = function_calls(AGGREGATE_FUNCTIONS, "aggregate")
    assert parse("revenue=sum(amount), orders=count(), top = max(coalesce(a, b))") == {
        "revenue": {"function": "sum", "column": "amount"},
        "orders": {"function": "count"},
        "top": {"function": "max", "column": "coalesce(a, b)"},
    }


def test_an_unknown_aggregate_function_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown aggregate function 'total'; known: count, count_distinct"):
        function_calls(AGGREGATE_FUNCTIONS, "aggregate")("revenue=total(amount)")


def test_derived_columns_are_separated_by_semicolons_and_keep_equals_signs() -> None:
    assert assignments("paid = status = 'paid'; cents = CAST(amount * 100 AS INT)") == {
        "paid": "status = 'paid'",
        "cents": "CAST(amount * 100 AS INT)",
    }


def test_an_answers_file_is_flattened_to_question_keys_and_on_stays_a_key() -> None:
    answers = load_answers_file(
        "name: x\njoin: {on: [id], source: {type: csv}}\naggregate:\n  aggregations: {n: {function: count}}\n", "f"
    )
    assert answers == {
        "name": "x",
        "join.on": ["id"],
        "join.source.type": "csv",
        "aggregate.aggregations": {"n": {"function": "count"}},
    }
    assert flatten({"sink": {"options": {"compression": "zstd"}}}) == {"sink.options": {"compression": "zstd"}}


def test_answer_options_need_key_equals_value() -> None:
    assert parse_assignments(["filter.condition=a = 1"]) == {"filter.condition": "a = 1"}
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_assignments(["no-equals-sign"])


def test_given_answers_are_checked_like_typed_ones() -> None:
    question = Question("sink.mode", "Mode", "select", choices=(), default="overwrite")
    answers = Answers({"name": "ok"})
    assert answers.ask(Question("name", "Name")) == "ok"
    assert answers.ask(question) == "overwrite", "a default answers a question nobody answered"
    listed = Question("keys", "Keys", "list")
    assert Answers({"keys": "a, b"}).ask(listed) == ["a", "b"]
    with pytest.raises(UsageError, match="answer name: an answer is needed"):
        Answers({"name": ""}).ask(Question("name", "Name"))


def test_missing_and_unasked_answers_are_both_reported() -> None:
    answers = Answers({"typo.key": 1})
    answers.ask(Question("name", "Pipeline name"))
    with pytest.raises(UsageError, match=r"missing answers .*: name"):
        answers.finish()
    answers.missing.clear()
    with pytest.raises(UsageError, match=r"not asked: typo\.key"):
        answers.finish()


def test_written_yaml_indents_lists_keeps_short_lists_on_one_line_and_spaces_sections() -> None:
    text = _yaml(
        {
            "name": "p",
            "transforms": [
                {"name": "t", "type": "aggregate", "inputs": ["a"], "aggregations": {"n": {"function": "count"}}}
            ],
        }
    )
    assert text == (
        "name: p\n\ntransforms:\n  - name: t\n    type: aggregate\n    inputs: [a]\n"
        "    aggregations:\n      n: {function: count}\n"
    )
