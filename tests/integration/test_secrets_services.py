"""Secrets against real services: OpenBao (Vault API, KV v2 and v1, token and AppRole auth) and moto's
Secrets Manager, in process and through ``etl-cli secrets`` in a subprocess.

Start the services with ``scripts/services.sh up vault s3`` and export their settings with
``eval "$(scripts/services.sh env vault s3)"``. Without them these tests skip, except
under CI (``CI`` set), where a missing service is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.project import load_project
from etl_cli.secrets.errors import SecretAuthError, SecretError, SecretNotFound, SecretUnavailable
from etl_cli.secrets.redaction import MASK
from etl_cli.secrets.resolver import SecretResolver
from tests.unit.helpers import write

REPO = Path(__file__).resolve().parents[2]
VAULT_VARS = ("ETL_TEST_VAULT_ADDR", "ETL_TEST_VAULT_TOKEN")
AWS_VARS = (
    "ETL_TEST_S3_ENDPOINT",
    "ETL_TEST_AWS_ACCESS_KEY_ID",
    "ETL_TEST_AWS_SECRET_ACCESS_KEY",
    "ETL_TEST_AWS_REGION",
)
#: a value unique to this test session, so finding it anywhere is never a coincidence
SECRET = f"s3cr3t-{uuid.uuid4().hex}"
SUFFIX = uuid.uuid4().hex[:8]
pytestmark = pytest.mark.services("vault", "s3")  # started when first needed (tests/integration/serviceshelp.py)


def require_services(names: tuple[str, ...]) -> dict[str, str]:
    """The services' settings; a failure under CI, a skip (saying how to start them) elsewhere."""
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        message = (
            f"test services not configured ({', '.join(missing)} unset): run scripts/services.sh up vault s3 "
            'and eval "$(scripts/services.sh env vault s3)"'
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return {n: os.environ[n] for n in names}


@pytest.fixture(autouse=True)
def state_in_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep each test's audit log and state under its own project (no shared $ETL_STATE_DIR)."""
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)


# --------------------------------------------------------------------------- Vault (OpenBao)


class VaultSetup:
    """Mounts, secrets and an AppRole created with the root token for this test session only."""

    def __init__(self, addr: str, root_token: str) -> None:
        import hvac

        self.addr, self.root_token = addr, root_token
        self.admin = hvac.Client(url=addr, token=root_token)
        self.kv2, self.kv1, self.approle = f"etl-kv2-{SUFFIX}", f"etl-kv1-{SUFFIX}", f"etl-approle-{SUFFIX}"
        self.role = f"etl-reader-{SUFFIX}"

    def create(self) -> None:
        sys_ = self.admin.sys
        sys_.enable_secrets_engine("kv", path=self.kv2, options={"version": "2"})
        sys_.enable_secrets_engine("kv", path=self.kv1, options={"version": "1"})
        self.admin.secrets.kv.v2.create_or_update_secret(
            "apps/warehouse", secret={"user": "etl", "password": SECRET}, mount_point=self.kv2
        )
        self.admin.secrets.kv.v1.create_or_update_secret(
            "apps/legacy", secret={"password": SECRET + "-v1"}, mount_point=self.kv1
        )
        policy = f'path "{self.kv2}/data/apps/*" {{ capabilities = ["read"] }}'
        sys_.create_or_update_policy(self.role, policy)
        sys_.enable_auth_method("approle", path=self.approle)
        self.admin.auth.approle.create_or_update_approle(
            self.role, token_policies=[self.role], token_ttl="10m", mount_point=self.approle
        )

    def approle_credentials(self) -> tuple[str, str]:
        role_id = self.admin.auth.approle.read_role_id(self.role, mount_point=self.approle)["data"]["role_id"]
        secret_id = self.admin.auth.approle.generate_secret_id(self.role, mount_point=self.approle)["data"]["secret_id"]
        return role_id, secret_id

    def revoke_approle_tokens(self) -> int:
        """Revoke every token the AppRole handed out, as an expiry or a revocation would."""
        revoked = 0
        for accessor in self.admin.auth.token.list_accessors()["data"]["keys"]:
            meta = self.admin.auth.token.lookup_accessor(accessor)["data"].get("meta") or {}
            if meta.get("role_name") == self.role:
                self.admin.auth.token.revoke_accessor(accessor)
                revoked += 1
        return revoked

    def remove(self) -> None:
        for path in (self.kv2, self.kv1):
            self.admin.sys.disable_secrets_engine(path)
        self.admin.sys.disable_auth_method(self.approle)
        self.admin.sys.delete_policy(self.role)


@pytest.fixture(scope="module")
def vault() -> Iterator[VaultSetup]:
    settings = require_services(VAULT_VARS)
    setup = VaultSetup(settings["ETL_TEST_VAULT_ADDR"], settings["ETL_TEST_VAULT_TOKEN"])
    setup.create()
    yield setup
    setup.remove()


# --------------------------------------------------------------------------- Secrets Manager (moto)


class AwsSetup:
    def __init__(self, settings: dict[str, str]) -> None:
        import boto3

        self.settings = settings
        self.json_name, self.plain_name = f"etl/{SUFFIX}/warehouse", f"etl/{SUFFIX}/api-token"
        self.client = boto3.client(
            "secretsmanager",
            endpoint_url=settings["ETL_TEST_S3_ENDPOINT"],
            region_name=settings["ETL_TEST_AWS_REGION"],
            aws_access_key_id=settings["ETL_TEST_AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=settings["ETL_TEST_AWS_SECRET_ACCESS_KEY"],
        )

    def create(self) -> None:
        body = json.dumps({"user": "etl", "password": SECRET + "-aws"})
        self.client.create_secret(Name=self.json_name, SecretString=body)
        self.client.create_secret(Name=self.plain_name, SecretString=SECRET + "-plain")

    def remove(self) -> None:
        for name in (self.json_name, self.plain_name):
            self.client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)

    def provider_settings(self) -> dict[str, str]:
        return {
            "region": "${env:ETL_TEST_AWS_REGION}",
            "endpoint_url": "${env:ETL_TEST_S3_ENDPOINT}",
            "access_key_id": "${env:ETL_TEST_AWS_ACCESS_KEY_ID}",
            "secret_access_key": "${env:ETL_TEST_AWS_SECRET_ACCESS_KEY}",
        }


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsSetup]:
    setup = AwsSetup(require_services(AWS_VARS))
    setup.create()
    yield setup
    setup.remove()


# --------------------------------------------------------------------------- a project using both


def project_yaml(vault: VaultSetup | None, aws: AwsSetup | None, approle: tuple[str, str] | None = None) -> str:
    secrets: dict[str, Any] = {}
    if vault is not None:
        token = "${env:ETL_TEST_VAULT_TOKEN}"
        secrets["vault"] = {"url": "${env:ETL_TEST_VAULT_ADDR}", "token": token, "mount": vault.kv2}
        secrets["legacy"] = {"type": "vault", "url": "${env:ETL_TEST_VAULT_ADDR}", "token": token, "mount": vault.kv1}
        secrets["legacy"]["kv_version"] = 1
        secrets["vault_down"] = {"type": "vault", "url": "http://127.0.0.1:1", "token": token, "timeout": 2}
        secrets["vault_badtoken"] = {"type": "vault", "url": "${env:ETL_TEST_VAULT_ADDR}", "token": "not-a-token"}
        secrets["vault_badtoken"]["mount"] = vault.kv2
        if approle is not None:
            secrets["robot"] = {"type": "vault", "url": "${env:ETL_TEST_VAULT_ADDR}", "auth": "approle"}
            secrets["robot"].update(role_id=approle[0], secret_id=approle[1], approle_mount=vault.approle)
            secrets["robot"].update(mount=vault.kv2, cache_ttl=0)
    if aws is not None:
        secrets["aws"] = aws.provider_settings()
    return json.dumps({"default_env": "dev", "secrets": secrets, "environments": {"dev": {}, "prod": {}}}, indent=2)


def make_project(root: Path, vault: VaultSetup | None, aws: AwsSetup | None, **kwargs: Any) -> Path:
    write(root, "etl-project.yaml", project_yaml(vault, aws, **kwargs))
    return root


def resolver_for(root: Path) -> SecretResolver:
    return SecretResolver.for_project(load_project(root), "dev", pipeline="itest", run_id=f"itest-{SUFFIX}")


def audit_text(root: Path) -> str:
    path = root / ".etl" / "audit" / "secrets.jsonl"
    return path.read_text() if path.exists() else ""


# --------------------------------------------------------------------------- Vault tests


def test_vault_kv2_with_token_auth(tmp_path: Path, vault: VaultSetup) -> None:
    r = resolver_for(make_project(tmp_path, vault, None))
    assert r.resolve("vault:apps/warehouse#password") == SECRET
    assert r.resolve("vault:apps/warehouse#user") == "etl"


def test_vault_kv1_mount(tmp_path: Path, vault: VaultSetup) -> None:
    r = resolver_for(make_project(tmp_path, vault, None))
    assert r.resolve("legacy:apps/legacy#password") == SECRET + "-v1"


def test_vault_approle_auth(tmp_path: Path, vault: VaultSetup) -> None:
    r = resolver_for(make_project(tmp_path, vault, None, approle=vault.approle_credentials()))
    assert r.resolve("robot:apps/warehouse#password") == SECRET


def test_vault_approle_logs_in_again_after_its_token_is_revoked(tmp_path: Path, vault: VaultSetup) -> None:
    r = resolver_for(make_project(tmp_path, vault, None, approle=vault.approle_credentials()))
    assert r.resolve("robot:apps/warehouse#password") == SECRET
    assert vault.revoke_approle_tokens() >= 1
    assert r.resolve("robot:apps/warehouse#password") == SECRET
    outcomes = [json.loads(line)["outcome"] for line in audit_text(tmp_path).splitlines()]
    assert outcomes == ["resolved", "refreshed"]


def test_a_wrong_approle_secret_id_is_refused(tmp_path: Path, vault: VaultSetup) -> None:
    role_id, _ = vault.approle_credentials()
    r = resolver_for(make_project(tmp_path, vault, None, approle=(role_id, "00000000-0000-0000-0000-000000000000")))
    with pytest.raises(SecretAuthError, match="AppRole login failed"):
        r.resolve("robot:apps/warehouse#password")


def test_refresh_reads_a_rotated_vault_secret(tmp_path: Path, vault: VaultSetup) -> None:
    r = resolver_for(make_project(tmp_path, vault, None))
    vault.admin.secrets.kv.v2.create_or_update_secret(
        "apps/rotating", secret={"password": "old-" + SECRET}, mount_point=vault.kv2
    )
    assert r.resolve("vault:apps/rotating#password") == "old-" + SECRET
    vault.admin.secrets.kv.v2.create_or_update_secret(
        "apps/rotating", secret={"password": "new-" + SECRET}, mount_point=vault.kv2
    )
    assert r.resolve("vault:apps/rotating#password") == "old-" + SECRET  # still cached
    assert r.refresh("vault:apps/rotating#password") == "new-" + SECRET


def test_vault_failures_name_the_provider_path_and_key(tmp_path: Path, vault: VaultSetup) -> None:
    r = resolver_for(make_project(tmp_path, vault, None))
    with pytest.raises(SecretNotFound) as missing_key:
        r.resolve("vault:apps/warehouse#passwd")
    text = str(missing_key.value)
    assert "vault:apps/warehouse#passwd" in text
    assert f"mount '{vault.kv2}'" in text and "its keys: password, user" in text
    with pytest.raises(SecretNotFound, match="no secret at"):
        r.resolve("vault:apps/nothing-here#password")
    with pytest.raises(SecretAuthError, match="Vault refused"):
        r.resolve("vault_badtoken:apps/warehouse#password")
    with pytest.raises(SecretUnavailable, match="Vault did not answer"):
        r.resolve("vault_down:apps/warehouse#password")


# --------------------------------------------------------------------------- Secrets Manager tests


def test_aws_json_secret_key(tmp_path: Path, aws: AwsSetup) -> None:
    r = resolver_for(make_project(tmp_path, None, aws))
    assert r.resolve(f"aws:{aws.json_name}#password") == SECRET + "-aws"


def test_aws_plain_string_secret(tmp_path: Path, aws: AwsSetup) -> None:
    r = resolver_for(make_project(tmp_path, None, aws))
    assert r.resolve(f"aws:{aws.plain_name}") == SECRET + "-plain"


def test_aws_secret_by_arn(tmp_path: Path, aws: AwsSetup) -> None:
    arn = aws.client.describe_secret(SecretId=aws.json_name)["ARN"]
    r = resolver_for(make_project(tmp_path, None, aws))
    assert r.resolve(f"aws:{arn}#user") == "etl"


def test_aws_failures_name_the_secret_and_never_the_value(tmp_path: Path, aws: AwsSetup) -> None:
    r = resolver_for(make_project(tmp_path, None, aws))
    with pytest.raises(SecretNotFound, match="AWS has no secret"):
        r.resolve(f"aws:etl/{SUFFIX}/missing#password")
    with pytest.raises(SecretNotFound) as plain_with_key:
        r.resolve(f"aws:{aws.plain_name}#password")
    assert "plain string" in str(plain_with_key.value)
    with pytest.raises(SecretNotFound) as missing_key:
        r.resolve(f"aws:{aws.json_name}#pass")
    assert "its keys: password, user" in str(missing_key.value)
    for exc in (plain_with_key.value, missing_key.value):
        assert SECRET not in "".join(traceback.format_exception(exc))


# --------------------------------------------------------------------------- through the CLI

PIPELINE = """
name: itest_secrets
sources:
  - name: warehouse
    type: csv
    path: in.csv
    options:
      user: ${{secret:vault:apps/warehouse#user}}
      password: ${{secret:vault:apps/warehouse#password}}
      legacy: ${{secret:legacy:apps/legacy#password}}
      aws_json: ${{secret:aws:{json_name}#password}}
      aws_plain: ${{secret:aws:{plain_name}}}
sinks:
  - {{name: out, type: parquet, input: warehouse, path: out/}}
"""

FAILING = """
      down: ${secret:vault_down:apps/warehouse#password}
      badtoken: ${secret:vault_badtoken:apps/warehouse#password}
      missing_key: ${secret:vault:apps/warehouse#pass}
"""


def etl_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "etl_cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def write_pipeline(root: Path, aws: AwsSetup, failing: bool = False) -> Path:
    text = PIPELINE.format(json_name=aws.json_name, plain_name=aws.plain_name)
    if failing:
        text = text.replace("sinks:", FAILING.strip("\n") + "\nsinks:")
    return write(root, "p/pipeline.yaml", text)


def test_secrets_test_resolves_every_reference_of_a_pipeline(tmp_path: Path, vault: VaultSetup, aws: AwsSetup) -> None:
    make_project(tmp_path, vault, aws)
    write_pipeline(tmp_path, aws)
    result = etl_cli("secrets", "test", "p", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 reference(s): 5 ok, 0 failed" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    audit = [json.loads(line) for line in audit_text(tmp_path).splitlines()]
    assert {(a["provider"], a["outcome"]) for a in audit} == {
        ("vault", "resolved"), ("legacy", "resolved"), ("aws", "resolved"),
    }  # fmt: skip
    assert {a["pipeline"] for a in audit} == {"itest_secrets"}


def test_failures_never_reveal_a_value_anywhere(tmp_path: Path, vault: VaultSetup, aws: AwsSetup) -> None:
    make_project(tmp_path, vault, aws)
    write_pipeline(tmp_path, aws, failing=True)
    runs = [
        etl_cli("secrets", "test", "p", "--debug", cwd=tmp_path),
        etl_cli("secrets", "test", "p", "--format", "json", cwd=tmp_path),
        etl_cli("secrets", "get", "vault:apps/warehouse#password", cwd=tmp_path),
        etl_cli("secrets", "get", "vault:apps/warehouse#password", "--reveal", cwd=tmp_path),
        etl_cli("secrets", "audit", cwd=tmp_path),
    ]
    text_run, json_run = runs[0], runs[1]
    assert text_run.returncode == 1, text_run.stdout + text_run.stderr
    assert "8 reference(s): 5 ok, 3 failed" in text_run.stdout
    failed = {r["reference"]: r["error"] for r in json.loads(json_run.stdout)["results"] if not r["ok"]}
    assert "Vault did not answer" in failed["vault_down:apps/warehouse#password"]
    assert "Vault refused the request" in failed["vault_badtoken:apps/warehouse#password"]
    assert "has no key 'pass'" in failed["vault:apps/warehouse#pass"]
    assert runs[2].returncode == 0 and MASK in runs[2].stdout
    assert runs[3].returncode == 2  # --reveal to a pipe is refused
    for run in runs:
        assert SECRET not in run.stdout and SECRET not in run.stderr
    for path in (tmp_path / ".etl").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


def test_exceptions_raised_with_a_resolved_value_are_masked(tmp_path: Path, vault: VaultSetup) -> None:
    r = resolver_for(make_project(tmp_path, vault, None))

    def connect(resolve):  # type: ignore[no-untyped-def]
        url = resolve("jdbc:postgresql://db:5432/x?user=etl&password=${secret:vault:apps/warehouse#password}")
        raise RuntimeError(f"could not connect to {url}")

    with pytest.raises(RuntimeError) as raised:
        r.with_rotation(connect, lambda exc: False)
    assert SECRET not in "".join(traceback.format_exception(raised.value))
    assert f"password={MASK}" in str(raised.value)


def test_every_failure_is_a_secret_error_without_the_value(tmp_path: Path, vault: VaultSetup) -> None:
    r = resolver_for(make_project(tmp_path, vault, None))
    r.resolve("vault:apps/warehouse#password")  # the value is now known to the process
    for reference in (
        "vault_down:apps/warehouse#password",
        "vault_badtoken:apps/warehouse#password",
        "vault:apps/warehouse#pass",
    ):
        with pytest.raises(SecretError) as raised:
            r.resolve(reference)
        assert SECRET not in "".join(traceback.format_exception(raised.value))
    assert SECRET not in audit_text(tmp_path)
