"""Key-encryption keys (KEKs): what wraps and unwraps the data keys, never leaving its key service.

Three kinds, one per ``provider:`` of an entry of ``keys:`` (etl_cli/config/keys.py):

- ``vault_transit``: a key of Vault/OpenBao's transit engine, reached with the settings of a
  ``secrets:`` entry of type ``vault`` (url, token or AppRole, namespace, TLS) through ``hvac``.
  Wrapped keys are transit ciphertexts (``vault:v3:...``); rotation is transit's ``rotate``.
- ``aws_kms``: an AWS KMS key, reached with the settings of a ``secrets:`` entry of type ``aws``
  (region, endpoint_url, profile or keys) through ``boto3``. Wrapped keys are KMS ciphertext blobs,
  bound to the key name and data-key version by an encryption context; rotation is KMS'
  on-demand rotation (the old key material stays, so old blobs still decrypt).
- ``local``: a key file for development (JSON: each version's 32 random bytes), written by
  ``etl-cli keys create`` readable by its owner only; data keys are wrapped with AES-GCM through
  ``cryptography``, the key name and data-key version as associated data.

Every wrapped key is text that names the KEK version that wrapped it, so ``keys list`` can tell
which data keys a rotation has not re-wrapped yet.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from etl_cli.config.keys import KeySettings
from etl_cli.errors import ConfigError, RunError
from etl_cli.secrets.errors import SecretSettingsError
from etl_cli.secrets.provider import SecretProvider, require
from etl_cli.secrets.refs import SecretRef

#: the first line a local key file starts with: what it is, and that it must stay private
LOCAL_FORMAT = "etl-cli-local-kek/1"


class KeyServiceError(RunError):
    """A key service refused or failed a wrap, unwrap or rotation (exit 4); never carries key material."""


class KeySettingsError(ConfigError):
    """An entry of ``keys:`` cannot be used as written (exit 1)."""


class Kek:
    """A key-encryption key: wraps data keys, unwraps them, re-wraps them under its newest version, rotates."""

    provider: ClassVar[str]

    def __init__(self, settings: KeySettings) -> None:
        self.settings = settings

    def context(self, dek_version: int) -> dict[str, str]:
        """What a wrapped key is bound to where the service takes associated data."""
        return {"etl-cli-key": self.settings.name, "etl-cli-dek-version": str(dek_version)}

    def wrap(self, dek: bytes, dek_version: int) -> str:
        raise NotImplementedError

    def unwrap(self, wrapped: str, dek_version: int) -> bytes:
        raise NotImplementedError

    def rewrap(self, wrapped: str, dek_version: int) -> str:
        """``wrapped`` wrapped again by the newest KEK version (the service never shows the data key)."""
        return self.wrap(self.unwrap(wrapped, dek_version), dek_version)

    def rotate(self) -> str:
        """Make a new KEK version the one that wraps; return its label."""
        raise NotImplementedError

    def version(self) -> str:
        """The label of the KEK version that wraps now."""
        raise NotImplementedError

    def version_of(self, wrapped: str) -> str:
        """The label of the KEK version that wrapped ``wrapped``."""
        raise NotImplementedError

    def close(self) -> None:
        """Forget clients."""


# --------------------------------------------------------------------------- Vault / OpenBao transit


class VaultTransitKek(Kek):
    provider = "vault_transit"

    def __init__(self, settings: KeySettings, secret_provider: SecretProvider) -> None:
        super().__init__(settings)
        if secret_provider.type != "vault":
            raise KeySettingsError(
                f"keys.{settings.name}.secrets names '{secret_provider.name}', a {secret_provider.type} provider",
                hint="vault_transit reaches Vault with the settings of a secrets: entry of type vault",
            )
        self.vault: Any = secret_provider  # a VaultProvider: its login is reused
        self.name = str(settings.key)
        self.mount = settings.mount

    def _client(self) -> Any:
        # the provider's own login: token (or ~/.vault-token) or AppRole, namespace and TLS settings
        return self.vault._connect(SecretRef(self.vault.name, f"{self.mount}/keys/{self.name}"))

    def _call(self, what: str, action: Any) -> Any:
        hvac = require("hvac", "vault")
        requests = require("requests", "vault")
        where = f"Vault transit key '{self.name}' (mount '{self.mount}', {self.vault.describe()})"
        try:
            return action(self._client().secrets.transit)
        except hvac.exceptions.InvalidPath:
            raise KeyServiceError(
                f"{where}: {what} failed: no such key or mount",
                hint=f"create it: bao write -f {self.mount}/keys/{self.name} (or vault write ...)",
            ) from None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized) as exc:
            raise KeyServiceError(
                f"{where}: {what} was refused ({_first_line(exc)})",
                hint=f"the token's policy must allow {self.mount}/encrypt, decrypt, rewrap and keys/{self.name}",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise KeyServiceError(f"{where}: {what} failed: Vault did not answer ({type(exc).__name__})") from None
        except hvac.exceptions.VaultError as exc:
            raise KeyServiceError(f"{where}: {what} failed ({_first_line(exc)})") from None

    def wrap(self, dek: bytes, dek_version: int) -> str:
        plaintext = base64.b64encode(dek).decode()
        answer = self._call(
            "encrypt", lambda t: t.encrypt_data(name=self.name, plaintext=plaintext, mount_point=self.mount)
        )
        return str(answer["data"]["ciphertext"])

    def unwrap(self, wrapped: str, dek_version: int) -> bytes:
        answer = self._call(
            "decrypt", lambda t: t.decrypt_data(name=self.name, ciphertext=wrapped, mount_point=self.mount)
        )
        return base64.b64decode(answer["data"]["plaintext"])

    def rewrap(self, wrapped: str, dek_version: int) -> str:
        answer = self._call(
            "rewrap", lambda t: t.rewrap_data(name=self.name, ciphertext=wrapped, mount_point=self.mount)
        )
        return str(answer["data"]["ciphertext"])

    def rotate(self) -> str:
        self._call("rotate", lambda t: t.rotate_key(name=self.name, mount_point=self.mount))
        return self.version()

    def version(self) -> str:
        answer = self._call("read", lambda t: t.read_key(name=self.name, mount_point=self.mount))
        return f"v{answer['data']['latest_version']}"

    def version_of(self, wrapped: str) -> str:
        parts = wrapped.split(":")
        return parts[1] if len(parts) > 2 and parts[0] == "vault" else "?"

    def close(self) -> None:
        self.vault.reconnect()


# --------------------------------------------------------------------------- AWS KMS


class AwsKmsKek(Kek):
    provider = "aws_kms"
    prefix = "kms:"

    def __init__(self, settings: KeySettings, secret_provider: SecretProvider) -> None:
        super().__init__(settings)
        if secret_provider.type != "aws":
            raise KeySettingsError(
                f"keys.{settings.name}.secrets names '{secret_provider.name}', a {secret_provider.type} provider",
                hint="aws_kms reaches KMS with the settings of a secrets: entry of type aws",
            )
        self.aws = secret_provider
        self.key_id = str(settings.key_id)
        self._kms: Any = None

    def _client(self) -> Any:
        if self._kms is None:
            boto3 = require("boto3", "aws")
            config = require("botocore.config", "aws", "boto3")
            setting = self.aws.setting
            timeout = float(setting("timeout", 10))
            session = boto3.session.Session(
                profile_name=setting("profile") or None,
                aws_access_key_id=setting("access_key_id") or None,
                aws_secret_access_key=setting("secret_access_key") or None,
                aws_session_token=setting("session_token") or None,
                region_name=setting("region") or None,
            )
            self._kms = session.client(
                "kms",
                endpoint_url=setting("endpoint_url") or None,
                config=config.Config(
                    connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"}
                ),
            )
        return self._kms

    def _call(self, what: str, action: Any) -> Any:
        botocore = require("botocore.exceptions", "aws", "boto3")
        where = f"AWS KMS key '{self.key_id}' ({self.aws.describe().replace('AWS Secrets Manager', 'settings')})"
        try:
            return action(self._client())
        except botocore.ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))[:200]
            hint = None
            if code == "NotFoundException":
                hint = "check key_id, the region and endpoint_url"
            elif code in ("AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException"):
                hint = (
                    "the credentials' policy must allow kms:Encrypt, Decrypt, ReEncrypt*, DescribeKey "
                    "and RotateKeyOnDemand"
                )
            raise KeyServiceError(f"{where}: {what} failed ({code}: {message})", hint=hint) from None
        except botocore.NoCredentialsError:
            raise KeyServiceError(f"{where}: {what} failed: no AWS credentials were found") from None
        except botocore.BotoCoreError as exc:
            raise KeyServiceError(f"{where}: {what} failed: AWS did not answer ({type(exc).__name__})") from None

    def wrap(self, dek: bytes, dek_version: int) -> str:
        answer = self._call(
            "encrypt",
            lambda kms: kms.encrypt(KeyId=self.key_id, Plaintext=dek, EncryptionContext=self.context(dek_version)),
        )
        return self.prefix + base64.b64encode(answer["CiphertextBlob"]).decode()

    def unwrap(self, wrapped: str, dek_version: int) -> bytes:
        blob = self._blob(wrapped)
        answer = self._call(
            "decrypt",
            lambda kms: kms.decrypt(
                CiphertextBlob=blob, KeyId=self.key_id, EncryptionContext=self.context(dek_version)
            ),
        )
        return bytes(answer["Plaintext"])

    def rewrap(self, wrapped: str, dek_version: int) -> str:
        blob = self._blob(wrapped)
        context = self.context(dek_version)
        answer = self._call(
            "re-encrypt",
            lambda kms: kms.re_encrypt(
                CiphertextBlob=blob,
                SourceEncryptionContext=context,
                SourceKeyId=self.key_id,
                DestinationKeyId=self.key_id,
                DestinationEncryptionContext=context,
            ),
        )
        return self.prefix + base64.b64encode(answer["CiphertextBlob"]).decode()

    def _key_arn(self) -> str:
        answer = self._call("describe", lambda kms: kms.describe_key(KeyId=self.key_id))
        return str(answer["KeyMetadata"]["Arn"])

    def rotate(self) -> str:
        arn = self._key_arn()  # RotateKeyOnDemand takes a key id or ARN, not an alias
        self._call("rotate", lambda kms: kms.rotate_key_on_demand(KeyId=arn))
        return self.version()

    def version(self) -> str:
        arn = self._key_arn()
        answer = self._call("list rotations", lambda kms: kms.list_key_rotations(KeyId=arn))
        return f"rotations:{len(answer.get('Rotations', []))}"

    def version_of(self, wrapped: str) -> str:
        return "kms"  # a KMS blob names its backing key only to KMS

    def _blob(self, wrapped: str) -> bytes:
        if not wrapped.startswith(self.prefix):
            raise KeyServiceError(f"key ring of '{self.settings.name}': a wrapped key is not a KMS ciphertext")
        return base64.b64decode(wrapped[len(self.prefix) :])

    def close(self) -> None:
        self._kms = None


# --------------------------------------------------------------------------- local key file


class LocalKek(Kek):
    provider = "local"

    def __init__(self, settings: KeySettings, root: Path) -> None:
        super().__init__(settings)
        file = settings.key_file(root)
        if file is None:
            raise KeySettingsError(f"keys.{settings.name} (local) needs path: the key file")
        self.file = file

    def _aead(self) -> Any:
        return require("cryptography.hazmat.primitives.ciphers.aead", "crypto", "cryptography").AESGCM

    def _read(self) -> dict[str, Any]:
        if not self.file.is_file():
            raise KeyServiceError(
                f"local key file {self.file} of key '{self.settings.name}' does not exist",
                hint=f"create it: etl-cli keys create {self.settings.name} (and keep it out of version control)",
            )
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            versions = {int(v): base64.b64decode(k) for v, k in data["versions"].items()}
            latest = int(data["latest"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyServiceError(f"local key file {self.file} is not a key file etl-cli wrote") from None
        if data.get("format") != LOCAL_FORMAT or latest not in versions or any(len(k) != 32 for k in versions.values()):
            raise KeyServiceError(f"local key file {self.file} is not a key file etl-cli wrote")
        return {"latest": latest, "versions": versions}

    def _write(self, latest: int, versions: dict[int, bytes]) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "format": LOCAL_FORMAT,
            "warning": "a key-encryption key: keep this file private and out of version control",
            "latest": latest,
            "versions": {str(v): base64.b64encode(k).decode() for v, k in sorted(versions.items())},
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        temporary = self.file.with_name(f".{self.file.name}.{os.getpid()}.tmp")
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        os.replace(temporary, self.file)

    def exists(self) -> bool:
        return self.file.is_file()

    def create(self) -> str:
        """Write a new key file with one random version (refused when the file exists)."""
        if self.file.exists():
            raise KeySettingsError(f"local key file {self.file} exists already", hint="etl-cli keys rotate rotates it")
        self._write(1, {1: random.token_bytes(32)})
        return "v1"

    def material(self) -> list[bytes]:
        """Every version's key bytes (for the run's redactor: never printed)."""
        return list(self._read()["versions"].values())

    def _aad(self, dek_version: int) -> bytes:
        return f"etl-cli:{self.settings.name}:{dek_version}".encode()

    def wrap(self, dek: bytes, dek_version: int) -> str:
        data = self._read()
        latest = data["latest"]
        nonce = random.token_bytes(12)
        sealed = self._aead()(data["versions"][latest]).encrypt(nonce, dek, self._aad(dek_version))
        return f"local:v{latest}:" + base64.b64encode(nonce + sealed).decode()

    def unwrap(self, wrapped: str, dek_version: int) -> bytes:
        parts = wrapped.split(":")
        data = self._read()
        try:
            version = int(parts[1].removeprefix("v"))
            raw = base64.b64decode(parts[2])
            kek = data["versions"][version]
        except (IndexError, ValueError, KeyError):
            raise KeyServiceError(
                f"key '{self.settings.name}': a wrapped data key names a version the key file {self.file} lacks"
            ) from None
        invalid_tag = require("cryptography.exceptions", "crypto", "cryptography").InvalidTag
        try:
            return bytes(self._aead()(kek).decrypt(raw[:12], raw[12:], self._aad(dek_version)))
        except invalid_tag:
            raise KeyServiceError(
                f"key '{self.settings.name}': the key file {self.file} does not unwrap data key v{dek_version}"
            ) from None

    def rotate(self) -> str:
        data = self._read()
        latest = max(data["versions"]) + 1
        self._write(latest, {**data["versions"], latest: random.token_bytes(32)})
        return f"v{latest}"

    def version(self) -> str:
        return f"v{self._read()['latest']}"

    def version_of(self, wrapped: str) -> str:
        parts = wrapped.split(":")
        return parts[1] if len(parts) > 2 and parts[0] == "local" else "?"


def kek_for(settings: KeySettings, root: Path, provider: SecretProvider | None) -> Kek:
    """The KEK of ``settings``; ``provider``: the ``secrets:`` entry it reaches its service with."""
    if settings.provider == "local":
        return LocalKek(settings, root)
    if provider is None:
        raise SecretSettingsError(f"keys.{settings.name} ({settings.provider}) names no secrets: entry")
    if settings.provider == "vault_transit":
        return VaultTransitKek(settings, provider)
    return AwsKmsKek(settings, provider)


def _first_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    text = "; ".join(str(e) for e in errors) if isinstance(errors, list) and errors else str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0][:200]
