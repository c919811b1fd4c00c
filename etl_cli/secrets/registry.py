"""The secret providers of the plug-in registry, looked up with the messages of ``secrets:`` settings.

Providers are plug-ins of kind ``secret_provider`` in :data:`etl_cli.plugins.registry.REGISTRY`
(their base class is :class:`etl_cli.secrets.provider.SecretProvider`). Built-ins register on
import of :mod:`etl_cli.secrets.providers`; third-party providers come in through the
``etl_cli.secret_providers`` entry-point group. A type registered twice, or a provider package that fails
to load, is an error naming the package.
"""

from __future__ import annotations

import importlib

from etl_cli.diagnostics import did_you_mean
from etl_cli.plugins.registry import REGISTRY, Registry, load_entry_points
from etl_cli.secrets.errors import SecretSettingsError
from etl_cli.secrets.provider import SecretProvider
from etl_cli.secrets.settings import ProviderContext, ProviderSettings

ENTRY_POINT_GROUP = "etl_cli.secret_providers"

__all__ = ["ENTRY_POINT_GROUP", "PROVIDERS", "ProviderRegistry", "SecretProvider", "default_registry"]


class ProviderRegistry:
    """The ``secret_provider`` kind of one plug-in registry (a fresh one by default, for tests)."""

    def __init__(self, plugins: Registry | None = None) -> None:
        self.plugins = Registry() if plugins is None else plugins

    def register(self, provider: type[SecretProvider]) -> type[SecretProvider]:
        self.plugins.register(provider)
        return provider

    def get(self, type_name: str) -> type[SecretProvider]:
        if type_name not in self.types():
            hint = did_you_mean(type_name, self.types()) or f"provider types: {', '.join(self.types())}"
            raise SecretSettingsError(f"unknown secret provider type '{type_name}'", hint=hint)
        return self.plugins.get_as(SecretProvider, type_name)

    def types(self) -> list[str]:
        return self.plugins.types("secret_provider")

    def create(self, settings: ProviderSettings, context: ProviderContext) -> SecretProvider:
        return self.get(settings.type)(settings, context)


PROVIDERS = ProviderRegistry(REGISTRY)
_LOADED = False


def default_registry() -> ProviderRegistry:
    """The providers of the plug-in registry, with the built-in and entry-point ones loaded (once)."""
    global _LOADED
    if not _LOADED:
        importlib.import_module("etl_cli.secrets.providers")
        load_entry_points(PROVIDERS.plugins, ENTRY_POINT_GROUP)
        _LOADED = True
    return PROVIDERS
