"""``keyring``: the OS keyring (macOS Keychain, Windows Credential Locker, Secret Service...).

Entries live under one keyring service (default ``etl-cli``); the entry name is the
reference's ``path#key``. Keyrings cannot list their entries, so the provider keeps
an index entry of the names it stored, for ``etl-cli secrets list``.

keyring picks the backend with the highest priority; where no OS keyring runs (a server,
a container) and keyrings.alt is installed, which the ``keyring`` extra does, that is a
file holding the values in plain text. The provider refuses such a backend unless the
user opted in (``allow_plaintext: true`` or ``ETL_KEYRING_ALLOW_PLAINTEXT=1``), and its
description, which ``secrets set``, ``get`` and ``list`` print, names the backend in use.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from etl_cli.plugins.registry import register
from etl_cli.secrets.errors import SecretNotFound, SecretSettingsError, SecretUnavailable
from etl_cli.secrets.provider import SecretProvider, require
from etl_cli.secrets.refs import SecretRef

INDEX_ENTRY = "__etl-cli-index__"
#: the environment variable that opts into plain-text backends, for every keyring provider of the project
ALLOW_PLAINTEXT_VARIABLE = "ETL_KEYRING_ALLOW_PLAINTEXT"
#: backends that keep values unencrypted (a backend derived from one of them is one too)
PLAINTEXT_BACKENDS = frozenset({"keyrings.alt.file.PlaintextKeyring"})
_YES = {"1", "true", "yes", "on"}


@register
class KeyringProvider(SecretProvider):
    type: ClassVar[str] = "keyring"
    description: ClassVar[str] = "the operating system's keyring, through the 'keyring' package"
    options_schema: ClassVar[dict[str, Any]] = {
        "service": {"description": "keyring service the entries are stored under (default etl-cli)"},
        "backend": {
            "description": "keyring backend class, e.g. keyring.backends.SecretService.Keyring "
            "(default: $PYTHON_KEYRING_BACKEND, then keyring's own choice)"
        },
        "allow_plaintext": {
            "description": "use a backend that keeps values unencrypted, such as keyrings.alt.file.PlaintextKeyring "
            f"(default false; ${ALLOW_PLAINTEXT_VARIABLE}=1 allows it too)"
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
        return f"keyring service '{self.service}' (provider '{self.name}', backend {self._backend_label()})"

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
        if self._call(ref, "get_password", self.service, ref.name) != value:
            raise SecretUnavailable(
                ref,
                f"the keyring backend {_class_path(self._backend)} did not keep the value",
                tried=[self.describe()],
                hint=self._choose_backend(),
            )
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
            backend = self._load_backend()
            plaintext = _plaintext_part(backend)
            if plaintext is not None and self._plaintext_allowed_by() is None:
                raise self._refusal(plaintext)
            self._backend = backend
        return self._backend

    def _load_backend(self) -> Any:
        core = require("keyring.core", "keyring", "keyring")
        chosen = self.setting("backend") or self.context.environ.get("PYTHON_KEYRING_BACKEND")
        if not chosen:
            return core.get_keyring()
        try:
            return core.load_keyring(str(chosen))
        except (ImportError, AttributeError, RuntimeError) as exc:
            raise SecretSettingsError(
                f"keyring backend '{chosen}' could not be loaded ({type(exc).__name__}: {exc})",
                hint=f"{self._choose_backend()}; `keyring --list-backends` lists the installed ones",
            ) from None

    def _plaintext_allowed_by(self) -> str | None:
        """What opted into plain-text backends: the provider's setting or the environment variable (None: nothing)."""
        if str(self.setting("allow_plaintext", False)).lower() in _YES:
            return "allow_plaintext"
        if self.context.environ.get(ALLOW_PLAINTEXT_VARIABLE, "").lower() in _YES:
            return ALLOW_PLAINTEXT_VARIABLE
        return None

    def _refusal(self, plaintext: Any) -> SecretSettingsError:
        where = getattr(plaintext, "file_path", None)
        return SecretSettingsError(
            f"refusing keyring backend {_class_path(plaintext)}: it keeps values unencrypted"
            + (f" in {where}" if where else "")
            + f" (provider '{self.name}')",
            hint="use an OS keyring (Secret Service, macOS Keychain, Windows Credential Locker) and "
            f"{self._choose_backend()}; or accept plain text: 'allow_plaintext: true' there, "
            f"or {ALLOW_PLAINTEXT_VARIABLE}=1",
        )

    def _choose_backend(self) -> str:
        return f"choose one with PYTHON_KEYRING_BACKEND or 'backend:' under {self.settings.where}"

    def _backend_label(self) -> str:
        """The backend's class, the backend a chain writes to, and whether values are stored unencrypted."""
        backend = self._backend
        if backend is None:
            return "not loaded"
        label = _class_path(backend)
        target = _written_to(backend)
        if target is not backend:
            label += f" writing to {_class_path(target)}"
        if _plaintext_part(backend) is not None:
            label += f", unencrypted: allowed by {self._plaintext_allowed_by()}"
        return label

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
                hint=f"install a keyring backend or {self._choose_backend()}",
            ) from None


def _class_path(backend: Any) -> str:
    return type(backend).__module__ + "." + type(backend).__qualname__


def _written_to(backend: Any) -> Any:
    """The backend that receives what is stored: a chain (keyring's ChainerBackend) writes to its first one."""
    chained = getattr(backend, "backends", None)
    return chained[0] if isinstance(chained, (list, tuple)) and chained else backend


def _plaintext_part(backend: Any) -> Any:
    """The backend that would keep values in plain text (the backend or the one its chain writes to), else None."""
    target = _written_to(backend)
    classes = {f"{c.__module__}.{c.__qualname__}" for c in type(target).__mro__}
    return target if classes & PLAINTEXT_BACKENDS else None
