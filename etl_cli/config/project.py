"""The project: the folder holding ``etl-project.yaml`` (environments, folders, defaults).

A pipeline's relative paths, its templates and its run state are resolved against
the project root, so a pipeline behaves the same whatever directory cron starts in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_cli.config.limits import NAME_RULE, is_name
from etl_cli.config.nodes import Node, to_plain
from etl_cli.config.yaml_loader import load_yaml_file
from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError, Location, UsageError

PROJECT_FILE = "etl-project.yaml"
PIPELINE_FILE = "pipeline.yaml"
OVERLAY_DIR = "env"
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")
_KNOWN_KEYS = {"name", "default_env", "environments", "templates_dir", "state_dir", "secrets"}


@dataclass(frozen=True)
class Environment:
    """An environment a pipeline can be specialised for."""

    name: str
    protected: bool = False
    #: secret provider settings for this environment, over the project's ``secrets:``
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Project:
    """Project-wide settings, read from ``etl-project.yaml`` (all optional)."""

    root: Path
    name: str = "etl-project"
    default_env: str | None = None
    environments: dict[str, Environment] = field(default_factory=dict)
    templates_dir: Path | None = None
    state_dir: Path | None = None
    config_file: Path | None = None
    #: secret provider settings by provider name (``secrets:``; see docs/secrets.md)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def template_dirs(self) -> list[Path]:
        """Where ``extends:`` looks, in order: the project's templates, then the bundled ones."""
        dirs = [self.templates_dir or self.root / "templates"]
        bundled = Path(__file__).resolve().parent.parent / "_templates"
        repo_copy = Path(__file__).resolve().parents[2] / "templates"
        dirs.extend(d for d in (bundled, repo_copy) if d.is_dir() and d not in dirs)
        return dirs

    def run_state_dir(self) -> Path:
        """Where run results, locks, logs and state are kept.

        ``$ETL_STATE_DIR`` wins (cron jobs and tests point it elsewhere), then the
        project's ``state_dir``, then ``<root>/.etl``.
        """
        override = os.environ.get("ETL_STATE_DIR")
        return Path(override).resolve() if override else (self.state_dir or self.root / ".etl")

    def choose_env(self, requested: str | None, overlays: Sequence[str] = ()) -> str | None:
        """The environment to use: ``--env``/``ETL_ENV`` if given, else the project default.

        It names an overlay file in the pipeline's ``env/`` folder, so it must be a name
        that cannot lead out of that folder; ``overlays`` (the ones beside the pipeline)
        are listed when it is not.
        """
        if requested and not is_name(requested):
            known = list(dict.fromkeys([*self.environments, *overlays]))
            raise UsageError(
                f"environment '{requested}' is not a name: use {NAME_RULE}",
                hint=f"available environments: {', '.join(known)}" if known else None,
            )
        env = requested or self.default_env
        if env and self.environments and env not in self.environments:
            hint = did_you_mean(env, self.environments) or f"choose one of: {', '.join(self.environments)}"
            raise UsageError(f"unknown environment '{env}' (project {self.config_file or self.root})", hint=hint)
        return env

    def is_protected(self, env: str | None) -> bool:
        return bool(env and env in self.environments and self.environments[env].protected)

    def secrets_for(self, env: str | None) -> dict[str, dict[str, Any]]:
        """Secret provider settings for ``env``: the environment's entries over the project's.

        An environment's entry overrides the project's entry of the same name key by key,
        or replaces it whole when it names another ``type`` (dev: keyring, prod: vault).
        """
        merged = {name: dict(settings) for name, settings in self.secrets.items()}
        overrides = self.environments[env].secrets if env and env in self.environments else {}
        for name, settings in overrides.items():
            base = merged.get(name, {})
            same_type = settings.get("type", name) == base.get("type", name)
            merged[name] = {**base, **settings} if same_type else dict(settings)
        return merged


def find_project_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``etl-project.yaml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def load_project(start: Path) -> Project:
    """Load the project around ``start``; without a project file, ``start`` is the root."""
    root = find_project_root(start)
    if root is None:
        return Project(
            root=start.resolve(), environments={n: Environment(n, n == "prod") for n in DEFAULT_ENVIRONMENTS}
        )
    config_file = root / PROJECT_FILE
    tree = load_yaml_file(config_file)
    if not tree.is_mapping:
        raise ConfigError(f"{PROJECT_FILE} must be a mapping", location=tree.loc)
    data = {k: v for k, v in tree.value.items()}
    for key, node in data.items():
        if key not in _KNOWN_KEYS:
            raise ConfigError(
                f"unknown key '{key}' in {PROJECT_FILE}",
                location=node.key_loc,
                hint=did_you_mean(key, _KNOWN_KEYS) or f"known keys: {', '.join(sorted(_KNOWN_KEYS))}",
            )
    return Project(
        root=root,
        name=_text(data, "name") or root.name,
        default_env=_default_env(data),
        environments=_environments(data.get("environments")),
        templates_dir=_folder(root, _text(data, "templates_dir")),
        state_dir=_folder(root, _text(data, "state_dir")),
        config_file=config_file,
        secrets=_secrets(data.get("secrets"), "secrets"),
    )


def _text(data: dict[str, Node], key: str) -> str | None:
    node = data.get(key)
    if node is None or node.value is None:
        return None
    if not isinstance(node.value, str):
        raise ConfigError(f"'{key}' must be a string", location=node.loc)
    return node.value


def _default_env(data: dict[str, Node]) -> str | None:
    name = _text(data, "default_env")
    if name:
        _check_env_name(name, data["default_env"].loc)
    return name


def _check_env_name(name: str, where: Location | None) -> None:
    """An environment names overlay files (``env/<name>.yaml``): it must not lead out of that folder."""
    if not is_name(name):
        raise ConfigError(f"environment '{name}' is not a name: use {NAME_RULE}", location=where)


def _folder(root: Path, value: str | None) -> Path | None:
    return (root / value).resolve() if value else None


def _environments(node: Node | None) -> dict[str, Environment]:
    if node is None:
        return {n: Environment(n, n == "prod") for n in DEFAULT_ENVIRONMENTS}
    if not node.is_mapping:
        raise ConfigError("'environments' must map each environment name to its settings", location=node.loc)
    envs = {}
    for name, settings in node.value.items():
        _check_env_name(name, settings.key_loc)
        protected = False
        if settings.is_mapping and settings.get("protected") is not None:
            protected = bool(settings.value["protected"].value)
        envs[name] = Environment(name, protected, _secrets(settings.get("secrets"), f"environments.{name}.secrets"))
    return envs


def _secrets(node: Node | None, where: str) -> dict[str, dict[str, Any]]:
    """``secrets:`` maps each provider name to its settings (values stay unresolved here)."""
    if node is None or node.value is None:
        return {}
    if not node.is_mapping:
        raise ConfigError(f"'{where}' must map provider names to their settings", location=node.loc)
    for name, settings in node.value.items():
        if settings.value is not None and not settings.is_mapping:
            raise ConfigError(f"'{where}.{name}' must be a mapping of settings", location=settings.loc)
    return {name: to_plain(settings)[0] or {} for name, settings in node.value.items()}
