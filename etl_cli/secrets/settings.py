"""Provider settings: the ``secrets:`` section of ``etl-project.yaml`` for one environment.

Each entry names a provider instance; its ``type`` (default: the entry's own name)
picks the implementation, so ``db: {type: keyring}`` in dev and
``db: {type: vault, ...}`` in prod let one pipeline write ``${secret:db:...}`` in both.
``${env:NAME}`` and ``${env:NAME:-default}`` inside a setting are resolved when the
provider is first used, so ``validate`` never needs a Vault token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_cli.config.project import PROJECT_FILE, Project
from etl_cli.secrets.errors import SecretSettingsError

_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_CACHE_TTL = 300.0


@dataclass(frozen=True)
class ProviderSettings:
    """The settings of one provider instance, as written (``${env:...}`` not yet resolved)."""

    name: str
    type: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """Where a user edits these settings, for error messages."""
        return f"{PROJECT_FILE} secrets.{self.name}"

    @property
    def cache_ttl(self) -> float:
        """Seconds a resolved value is reused within a run (setting ``cache_ttl``, default 300)."""
        value = self.options.get("cache_ttl", _CACHE_TTL)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SecretSettingsError(f"{self.where}.cache_ttl must be a number of seconds >= 0, got {value!r}")
        return float(value)


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may use besides its settings: the project root and the environment variables."""

    project_root: Path
    environ: Mapping[str, str]

    def resolve(self, settings: ProviderSettings, option: str, default: Any = None) -> Any:
        """One setting with ``${env:...}`` resolved; an unset variable without default is an error."""
        value = settings.options.get(option, default)
        if not isinstance(value, str) or "${env:" not in value:
            return value

        def replace(match: re.Match[str]) -> str:
            name, default_text = match.group(1), match.group(2)
            if name in self.environ:
                return self.environ[name]
            if default_text is not None:
                return default_text
            raise SecretSettingsError(
                f"{settings.where}.{option} reads environment variable {name}, which is not set",
                hint=f"export {name}=... or give a default: ${{env:{name}:-value}}",
            )

        return _ENV_REFERENCE.sub(replace, value)

    def path(self, settings: ProviderSettings, option: str, default: str | None = None) -> Path | None:
        """A path setting: ``~`` expanded, relative paths taken from the project root."""
        value = self.resolve(settings, option, default)
        if value in (None, ""):
            return None
        candidate = Path(str(value)).expanduser()
        return candidate if candidate.is_absolute() else self.project_root / candidate


def provider_settings(project: Project, env: str | None) -> dict[str, ProviderSettings]:
    """Every configured provider instance for ``env``, by name."""
    found = {}
    for name, options in project.secrets_for(env).items():
        type_name = options.get("type", name)
        if not isinstance(type_name, str):
            raise SecretSettingsError(f"{PROJECT_FILE} secrets.{name}.type must be a provider type name")
        found[name] = ProviderSettings(name, type_name, {k: v for k, v in options.items() if k != "type"})
    return found
