"""The base of secret providers: plug-ins of kind ``secret_provider`` in the one plug-in registry.

A provider class reads secrets from one kind of store. Like every plug-in it declares its
settings as JSON Schema (``options_schema``: setting name → schema, each with a description);
a setting it does not declare is refused with a "did you mean". Values are checked by the
provider when it uses them, since any of them may be ``${env:...}`` until then. Its client
library is imported only when the provider is first used (:func:`require`), with an install
hint naming the pip extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, ClassVar

from etl_cli.diagnostics import did_you_mean
from etl_cli.plugins.api import Plugin, PluginKind
from etl_cli.secrets.errors import ProviderNotInstalled, SecretSettingsError
from etl_cli.secrets.refs import SecretRef
from etl_cli.secrets.settings import ProviderContext, ProviderSettings

#: the settings every provider takes besides its own ``options_schema``
COMMON_SETTINGS: dict[str, Any] = {
    "cache_ttl": {
        "type": "number",
        "minimum": 0,
        "description": "seconds a value read is reused within a run (default 300)",
    },
}


class SecretProvider(Plugin):
    """Base of every provider. Subclasses set ``type`` and ``options_schema`` and implement :meth:`fetch`."""

    kind: ClassVar[PluginKind] = "secret_provider"
    type: ClassVar[str]
    #: whether ``etl-cli secrets set`` can write to it and list its entries
    writable: ClassVar[bool] = False

    def __init__(self, settings: ProviderSettings, context: ProviderContext) -> None:
        self.settings = settings
        self.context = context
        known = {*self.options_schema, *COMMON_SETTINGS}
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


def require(module: str, extra: str, package: str | None = None) -> ModuleType:
    """Import a provider's client library, or say which pip extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ProviderNotInstalled(
            f"the {extra} secret provider needs the '{package or module}' package, which is not installed",
            hint=f"pip install 'etl-cli[{extra}]'",
        ) from exc
