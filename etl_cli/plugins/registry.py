"""One registry for every kind of plug-in (stages, checks, metrics exporters, secret providers).

Third parties come in by entry points. Code that reads what a kind's base class declares (a sink's
``modes``, a check's ``level``) looks the plug-in up with :meth:`Registry.get_as`, typed by that base.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TypeVar

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import PLUGIN_KINDS, Plugin, PluginKind

ENTRY_POINT_GROUP = "etl_cli.plugins"
P = TypeVar("P", bound=Plugin)


def kind_label(kind: PluginKind) -> str:
    """The kind as messages name it ("secret provider")."""
    return kind.replace("_", " ")


class Registry:
    """Plug-in classes by kind and type name. A name registered twice is an error."""

    def __init__(self) -> None:
        self._plugins: dict[PluginKind, dict[str, type[Plugin]]] = {kind: {} for kind in PLUGIN_KINDS}

    def register(self, plugin: type[Plugin]) -> type[Plugin]:
        table = self._plugins[plugin.kind]
        if plugin.type in table and table[plugin.type] is not plugin:
            existing = table[plugin.type]
            raise ConfigError(
                f"{kind_label(plugin.kind)} type '{plugin.type}' registered twice: "
                f"{existing.__module__}.{existing.__name__} and {plugin.__module__}.{plugin.__name__}"
            )
        table[plugin.type] = plugin
        return plugin

    def get(self, kind: PluginKind, type_name: str) -> type[Plugin]:
        table = self._plugins[kind]
        if type_name not in table:
            hint = did_you_mean(type_name, table) or f"known {kind_label(kind)} types: {', '.join(sorted(table))}"
            raise ConfigError(f"unknown {kind_label(kind)} type '{type_name}'", hint=hint)
        return table[type_name]

    def get_as(self, base: type[P], type_name: str) -> type[P]:
        """The plug-in ``type_name`` of ``base``'s kind, which must subclass ``base`` (so its attributes are known)."""
        plugin = self.get(base.kind, type_name)
        if not issubclass(plugin, base):
            raise ConfigError(
                f"{kind_label(base.kind)} type '{type_name}' is {plugin.__module__}.{plugin.__qualname__}, "
                f"which does not subclass {base.__module__}.{base.__qualname__}",
                hint=f"a {kind_label(base.kind)} plug-in subclasses {base.__module__}.{base.__qualname__}",
            )
        return plugin

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
