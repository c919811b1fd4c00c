"""Data security end to end (docs/data-security.md), with real ``etl-cli`` processes and real key services.

One project: a customers source whose contract tags name, email and phone as personal data. Pipeline
``protect`` masks email (HMAC-SHA256 under a salt from the ``env`` secret provider) and phone (partial), and
encrypts name with a key of OpenBao's transit engine (sink ``shared_out``); it also writes every tagged
column encrypted with an AWS KMS key of the moto server (sink ``archive_out``). Row filters give each
principal one region: ``--as alice`` reads the eu customers, ``--as bob`` the us ones. Between alice's run
and bob's, ``etl-cli keys rotate`` rotates both keys, so bob's values are encrypted with data key v2 and
alice's stay at v1. Pipeline ``reveal`` (in the protected environment prod, so it needs ``--confirm-env``)
decrypts both sinks back with transit and with KMS; the result is compared with the original rows, read
here with the csv module. A variant of ``protect`` that leaves phone in clear is refused by ``validate``
at its sink's line (the project's policy). Last, the audit trail of these runs verifies, and after one
of its lines is edited ``etl-cli audit verify`` exits 1 naming that line.

The Spark runs (each ~15 s) happen once, in the module fixture; the tests assert on what they left.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.integration.test_secrets_services import AWS_VARS, VAULT_VARS, require_services
from tests.unit.helpers import write

pytestmark = pytest.mark.services("vault", "s3")

SUFFIX = uuid.uuid4().hex[:8]
SALT = f"pii-salt-{uuid.uuid4().hex}"  # unique to this session: finding it in a file is never a coincidence
CUSTOMERS = """\
id,name,email,phone,region
1,Ann Lee,ann@example.com,+49 170 1234567,eu
2,Bob Stone,bob.stone@example.org,+1 212 555 0199,us
3,Chloé Martin,chloe@example.fr,+33 6 12 34 56 78,eu
4,Dan Wu,dan.wu@example.com,+1 415 555 0123,us
5,Eve Tan,eve@example.sg,+65 8123 4567,apac
"""
#: by hand from CUSTOMERS: alice (region eu) reads customers 1 and 3, bob (us) 2 and 4; nobody reads 5 (apac)
ALICE_IDS, BOB_IDS = ["1", "3"], ["2", "4"]

PROJECT = """\
name: secure-shop
default_env: dev
environments:
  dev: {{}}
  prod: {{protected: true}}
secrets:
  vault: {{type: vault, url: "${{env:ETL_TEST_VAULT_ADDR}}", token: "${{env:ETL_TEST_VAULT_TOKEN}}"}}
  aws:
    endpoint_url: "${{env:ETL_TEST_S3_ENDPOINT}}"
    region: "${{env:ETL_TEST_AWS_REGION}}"
    access_key_id: "${{env:ETL_TEST_AWS_ACCESS_KEY_ID}}"
    secret_access_key: "${{env:ETL_TEST_AWS_SECRET_ACCESS_KEY}}"
keys:
  customer: {{provider: vault_transit, key: {transit_key}, mount: {mount}, secrets: vault}}
  archive: {{provider: aws_kms, key_id: {alias}, secrets: aws}}
principals:
  alice: {{region: eu}}
  bob: {{region: us}}
access:
  region_rows:
    sources: [customers]
    filter: "region = ${{principal:region}}"
    required: true
policies:
  - name: pii-protected
    tags: [pii]
    sinks: {{names: [shared_out, archive_out]}}
    require: masked_or_encrypted
"""
PROTECT = """\
name: {name}
vars:
  who: nobody
sources:
  - name: customers
    type: csv
    path: data/customers.csv
    schema: "id INT, name STRING, email STRING, phone STRING, region STRING"
    contract:
      columns:
        id: INT
        name: {{type: STRING, pii: name}}
        email: {{type: STRING, pii: email}}
        phone: {{type: STRING, pii: phone}}
        region: {{type: STRING, tags: [location]}}
transforms:
  - name: masked
    type: mask
    inputs: [customers]
    columns:
{mask_columns}
  - name: shared
    type: encrypt
    inputs: [masked]
    columns: [name]
    key: customer
  - name: archived
    type: encrypt
    inputs: [customers]
    columns: [name, email, phone]
    key: archive
sinks:
  - name: shared_out
    type: csv
    input: shared
    path: output/shared/${{var:who}}
    mode: overwrite
  - name: archive_out
    type: csv
    input: archived
    path: output/archive/${{var:who}}
    mode: overwrite
"""
MASK_BOTH = """\
      email: {method: hash, key: "${secret:env:PII_SALT}"}
      phone: {method: partial, keep_last: 4}"""
MASK_EMAIL_ONLY = """\
      email: {method: hash, key: "${secret:env:PII_SALT}"}"""
SCHEMA = '"id INT, name STRING, email STRING, phone STRING, region STRING"'
REVEAL = f"""\
name: reveal
sources:
  - {{name: shared_alice, type: csv, path: output/shared/alice, schema: {SCHEMA}}}
  - {{name: shared_bob, type: csv, path: output/shared/bob, schema: {SCHEMA}}}
  - {{name: archive_alice, type: csv, path: output/archive/alice, schema: {SCHEMA}}}
  - {{name: archive_bob, type: csv, path: output/archive/bob, schema: {SCHEMA}}}
transforms:
  - {{name: shared_all, type: union, inputs: [shared_alice, shared_bob]}}
  - {{name: archive_all, type: union, inputs: [archive_alice, archive_bob]}}
  - {{name: names, type: decrypt, inputs: [shared_all], columns: [name], key: customer}}
  - {{name: contacts, type: decrypt, inputs: [archive_all], columns: [name, email, phone], key: archive}}
sinks:
  - {{name: names_out, type: csv, input: names, path: output/revealed/names, mode: overwrite}}
  - {{name: contacts_out, type: csv, input: contacts, path: output/revealed/contacts, mode: overwrite}}
"""


@dataclass
class Secured:
    """The project after the runs, and what each command returned."""

    root: Path
    transit: Any  # hvac client (admin token) and the transit mount and key names
    mount: str
    transit_key: str
    kms: Any  # boto3 KMS client
    kms_key_id: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # "alice", "bob", "reveal": run results
    codes: dict[str, tuple[int, str]] = field(default_factory=dict)  # step -> (exit code, output)
    rotations: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> keys rotate summary
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # output folder -> rows (csv module)


def cli(root: Path, *args: str) -> tuple[int, str]:
    """``etl-cli ARGS`` in the project, its state under it, the salt in the environment, no principal set."""
    env = {"ETL_STATE_DIR": "", "ETL_ENV": "", "ETL_PRINCIPAL": "", "PII_SALT": SALT}
    done = etl_cli(*args, cwd=root, env=env)
    return done.returncode, done.stdout + done.stderr


def read_csv_folder(folder: Path) -> list[dict[str, str]]:
    """Every row of the CSV part files Spark wrote in ``folder`` (header lines skipped), by id."""
    rows: list[dict[str, str]] = []
    for part in sorted(folder.glob("part-*.csv")):
        with part.open(encoding="utf-8", newline="") as handle:
            rows += list(csv.DictReader(handle))
    return sorted(rows, key=lambda r: int(r["id"]))


def original() -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in csv.DictReader(CUSTOMERS.splitlines())}


def latest_results(root: Path, pipeline: str, env: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((root / ".etl" / "runs" / pipeline / env / "latest.json").read_text())
    return result


def trail_lines(root: Path) -> list[str]:
    return (root / ".etl" / "audit" / "trail.jsonl").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    import boto3
    import hvac

    vault = require_services(VAULT_VARS)
    aws = require_services(AWS_VARS)
    admin = hvac.Client(url=vault["ETL_TEST_VAULT_ADDR"], token=vault["ETL_TEST_VAULT_TOKEN"])
    mount, transit_key = f"etl-e2e-transit-{SUFFIX}", f"etl-e2e-customer-{SUFFIX}"
    admin.sys.enable_secrets_engine("transit", path=mount)
    admin.secrets.transit.create_key(name=transit_key, mount_point=mount)
    kms = boto3.client(
        "kms",
        endpoint_url=aws["ETL_TEST_S3_ENDPOINT"],
        region_name=aws["ETL_TEST_AWS_REGION"],
        aws_access_key_id=aws["ETL_TEST_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws["ETL_TEST_AWS_SECRET_ACCESS_KEY"],
    )
    kms_key_id = kms.create_key(Description="etl-cli data security end to end")["KeyMetadata"]["KeyId"]
    alias = f"alias/etl-e2e-archive-{SUFFIX}"
    kms.create_alias(AliasName=alias, TargetKeyId=kms_key_id)

    root = tmp_path_factory.mktemp("secure") / "shop"
    write(root, "etl-project.yaml", PROJECT.format(transit_key=transit_key, mount=mount, alias=alias))
    write(root, "data/customers.csv", CUSTOMERS)
    write(root, "pipelines/protect/pipeline.yaml", PROTECT.format(name="protect", mask_columns=MASK_BOTH))
    write(root, "pipelines/leaky/pipeline.yaml", PROTECT.format(name="leaky", mask_columns=MASK_EMAIL_ONLY))
    write(root, "pipelines/reveal/pipeline.yaml", REVEAL)
    found = Secured(root, admin, mount, transit_key, kms, kms_key_id)
    try:
        steps = found.codes
        # no principal declared for the OS user (the rule is required): refused before Spark starts
        steps["nobody"] = cli(root, "run", "pipelines/protect", "--as", "mallory")
        steps["alice"] = cli(root, "run", "pipelines/protect", "--as", "alice", "--set", "vars.who=alice")
        found.results["alice"] = latest_results(root, "protect", "dev")
        for key in ("customer", "archive"):
            steps[f"rotate {key}"] = cli(root, "keys", "rotate", key, "--format", "json")
            if steps[f"rotate {key}"][0] == 0:
                found.rotations[key] = json.loads(steps[f"rotate {key}"][1])
        steps["bob"] = cli(root, "run", "pipelines/protect", "--as", "bob", "--set", "vars.who=bob")
        found.results["bob"] = latest_results(root, "protect", "dev")
        steps["reveal unconfirmed"] = cli(root, "run", "pipelines/reveal", "--env", "prod")
        steps["reveal"] = cli(root, "run", "pipelines/reveal", "--env", "prod", "--confirm-env", "prod")
        found.results["reveal"] = latest_results(root, "reveal", "prod")
        for folder in ("shared/alice", "shared/bob", "archive/alice", "archive/bob", "revealed/names",
                       "revealed/contacts"):  # fmt: skip
            found.rows[folder] = read_csv_folder(root / "output" / folder)
        yield found
    finally:
        admin.sys.disable_secrets_engine(mount)
        kms.delete_alias(AliasName=alias)
        kms.schedule_key_deletion(KeyId=kms_key_id, PendingWindowInDays=7)


def test_the_runs_succeed_and_the_unconfirmed_and_undeclared_ones_are_refused(secured: Secured) -> None:
    for step in ("alice", "rotate customer", "rotate archive", "bob", "reveal"):
        code, output = secured.codes[step]
        assert code == 0, f"{step}: {output}"
    code, output = secured.codes["nobody"]
    assert code == 1
    assert "access rule 'region_rows'" in output and "'mallory'" in output
    code, output = secured.codes["reveal unconfirmed"]
    assert code == 2 and "--confirm-env prod" in output


def test_row_filters_give_each_principal_their_region(secured: Secured) -> None:
    assert [r["id"] for r in secured.rows["shared/alice"]] == ALICE_IDS
    assert [r["id"] for r in secured.rows["archive/alice"]] == ALICE_IDS
    assert [r["id"] for r in secured.rows["shared/bob"]] == BOB_IDS
    assert [r["id"] for r in secured.rows["archive/bob"]] == BOB_IDS
    alice, bob = secured.results["alice"]["access"], secured.results["bob"]["access"]
    assert (alice["principal"], alice["source"]) == ("alice", "option")
    assert alice["filters"] == [{"source": "customers", "rule": "region_rows", "filter": "region = 'eu'"}]
    assert bob["filters"] == [{"source": "customers", "rule": "region_rows", "filter": "region = 'us'"}]


def test_masked_columns_are_keyed_hashes_and_partial_values(secured: Secured) -> None:
    plain = original()
    for row in secured.rows["shared/alice"] + secured.rows["shared/bob"]:
        source = plain[row["id"]]
        assert row["email"] == hmac.new(SALT.encode(), source["email"].encode(), hashlib.sha256).hexdigest()
        assert row["phone"] == "*" * (len(source["phone"]) - 4) + source["phone"][-4:]
        assert row["region"] == source["region"]
    assert secured.rows["shared/alice"][0]["phone"] == "***********4567"  # +49 170 1234567 by hand


def test_encrypted_columns_carry_their_data_key_version_before_and_after_rotation(secured: Secured) -> None:
    plain = original()
    for who, version in (("alice", 1), ("bob", 2)):
        for row in secured.rows[f"shared/{who}"]:
            assert row["name"].startswith(f"etl:v1:{version}:") and plain[row["id"]]["name"] not in row["name"]
        for row in secured.rows[f"archive/{who}"]:
            for column in ("name", "email", "phone"):
                assert row[column].startswith(f"etl:v1:{version}:"), (who, column, row[column])
                assert plain[row["id"]][column] not in row[column]
    alice_keys = {k["name"]: k for k in secured.results["alice"]["keys"]}
    bob_keys = {k["name"]: k for k in secured.results["bob"]["keys"]}
    assert {n: (k["provider"], k["key_version"]) for n, k in alice_keys.items()} == {
        "customer": ("vault_transit", 1),
        "archive": ("aws_kms", 1),
    }
    assert {n: k["key_version"] for n, k in bob_keys.items()} == {"customer": 2, "archive": 2}


def test_keys_rotate_rotates_the_services_keys_and_rewraps_the_rings(secured: Secured) -> None:
    for key in ("customer", "archive"):
        assert secured.rotations[key]["key_version"] == 2 and secured.rotations[key]["rewrapped"] == [1]
    transit = secured.transit.secrets.transit.read_key(name=secured.transit_key, mount_point=secured.mount)
    assert transit["data"]["latest_version"] == 2
    ring = json.loads((secured.root / "keys" / "customer.keyring.json").read_text())
    assert [(v["version"], v["wrapped"][:9]) for v in ring["versions"]] == [(1, "vault:v2:"), (2, "vault:v2:")]
    assert len(secured.kms.list_key_rotations(KeyId=secured.kms_key_id)["Rotations"]) == 1
    # the data key v1 that encrypted alice's archive, unwrapped by KMS itself, opens her values
    archive_ring = json.loads((secured.root / "keys" / "archive.keyring.json").read_text())
    wrapped = next(v["wrapped"] for v in archive_ring["versions"] if v["version"] == 1)
    context = {"etl-cli-key": "archive", "etl-cli-dek-version": "1"}
    blob = base64.b64decode(wrapped.removeprefix("kms:"))
    dek = bytes(secured.kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"])
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    first = secured.rows["archive/alice"][0]
    raw = base64.b64decode(first["email"].split(":", 3)[3])
    assert AESGCM(dek).decrypt(raw[:12], raw[12:], None).decode() == original()[first["id"]]["email"]


def test_decrypting_with_transit_and_with_kms_gives_back_the_original_rows(secured: Secured) -> None:
    plain = original()
    readers = [plain[i] for i in sorted(ALICE_IDS + BOB_IDS, key=int)]
    names = secured.rows["revealed/names"]
    assert [(r["id"], r["name"], r["region"]) for r in names] == [(r["id"], r["name"], r["region"]) for r in readers]
    assert secured.rows["revealed/contacts"] == readers  # every column, values before and after rotation
    keys = {k["name"]: k["provider"] for k in secured.results["reveal"]["keys"]}
    assert keys == {"customer": "vault_transit", "archive": "aws_kms"}


def test_validate_catches_the_policy_violation_at_the_sink_line(secured: Secured) -> None:
    code, output = cli(secured.root, "validate", "pipelines/protect")
    assert code == 0, output
    code, output = cli(secured.root, "validate", "pipelines/leaky")
    assert code == 1, output
    text = (secured.root / "pipelines" / "leaky" / "pipeline.yaml").read_text().splitlines()
    line = text.index("  - name: shared_out") + 1
    violations = [entry for entry in output.splitlines() if "[policy-violation]" in entry]
    assert len(violations) == 1, output
    assert f"pipelines/leaky/pipeline.yaml:{line}:" in violations[0]
    assert "sink 'shared_out' (csv) writes column 'phone' tagged pii, pii:phone unprotected" in violations[0]
    assert "policy 'pii-protected'" in violations[0]


def test_the_audit_trail_records_who_read_what_with_which_keys_never_values(secured: Secured) -> None:
    lines = trail_lines(secured.root)
    text = "\n".join(lines)
    assert SALT not in text and os.environ["ETL_TEST_VAULT_TOKEN"] not in text
    records = [json.loads(line) for line in lines]
    runs = {r.get("run_id"): r for r in records}
    alice = runs[secured.results["alice"]["run_id"]]
    assert (alice["principal"], alice["pipeline"], alice["outcome"]) == ("alice", "protect", "success")
    assert alice["access"]["filters"] == secured.results["alice"]["access"]["filters"]
    assert sorted(k["name"] for k in alice["keys"]) == ["archive", "customer"]
    assert any("PII_SALT" in s["reference"] for s in alice["secrets"])
    assert [d["stage"] for d in alice["datasets"]["written"]] == ["shared_out", "archive_out"]
    reveal = runs[secured.results["reveal"]["run_id"]]
    assert (reveal["environment"], reveal["confirmation"]["flag"]) == ("prod", "--confirm-env prod")
    assert [r["outcome"] for r in records if r["pipeline"] == "reveal"] == ["refused", "success"]


def test_an_edited_audit_line_is_detected_and_named(secured: Secured, tmp_path: Path) -> None:
    copy = tmp_path / "shop"
    shutil.copytree(secured.root, copy)
    code, output = cli(copy, "audit", "verify")
    assert code == 0, output
    lines = trail_lines(copy)
    assert f"{len(lines)} record(s)" in output

    number = next(n for n, line in enumerate(lines, 1) if json.loads(line).get("principal") == "bob")
    assert '"principal": "bob"' in lines[number - 1] or '"principal":"bob"' in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace('"bob"', '"alice"', 1)  # bob's run now claims to be alice's
    (copy / ".etl" / "audit" / "trail.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    code, output = cli(copy, "audit", "verify")
    assert code == 1
    assert f"line {number} was edited" in output
