"""Questions as data, and where their answers come from: flags, an answers file, or a person.

Every question has a dotted key (``params.input_path``, ``filter.condition``): the key in
an answers file (nested mappings are flattened) and in ``--answer KEY=VALUE``. Answers given
in advance are checked like typed ones; an unknown key is an error, so a typo never goes
unnoticed. A person may go back a step (:attr:`Question.back`); every answer but a secret is
recorded in the answers file format, so a session that ends invalid can be saved and re-run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, Protocol, TypeVar

import yaml
from jsonschema import Draft202012Validator

from etl_cli.config.nodes import to_plain
from etl_cli.config.yaml_loader import YamlFileError, load_yaml_text
from etl_cli.errors import UsageError
from etl_cli.model.credentials import is_credential_key

QuestionKind = Literal["text", "select", "checkbox", "confirm", "secret", "list"]
Check = Callable[[Any], str | None]
T = TypeVar("T")


@dataclass(frozen=True)
class Choice:
    """One option of a select or checkbox question."""

    value: str
    title: str


@dataclass(frozen=True)
class Question:
    """One thing the wizard needs to know."""

    key: str
    prompt: str
    kind: QuestionKind = "text"
    choices: tuple[Choice, ...] = ()
    default: Any = None
    required: bool = True
    help: str | None = None
    #: checks a parsed answer: an error message, or None when it is fine
    check: Check | None = None
    #: turns typed text into the answer's value (lists, numbers, mappings)
    parse: Callable[[str], Any] | None = None
    #: an answer that shows the form, never taken as one: a person has to type their own
    example: str | None = None
    #: values to offer for completion (the columns of the stage read); other answers are allowed
    suggestions: tuple[str, ...] = ()
    #: what may be wrong with an accepted answer (an input not there yet): said, never refused
    warning: Check | None = None

    #: the answer a person gives to go back to the question before
    back: ClassVar[str] = "<"

    def value_of(self, raw: Any) -> Any:
        """The answer's value from what was typed or given (text is parsed, structures are kept)."""
        if isinstance(raw, str) and self.parse is not None:
            return self.parse(raw)
        if self.kind in ("list", "checkbox") and isinstance(raw, str):
            return split_list(raw)
        return raw

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not an acceptable answer, or None."""
        if value in (None, "", [], {}):
            if not self.required:
                return None
            example = f" ({self.example} is an example, not a default)" if self.example else ""
            return f"an answer is needed{example}"
        if self.kind == "select" and self.choices and value not in {c.value for c in self.choices}:
            return f"choose one of: {', '.join(c.value for c in self.choices)}"
        if self.kind == "checkbox" and self.choices:
            unknown = [v for v in value if v not in {c.value for c in self.choices}]
            if unknown:
                return f"unknown choice {unknown[0]!r}; choose from: {', '.join(c.value for c in self.choices)}"
        return self.check(value) if self.check is not None else None


class Asker(Protocol):
    """Asks a person (a terminal UI implements it)."""

    def ask(self, question: Question) -> Any:
        """What the person answered, as typed (text) or chosen; :attr:`Question.back` to go back a step."""

    def warn(self, text: str) -> None:
        """Tell the person about a refused given answer or an accepted answer's warning."""


class GoBack(Exception):
    """The person asked to go back a step; the interview is replayed up to the question before."""


@dataclass
class Answers:
    """Answers in advance (``given``), else from ``asker``, else the default; records what is missing.

    ``recorded`` keeps every answer the interview used, as given or typed (secrets excepted), in the
    answers file format; ``typed`` the person's answers, replayed when they go back a step.
    """

    given: dict[str, Any]
    asker: Asker | None = None
    missing: list[Question] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    recorded: dict[str, Any] = field(default_factory=dict)
    typed: dict[str, Any] = field(default_factory=dict)
    #: warnings of accepted answers when nobody is asked (a person is told at once)
    warnings: list[str] = field(default_factory=list)
    _revisit: tuple[str, Any] | None = None
    #: the warnings said so far: a replay after going back does not say them again
    _said: set[str] = field(default_factory=set)

    def interview(self, conversation: Callable[[], T]) -> T:
        """Run ``conversation`` (which asks through :meth:`ask`), replaying it each time the person goes back."""
        while True:
            try:
                return conversation()
            except GoBack:
                self._step_back()

    def ask(self, question: Question) -> Any:
        if question.key in self.given:
            self.used.add(question.key)
        if question.key in self.typed:
            return self._accept(question, self.typed[question.key])
        if question.key in self.given:
            raw = self.given[question.key]
            problem = _problem(question, raw)
            if problem is None:
                return self._accept(question, raw)
            if self.asker is None:
                raise UsageError(f"answer {question.key}: {problem}", hint=question.help)
            self.asker.warn(f"answer {question.key}: {problem}")
        if self.asker is not None:
            return self._ask_person(self.asker, question)
        if question.default is not None or not question.required:
            return question.default
        self.missing.append(question)
        return None

    def _ask_person(self, asker: Asker, question: Question) -> Any:
        """Ask until the answer is accepted, with the earlier answer filled in when the person came back to it."""
        if self._revisit is not None and self._revisit[0] == question.key:
            question = replace(question, default=self._revisit[1])
            self._revisit = None
        while True:
            raw = asker.ask(question)
            if raw == Question.back:
                raise GoBack
            problem = _problem(question, raw)
            if problem is None:
                self.typed[question.key] = raw
                return self._accept(question, raw)
            asker.warn(f"{question.key}: {problem}")

    def _accept(self, question: Question, raw: Any) -> Any:
        """The value of an accepted answer, recorded (unless secret), its warning said once."""
        value = question.value_of(raw)
        if question.kind != "secret":
            self.recorded[question.key] = raw
        warning = question.warning(value) if question.warning is not None and value not in (None, "") else None
        if warning and f"{question.key}: {warning}" not in self._said:
            self._said.add(f"{question.key}: {warning}")
            if self.asker is not None:
                self.asker.warn(f"warning: {question.key}: {warning}")
            else:
                self.warnings.append(f"{question.key}: {warning}")
        return value

    def _step_back(self) -> None:
        """Forget the person's last answer, to ask that question again with it filled in."""
        self.recorded.clear()
        self.used.clear()
        if not self.typed:
            if self.asker is not None:
                self.asker.warn("nothing to go back to: no question was asked before this one")
            return
        self._revisit = self.typed.popitem()

    def finish(self) -> None:
        """Fail (exit 2) on missing answers without a terminal, and on answers no question asked for."""
        if self.missing:
            keys = ", ".join(q.key for q in self.missing)
            lines = "; ".join(
                f"{q.key}: {q.prompt}" + (f", e.g. {q.example}" if q.example else "") for q in self.missing
            )
            raise UsageError(
                f"missing answers (stdin is not a terminal, so nothing is asked): {keys}",
                hint=f"pass --answer KEY=VALUE or put them in --answers FILE ({lines})",
            )
        unused = sorted(set(self.given) - self.used)
        if unused:
            raise UsageError(
                f"answers for questions that were not asked: {', '.join(unused)}",
                hint="check the keys (docs/create-pipeline.md lists them) and the parts you chose",
            )


def _problem(question: Question, raw: Any) -> str | None:
    """Why ``raw`` is not an acceptable answer to ``question`` (it does not parse, or its value is refused)."""
    try:
        value = question.value_of(raw)
    except ValueError as exc:
        return str(exc)
    return question.problem(value)


def flatten(answers: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{params: {input_path: x}}`` → ``{"params.input_path": x}``; mappings under a known leaf stay whole."""
    flat: dict[str, Any] = {}
    for key, value in answers.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and full not in MAPPING_ANSWERS and not full.endswith(MAPPING_SUFFIXES):
            flat.update(flatten(value, full + "."))
        else:
            flat[full] = value
    return flat


#: answers whose value is itself a mapping (aggregations: {revenue: {function: sum, column: amount}})
MAPPING_ANSWERS = frozenset({"aggregate.aggregations", "window.columns", "derive.columns"})
MAPPING_SUFFIXES = (".options",)


def load_answers_file(text: str, source: str) -> dict[str, Any]:
    """The flattened answers of a YAML answers file (read like pipelines: ``on:`` is a key, not true)."""
    try:
        data, _ = to_plain(load_yaml_text(text, source))
    except YamlFileError as exc:
        raise UsageError(f"{source} is not a valid answers file: {exc}") from None
    if not data:
        return {}
    if not isinstance(data, Mapping):
        raise UsageError(f"{source} must be a mapping of answers (key: value)")
    return flatten(data)


def answers_text(answers: Mapping[str, Any]) -> str:
    """``answers`` (dotted keys) as an answers file: nested mappings, read back by :func:`load_answers_file`."""
    nested: dict[str, Any] = {}
    for key, value in answers.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                node = nested
                leaf = key  # a dotted key at the top reads back the same
                break
            node = child
        node[leaf] = value
    return yaml.safe_dump(nested, sort_keys=False, allow_unicode=True, width=100)


def parse_assignments(assignments: Sequence[str]) -> dict[str, Any]:
    """``--answer KEY=VALUE`` options as answers (values stay text; each question parses its own)."""
    found: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--answer expects KEY=VALUE, got '{item}'", hint="e.g. --answer filter.condition='a > 0'")
        found[key.strip()] = value
    return found


def yes_no(text: str) -> bool:
    """A confirm answer given as text (``--answer test=yes``): yes/no, true/false, y/n, 1/0."""
    word = text.strip().lower()
    if word in ("yes", "y", "true", "1"):
        return True
    if word in ("no", "n", "false", "0", ""):
        return False
    raise ValueError(f"answer yes or no, not '{text}'")


def split_list(text: str) -> list[str]:
    """``a, b ,c`` → ``["a", "b", "c"]``; empty text is an empty list."""
    return [part.strip() for part in text.split(",") if part.strip()]


def schema_check(schema: Mapping[str, Any]) -> Check:
    """A check of an answer against the JSON Schema of the option it fills."""
    validator = Draft202012Validator(dict(schema))

    def check(value: Any) -> str | None:
        if isinstance(value, str) and value.startswith("${"):
            return None  # a reference is checked after interpolation, by validate
        error = next(iter(validator.iter_errors(value)), None)
        return None if error is None else error.message

    return check


def option_question(key: str, option: str, schema: Mapping[str, Any], required: bool, default: Any = None) -> Question:
    """The question for one plug-in option, shaped by its JSON Schema (choices, numbers, lists, secrets)."""
    description = str(schema.get("description") or "")
    first = _first_sentence(description)
    prompt = f"{option}" + (f" — {first}" if first else "")
    more = description[len(first) :].lstrip(" .;") or None
    default = schema.get("default") if default is None else default
    kinds = schema.get("type")
    if is_credential_key(option):
        return Question(key, prompt, "secret", required=required, help=more)
    if "enum" in schema:
        choices = tuple(Choice(str(v), str(v)) for v in schema["enum"])
        return Question(key, prompt, "select", choices, default, required, more)
    if kinds == "boolean":
        return Question(key, prompt, "confirm", default=bool(default), required=False, help=more)
    if kinds in ("integer", "number"):
        parse = _integer if kinds == "integer" else _number
        return Question(key, prompt, "text", (), default, required, more, schema_check(schema), parse)
    if kinds == "array":
        return Question(key, prompt, "list", (), default, required, more, schema_check(schema))
    if kinds == "object":
        return Question(key, prompt, "text", (), default, required, more, schema_check(schema), _mapping)
    return Question(key, prompt, "text", (), default, required, more, _text_check(schema))


def _text_check(schema: Mapping[str, Any]) -> Check:
    check = schema_check({k: v for k, v in schema.items() if k not in ("type", "items", "minItems")})

    def text(value: Any) -> str | None:
        if isinstance(value, list):
            return None
        return check(value)

    return text


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.;])\s", text, maxsplit=1)[0].rstrip(".;")


def _integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number") from None


def _number(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None


def _mapping(text: str) -> Any:
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise ValueError("write a mapping such as {key: value}") from None
    if value is not None and not isinstance(value, Mapping):
        raise ValueError("write a mapping such as {key: value}")
    return value
