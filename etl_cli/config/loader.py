"""Load a pipeline: file → templates → environment overlay → ``--set`` → interpolation.

The result is one plain document plus its provenance and every diagnostic found on
the way. Nothing here starts a JVM or touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from etl_cli.config.interpolate import Interpolator
from etl_cli.config.limits import LimitExceeded, inside
from etl_cli.config.nodes import Node, Provenance, to_plain
from etl_cli.config.overlay import merge, strip_tags
from etl_cli.config.params import ParamValue, declared_params, parse_assignments, resolve_params
from etl_cli.config.project import OVERLAY_DIR, PIPELINE_FILE, Project, read_project
from etl_cli.config.splits import expand_splits
from etl_cli.config.templates import TemplateResolver, drop_unread_library_sources
from etl_cli.config.yaml_loader import YamlFileError, display_path, load_yaml_file, load_yaml_text
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import Location, UsageError


@dataclass
class LoadedConfig:
    """The merged, interpolated pipeline document and where each part came from."""

    pipeline_file: Path
    project: Project
    env: str | None
    document: dict[str, Any]
    provenance: Provenance
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    #: the value of each run-time parameter the pipeline declares (``params:``), by name
    params: dict[str, ParamValue] = field(default_factory=dict)

    @property
    def pipeline_dir(self) -> Path:
        return self.pipeline_file.parent


def resolve_pipeline_file(path: Path) -> Path:
    """Accept a pipeline folder (holding ``pipeline.yaml``) or a YAML file."""
    if path.is_dir():
        candidate = path / PIPELINE_FILE
        if not candidate.is_file():
            raise UsageError(
                f"{path} is a folder without a {PIPELINE_FILE}", hint="pass the pipeline's YAML file or its folder"
            )
        return candidate
    if not path.exists():
        raise UsageError(f"no such pipeline: {path}")
    return path


def overlay_file(pipeline_file: Path, env: str) -> Path:
    """Where the overlay for ``env`` lives: ``<pipeline folder>/env/<env>.yaml``."""
    return pipeline_file.parent / OVERLAY_DIR / f"{env}.yaml"


def overlay_envs(pipeline_file: Path) -> list[str]:
    """Environments that have an overlay file next to this pipeline."""
    folder = pipeline_file.parent / OVERLAY_DIR
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load_pipeline(
    path: Path,
    env: str | None = None,
    sets: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    params: Sequence[str] = (),
    *,
    require_params: bool = False,
    strict_param_names: bool = True,
) -> LoadedConfig:
    """Load, merge and interpolate one pipeline for one environment.

    ``params`` are ``--param NAME=VALUE`` (config/params.py). ``require_params``: a required parameter
    without a value is a UsageError (commands that run), else it takes a placeholder (validate, render).
    ``strict_param_names``: a ``--param`` this pipeline does not declare is a UsageError (validate of
    several pipelines turns this off and checks that some pipeline declares it).
    """
    environ = os.environ if environ is None else environ
    given = parse_assignments(params)
    pipeline_file = resolve_pipeline_file(path)
    project, problems = read_project(pipeline_file.parent)
    if problems:  # the environment, templates and paths all come from the project: fix it first
        return LoadedConfig(pipeline_file, project, None, {}, Provenance(), problems, [pipeline_file])
    chosen = project.choose_env(env or environ.get("ETL_ENV") or None, overlay_envs(pipeline_file))
    diagnostics: list[Diagnostic] = []
    files = [pipeline_file]
    empty = LoadedConfig(pipeline_file, project, chosen, {}, Provenance(), diagnostics, files)
    try:
        tree = load_yaml_file(pipeline_file)
    except YamlFileError as exc:
        diagnostics.extend(exc.diagnostics)
        return empty
    if not tree.is_mapping:
        diagnostics.append(error("not-a-mapping", "a pipeline file must be a YAML mapping (key: value)", tree.loc))
        return empty
    resolver = TemplateResolver(project.template_dirs(), diagnostics)
    try:
        tree = project.lineage_under(resolver.expand(tree), chosen, diagnostics)
        files.extend(resolver.files)
        if chosen:
            tree = _apply_overlay(tree, overlay_file(pipeline_file, chosen), diagnostics, files)
        for assignment in sets:
            tree = apply_set(tree, assignment)
        tree = strip_tags(tree, diagnostics)
        values = resolve_params(
            declared_params(tree.get("params"), diagnostics),
            given,
            require=require_params,
            pipeline=display_path(pipeline_file),
            strict_names=strict_param_names,
        )
        interpolator = Interpolator(tree.get("vars"), environ, frozenset(resolver.missing_params), values)
        tree = expand_splits(drop_unread_library_sources(interpolator.resolve_document(tree), resolver.library_files))
    except LimitExceeded as exc:  # what follows a limit would only repeat it: that one place is the report
        diagnostics.append(exc.diagnostic)
        return empty
    diagnostics.extend(interpolator.diagnostics)
    document, provenance = to_plain(tree)
    provenance.templates = frozenset(display_path(p) for p in resolver.files)
    return LoadedConfig(pipeline_file, project, chosen, document, provenance, diagnostics, files, values)


def _apply_overlay(tree: Node, path: Path, diagnostics: list[Diagnostic], files: list[Path]) -> Node:
    if not path.is_file():
        return tree
    if not inside(path, path.parent):
        shown = display_path(path)
        diagnostics.append(
            error(
                "overlay-outside",
                f"overlay {shown} links to {path.resolve()}, outside the pipeline's {OVERLAY_DIR}/ folder",
                Location(shown, 0, 0),
                f"put the overlay itself in {OVERLAY_DIR}/ instead of a link to it",
            )
        )
        return tree
    try:
        overlay = load_yaml_file(path)
    except YamlFileError as exc:
        diagnostics.extend(exc.diagnostics)
        return tree
    files.append(path)
    if not overlay.is_mapping:
        diagnostics.append(error("not-a-mapping", "an environment overlay must be a YAML mapping", overlay.loc))
        return tree
    if "extends" in overlay.value:
        diagnostics.append(
            error(
                "overlay-extends",
                "an overlay cannot use 'extends'",
                overlay.value["extends"].key_loc,
                "put 'extends' in the pipeline file",
            )
        )
        del overlay.value["extends"]
    return merge(tree, overlay, diagnostics)


def apply_set(tree: Node, assignment: str) -> Node:
    """Apply one ``--set a.b.c=value`` (list items are addressed by their ``name``)."""
    key_path, sep, text = assignment.partition("=")
    if not sep or not key_path.strip():
        raise UsageError(
            f"--set expects KEY.PATH=VALUE, got '{assignment}'", hint="for example --set sinks.out.mode=append"
        )
    loc = Location(f"--set {assignment}", 0, 0)
    value = _set_value(text, loc)
    leaf = _node_of(value, loc)
    leaf.raw = text if not isinstance(value, (dict, list)) else None
    node = tree
    parts = _split_key_path(key_path.strip())
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if node.is_sequence:
            node = _list_item(node, part, assignment)
            if last:
                raise UsageError(f"--set {key_path}: cannot replace a whole list item", hint="set one of its keys")
            continue
        if not node.is_mapping:
            raise UsageError(f"--set {key_path}: '{'.'.join(parts[:i])}' is not a mapping")
        if last:
            node.value[part] = leaf
        else:
            if part not in node.value:
                node.value[part] = Node({}, loc, key_loc=loc)
            node = node.value[part]
    return tree


def _set_value(text: str, loc: Location) -> Any:
    """A ``--set`` value read as YAML, or the text itself when it is not a value etl-cli reads.

    The bounded reader of pipeline files checks it first, so aliases, nesting and odd
    scalars cannot make the copy below explode or fail (config/limits.py).
    """
    if not text.strip():
        return ""
    try:
        load_yaml_text(text, loc.file)
        return yaml.safe_load(text)
    except (YamlFileError, yaml.YAMLError):
        return text


def _node_of(value: Any, loc: Location) -> Node:
    """A ``--set`` value (``[a, b]``, ``{k: v}`` or a scalar) as located nodes, all at the ``--set``."""
    if isinstance(value, dict):
        return Node({str(k): _node_of(v, loc) for k, v in value.items()}, loc, key_loc=loc)
    if isinstance(value, list):
        return Node([_node_of(v, loc) for v in value], loc, key_loc=loc)
    return Node(value, loc, key_loc=loc)


_FREE_FORM = {"conf", "options"}


def _split_key_path(key_path: str) -> list[str]:
    """Split on dots, except inside free-form maps whose keys contain dots (``spark.conf.spark.sql.x``)."""
    parts = key_path.split(".")
    for i, part in enumerate(parts[:-1]):
        if part in _FREE_FORM:
            return [*parts[: i + 1], ".".join(parts[i + 1 :])]
    return parts


def _list_item(node: Node, part: str, assignment: str) -> Node:
    for item in node.value:
        if item.item_name() == part:
            return item
    if part.isdigit() and int(part) < len(node.value):
        return node.value[int(part)]
    names = [n for n in (i.item_name() for i in node.value) if n]
    raise UsageError(
        f"--set {assignment}: no item named '{part}'", hint=f"items here: {', '.join(names)}" if names else None
    )


__all__ = ["LoadedConfig", "display_path", "load_pipeline", "overlay_envs", "overlay_file", "resolve_pipeline_file"]
