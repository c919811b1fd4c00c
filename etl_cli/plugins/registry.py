"""One registry for every kind of plug-in; third parties come in by entry points."""

from __future__ import annotations

from importlib.metadata import entry_points

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import PLUGIN_KINDS, Plugin, PluginKind

ENTRY_POINT_GROUP = "etl_cli.plugins"


class Registry:
    """Plug-in classes by kind and type name. A name registered twice is an error."""

    def __init__(self) -> None:
        self._plugins: dict[PluginKind, dict[str, type[Plugin]]] = {kind: {} for kind in PLUGIN_KINDS}

    def register(self, plugin: type[Plugin]) -> type[Plugin]:
        table = self._plugins[plugin.kind]
        if plugin.type in table and table[plugin.type] is not plugin:
            existing = table[plugin.type]
            raise ConfigError(
                f"{plugin.kind} type '{plugin.type}' registered twice: "
                f"{existing.__module__}.{existing.__name__} and {plugin.__module__}.{plugin.__name__}"
            )
        table[plugin.type] = plugin
        return plugin

    def get(self, kind: PluginKind, type_name: str) -> type[Plugin]:
        table = self._plugins[kind]
        if type_name not in table:
            hint = did_you_mean(type_name, table) or f"known {kind} types: {', '.join(sorted(table))}"
            raise ConfigError(f"unknown {kind} type '{type_name}'", hint=hint)
        return table[type_name]

    def types(self, kind: PluginKind) -> list[str]:
        return sorted(self._plugins[kind])

    def plugins(self, kind: PluginKind) -> list[type[Plugin]]:
        return [self._plugins[kind][name] for name in self.types(kind)]


REGISTRY = Registry()


def register(plugin: type[Plugin]) -> type[Plugin]:
    """Class decorator: add a built-in plug-in to the default registry."""
    return REGISTRY.register(plugin)


def load_entry_points(registry: Registry = REGISTRY) -> None:
    """Register third-party plug-ins declared in the ``etl_cli.plugins`` entry-point group."""
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        for plugin in loaded if isinstance(loaded, (list, tuple)) else [loaded]:
            registry.register(plugin)
