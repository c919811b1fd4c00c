"""Use case of ``etl-cli plugins list``: every plug-in etl-cli knows, where it comes from, and those that fail to load.

Unlike :func:`etl_cli.app.registry`, which refuses to go on when an installed plug-in is broken, this
loads what it can and reports the rest, so the listing is where a user finds out what is broken.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import etl_cli.plugins.builtin  # registers the built-in plug-ins
import etl_cli.secrets.providers  # noqa: F401 - registers the built-in secret providers
from etl_cli import __version__
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import PLUGIN_KINDS, Plugin, PluginKind
from etl_cli.plugins.registry import ENTRY_POINT_GROUP, REGISTRY, EntryPointPlugins, installed_plugins
from etl_cli.secrets.registry import ENTRY_POINT_GROUP as SECRET_PROVIDERS_GROUP

BUILT_IN = "built-in"
ENTRY_POINT = "entry point"


@dataclass(frozen=True)
class PluginInfo:
    """One plug-in as the listing shows it."""

    kind: PluginKind
    type: str
    description: str
    #: the distribution that provides it, and its version (None when it cannot be told)
    package: str | None
    version: str | None
    #: ``built-in``, ``entry point``, or ``registered on import of <module>`` (a class a plug-in module
    #: registered itself, not named by any entry point)
    origin: str
    #: ``group:name`` of the entry point it came through
    entry_point: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PluginListing:
    plugins: list[PluginInfo]
    #: entry points that could not be loaded or registered, each with its error
    failed: list[EntryPointPlugins]

    def to_json(self) -> dict[str, Any]:
        failed = [
            {
                "entry_point": f.entry_point,
                "value": f.value,
                "package": f.package,
                "version": f.version,
                "error": f.error,
            }
            for f in self.failed
        ]
        return {"plugins": [p.to_json() for p in self.plugins], "failed": failed}


def list_plugins(kind: str | None = None) -> PluginListing:
    """Built-in and installed plug-ins of every kind (or of ``kind``), by kind then type; never raises on a broken one.

    Failures are listed whatever ``kind`` asks for: a plug-in that does not load has no known kind.
    """
    origins, failed = _register_installed()
    kinds = [k for k in PLUGIN_KINDS if kind in (None, k)]
    plugins = [_info(plugin, origins.get(plugin)) for k in kinds for plugin in REGISTRY.plugins(k)]
    return PluginListing(plugins, failed)


def _register_installed() -> tuple[dict[type[Plugin], EntryPointPlugins], list[EntryPointPlugins]]:
    """Register what the entry points of both groups give: the entry point of each class, and the failures."""
    origins: dict[type[Plugin], EntryPointPlugins] = {}
    failed: list[EntryPointPlugins] = []
    for found in [*installed_plugins(ENTRY_POINT_GROUP), *installed_plugins(SECRET_PROVIDERS_GROUP)]:
        if found.error:
            failed.append(found)
        for plugin in found.plugins:
            try:
                REGISTRY.register(plugin)
            except ConfigError as exc:  # its type is taken (by a built-in or another package)
                failed.append(replace(found, error=exc.message))
            else:
                origins[plugin] = found
    return origins, failed


def _info(plugin: type[Plugin], found: EntryPointPlugins | None) -> PluginInfo:
    package, version, origin, entry_point = _provenance(plugin, found)
    return PluginInfo(plugin.kind, plugin.type, plugin.description, package, version, origin, entry_point)


def _provenance(
    plugin: type[Plugin], found: EntryPointPlugins | None
) -> tuple[str | None, str | None, str, str | None]:
    """(package, version, origin, entry point) of ``plugin``, registered through ``found`` if not None."""
    if found:
        return found.package, found.version, ENTRY_POINT, found.entry_point
    if plugin.__module__.split(".")[0] == "etl_cli":
        return "etl-cli", __version__, BUILT_IN, None
    return None, None, f"registered on import of {plugin.__module__}", None
