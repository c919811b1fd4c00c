"""``aws``: AWS Secrets Manager through ``boto3``.

``${secret:aws:prod/warehouse#password}`` reads key ``password`` of the JSON secret
``prod/warehouse``; without ``#key`` the whole secret string is the value (plain
string secrets). The path may be a secret name or a full ARN. Credentials come from
boto3's usual chain (environment, profile, instance role) unless set here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from etl_cli.plugins.registry import register
from etl_cli.secrets.errors import SecretAuthError, SecretNotFound, SecretUnavailable
from etl_cli.secrets.provider import SecretProvider, require
from etl_cli.secrets.providers._fields import pick_json_key
from etl_cli.secrets.refs import SecretRef

_AUTH_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
}
_NOT_FOUND_CODES = {"ResourceNotFoundException"}


@register
class AwsProvider(SecretProvider):
    type: ClassVar[str] = "aws"
    description: ClassVar[str] = "AWS Secrets Manager, through 'boto3'"
    options_schema: ClassVar[dict[str, Any]] = {
        "region": {
            "description": "AWS region, e.g. eu-west-1 "
            "(default: boto3's, from $AWS_REGION / $AWS_DEFAULT_REGION / profile)"
        },
        "endpoint_url": {"description": "another endpoint: a VPC endpoint, LocalStack or moto for tests"},
        "profile": {"description": "a named profile from ~/.aws/config"},
        "access_key_id": {
            "description": "access key id, e.g. ${env:AWS_ACCESS_KEY_ID} (default: boto3's credential chain)"
        },
        "secret_access_key": {"description": "secret access key, e.g. ${env:AWS_SECRET_ACCESS_KEY}"},
        "session_token": {"description": "session token for temporary credentials"},
        "version_stage": {"description": "which version to read (default AWSCURRENT)"},
        "timeout": {"description": "seconds to wait for the service (default 10)"},
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Any = None

    def describe(self) -> str:
        endpoint = self.setting("endpoint_url")
        where = f" at {endpoint}" if endpoint else ""
        region = self.setting("region") or self.context.environ.get("AWS_REGION") or "the default region"
        return f"AWS Secrets Manager in {region}{where} (provider '{self.name}')"

    def fetch(self, ref: SecretRef) -> str:
        botocore = require("botocore.exceptions", "aws", "boto3")
        tried = [f"{self.describe()}, secret id '{ref.path}'"]
        try:
            answer = self._connect().get_secret_value(
                SecretId=ref.path, VersionStage=str(self.setting("version_stage", "AWSCURRENT"))
            )
        except botocore.ClientError as exc:
            raise self._client_error(ref, exc, tried) from None
        except botocore.NoCredentialsError:
            raise SecretAuthError(
                ref,
                "no AWS credentials were found",
                tried=tried,
                hint="export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, choose a profile, "
                "or run where an instance role applies",
            ) from None
        except botocore.BotoCoreError as exc:
            raise SecretUnavailable(
                ref,
                f"AWS did not answer ({type(exc).__name__})",
                tried=tried,
                hint="check the region, endpoint_url and the network",
            ) from None
        text = answer.get("SecretString")
        if text is None:
            binary = answer.get("SecretBinary") or b""
            text = binary.decode("utf-8", errors="strict") if isinstance(binary, bytes) else str(binary)
        return pick_json_key(ref, text, f"AWS secret '{ref.path}'", tried)

    def reconnect(self) -> None:
        self._client = None

    def _connect(self) -> Any:
        if self._client is None:
            boto3 = require("boto3", "aws")
            config = require("botocore.config", "aws", "boto3")
            timeout = float(self.setting("timeout", 10))
            session = boto3.session.Session(
                profile_name=self.setting("profile") or None,
                aws_access_key_id=self.setting("access_key_id") or None,
                aws_secret_access_key=self.setting("secret_access_key") or None,
                aws_session_token=self.setting("session_token") or None,
                region_name=self.setting("region") or None,
            )
            self._client = session.client(
                "secretsmanager",
                endpoint_url=self.setting("endpoint_url") or None,
                config=config.Config(
                    connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"}
                ),
            )
        return self._client

    def _client_error(self, ref: SecretRef, exc: Any, tried: list[str]) -> Exception:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))[:200]
        if code in _NOT_FOUND_CODES:
            return SecretNotFound(
                ref,
                f"AWS has no secret '{ref.path}' ({code})",
                tried=tried,
                hint="check the secret name, the region and version_stage",
            )
        if code in _AUTH_CODES:
            return SecretAuthError(
                ref,
                f"AWS refused the request ({code}: {message})",
                tried=tried,
                hint="check the credentials and that their policy allows secretsmanager:GetSecretValue on this secret",
            )
        return SecretUnavailable(ref, f"AWS failed ({code}: {message})", tried=tried)
