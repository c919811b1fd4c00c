"""``create-pipeline`` end to end: interview, check the answers are complete, write, store secrets.

At a terminal, answers that add up to an invalid pipeline are not lost: the person sees the
problems and may go back a step to change an answer, or save every answer as an answers
file to correct and re-run with (``--answers``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from etl_cli.authoring.interview import Draft, Interview
from etl_cli.authoring.questions import Answers, Asker, Question, answers_text
from etl_cli.authoring.templates import usable_templates
from etl_cli.authoring.writer import CreatedPipeline, secret_notes, write_pipeline
from etl_cli.config.project import Project
from etl_cli.errors import ConfigError, InvalidPipeline
from etl_cli.model.catalog import IcebergCatalog, read_catalogs
from etl_cli.model.schema import build_schema
from etl_cli.plugins.registry import Registry
from etl_cli.secrets.resolver import SecretResolver


def create_pipeline(
    project: Project, registry: Registry, answers: Answers, pipelines_dir: Path, force: bool = False
) -> CreatedPipeline:
    """Ask what is not answered yet, then write ``pipelines_dir/<name>`` if the result validates."""
    templates = usable_templates(project.template_dirs(), registry)
    checks_available = "checks" in build_schema(registry)["properties"]
    catalogs, _ = read_catalogs(project)  # a catalog that is wrong is reported by the validation of the result
    table_catalogs = tuple(name for name, c in catalogs.items() if isinstance(c, IcebergCatalog))

    def conversation() -> tuple[Draft, CreatedPipeline]:
        draft = Interview(answers, registry, templates, pipelines_dir, force, checks_available, table_catalogs).run()
        answers.finish()
        try:
            return draft, write_pipeline(draft, project, pipelines_dir, registry, force)
        except InvalidPipeline as exc:
            if answers.asker is None:
                raise
            raise _kept(exc, answers.asker, answers.recorded, draft.name) from None

    draft, created = answers.interview(conversation)
    stored = store_secrets(draft, project) if draft.store_secrets else set()
    return replace(created, notes=secret_notes(draft, stored), warnings=tuple(answers.warnings))


def _kept(invalid: InvalidPipeline, asker: Asker, recorded: dict[str, Any], name: str) -> ConfigError:
    """Show the problems, then save the answers where the person says (going back a step raises GoBack)."""
    asker.warn(f"{invalid.message}:")
    for diagnostic in invalid.diagnostics:
        asker.warn(str(diagnostic))
    question = Question(
        "answers.file",
        f"Save the answers to re-run with them ({Question.back} goes back to change the last one; empty: do not)",
        default=f"{name}.answers.yaml",
        required=False,
        check=_new_file,
    )
    answers = Answers({}, asker)
    target = answers.ask(question)
    if not target:
        return ConfigError(invalid.message, hint="the problems are listed above")
    Path(target).write_text(
        f"# Answers of `etl-cli create-pipeline`; re-run with: etl-cli create-pipeline --answers {target}\n"
        + answers_text(recorded),
        encoding="utf-8",
    )
    return ConfigError(
        f"{invalid.message} (the problems are listed above)",
        hint=f"your answers are saved in {target}: correct them and re-run: etl-cli create-pipeline --answers {target}",
    )


def _new_file(value: Any) -> str | None:
    return f"{value} exists; choose another file name" if Path(str(value)).exists() else None


def store_secrets(draft: Draft, project: Project) -> set[str]:
    """Put the typed credential values in the keyring; returns the addresses stored."""
    resolver = SecretResolver.for_project(project, None, pipeline=draft.name)
    stored = set()
    for secret in draft.secrets:
        if secret.store == "keyring" and secret.value:
            resolver.store(secret.address, secret.value)
            stored.add(secret.address)
    return stored
