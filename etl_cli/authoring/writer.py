"""Write a draft as ``pipelines/<name>/``: pipeline.yaml and env/dev.yaml, env/prod.yaml overlays.

The files are first written to a hidden folder next to the target and validated there
with the real validator, in every environment they have an overlay for; only a valid
pipeline is moved into place. An existing pipeline is replaced only with ``force``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from etl_cli.authoring.interview import Draft
from etl_cli.config.loader import load_pipeline
from etl_cli.config.project import OVERLAY_DIR, PIPELINE_FILE, Project
from etl_cli.diagnostics import Diagnostic, has_errors, sorted_diagnostics
from etl_cli.errors import InvalidPipeline, Location, UsageError
from etl_cli.model.check import check_pipeline
from etl_cli.plugins.registry import Registry

#: the overlays the wizard writes, when the project knows these environments
OVERLAY_ENVS = ("dev", "prod")


@dataclass(frozen=True)
class CreatedPipeline:
    """What was written, and what to do next."""

    folder: Path
    files: tuple[Path, ...]
    next_commands: tuple[str, ...]
    notes: tuple[str, ...]
    #: what may be wrong with the answers given (an input that is not there yet), for the person to check
    warnings: tuple[str, ...] = ()


def render_files(draft: Draft, project: Project) -> dict[str, str]:
    """The text of each file, by path relative to the pipeline folder."""
    files = {PIPELINE_FILE: _pipeline_text(draft)}
    envs = [env for env in OVERLAY_ENVS if env in project.environments]
    if "dev" in envs:
        files[f"{OVERLAY_DIR}/dev.yaml"] = _dev_text(draft)
    if "prod" in envs:
        files[f"{OVERLAY_DIR}/prod.yaml"] = _prod_text(draft)
    if draft.first_test is not None:
        files[f"tests/{draft.name}.yaml"] = draft.first_test
    return files


def _pipeline_text(draft: Draft) -> str:
    document: dict[str, Any] = {"name": draft.name}
    if draft.description:
        document["description"] = draft.description
    if draft.template is not None:
        document["extends"] = {"template": draft.template.name, "params": dict(draft.params)}
    sources, sinks = _with_settings(draft, "sources"), _with_settings(draft, "sinks")
    for section, items in (("sources", sources), ("transforms", draft.transforms)):
        if items:
            document[section] = items
    if draft.checks:
        document["checks"] = draft.checks
    if sinks:
        document["sinks"] = sinks
    origin = f" from template {draft.template.name}" if draft.template else ""
    header = (
        f"# {draft.name}: created by `etl-cli create-pipeline`{origin}.\n"
        "# Environment overlays live in env/<env>.yaml; docs/configuration.md explains the layers.\n"
    )
    return header + _yaml(document)


def _with_settings(draft: Draft, section: str) -> list[dict[str, Any]]:
    """The stages of ``section``, with the keys added to a template's stages (merged by name, as extends does)."""
    items = [dict(item) for item in (draft.sources if section == "sources" else draft.sinks)]
    for (where, name), settings in draft.stage_settings.items():
        if where != section:
            continue
        found = next((item for item in items if item.get("name") == name), None)
        if found is None:
            items.append({"name": name, **settings})
        else:
            found.update(settings)
    return items


def _dev_text(draft: Draft) -> str:
    header = "# Development overlay (--env dev, the project default): small local Spark.\n"
    return header + _yaml({"spark": {"master": "local[2]"}})


def _prod_text(draft: Draft) -> str:
    document: dict[str, Any] = {"spark": {"master": "${env:SPARK_MASTER_URL:-local[*]}"}}
    variables: dict[str, Any] = {}
    sinks: dict[str, dict[str, Any]] = {}
    for (section, item, key), value in draft.targets.items():
        variable = _env_name(draft.name, item or "", key)
        reference = f"${{env:{variable}:-{value}}}"
        if section == "vars":
            variables[key] = reference
        else:
            sinks.setdefault(str(item), {"name": item})[key] = reference
    if variables:
        document["vars"] = variables
    if sinks:
        document["sinks"] = list(sinks.values())
    header = (
        "# Production overlay (--env prod): the cluster and the targets come from the environment\n"
        "# cron runs in; the values after :- are the defaults when a variable is not set.\n"
    )
    return header + _yaml(document)


def _env_name(*parts: str) -> str:
    return "_".join(p for p in ("".join(c if c.isalnum() else "_" for c in part) for part in parts) if p).upper()


class _Dumper(yaml.SafeDumper):
    """Indented lists (``  - name: x``) as in the examples; short lists and small option maps on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class _FlowMap(dict[str, Any]):
    """A small mapping of plain values, written on one line: ``{function: sum, column: amount}``."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(item, (dict, list)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_flow_map(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(_FlowMap, _represent_flow_map)


def _compact(value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict):
        small = 0 < len(value) <= 3 and all(not isinstance(v, (dict, list)) for v in value.values())
        items = {k: _compact(v, depth + 1) for k, v in value.items()}
        return _FlowMap(items) if small and depth >= 3 else items
    if isinstance(value, list):
        return [_compact(v, depth + 1) for v in value]
    return value


def _yaml(document: Mapping[str, Any]) -> str:
    """Block YAML with a blank line between the top-level sections."""
    text = yaml.dump(_compact(dict(document)), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    lines = text.splitlines()
    spaced = [line if i == 0 or line[:1] in (" ", "-", "") else "\n" + line for i, line in enumerate(lines)]
    return "\n".join(spaced) + "\n"


def write_pipeline(
    draft: Draft, project: Project, pipelines_dir: Path, registry: Registry, force: bool = False
) -> CreatedPipeline:
    """Validate the draft's files in a staging folder, then move them to ``pipelines_dir/<name>``."""
    target = pipelines_dir / draft.name
    if target.exists() and not force:
        raise UsageError(f"{target} exists", hint="choose another name, or pass --force to replace it")
    files = render_files(draft, project)
    staging = pipelines_dir / f".{draft.name}.creating-{uuid.uuid4().hex[:8]}"
    try:
        for relative, text in files.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_text(text, encoding="utf-8")
        diagnostics = _validate(staging, draft, project, registry)
        if has_errors(diagnostics):
            shown = [_moved(d, staging, target) for d in sorted_diagnostics(diagnostics)]
            raise InvalidPipeline(shown, "the answers describe an invalid pipeline; nothing was written")
        _publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return CreatedPipeline(target, tuple(target / f for f in files), _next_commands(target), ())


def _validate(folder: Path, draft: Draft, project: Project, registry: Registry) -> list[Diagnostic]:
    """Every diagnostic in every environment the wizard wrote an overlay for (or none)."""
    environ = dict(os.environ)
    # variables the wizard introduced for credentials are set later, by the user; validate as if they were
    environ.update({s.address: "set-at-run-time" for s in draft.secrets if s.store == "env"})
    envs: list[str | None] = [e for e in OVERLAY_ENVS if (folder / OVERLAY_DIR / f"{e}.yaml").is_file()] or [None]
    found: list[Diagnostic] = []
    for env in envs:
        loaded = load_pipeline(folder / PIPELINE_FILE, env, (), environ)
        _, diagnostics = check_pipeline(loaded, registry)
        found.extend(d for d in diagnostics if d not in found)
    return found


def _moved(diagnostic: Diagnostic, staging: Path, target: Path) -> Diagnostic:
    """The diagnostic pointing at the file's final place rather than the deleted staging folder."""
    location = diagnostic.location
    if location is None or str(staging.name) not in location.file:
        return diagnostic
    moved = Location(location.file.replace(str(staging.name), target.name), location.line, location.column)
    return replace(diagnostic, location=moved)


def _publish(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    previous = target.with_name(f".{target.name}.replaced-{uuid.uuid4().hex[:8]}")
    target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)


def _next_commands(target: Path) -> tuple[str, ...]:
    shown = _shown(target)
    return (
        f"etl-cli validate {shown} --all-envs",
        f"etl-cli dry-run {shown} --sample 100",
        f"etl-cli run {shown}",
    )


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def secret_notes(draft: Draft, stored: set[str]) -> tuple[str, ...]:
    """How to provide each credential the pipeline refers to."""
    notes = []
    for secret in draft.secrets:
        if secret.store == "env":
            notes.append(f"{secret.field}: set {secret.address} in the environment the pipeline runs in")
        elif secret.address in stored:
            notes.append(f"{secret.field}: stored in the keyring as {secret.address}")
        else:
            notes.append(f"{secret.field}: store it with  etl-cli secrets set {secret.address}")
    return tuple(notes)
