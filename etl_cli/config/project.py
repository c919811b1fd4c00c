"""The project: the folder holding ``etl-project.yaml`` (environments, folders, defaults).

A pipeline's relative paths, its templates and its run state are resolved against
the project root, so a pipeline behaves the same whatever directory cron starts in.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_cli.config.alerts import AlertSettings, read_alerts
from etl_cli.config.audit import AuditSettings, read_audit_settings
from etl_cli.config.keys import KeySettings, read_keys
from etl_cli.config.limits import NAME_RULE, is_name
from etl_cli.config.nodes import Node, to_plain
from etl_cli.config.overlay import merge
from etl_cli.config.policies import PolicySpec, read_policies
from etl_cli.config.schedules import check_schedule_block
from etl_cli.config.yaml_loader import YamlFileError, load_yaml_file
from etl_cli.diagnostics import Diagnostic, did_you_mean, error, sorted_diagnostics
from etl_cli.errors import InvalidPipeline, Location, UsageError

PROJECT_FILE = "etl-project.yaml"
PIPELINE_FILE = "pipeline.yaml"
OVERLAY_DIR = "env"
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")
_KNOWN_KEYS = {
    "name",
    "default_env",
    "environments",
    "templates_dir",
    "state_dir",
    "secrets",
    "lineage",
    "catalogs",
    "history",
    "schedule",
    "alerts",
    "principals",
    "access",
    "policies",
    "keys",
    "audit",
    "spark",
}
_HISTORY_KEYS = ("keep_days", "keep_runs_per_pipeline")
_ENVIRONMENT_KEYS = {"protected", "secrets", "lineage"}


@dataclass(frozen=True)
class Environment:
    """An environment a pipeline can be specialised for."""

    name: str
    protected: bool = False
    #: secret provider settings for this environment, over the project's ``secrets:``
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)
    #: the ``lineage:`` settings of this environment, over the project's (as written: validated with the pipeline)
    lineage: Node | None = field(default=None, hash=False, compare=False, repr=False)


@dataclass(frozen=True)
class HistorySettings:
    """``history:``: how long the run history (``<state_dir>/history.sqlite``) keeps runs; None: no limit.

    A run is dropped when it started more than ``keep_days`` days ago, or when its pipeline
    has ``keep_runs_per_pipeline`` newer runs in the same environment (docs/orchestration.md).
    """

    keep_days: int | None = 90
    keep_runs_per_pipeline: int | None = 500


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
    #: the ``lineage:`` settings every pipeline starts from (as written: validated with the pipeline; docs/lineage.md)
    lineage: Node | None = field(default=None, compare=False, repr=False)
    #: the ``catalogs:`` sinks register their tables in, by name (as written: etl_cli.model.catalog reads them)
    catalogs: Node | None = field(default=None, compare=False, repr=False)
    #: ``history:``: the retention of the run history
    history: HistorySettings = field(default_factory=HistorySettings)
    #: the ``schedule:`` every pipeline starts from, key by key under its own (as written; etl_cli.model.schedule)
    schedule: Node | None = field(default=None, compare=False, repr=False)
    #: ``alerts:``: the thresholds of the rules ``etl-cli alerts export`` writes (etl_cli/config/alerts.py)
    alerts: AlertSettings = field(default_factory=AlertSettings, compare=False, repr=False)
    #: ``principals:``: who reads, with their attributes and groups (as written: etl_cli.model.access reads it)
    principals: Node | None = field(default=None, compare=False, repr=False)
    #: ``access:``: the row filters of sources, by rule name (as written: etl_cli.model.access reads it)
    access: Node | None = field(default=None, compare=False, repr=False)
    #: ``policies:``: which tagged columns may reach which sinks, and only masked or encrypted (config/policies.py)
    policies: tuple[PolicySpec, ...] = field(default=(), compare=False, repr=False)
    #: ``keys:``: the encryption keys ``encrypt``/``decrypt`` name, by name (etl_cli/config/keys.py)
    keys: dict[str, KeySettings] = field(default_factory=dict, compare=False, repr=False)
    #: ``audit:``: the audit trail's HMAC key reference and where its records are shipped (etl_cli/config/audit.py)
    audit: AuditSettings = field(default_factory=AuditSettings, compare=False, repr=False)
    #: ``spark: {remote: sc://...}``: the Spark Connect server every pipeline runs on unless it names its own
    spark_remote: str | None = None

    def lineage_under(self, tree: Node, env: str | None, diagnostics: list[Diagnostic]) -> Node:
        """``tree`` (a pipeline) with the project's ``lineage:`` and then ``env``'s merged beneath its own.

        The blocks become the lowest layers of the pipeline's ``lineage:``, so one JSON Schema checks
        them, errors point at ``etl-project.yaml``, ``render --explain`` names their lines, and a
        pipeline, its overlay or ``--set`` override them key by key.
        """
        environment = self.environments.get(env) if env else None
        layers = [block for block in (self.lineage, environment and environment.lineage) if block is not None]
        if not layers or not tree.is_mapping:
            return tree
        merged = Node({}, tree.loc)
        for block in [*layers, tree.value.get("lineage")]:
            if block is not None:
                merged = merge(merged, Node({"lineage": copy.deepcopy(block)}, tree.loc), diagnostics)
        own = {key: node for key, node in tree.value.items() if key != "lineage"}
        return Node({**own, **merged.value}, tree.loc, tree.key_loc, tree.raw, tree.tag, tree.interpolated)

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

    def relative_paths_rule(self) -> str:
        """What a pipeline's relative paths are relative to, for messages about a path that is not there."""
        where = f"the folder of {PROJECT_FILE}" if self.config_file else f"no {PROJECT_FILE} was found there or above"
        return f"relative paths are relative to the project root {self.root} ({where})"

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
    """Load the project around ``start``; without a project file, ``start`` is the root.

    Raises :class:`InvalidProject` with every problem of the file, not only the first.
    """
    project, problems = read_project(start)
    if problems:
        raise InvalidProject(problems)
    return project


def read_project(start: Path) -> tuple[Project, list[Diagnostic]]:
    """The project around ``start`` and every problem of its file, each at its ``file:line:col``.

    With problems, the project holds only the settings that were right; callers report the
    problems rather than go on with it (``validate`` lists them with the pipeline's).
    """
    root = find_project_root(start)
    if root is None:
        return Project(root=start.resolve(), environments=_default_environments()), []
    config_file = root / PROJECT_FILE
    try:
        tree = load_yaml_file(config_file)
    except YamlFileError as exc:
        return Project(root=root, environments=_default_environments(), config_file=config_file), exc.diagnostics
    reader = _ProjectReader()
    project = reader.project(tree, root, config_file)
    return project, sorted_diagnostics(reader.problems)


class InvalidProject(InvalidPipeline):
    """``etl-project.yaml`` has problems (exit 1): every one of them, each at its ``file:line:col``.

    An :class:`InvalidPipeline`, so that every command lists them as it lists a pipeline's.
    """

    def __init__(self, problems: list[Diagnostic]):
        super().__init__(problems, f"{PROJECT_FILE} is invalid")

    def __str__(self) -> str:
        return "\n".join([self.message, *(str(d) for d in self.diagnostics)])


def _default_environments() -> dict[str, Environment]:
    return {n: Environment(n, n == "prod") for n in DEFAULT_ENVIRONMENTS}


class _ProjectReader:
    """Reads the located tree of ``etl-project.yaml``, keeping what is right and noting every problem."""

    def __init__(self) -> None:
        self.problems: list[Diagnostic] = []

    def project(self, tree: Node, root: Path, config_file: Path) -> Project:
        if not tree.is_mapping:
            self._problem("not-a-mapping", f"{PROJECT_FILE} must be a mapping (key: value)", tree.loc)
            return Project(root=root, environments=_default_environments(), config_file=config_file)
        data: dict[str, Node] = dict(tree.value)
        self._unknown_keys(data, _KNOWN_KEYS, PROJECT_FILE)
        environments = self._environments(data.get("environments"))
        return Project(
            root=root,
            name=self._text(data, "name") or root.name,
            default_env=self._default_env(data, environments),
            environments=environments,
            templates_dir=_folder(root, self._text(data, "templates_dir")),
            state_dir=_folder(root, self._text(data, "state_dir")),
            config_file=config_file,
            secrets=self._secrets(data.get("secrets"), "secrets"),
            lineage=self._block(data.get("lineage"), "lineage"),
            catalogs=self._block(data.get("catalogs"), "catalogs"),
            history=self._history(data.get("history")),
            schedule=self._schedule(data.get("schedule"), environments),
            alerts=read_alerts(data.get("alerts"), self.problems),
            principals=self._block(data.get("principals"), "principals"),
            access=self._block(data.get("access"), "access"),
            policies=read_policies(data.get("policies"), self.problems),
            keys=read_keys(data.get("keys"), self.problems),
            audit=read_audit_settings(data.get("audit"), self.problems),
            spark_remote=self._spark_remote(data.get("spark")),
        )

    def _spark_remote(self, node: Node | None) -> str | None:
        """``spark: {remote: sc://host:port}``: the only project-wide Spark setting."""
        if node is None:
            return None
        if not node.is_mapping:
            self._problem("not-a-mapping", "spark must be a mapping (remote: sc://host:port)", node.loc)
            return None
        self._unknown_keys(dict(node.value), ("remote",), "spark")
        remote = node.value.get("remote")
        if remote is None:
            return None
        if not isinstance(remote.value, str) or not remote.value.startswith("sc://"):
            self._problem("bad-remote", "spark.remote must be a Spark Connect URL", remote.loc, "write sc://host:port")
            return None
        return remote.value

    def _problem(self, code: str, message: str, where: Location | None, hint: str | None = None) -> None:
        self.problems.append(error(code, message, where, hint))

    def _unknown_keys(self, data: dict[str, Node], known: Collection[str], within: str) -> None:
        for key, node in data.items():
            if key not in known:
                hint = did_you_mean(key, known) or f"known keys: {', '.join(sorted(known))}"
                self._problem("unknown-key", f"unknown key '{key}' in {within}", node.key_loc, hint)

    def _text(self, data: dict[str, Node], key: str) -> str | None:
        node = data.get(key)
        if node is None or node.value is None:
            return None
        if not isinstance(node.value, str):
            self._problem("wrong-type", f"{key} must be a string, got {_show(node)}", node.loc)
            return None
        return node.value

    def _default_env(self, data: dict[str, Node], environments: dict[str, Environment]) -> str | None:
        """``default_env``: a name (it names overlay files), and one of the environments when they are listed."""
        name = self._text(data, "default_env")
        if not name:
            return None
        where = data["default_env"].loc
        if not is_name(name):
            self._problem("invalid-name", f"environment '{name}' is not a name: use {NAME_RULE}", where)
            return None
        if environments and name not in environments:
            message = f"default_env '{name}' is not one of the environments: {', '.join(environments)}"
            self._problem(
                "unknown-environment", message, where, f"add '{name}' under environments:, or name one of them"
            )
            return None
        return name

    def _environments(self, node: Node | None) -> dict[str, Environment]:
        if node is None:
            return _default_environments()
        if not node.is_mapping:
            message = f"environments must map each environment name to its settings, got {_show(node)}"
            self._problem(
                "wrong-type", message, node.loc, "for example: environments: {dev: {}, prod: {protected: true}}"
            )
            return {}
        envs = {}
        for name, settings in node.value.items():
            env = self._environment(name, settings)
            if env is not None:
                envs[name] = env
        return envs

    def _environment(self, name: str, settings: Node) -> Environment | None:
        """One entry of ``environments``: a name (it names overlay files) and its settings (or nothing)."""
        if not is_name(name):
            self._problem("invalid-name", f"environment '{name}' is not a name: use {NAME_RULE}", settings.key_loc)
            return None
        if settings.value is None:
            return Environment(name)
        if not settings.is_mapping:
            message = f"environments.{name} must be a mapping of settings, got {_show(settings)}"
            self._problem("wrong-type", message, settings.loc, "for example: {protected: true}")
            return None
        self._unknown_keys(settings.value, _ENVIRONMENT_KEYS, f"environments.{name}")
        protected = settings.get("protected")
        if protected is not None and not isinstance(protected.value, bool):
            message = f"environments.{name}.protected must be true or false, got {_show(protected)}"
            self._problem("wrong-type", message, protected.loc)
        is_protected = protected is not None and protected.value is True
        secrets = self._secrets(settings.get("secrets"), f"environments.{name}.secrets")
        lineage = self._block(settings.get("lineage"), f"environments.{name}.lineage")
        return Environment(name, is_protected, secrets, lineage)

    def _history(self, node: Node | None) -> HistorySettings:
        """``history:``: each limit a whole number of at least 1, or null for no limit; unset: the default."""
        if node is None or node.value is None:
            return HistorySettings()
        if not node.is_mapping:
            message = f"history must be a mapping, got {_show(node)}"
            self._problem("wrong-type", message, node.loc, "for example: history: {keep_days: 30}")
            return HistorySettings()
        self._unknown_keys(node.value, _HISTORY_KEYS, "history")
        limits: dict[str, int | None] = {}
        for key in _HISTORY_KEYS:
            value = node.value.get(key)
            if value is None:
                continue
            if value.value is None or (type(value.value) is int and value.value >= 1):
                limits[key] = value.value
                continue
            message = f"history.{key} must be a whole number of at least 1 (or null: no limit), got {_show(value)}"
            self._problem("wrong-type", message, value.loc)
        return HistorySettings(**limits)

    def _schedule(self, node: Node | None, environments: dict[str, Environment]) -> Node | None:
        """``schedule:``: the default of every pipeline's schedule (docs/orchestration.md), checked here once."""
        if node is None or node.value is None:
            return None
        problems = check_schedule_block(node, environments, "schedule")
        self.problems.extend(problems)
        return None if problems else node

    def _block(self, node: Node | None, where: str) -> Node | None:
        """A block of pipeline settings (``lineage:``): a mapping, kept as written for the pipeline's checks."""
        if node is None or node.value is None:
            return None
        if not node.is_mapping:
            self._problem("wrong-type", f"'{where}' must be a mapping of settings, got {_show(node)}", node.loc)
            return None
        return node

    def _secrets(self, node: Node | None, where: str) -> dict[str, dict[str, Any]]:
        """``secrets:`` maps each provider name to its settings (values stay unresolved here)."""
        if node is None or node.value is None:
            return {}
        if not node.is_mapping:
            self._problem("wrong-type", f"'{where}' must map provider names to their settings", node.loc)
            return {}
        found = {}
        for name, settings in node.value.items():
            if settings.value is not None and not settings.is_mapping:
                self._problem("wrong-type", f"'{where}.{name}' must be a mapping of settings", settings.loc)
                continue
            found[name] = to_plain(settings)[0] or {}
        return found


def _folder(root: Path, value: str | None) -> Path | None:
    return (root / value).resolve() if value else None


def _show(node: Node) -> str:
    """A value as the message shows it: text quoted, at most 60 characters."""
    value = to_plain(node)[0]
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
