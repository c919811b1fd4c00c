"""``file``: an encrypted local store (AES-256-GCM from ``cryptography``).

The store is one JSON envelope holding the nonce and the ciphertext of the entries
(``path#key`` → value). The key is 32 random bytes, kept either in a key file that
only its owner can read (mode 0600; looser permissions are refused) or in the OS
keyring. Reading the key from an environment variable is possible only when the
settings say ``allow_env_key: true``: a plaintext variable leaks into child processes,
``/proc`` and crash reports, so it is never the default.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as random_bytes
import stat
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from filelock import FileLock

from etl_cli.plugins.registry import register
from etl_cli.secrets.errors import SecretError, SecretNotFound, SecretSettingsError
from etl_cli.secrets.provider import SecretProvider, require
from etl_cli.secrets.refs import SecretRef

FORMAT = "etl-cli-secrets"
VERSION = 1
_AAD = b"etl-cli-secrets:v1"
_KEY_BYTES = 32
_DEFAULT_STORE = ".etl/secrets.enc"
_DEFAULT_KEY_FILE = "~/.config/etl-cli/key"
_KEY_ENTRY = "file-store-key"


class StoreKeyError(SecretError):
    """The store's key is missing, unsafe or wrong."""

    reason = "cannot be decrypted"


@register
class FileProvider(SecretProvider):
    type: ClassVar[str] = "file"
    description: ClassVar[str] = "an encrypted file in the project (AES-256-GCM), key in a 0600 key file or the keyring"
    options_schema: ClassVar[dict[str, Any]] = {
        "path": {"description": f"the encrypted store (default {_DEFAULT_STORE}, relative to the project root)"},
        "key_source": {
            "description": "where the key comes from: file (default), keyring, or env (needs allow_env_key: true)"
        },
        "key_file": {
            "description": f"the key file, mode 0600, base64 text (default {_DEFAULT_KEY_FILE}); "
            "created by 'secrets set'"
        },
        "key_service": {"description": "keyring service holding the key when key_source is keyring (default etl-cli)"},
        "key_entry": {
            "description": f"keyring entry holding the key when key_source is keyring (default {_KEY_ENTRY})"
        },
        "key_env": {"description": "environment variable holding the base64 key when key_source is env"},
        "allow_env_key": {
            "description": "set to true to accept key_source: env (a plaintext variable; not recommended)"
        },
    }
    writable: ClassVar[bool] = True

    @property
    def store_path(self) -> Path:
        path = self.context.path(self.settings, "path", _DEFAULT_STORE)
        assert path is not None
        return path

    def describe(self) -> str:
        return f"encrypted file {self.store_path} (provider '{self.name}', key from {self._key_place()})"

    def fetch(self, ref: SecretRef) -> str:
        entries = self._read(ref, create_key=False)
        if ref.name not in entries:
            raise SecretNotFound(
                ref,
                f"{self.store_path} has no entry '{ref.name}'",
                tried=[self.describe()],
                hint=f"store it with: etl-cli secrets set {ref}",
            )
        return entries[ref.name]

    def store(self, ref: SecretRef, value: str) -> None:
        self.store_path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.store_path) + ".lock"):
            entries = self._read(ref, create_key=True)
            entries[ref.name] = value
            self._write(ref, entries)

    def names(self) -> list[str]:
        if not self.store_path.exists():
            return []
        return sorted(self._read(SecretRef(self.name, "*"), create_key=False))

    # -- the store

    def _read(self, ref: SecretRef, create_key: bool) -> dict[str, str]:
        key = self._key(ref, create=create_key)
        if not self.store_path.exists():
            return {}
        aesgcm = require("cryptography.hazmat.primitives.ciphers.aead", "crypto", "cryptography")
        try:
            envelope = json.loads(self.store_path.read_text(encoding="utf-8"))
            if envelope.get("format") != FORMAT or envelope.get("version") != VERSION:
                raise ValueError("not an etl-cli secrets store")
            nonce = base64.b64decode(envelope["nonce"])
            ciphertext = base64.b64decode(envelope["ciphertext"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._fail(ref, f"{self.store_path} is not a readable etl-cli store ({exc})") from None
        try:
            plain = aesgcm.AESGCM(key).decrypt(nonce, ciphertext, _AAD)
        except Exception:  # cryptography's InvalidTag: wrong key or a modified file
            raise self._fail(
                ref,
                f"{self.store_path} does not decrypt with the key from {self._key_place()}",
                hint="the key does not belong to this store, or the store was modified",
            ) from None
        entries: dict[str, str] = json.loads(plain)["entries"]
        return entries

    def _write(self, ref: SecretRef, entries: dict[str, str]) -> None:
        aesgcm = require("cryptography.hazmat.primitives.ciphers.aead", "crypto", "cryptography")
        nonce = random_bytes.token_bytes(12)
        plain = json.dumps({"entries": entries}, sort_keys=True).encode()
        ciphertext = aesgcm.AESGCM(self._key(ref, create=False)).encrypt(nonce, plain, _AAD)
        envelope = {
            "format": FORMAT,
            "version": VERSION,
            "cipher": "AES-256-GCM",
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(ciphertext).decode(),
        }
        _write_private(self.store_path, json.dumps(envelope, indent=1) + "\n")

    # -- the key

    def _key_source(self) -> str:
        source = str(self.setting("key_source", "file"))
        if source not in ("file", "keyring", "env"):
            raise SecretSettingsError(f"{self.settings.where}.key_source must be file, keyring or env, got '{source}'")
        if source == "env" and self.setting("allow_env_key") is not True:
            raise SecretSettingsError(
                f"{self.settings.where}.key_source is env, but keys in environment variables are refused by default",
                hint="keep the key in a 0600 key file or the keyring; "
                "if you accept the risk, also set allow_env_key: true",
            )
        return source

    def _key_place(self) -> str:
        source = self._key_source()
        if source == "keyring":
            return f"keyring service '{self.setting('key_service', 'etl-cli')}' entry '{self._key_entry()}'"
        if source == "env":
            return f"environment variable {self.setting('key_env')}"
        return f"key file {self._key_file()}"

    def _key_file(self) -> Path:
        path = self.context.path(self.settings, "key_file", _DEFAULT_KEY_FILE)
        assert path is not None
        return path

    def _key_entry(self) -> str:
        return str(self.setting("key_entry", _KEY_ENTRY))

    def _key(self, ref: SecretRef, create: bool) -> bytes:
        source = self._key_source()
        if source == "keyring":
            text = self._keyring_key(create)
        elif source == "env":
            text = self.context.environ.get(str(self.setting("key_env")))
        else:
            text = self._file_key(ref, create)
        if not text:
            raise self._fail(
                ref,
                f"no key at {self._key_place()}",
                hint=f"create the store and its key with: etl-cli secrets set {self.name}:NAME",
            )
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except ValueError:
            key = b""
        if len(key) != _KEY_BYTES:
            raise self._fail(ref, f"the key at {self._key_place()} is not {_KEY_BYTES} bytes of base64")
        return key

    def _file_key(self, ref: SecretRef, create: bool) -> str | None:
        path = self._key_file()
        if not path.exists():
            if not create:
                return None
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_private(path, new_key() + "\n")
        check_key_file(path, lambda why, hint: self._fail(ref, why, hint=hint))
        return path.read_text(encoding="utf-8")

    def _keyring_key(self, create: bool) -> str | None:
        core = require("keyring.core", "keyring", "keyring")
        chosen = self.context.environ.get("PYTHON_KEYRING_BACKEND")
        backend: Any = core.load_keyring(chosen) if chosen else core.get_keyring()
        service = str(self.setting("key_service", "etl-cli"))
        text = backend.get_password(service, self._key_entry())
        if text is None and create:
            text = new_key()
            backend.set_password(service, self._key_entry(), text)
        return text

    def _fail(self, ref: SecretRef, why: str, hint: str | None = None) -> StoreKeyError:
        return StoreKeyError(ref, why, tried=[self.describe()], hint=hint)


def new_key() -> str:
    """A fresh random key, as the base64 text kept in key files and keyrings."""
    return base64.b64encode(random_bytes.token_bytes(_KEY_BYTES)).decode()


def check_key_file(path: Path, fail: Any) -> None:
    """Refuse a key file that someone other than its owner could read, or that another user owns."""
    if os.name != "posix":
        return
    info = path.stat()
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise fail(
            f"key file {path} is accessible to other users (mode {mode:04o}); refusing to use it",
            f"chmod 600 {path}",
        )
    if info.st_uid != os.getuid():
        raise fail(f"key file {path} belongs to another user (uid {info.st_uid}); refusing to use it", None)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
