"""The wizard's answers without a terminal library: the answers file it saves, going back a step, warnings, the
template choices that fit, and template descriptions read whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.authoring.questions import Answers, Question, answers_text, load_answers_file
from etl_cli.authoring.templates import load_template, option_schema
from etl_cli.errors import UsageError
from etl_cli.plugins.registry import REGISTRY


class Typist:
    """Answers questions from a list of raw answers, as a person at a terminal would; keeps what it was shown."""

    def __init__(self, *typed: Any) -> None:
        self.typed = list(typed)
        self.asked: list[Question] = []
        self.told: list[str] = []

    def ask(self, question: Question) -> Any:
        self.asked.append(question)
        return self.typed.pop(0)

    def warn(self, text: str) -> None:
        self.told.append(text)


def test_the_saved_answers_file_reads_back_as_the_same_answers() -> None:
    answers = {
        "name": "p",
        "params.input_path": "data/orders.csv",
        "params.mode": "overwrite",
        "transforms": ["aggregate"],
        "aggregate.group_by": "day",
        "aggregate.aggregations": {"n": {"function": "count"}},
        "source.options": {"sep": ";"},
        "check.not_null.columns": ["id"],
        "secrets.save": True,
    }
    assert load_answers_file(answers_text(answers), "saved.yaml") == answers


def test_a_typed_secret_is_never_kept_among_the_answers_to_save() -> None:
    answers = Answers({}, Typist("p", "hunter2"))
    answers.ask(Question("name", "Name"))
    answers.ask(Question("params.password", "password", "secret", required=False))
    assert answers.recorded == {"name": "p"}


def test_going_back_replays_the_earlier_answers_and_asks_the_last_one_again_filled_in() -> None:
    typist = Typist("first", "second", Question.back, "second-fixed", "third")
    answers = Answers({}, typist)

    def interview() -> list[Any]:
        return [answers.ask(Question(key, key)) for key in ("a", "b", "c")]

    assert answers.interview(interview) == ["first", "second-fixed", "third"]
    assert [(q.key, q.default) for q in typist.asked] == [("a", None), ("b", None), ("c", None), ("b", "second"),
                                                          ("c", None)]  # fmt: skip


def test_going_back_from_the_first_question_says_there_is_nothing_before_it() -> None:
    typist = Typist(Question.back, "x")
    answers = Answers({}, typist)
    assert answers.interview(lambda: answers.ask(Question("a", "a"))) == "x"
    assert typist.told == ["nothing to go back to: no question was asked before this one"]


def test_a_refused_given_answer_is_asked_again_at_a_terminal_and_fails_without_one() -> None:
    choice = Question("mode", "Mode", "select", default="overwrite", check=lambda v: None if v == "ok" else "say ok")
    typist = Typist("ok")
    assert Answers({"mode": "bad"}, typist).ask(choice) == "ok"
    assert typist.told == ["answer mode: say ok"]
    with pytest.raises(UsageError, match="answer mode: say ok"):
        Answers({"mode": "bad"}).ask(choice)


def test_a_warning_of_an_accepted_answer_is_told_at_a_terminal_and_kept_without_one() -> None:
    question = Question("path", "Path", warning=lambda v: f"{v} is not there yet")
    typist = Typist("in.csv")
    assert Answers({}, typist).ask(question) == "in.csv"
    assert typist.told == ["warning: path: in.csv is not there yet"]
    scripted = Answers({"path": "in.csv"})
    assert scripted.ask(question) == "in.csv"
    assert scripted.warnings == ["path: in.csv is not there yet"]


def test_a_template_type_parameter_offers_only_the_types_its_stage_can_be() -> None:
    template = load_template(Path(__file__).parents[2] / "templates" / "files_to_parquet.yaml", REGISTRY)
    assert template is not None
    (input_format,) = [p for p in template.params if p.name == "input_format"]
    assert input_format.use is not None
    assert option_schema(REGISTRY, input_format.use)["enum"] == ["csv", "delta", "json", "orc", "parquet"]


def test_a_template_without_a_description_key_is_described_by_its_whole_first_comment_paragraph(
    tmp_path: Path,
) -> None:
    (tmp_path / "t.yaml").write_text(
        "# Template: copy a table from one database into another by upsert (insert new rows, update\n"
        "# the rows whose key exists), in one transaction per run.\n"
        "#\n"
        "# A pipeline uses it with: ...\n"
        "sources: [{name: input, type: csv, path: x}]\n"
    )
    template = load_template(tmp_path / "t.yaml", REGISTRY)
    assert template is not None
    assert template.description == (
        "Template: copy a table from one database into another by upsert (insert new rows, update the rows whose "
        "key exists), in one transaction per run."
    )


def test_a_warning_is_said_once_even_when_going_back_replays_its_answer() -> None:
    typist = Typist("b1", Question.back, "b2", "c")
    answers = Answers({"path": "in.csv"}, typist)

    def interview() -> list[Any]:
        path = answers.ask(Question("path", "Path", warning=lambda v: "not there"))
        return [path, answers.ask(Question("b", "b")), answers.ask(Question("c", "c"))]

    assert answers.interview(interview) == ["in.csv", "b2", "c"]
    assert typist.told == ["warning: path: not there"]
