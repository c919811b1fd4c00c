"""``create-pipeline`` end to end: interview, check the answers are complete, write, store secrets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from etl_cli.authoring.interview import Draft, Interview
from etl_cli.authoring.questions import Answers
from etl_cli.authoring.templates import usable_templates
from etl_cli.authoring.writer import CreatedPipeline, secret_notes, write_pipeline
from etl_cli.config.project import Project
from etl_cli.model.schema import build_schema
from etl_cli.plugins.registry import Registry
from etl_cli.secrets.resolver import SecretResolver


def create_pipeline(
    project: Project, registry: Registry, answers: Answers, pipelines_dir: Path, force: bool = False
) -> CreatedPipeline:
    """Ask what is not answered yet, then write ``pipelines_dir/<name>`` if the result validates."""
    interview = Interview(
        answers,
        registry,
        usable_templates(project.template_dirs(), registry),
        pipelines_dir,
        force,
        checks_available="checks" in build_schema(registry)["properties"],
    )
    draft = interview.run()
    answers.finish()
    created = write_pipeline(draft, project, pipelines_dir, registry, force)
    stored = store_secrets(draft, project) if draft.store_secrets else set()
    return replace(created, notes=secret_notes(draft, stored))


def store_secrets(draft: Draft, project: Project) -> set[str]:
    """Put the typed credential values in the keyring; returns the addresses stored."""
    resolver = SecretResolver.for_project(project, None, pipeline=draft.name)
    stored = set()
    for secret in draft.secrets:
        if secret.store == "keyring" and secret.value:
            resolver.store(secret.address, secret.value)
            stored.add(secret.address)
    return stored
