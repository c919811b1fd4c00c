"""What shell completion offers: pipeline paths, environment names and stage names.

Completion runs on every Tab press, so these read only the files involved (the project
file, a pipeline with its templates and overlay), never plug-ins, Spark or the network,
and look at a bounded number of folders. They raise what loading raises; the CLI turns
any failure into "no candidates".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from etl_cli.config.loader import load_pipeline, overlay_envs, resolve_pipeline_file
from etl_cli.config.project import OVERLAY_DIR, PIPELINE_FILE, PROJECT_FILE, load_project

YAML_SUFFIXES = (".yaml", ".yml")
#: how deep below a folder a pipeline is looked for, to offer the folder as a way to it
_SEARCH_DEPTH = 3
#: folders looked into per candidate at most, so that Tab stays instant in a large tree
_SEARCH_BUDGET = 200
_STAGE_SECTIONS = (("sources", "source"), ("transforms", "transform"), ("sinks", "sink"))


def pipeline_paths(incomplete: str) -> list[str]:
    """Paths that start with ``incomplete`` and name a pipeline, or a folder on the way to one.

    YAML files and folders holding ``pipeline.yaml`` complete to themselves; other folders
    with YAML below them end in ``/``. When the only candidate is such a folder, its own
    candidates are offered instead: a shell adds a space after a single candidate, which
    would end the path at the folder.
    """
    candidates = _pipeline_paths(incomplete)
    for _ in range(_SEARCH_DEPTH):
        if len(candidates) != 1 or not candidates[0].endswith("/"):
            break
        candidates = _pipeline_paths(candidates[0]) or candidates
    return candidates


def _pipeline_paths(incomplete: str) -> list[str]:
    head, slash, prefix = incomplete.rpartition("/")
    shown = head + slash
    folder = Path(shown or ".").expanduser()
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    candidates = []
    for entry in entries:
        if not entry.name.startswith(prefix) or (entry.name.startswith(".") and not prefix.startswith(".")):
            continue
        path = Path(entry.path)
        if entry.is_dir():
            if (path / PIPELINE_FILE).is_file():
                candidates.append(shown + entry.name)
            elif _holds_yaml(path):
                candidates.append(shown + entry.name + "/")
        elif entry.name.endswith(YAML_SUFFIXES) and entry.name != PROJECT_FILE:
            candidates.append(shown + entry.name)
    return candidates


def _holds_yaml(folder: Path) -> bool:
    """Whether a YAML file lies within a few levels below ``folder`` (hidden folders skipped)."""
    pending, budget = [(folder, 0)], _SEARCH_BUDGET
    while pending and budget > 0:
        current, depth = pending.pop()
        budget -= 1
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        if any(e.name.endswith(YAML_SUFFIXES) and e.is_file() for e in entries):
            return True
        if depth + 1 < _SEARCH_DEPTH:
            pending += [(Path(e.path), depth + 1) for e in entries if e.is_dir() and not e.name.startswith(".")]
    return False


def environment_names(pipeline: Path | None, start: Path) -> list[tuple[str, str]]:
    """The environments ``--env`` accepts, each with what it is.

    Those of the pipeline's project (else of the project around ``start``); a project that
    declares none accepts any name, so the pipeline's overlay files name them.
    """
    pipeline_file = resolve_pipeline_file(pipeline) if pipeline is not None and pipeline.exists() else None
    project = load_project(pipeline_file.parent if pipeline_file else start)
    overlays = overlay_envs(pipeline_file) if pipeline_file else []
    names = list(project.environments) or overlays
    return [(name, _environment_note(name, project.is_protected(name), name in overlays)) for name in names]


def _environment_note(name: str, protected: bool, has_overlay: bool) -> str:
    note = "environment" + (" (protected)" if protected else "")
    return note + (f", overlay {OVERLAY_DIR}/{name}.yaml" if has_overlay else "")


def stage_names(pipeline: Path, env: str | None, sets: Sequence[str]) -> list[tuple[str, str]]:
    """The pipeline's stages in the order it declares them, each with its kind and type (none if it is invalid)."""
    document = load_pipeline(pipeline, env, sets).document
    return [
        (str(stage["name"]), f"{kind} ({stage.get('type', '?')})")
        for section, kind in _STAGE_SECTIONS
        for stage in _items(document.get(section))
        if stage.get("name")
    ]


def _items(section: Any) -> list[dict[str, Any]]:
    return [item for item in section if isinstance(item, dict)] if isinstance(section, list) else []
