"""``etl-cli create-pipeline``: the wizard in a terminal (questionary), or fully from flags and a file.

Every question has an answers key; ``--answer KEY=VALUE`` and ``--answers FILE`` answer
any of them, the flags below the common ones. Without a terminal on stdin nothing is
asked: missing answers are an error naming each key (exit 2).

In a terminal a pre-filled answer is a default (Enter takes it), ``e.g.`` marks an example
(never taken), ``<`` goes back a step, and column questions complete the stage's columns.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from etl_cli import app
from etl_cli.cli.output import stderr_console, stdout_console

if TYPE_CHECKING:
    import questionary

    from etl_cli.authoring.questions import Question

BANNER = (
    "Enter accepts the pre-filled answer · e.g. marks an example, not a default · < goes back a step · "
    "Tab completes column names · Ctrl-C stops · nothing is written until the end"
)
#: column names listed in a question, the rest left to Tab
SHOWN_COLUMNS = 12

NoInputOpt = Annotated[
    bool, typer.Option("--no-input", help="Never prompt: take every answer from flags (automatic without a TTY).")
]


def create_pipeline_command(
    name: Annotated[str | None, typer.Option("--name", help="Pipeline name (its folder under pipelines/).")] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="Template to start from, or 'none' to choose source and sink.")
    ] = None,
    source_type: Annotated[str | None, typer.Option("--source-type", help="Source type (without a template).")] = None,
    transforms: Annotated[
        str | None, typer.Option("--transforms", help="Comma-separated: filter, select, derive, deduplicate, join...")
    ] = None,
    checks: Annotated[str | None, typer.Option("--checks", help="Comma-separated data-quality check types.")] = None,
    sink_type: Annotated[str | None, typer.Option("--sink-type", help="Sink type (without a template).")] = None,
    secret_store: Annotated[
        str | None, typer.Option("--secret-store", help="Where credentials live: keyring or env.")
    ] = None,
    answers_file: Annotated[
        Path | None, typer.Option("--answers", help="YAML file of answers (keys as in docs/create-pipeline.md).")
    ] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option("--answer", help="Answer one question: KEY=VALUE (repeatable).", metavar="KEY=VALUE"),
    ] = None,
    pipelines_dir: Annotated[
        Path | None, typer.Option("--dir", help="Where pipeline folders go (default: <project>/pipelines).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing pipeline of that name.")] = False,
    no_input: NoInputOpt = False,
) -> None:
    """Create a pipeline from templates by answering questions; it is validated before anything is written."""
    given = app.wizard_answers(answers_file, answer or [])
    flags = {
        "name": name,
        "template": template,
        "source.type": source_type,
        "transforms": transforms,
        "checks": checks,
        "sink.type": sink_type,
        "secrets.store": secret_store,
    }
    given.update({key: value for key, value in flags.items() if value is not None})
    interactive = not no_input and sys.stdin.isatty()
    console = stdout_console()
    if interactive:
        console.print(f"[dim]{escape(BANNER)}[/]")
    created = app.create_pipeline(given, QuestionaryAsker() if interactive else None, pipelines_dir, force)
    for warning in created.warnings:
        stderr_console().print(f"[yellow]warning[/]: {escape(warning)}")
    console.print(f"[green]created[/] {escape(str(_shown(created.folder)))}:")
    for path in created.files:
        console.print(f"  {escape(str(_shown(path)))}")
    for note in created.notes:
        console.print(f"[yellow]secret[/] {escape(note)}")
    console.print("next:")
    for command in created.next_commands:
        console.print(f"  {escape(command)}")


def _shown(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


class QuestionaryAsker:
    """Asks one question in the terminal, checking each answer as it is typed; returns it as typed or chosen."""

    def ask(self, question: Question) -> Any:
        import questionary

        if question.kind == "select":
            choices = [questionary.Choice(_wrapped(c.title), value=c.value) for c in question.choices]
            default = next((c for c in choices if c.value == question.default), None)
            return _with_back(
                questionary.select(question.prompt, choices=choices, default=default), question.back
            ).unsafe_ask()
        if question.kind == "checkbox":
            chosen = set(question.default or ())
            choices = [
                questionary.Choice(_wrapped(c.title), value=c.value, checked=c.value in chosen)
                for c in question.choices
            ]
            answer = questionary.checkbox(question.prompt, choices=choices, validate=self._validator(question))
            return _with_back(answer, question.back).unsafe_ask()
        if question.kind == "confirm":
            confirm = questionary.confirm(question.prompt, default=bool(question.default))
            return _with_back(confirm, question.back).unsafe_ask()
        if question.kind == "secret":
            return questionary.password(question.prompt).unsafe_ask() or None
        raw = questionary.text(
            question.prompt,
            default=_default_text(question.default),
            validate=self._validator(question),
            instruction=_instruction(question),
            **_completion(question),
        ).unsafe_ask()
        return raw if raw.strip() else question.default

    def warn(self, text: str) -> None:
        stdout_console().print(escape(text), style="yellow")

    @staticmethod
    def _validator(question: Question) -> Any:
        def validate(raw: Any) -> bool | str:
            if raw == question.back:
                return True
            try:
                value = question.value_of(raw) if not (isinstance(raw, str) and not raw.strip()) else None
            except ValueError as exc:
                return str(exc)
            problem = question.problem(value if value is not None else question.default)
            return True if problem is None else problem

        return validate


def _with_back(prompt: questionary.Question, back: str) -> questionary.Question:
    """The prompt, with the ``back`` key answering it (a text question's answer is ``back`` typed instead)."""
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

    bindings = KeyBindings()

    @bindings.add(back)
    def _back(event: Any) -> None:
        event.app.exit(result=back)

    application = prompt.application
    application.key_bindings = merge_key_bindings([b for b in (application.key_bindings, bindings) if b])
    return prompt


def _instruction(question: Question) -> str | None:
    """The notes under a text question, each wrapped to the terminal: its example (marked as one), more help, the
    columns to choose from; the answer follows on the line after them."""
    parts = [f"e.g. {question.example}"] if question.example else []
    parts += [question.help] if question.help else []
    if question.suggestions:
        shown = ", ".join(question.suggestions[:SHOWN_COLUMNS])
        hidden = len(question.suggestions) - SHOWN_COLUMNS
        parts.append(f"columns: {shown}{f' and {hidden} more' if hidden > 0 else ''} (Tab completes)")
    if not parts:
        return None
    width = shutil.get_terminal_size().columns - 3
    lines = [line for part in parts for line in _wrap(part, width, "  ", "    ")]
    return "\n" + "\n".join(lines) + "\n >"


def _completion(question: Question) -> dict[str, Any]:
    """Completion of the suggested column names, as they are typed (Tab takes the first)."""
    if not question.suggestions:
        return {}
    from prompt_toolkit.completion import WordCompleter

    return {"completer": WordCompleter(list(question.suggestions)), "complete_while_typing": True}


def _wrapped(title: str) -> str:
    """A choice's title wrapped to the terminal, continued under its text (``name: ...``), never cut."""
    width = shutil.get_terminal_size().columns - 4  # the pointer column before each choice, and a margin
    head, sep, _ = title.partition(": ")
    hang = len(head) + len(sep) if sep and len(head) < width // 2 else 2
    return "\n".join(_wrap(title, width, "", " " * (3 + hang))) or title


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    """``text`` in lines of at most ``width``, broken between words only (a long path stays whole)."""
    return textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=rest, break_long_words=False, break_on_hyphens=False
    )


def _default_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
