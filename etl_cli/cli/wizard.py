"""``etl-cli create-pipeline``: the wizard in a terminal (questionary), or fully from flags and a file.

Every question has an answers key; ``--answer KEY=VALUE`` and ``--answers FILE`` answer
any of them, the flags below the common ones. Without a terminal on stdin nothing is
asked: missing answers are an error naming each key (exit 2).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from etl_cli import app
from etl_cli.cli.output import stdout_console

if TYPE_CHECKING:
    from etl_cli.authoring.questions import Question

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
        list[str] | None, typer.Option("--answer", help="Answer one question: KEY=VALUE (repeatable).")
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
        console.print("[dim]Enter keeps the default shown · Ctrl-C stops · nothing is written until the end[/]")
    created = app.create_pipeline(given, QuestionaryAsker() if interactive else None, pipelines_dir, force)
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
    """Asks one question in the terminal, checking each answer as it is typed."""

    def ask(self, question: Question) -> Any:
        import questionary

        if question.kind == "select":
            choices = [questionary.Choice(c.title, value=c.value) for c in question.choices]
            default = next((c for c in choices if c.value == question.default), None)
            return questionary.select(question.prompt, choices=choices, default=default).unsafe_ask()
        if question.kind == "checkbox":
            chosen = set(question.default or ())
            choices = [questionary.Choice(c.title, value=c.value, checked=c.value in chosen) for c in question.choices]
            answer = questionary.checkbox(question.prompt, choices=choices, validate=self._validator(question))
            return answer.unsafe_ask()
        if question.kind == "confirm":
            return questionary.confirm(question.prompt, default=bool(question.default)).unsafe_ask()
        if question.kind == "secret":
            return questionary.password(question.prompt).unsafe_ask() or None
        raw = questionary.text(
            question.prompt,
            default=_default_text(question.default),
            validate=self._validator(question),
            instruction=f"({question.help})" if question.help else None,
        ).unsafe_ask()
        return question.value_of(raw) if raw.strip() else question.default

    @staticmethod
    def _validator(question: Question) -> Any:
        def validate(raw: Any) -> bool | str:
            try:
                value = question.value_of(raw) if not (isinstance(raw, str) and not raw.strip()) else None
            except ValueError as exc:
                return str(exc)
            problem = question.problem(value if value is not None else question.default)
            return True if problem is None else problem

        return validate


def _default_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
