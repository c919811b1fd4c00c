"""One registry for every kind of plug-in (stages, checks, metrics exporters, secret providers).

Third parties come in by entry points. Code that reads what a kind's base class declares (a sink's
``modes``, a check's ``level``) looks the plug-in up with :meth:`Registry.get_as`, typed by that base.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
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


@dataclass(frozen=True)
class EntryPointPlugins:
    """What one entry point gave: its plug-in classes, or why it gave none (one broken package hides no other)."""

    group: str
    name: str
    #: what it names, ``module:attribute``
    value: str
    #: the distribution that declares it, and its version (None when it comes from no distribution)
    package: str | None
    version: str | None
    plugins: tuple[type[Plugin], ...] = ()
    error: str | None = None

    @property
    def entry_point(self) -> str:
        return f"{self.group}:{self.name}"

    @property
    def label(self) -> str:
        """How messages name it: ``etl_cli.plugins:name = module:attribute (package version)``."""
        where = f" ({self.package} {self.version})" if self.package else ""
        return f"{self.entry_point} = {self.value}{where}"


def installed_plugins(group: str = ENTRY_POINT_GROUP) -> list[EntryPointPlugins]:
    """Every entry point of ``group`` loaded, in a stable order; one that fails carries its error instead of raising."""
    found = [_load(entry, group) for entry in entry_points(group=group)]
    return sorted(found, key=lambda f: (f.name, f.package or ""))


def _load(entry: EntryPoint, group: str) -> EntryPointPlugins:
    dist = entry.dist
    found = EntryPointPlugins(
        group, entry.name, entry.value, dist.name if dist else None, dist.version if dist else None
    )
    try:
        loaded = entry.load()
    except Exception as exc:  # whatever importing a third-party module raises, it must not hide the other plug-ins
        return replace(found, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    plugins = tuple(loaded) if isinstance(loaded, (list, tuple)) else (loaded,)
    problem = next(filter(None, map(_plugin_problem, plugins)), None)
    return replace(found, error=problem) if problem else replace(found, plugins=plugins)


def _plugin_problem(value: object) -> str | None:
    """Why ``value`` cannot be registered (None when it can)."""
    if not (isinstance(value, type) and issubclass(value, Plugin)):
        return f"it gives {value!r}, which is not a plug-in class (a subclass of {Plugin.__module__}.Plugin)"
    if getattr(value, "kind", None) not in PLUGIN_KINDS or not isinstance(getattr(value, "type", None), str):
        return (
            f"{value.__module__}.{value.__qualname__} has no kind or no type name: subclass Source, Transform, "
            "Sink, Check, MetricsExporter or SecretProvider and set type"
        )
    return None


def load_entry_points(registry: Registry = REGISTRY, group: str = ENTRY_POINT_GROUP) -> None:
    """Register the plug-ins of an entry-point group (``etl_cli.plugins`` by default); one that fails to load is a
    ConfigError naming it and its package."""
    for found in installed_plugins(group):
        if found.error:
            raise ConfigError(
                f"plug-in {found.label} failed to load: {found.error}",
                hint=f"fix or uninstall {found.package or 'the package that declares it'}; "
                "`etl-cli plugins list` shows every plug-in and whether it loads",
            )
        for plugin in found.plugins:
            registry.register(plugin)
