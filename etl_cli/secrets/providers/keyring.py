"""``keyring``: the OS keyring (macOS Keychain, Windows Credential Locker, Secret Service...).

Entries live under one keyring service (default ``etl-cli``); the entry name is the
reference's ``path#key``. Keyrings cannot list their entries, so the provider keeps
an index entry of the names it stored, for ``etl-cli secrets list``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from etl_cli.plugins.registry import register
from etl_cli.secrets.errors import SecretNotFound, SecretUnavailable
from etl_cli.secrets.provider import SecretProvider, require
from etl_cli.secrets.refs import SecretRef

INDEX_ENTRY = "__etl-cli-index__"


@register
class KeyringProvider(SecretProvider):
    type: ClassVar[str] = "keyring"
    description: ClassVar[str] = "the operating system's keyring, through the 'keyring' package"
    options_schema: ClassVar[dict[str, Any]] = {
        "service": {"description": "keyring service the entries are stored under (default etl-cli)"},
        "backend": {
            "description": "keyring backend class, e.g. keyrings.alt.file.PlaintextKeyring "
            "(default: $PYTHON_KEYRING_BACKEND, then keyring's own choice)"
        },
    }
    writable: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._backend: Any = None

    @property
    def service(self) -> str:
        return str(self.setting("service", "etl-cli"))

    def describe(self) -> str:
        return f"keyring service '{self.service}' (provider '{self.name}', backend {self._backend_name()})"

    def fetch(self, ref: SecretRef) -> str:
        value = self._call(ref, "get_password", self.service, ref.name)
        if value is None:
            raise SecretNotFound(
                ref,
                f"keyring service '{self.service}' has no entry '{ref.name}'",
                tried=[self.describe()],
                hint=f"store it with: etl-cli secrets set {ref}",
            )
        return str(value)

    def store(self, ref: SecretRef, value: str) -> None:
        self._call(ref, "set_password", self.service, ref.name, value)
        names = set(self.names())
        if ref.name not in names:
            index = json.dumps(sorted({*names, ref.name}))
            self._call(ref, "set_password", self.service, INDEX_ENTRY, index)

    def names(self) -> list[str]:
        text = self._call(SecretRef(self.name, INDEX_ENTRY), "get_password", self.service, INDEX_ENTRY)
        try:
            names = json.loads(text) if text else []
        except ValueError:
            names = []
        return sorted(n for n in names if isinstance(n, str))

    def reconnect(self) -> None:
        self._backend = None

    def _keyring_backend(self) -> Any:
        if self._backend is None:
            core = require("keyring.core", "keyring", "keyring")
            chosen = self.setting("backend") or self.context.environ.get("PYTHON_KEYRING_BACKEND")
            self._backend = core.load_keyring(str(chosen)) if chosen else core.get_keyring()
        return self._backend

    def _backend_name(self) -> str:
        backend = self._backend
        return type(backend).__module__ + "." + type(backend).__name__ if backend is not None else "not loaded"

    def _call(self, ref: SecretRef, method: str, *args: str) -> Any:
        backend = self._keyring_backend()
        errors = require("keyring.errors", "keyring", "keyring")
        try:
            return getattr(backend, method)(*args)
        except errors.KeyringError as exc:
            raise SecretUnavailable(
                ref,
                f"the keyring backend failed ({type(exc).__name__})",
                tried=[self.describe()],
                hint="install a keyring backend or choose one with PYTHON_KEYRING_BACKEND or secrets.<name>.backend",
            ) from None
