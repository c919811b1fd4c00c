"""Secret providers are plug-ins, registered by type name.

A provider class reads secrets from one kind of store. Its client library is imported
only when the provider is first used (:func:`require`), with an install hint naming
the pip extra. Built-ins register on import of :mod:`etl_cli.secrets.providers`;
third-party providers come in through the ``etl_cli.secret_providers`` entry-point
group. A type registered twice is an error.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, ClassVar

from etl_cli.diagnostics import did_you_mean
from etl_cli.secrets.errors import ProviderNotInstalled, SecretSettingsError
from etl_cli.secrets.refs import SecretRef
from etl_cli.secrets.settings import ProviderContext, ProviderSettings

ENTRY_POINT_GROUP = "etl_cli.secret_providers"


class SecretProvider:
    """Base of every provider. Subclasses set ``type`` and implement :meth:`fetch`."""

    type: ClassVar[str]
    #: what the provider is, for ``--help`` and the docs
    description: ClassVar[str] = ""
    #: option name → what it means (unknown options are refused with a "did you mean")
    options: ClassVar[dict[str, str]] = {}
    #: whether ``etl-cli secrets set`` can write to it and list its entries
    writable: ClassVar[bool] = False

    def __init__(self, settings: ProviderSettings, context: ProviderContext) -> None:
        self.settings = settings
        self.context = context
        known = {*self.options, "cache_ttl"}
        for option in settings.options:
            if option not in known:
                hint = did_you_mean(option, known) or f"{self.type} settings: {', '.join(sorted(known))}"
                raise SecretSettingsError(f"unknown setting '{option}' in {settings.where}", hint=hint)

    @property
    def name(self) -> str:
        return self.settings.name

    def setting(self, option: str, default: Any = None) -> Any:
        """A setting with ``${env:...}`` resolved."""
        return self.context.resolve(self.settings, option, default)

    def describe(self) -> str:
        """Where this provider looks, for the 'tried:' lines of errors (never a credential)."""
        return f"{self.type} provider '{self.name}'"

    def fetch(self, ref: SecretRef) -> str:
        """Read one secret. Raise SecretNotFound, SecretAuthError or SecretUnavailable on failure."""
        raise NotImplementedError

    def reconnect(self) -> None:
        """Forget clients and tokens so the next fetch logs in again (used after an auth failure)."""

    def store(self, ref: SecretRef, value: str) -> None:
        """Write one secret (writable providers only)."""
        raise SecretSettingsError(f"the {self.type} provider is read-only", hint="set secrets with keyring or file")

    def names(self) -> list[str]:
        """The entry names a writable provider holds (never values)."""
        return []


class ProviderRegistry:
    """Provider classes by type name."""

    def __init__(self) -> None:
        self._types: dict[str, type[SecretProvider]] = {}

    def register(self, provider: type[SecretProvider]) -> type[SecretProvider]:
        existing = self._types.get(provider.type)
        if existing is not None and existing is not provider:
            raise SecretSettingsError(
                f"secret provider type '{provider.type}' registered twice: "
                f"{existing.__module__}.{existing.__name__} and {provider.__module__}.{provider.__name__}"
            )
        self._types[provider.type] = provider
        return provider

    def get(self, type_name: str) -> type[SecretProvider]:
        if type_name not in self._types:
            hint = did_you_mean(type_name, self._types) or f"provider types: {', '.join(self.types())}"
            raise SecretSettingsError(f"unknown secret provider type '{type_name}'", hint=hint)
        return self._types[type_name]

    def types(self) -> list[str]:
        return sorted(self._types)

    def create(self, settings: ProviderSettings, context: ProviderContext) -> SecretProvider:
        return self.get(settings.type)(settings, context)


PROVIDERS = ProviderRegistry()
_LOADED = False


def register(provider: type[SecretProvider]) -> type[SecretProvider]:
    """Class decorator: add a built-in provider to the default registry."""
    return PROVIDERS.register(provider)


def default_registry() -> ProviderRegistry:
    """The registry with built-in and entry-point providers loaded (once)."""
    global _LOADED
    if not _LOADED:
        importlib.import_module("etl_cli.secrets.providers")
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            PROVIDERS.register(entry.load())
        _LOADED = True
    return PROVIDERS


def require(module: str, extra: str, package: str | None = None) -> ModuleType:
    """Import a provider's client library, or say which pip extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ProviderNotInstalled(
            f"the {extra} secret provider needs the '{package or module}' package, which is not installed",
            hint=f"pip install 'etl-cli[{extra}]'",
        ) from exc
