"""Column encryption with data keys wrapped by real key services: OpenBao's transit engine and moto's KMS.

For each service: ``encrypt`` on Spark with a key of the project's ``keys:``; the data key unwrapped
a second way (with the service's admin client, straight from the key ring) and the values opened
with ``cryptography``'s AES-GCM; ``decrypt`` gives back the plaintext; ``etl-cli keys rotate``
rotates the service's key, re-wraps the ring and starts data key v2; data from before the rotation
still decrypts, alongside new data, in a later run on a fresh key manager.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.project import load_project
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.transforms.crypto import DecryptTransform, EncryptTransform
from etl_cli.secrets.keys.manager import key_manager
from tests.clihelp import etl_cli
from tests.integration.test_secrets_services import AWS_VARS, VAULT_VARS, require_services
from tests.spark.keyshelp import open_value
from tests.unit.helpers import write

SUFFIX = uuid.uuid4().hex[:8]
PLAIN = [(1, "alice@example.com"), (2, None), (3, "ünïcode ✓")]
pytestmark = pytest.mark.services("vault", "s3")


@pytest.fixture(autouse=True)
def state_in_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)


def crypt(spark: Any, root: Path, kind: str, df: Any) -> Any:
    manager = key_manager(load_project(root), None)  # a fresh manager: what a later run on another machine has
    ctx = RunContext(spark=spark, project_root=root, run_id="t", keys=manager)
    spec = StageSpec(f"{kind}_it", "transform", kind, ("people",), {"columns": ["email"], "key": "customer"})
    plugin = EncryptTransform() if kind == "encrypt" else DecryptTransform()
    return plugin.apply(ctx, spec, {"people": df})


def ring(root: Path) -> dict[str, Any]:
    return json.loads((root / "keys/customer.keyring.json").read_text())


def rotation_round_trip(spark: Any, root: Path, unwrap: Any) -> None:
    """Encrypt, open by a second method, rotate with the CLI, then decrypt old and new data together."""
    people = spark.createDataFrame(PLAIN, "id INT, email STRING")
    before = [tuple(r) for r in crypt(spark, root, "encrypt", people).collect()]
    keys = {v["version"]: unwrap(v["wrapped"], v["version"]) for v in ring(root)["versions"]}
    assert sorted((i, open_value(e, keys) if e else None) for i, e in before) == sorted(PLAIN)

    rotated = etl_cli("keys", "rotate", "customer", "--format", "json", cwd=root)
    assert rotated.returncode == 0, rotated.stderr
    summary = json.loads(rotated.stdout)
    assert summary["key_version"] == 2 and summary["rewrapped"] == [1]
    versions = ring(root)["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert unwrap(versions[0]["wrapped"], 1) == keys[1]  # re-wrapped, still the same data key

    after = [tuple(r) for r in crypt(spark, root, "encrypt", people).collect()]
    assert all(e.startswith("etl:v1:2:") for _, e in after if e is not None)
    both = spark.createDataFrame(before + after, "id INT, email STRING")
    opened = crypt(spark, root, "decrypt", both).collect()
    assert sorted((r.id, r.email or "") for r in opened) == sorted((i, e or "") for i, e in PLAIN + PLAIN)


def test_vault_transit_wraps_the_data_keys(spark: Any, tmp_path: Path) -> None:
    import hvac

    settings = require_services(VAULT_VARS)
    admin = hvac.Client(url=settings["ETL_TEST_VAULT_ADDR"], token=settings["ETL_TEST_VAULT_TOKEN"])
    mount, key = f"etl-transit-{SUFFIX}", f"etl-customer-{SUFFIX}"
    admin.sys.enable_secrets_engine("transit", path=mount)
    admin.secrets.transit.create_key(name=key, mount_point=mount)
    write(
        tmp_path,
        "etl-project.yaml",
        f"""
        name: vaulted
        secrets:
          vault: {{type: vault, url: "${{env:ETL_TEST_VAULT_ADDR}}", token: "${{env:ETL_TEST_VAULT_TOKEN}}"}}
        keys:
          customer: {{provider: vault_transit, key: {key}, mount: {mount}, secrets: vault}}
        """,
    )

    def unwrap(wrapped: str, version: int) -> bytes:
        answer = admin.secrets.transit.decrypt_data(name=key, ciphertext=wrapped, mount_point=mount)
        return base64.b64decode(answer["data"]["plaintext"])

    try:
        rotation_round_trip(spark, tmp_path, unwrap)
        assert admin.secrets.transit.read_key(name=key, mount_point=mount)["data"]["latest_version"] == 2
        assert [v["wrapped"][:9] for v in ring(tmp_path)["versions"]] == ["vault:v2:", "vault:v2:"]
    finally:
        admin.sys.disable_secrets_engine(mount)


def test_aws_kms_wraps_the_data_keys(spark: Any, tmp_path: Path) -> None:
    import boto3

    settings = require_services(AWS_VARS)
    kms = boto3.client(
        "kms",
        endpoint_url=settings["ETL_TEST_S3_ENDPOINT"],
        region_name=settings["ETL_TEST_AWS_REGION"],
        aws_access_key_id=settings["ETL_TEST_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=settings["ETL_TEST_AWS_SECRET_ACCESS_KEY"],
    )
    key_id = kms.create_key(Description="etl-cli test")["KeyMetadata"]["KeyId"]
    alias = f"alias/etl-customer-{SUFFIX}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    write(
        tmp_path,
        "etl-project.yaml",
        f"""
        name: kms
        secrets:
          aws:
            endpoint_url: "${{env:ETL_TEST_S3_ENDPOINT}}"
            region: "${{env:ETL_TEST_AWS_REGION}}"
            access_key_id: "${{env:ETL_TEST_AWS_ACCESS_KEY_ID}}"
            secret_access_key: "${{env:ETL_TEST_AWS_SECRET_ACCESS_KEY}}"
        keys:
          customer: {{provider: aws_kms, key_id: {alias}}}
        """,
    )

    def unwrap(wrapped: str, version: int) -> bytes:
        blob = base64.b64decode(wrapped.removeprefix("kms:"))
        context = {"etl-cli-key": "customer", "etl-cli-dek-version": str(version)}
        return bytes(kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"])

    try:
        rotation_round_trip(spark, tmp_path, unwrap)
        assert len(kms.list_key_rotations(KeyId=key_id)["Rotations"]) == 1
    finally:
        kms.delete_alias(AliasName=alias)
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


def test_a_key_without_its_service_settings_fails_validate(tmp_path: Path) -> None:
    write(
        tmp_path,
        "etl-project.yaml",
        """
        name: half
        secrets:
          store: {type: keyring}
        keys:
          customer: {provider: vault_transit, key: k, secrets: store}
          orders: {provider: aws_kms, key_id: alias/x, secrets: awss}
        """,
    )
    write(
        tmp_path,
        "p/pipeline.yaml",
        """
        name: p
        sources:
          - {name: people, type: csv, path: d.csv, schema: "id INT, email STRING"}
        transforms:
          - {name: a, type: encrypt, inputs: [people], columns: [email], key: customer}
          - {name: b, type: encrypt, inputs: [a], columns: [email], key: orders}
        sinks:
          - {name: out, type: parquet, input: b, path: out}
        """,
    )
    checked = etl_cli("validate", "p", cwd=tmp_path, env={"ETL_STATE_DIR": str(tmp_path / ".etl")})
    text = checked.stdout + checked.stderr
    assert checked.returncode == 1
    assert (
        "p/pipeline.yaml:5:" in text and "needs a secrets entry of type vault, but 'store' is of type keyring" in text
    )
    assert "p/pipeline.yaml:6:" in text and "secrets entry 'awss', which etl-project.yaml does not declare" in text
