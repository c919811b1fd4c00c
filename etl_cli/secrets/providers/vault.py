"""``vault``: HashiCorp Vault or OpenBao through ``hvac`` (KV v2 or v1; token or AppRole auth).

``${secret:vault:apps/warehouse#password}`` reads key ``password`` of the KV secret at
``apps/warehouse`` under the configured mount. Several Vault providers (another mount,
another KV version, another cluster) are several entries with ``type: vault``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from etl_cli.plugins.registry import register
from etl_cli.secrets.errors import SecretAuthError, SecretNotFound, SecretSettingsError, SecretUnavailable
from etl_cli.secrets.provider import SecretProvider, require
from etl_cli.secrets.providers._fields import pick_key
from etl_cli.secrets.refs import SecretRef


@register
class VaultProvider(SecretProvider):
    type: ClassVar[str] = "vault"
    description: ClassVar[str] = "HashiCorp Vault / OpenBao KV secrets engine (v2 or v1), through 'hvac'"
    options_schema: ClassVar[dict[str, Any]] = {
        "url": {"description": "server address, e.g. https://vault.example.com:8200 (default: $VAULT_ADDR)"},
        "auth": {"description": "token (default) or approle"},
        "token": {
            "description": "the token for auth: token, e.g. ${env:VAULT_TOKEN} "
            "(default: $VAULT_TOKEN, then ~/.vault-token)"
        },
        "role_id": {"description": "AppRole role id for auth: approle"},
        "secret_id": {"description": "AppRole secret id for auth: approle, e.g. ${env:VAULT_SECRET_ID}"},
        "approle_mount": {"description": "where the AppRole auth method is mounted (default approle)"},
        "namespace": {"description": "Vault Enterprise / OpenBao namespace"},
        "mount": {"description": "where the KV secrets engine is mounted (default secret)"},
        "kv_version": {"description": "2 (default) or 1"},
        "verify": {"description": "verify the server's TLS certificate (default true)"},
        "ca_cert": {"description": "CA bundle to verify the server with (a path)"},
        "client_cert": {"description": "client certificate for mutual TLS (a path; needs client_key)"},
        "client_key": {"description": "client key for mutual TLS (a path)"},
        "timeout": {"description": "seconds to wait for the server (default 10)"},
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Any = None

    # -- settings

    @property
    def url(self) -> str:
        url = self.setting("url") or self.context.environ.get("VAULT_ADDR")
        if not url:
            raise SecretSettingsError(
                f"no Vault address for provider '{self.name}': looked at {self.settings.where}.url, then $VAULT_ADDR",
                hint=f"set {self.settings.where}.url: https://vault.example.com:8200",
            )
        return str(url)

    @property
    def mount(self) -> str:
        return str(self.setting("mount", "secret")).strip("/")

    @property
    def kv_version(self) -> int:
        version = self.setting("kv_version", 2)
        if str(version) not in ("1", "2"):
            raise SecretSettingsError(f"{self.settings.where}.kv_version must be 1 or 2, got {version!r}")
        return int(str(version))

    @property
    def auth(self) -> str:
        auth = str(self.setting("auth", "token"))
        if auth not in ("token", "approle"):
            raise SecretSettingsError(f"{self.settings.where}.auth must be token or approle, got '{auth}'")
        return auth

    def describe(self) -> str:
        namespace = self.setting("namespace")
        where = f", namespace '{namespace}'" if namespace else ""
        return f"vault KV v{self.kv_version} at {self.url}, mount '{self.mount}'{where} ({self.auth} auth)"

    # -- reading

    def fetch(self, ref: SecretRef) -> str:
        hvac = require("hvac", "vault")
        requests = require("requests", "vault")
        tried = [f"{self.describe()}, path '{ref.path}'"]
        try:
            data = self._read(ref)
        except hvac.exceptions.InvalidPath:
            raise SecretNotFound(
                ref,
                f"no secret at '{self.mount}/{ref.path}'",
                tried=tried,
                hint=f"check the path, the mount ('{self.mount}') and kv_version ({self.kv_version})",
            ) from None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized) as exc:
            raise SecretAuthError(
                ref,
                f"Vault refused the request ({_summary(exc)})",
                tried=tried,
                hint=(
                    "check the token or AppRole credentials, and that their policy allows reading "
                    f"{self.mount}/{'data/' if self.kv_version == 2 else ''}{ref.path}"
                ),
            ) from None
        except requests.exceptions.SSLError:
            raise SecretUnavailable(
                ref,
                "the TLS handshake with Vault failed",
                tried=tried,
                hint=f"set {self.settings.where}.ca_cert to the CA bundle that signed the server's certificate",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise SecretUnavailable(
                ref,
                f"Vault did not answer ({type(exc).__name__})",
                tried=tried,
                hint=f"check {self.settings.where}.url and that the server is running",
            ) from None
        except hvac.exceptions.VaultError as exc:
            raise SecretUnavailable(ref, f"Vault failed ({_summary(exc)})", tried=tried) from None
        return pick_key(ref, data, f"vault secret '{self.mount}/{ref.path}'", tried)

    def reconnect(self) -> None:
        if self._client is not None:
            self._client.adapter.close()
        self._client = None

    def _read(self, ref: SecretRef) -> dict[str, Any]:
        client = self._connect(ref)
        if self.kv_version == 2:
            answer = client.secrets.kv.v2.read_secret_version(
                path=ref.path, mount_point=self.mount, raise_on_deleted_version=True
            )
            return dict(answer["data"]["data"] or {})
        return dict(client.secrets.kv.v1.read_secret(path=ref.path, mount_point=self.mount)["data"] or {})

    def _connect(self, ref: SecretRef) -> Any:
        if self._client is not None:
            return self._client
        hvac = require("hvac", "vault")
        client = hvac.Client(
            url=self.url,
            token=self._token(ref) if self.auth == "token" else None,
            namespace=self.setting("namespace") or None,
            verify=self._verify(),
            cert=self._client_cert(),
            timeout=float(self.setting("timeout", 10)),
        )
        if self.auth == "approle":
            role_id, secret_id = self.setting("role_id"), self.setting("secret_id")
            if not role_id:
                raise SecretSettingsError(f"{self.settings.where}.role_id is required with auth: approle")
            mount = str(self.setting("approle_mount", "approle"))
            try:
                client.auth.approle.login(
                    role_id=str(role_id), secret_id=str(secret_id) if secret_id else None, mount_point=mount
                )
            except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized) as exc:
                raise SecretAuthError(
                    ref,
                    f"AppRole login failed ({_summary(exc)})",
                    tried=[f"AppRole login at {self.url}, auth mount '{mount}'"],
                    hint=f"check {self.settings.where}.role_id and secret_id (secret ids expire)",
                ) from None
        self._client = client
        return client

    def _token(self, ref: SecretRef) -> str:
        token = self.setting("token") or self.context.environ.get("VAULT_TOKEN")
        token_file = Path("~/.vault-token").expanduser()
        if not token and token_file.is_file():
            token = token_file.read_text(encoding="utf-8").strip()
        if not token:
            raise SecretAuthError(
                ref,
                "no Vault token",
                tried=[f"{self.settings.where}.token", "environment variable VAULT_TOKEN", str(token_file)],
                hint=f"set {self.settings.where}.token: ${{env:VAULT_TOKEN}} and export VAULT_TOKEN, "
                "or use auth: approle",
            )
        return str(token)

    def _verify(self) -> bool | str:
        ca_cert = self.context.path(self.settings, "ca_cert")
        if ca_cert is not None:
            return str(ca_cert)
        return self.setting("verify", True) is not False

    def _client_cert(self) -> tuple[str, str] | None:
        cert, key = self.context.path(self.settings, "client_cert"), self.context.path(self.settings, "client_key")
        if cert is None:
            return None
        if key is None:
            raise SecretSettingsError(f"{self.settings.where}.client_cert needs client_key too")
        return str(cert), str(key)


def _summary(exc: Exception) -> str:
    """Vault's own error text, first line only (it names the problem, never a secret)."""
    errors = getattr(exc, "errors", None)
    text = "; ".join(str(e) for e in errors) if isinstance(errors, list) and errors else str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:200]
