"""Secrets end to end, through ``etl-cli run`` in a subprocess: a CSV → PostgreSQL upsert whose database
password comes from Vault (OpenBao, KV v2), and runs that fail at several points (unreachable host, wrong
password, failing transform) with secrets from Vault, AWS Secrets Manager (moto) and the environment,
after which the secret value must appear nowhere: not in stdout, stderr, the state dir (run results,
quality reports, JVM logs, audit log) nor in anything else written under the project.

Start the services with ``scripts/services.sh up pg vault s3`` and export their settings with
``eval "$(scripts/services.sh env pg vault s3)"``. Without them these tests skip, except under CI
(``CI`` set), where a missing service is a failure.
"""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.integration.dbhelp import PG_VARS, S3_VARS, pg_execute, pg_rows, pg_schema, require

# it reads each run's JVM log for secrets too
pytestmark = pytest.mark.own_jvm

VAULT_VARS = ("ETL_TEST_VAULT_ADDR", "ETL_TEST_VAULT_TOKEN")
SUFFIX = uuid.uuid4().hex[:8]
PIPELINE = "secrets_e2e"
TABLE_SQL = """
CREATE TABLE {table} (
    customer_id BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT,
    updated_at  TIMESTAMP NOT NULL
)
"""
CSV = """customer_id,name,email,updated_at
1,Ada Lovelace,ADA@example.com,2024-03-01 09:00:00
2,Grace Hopper,grace@example.com,2024-03-01 09:05:00
2,Grace Hopper,Grace.Hopper@example.com,2024-03-02 08:00:00
3,Alan Turing,alan@example.com,2024-03-02 10:00:00
"""


def distinctive() -> str:
    """A secret value no file, log or message can contain by coincidence."""
    return f"pw-{uuid.uuid4().hex}"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- services


class Vault:
    """A KV v2 mount of this test session only, written with the root token."""

    def __init__(self, settings: dict[str, str]) -> None:
        import hvac

        self.admin = hvac.Client(url=settings["ETL_TEST_VAULT_ADDR"], token=settings["ETL_TEST_VAULT_TOKEN"])
        self.mount = f"etl-e2e-{SUFFIX}"

    def put(self, path: str, **values: str) -> None:
        self.admin.secrets.kv.v2.create_or_update_secret(path, secret=values, mount_point=self.mount)


@pytest.fixture(scope="module")
def vault() -> Iterator[Vault]:
    setup = Vault(require(VAULT_VARS, "vault"))
    setup.admin.sys.enable_secrets_engine("kv", path=setup.mount, options={"version": "2"})
    yield setup
    setup.admin.sys.disable_secrets_engine(setup.mount)


class SecretsManager:
    def __init__(self, settings: dict[str, str]) -> None:
        import boto3

        self.client = boto3.client(
            "secretsmanager",
            endpoint_url=settings["ETL_TEST_S3_ENDPOINT"],
            region_name=settings["ETL_TEST_AWS_REGION"],
            aws_access_key_id=settings["ETL_TEST_AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=settings["ETL_TEST_AWS_SECRET_ACCESS_KEY"],
        )
        self.names: list[str] = []

    def put(self, name: str, **values: str) -> str:
        self.client.create_secret(Name=name, SecretString=json.dumps(values))
        self.names.append(name)
        return name


@pytest.fixture(scope="module")
def aws() -> Iterator[SecretsManager]:
    setup = SecretsManager(require(S3_VARS, "s3"))
    yield setup
    for name in setup.names:
        setup.client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def schema() -> Iterator[str]:
    require(PG_VARS, "pg")
    with pg_schema() as name:
        yield name


# --------------------------------------------------------------------------- a project


def write_project(root: Path, vault: Vault | None = None) -> None:
    secrets: dict[str, Any] = {
        "aws": {
            "region": "${env:ETL_TEST_AWS_REGION}",
            "endpoint_url": "${env:ETL_TEST_S3_ENDPOINT}",
            "access_key_id": "${env:ETL_TEST_AWS_ACCESS_KEY_ID}",
            "secret_access_key": "${env:ETL_TEST_AWS_SECRET_ACCESS_KEY}",
        }
    }
    if vault is not None:
        secrets["vault"] = {
            "url": "${env:ETL_TEST_VAULT_ADDR}",
            "token": "${env:ETL_TEST_VAULT_TOKEN}",
            "mount": vault.mount,
            "kv_version": 2,
        }
    project = {"name": "secrets-e2e", "default_env": "dev", "secrets": secrets, "environments": {"dev": {}}}
    (root / "etl-project.yaml").write_text(json.dumps(project, indent=2), encoding="utf-8")


def write_pipeline(
    root: Path,
    table: str,
    password: str,
    url_query: str = "",
    port: str = "${env:ETL_TEST_PG_PORT}",
    fail_transform: bool = False,
) -> Path:
    """A CSV → PostgreSQL upsert (the shape of pipelines/csv_to_postgres_upsert) in ``root/p``."""
    folder = root / "p"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "customers.csv").write_text(CSV, encoding="utf-8")
    email = (
        "IF(customer_id < 3, lower(trim(email)), raise_error('customer rejected'))"
        if fail_transform
        else "lower(trim(email))"
    )
    text = f"""
name: {PIPELINE}
spark:
  master: local[2]
  conf:
    spark.sql.shuffle.partitions: 2
sources:
  - name: customers_csv
    type: csv
    path: p/data/customers.csv
    schema: {{customer_id: BIGINT, name: STRING, email: STRING, updated_at: TIMESTAMP}}
transforms:
  - name: latest
    type: deduplicate
    inputs: [customers_csv]
    keys: [customer_id]
    order_by: [updated_at desc]
  - name: cleaned
    type: derive
    inputs: [latest]
    columns:
      email: "{email}"
sinks:
  - name: customers_table
    type: jdbc
    input: cleaned
    url: "jdbc:postgresql://${{env:ETL_TEST_PG_HOST}}:{port}/${{env:ETL_TEST_PG_DB}}{url_query}"
    table: {table}
    user: ${{env:ETL_TEST_PG_USER}}
    password: "{password}"
    mode: upsert
    batch_size: 500
    retry: {{attempts: 2, initial_delay: 0.1, max_delay: 0.2}}
"""
    path = folder / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run(root: Path, env: dict[str, str] | None = None, *args: str) -> subprocess.CompletedProcess[str]:
    settings = {"ETL_STATE_DIR": str(root / "state"), "ETL_ENV": "dev", **(env or {})}
    return etl_cli("run", "p", *args, env=settings, cwd=root)


def assert_nowhere(value: str, root: Path, *results: subprocess.CompletedProcess[str]) -> None:
    """``value`` (and its URL-encoded form, the same here) is in no output and no file under ``root``."""
    for result in results:
        assert value not in result.stdout, f"secret in stdout:\n{result.stdout}"
        assert value not in result.stderr, f"secret in stderr:\n{result.stderr}"
    needle = value.encode()
    checked = 0
    for path in root.rglob("*"):
        if path.is_file():
            checked += 1
            assert needle not in path.read_bytes(), f"secret written to {path.relative_to(root)}"
    assert checked, "the run wrote nothing to check"


def state_files(root: Path) -> set[str]:
    return {p.relative_to(root / "state").parts[0] for p in (root / "state").rglob("*") if p.is_file()}


def latest(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "state" / "runs" / PIPELINE / "dev" / "latest.json").read_text())
    return data


# --------------------------------------------------------------------------- end to end


def test_a_jdbc_upsert_whose_password_comes_from_vault(tmp_path: Path, vault: Vault, schema: str) -> None:
    password = require(PG_VARS, "pg")["ETL_TEST_PG_PASSWORD"]
    vault.put("apps/warehouse", user="etl", password=password)
    pg_execute(TABLE_SQL.format(table=f"{schema}.customers"))
    write_project(tmp_path, vault)
    write_pipeline(tmp_path, f"{schema}.customers", "${secret:vault:apps/warehouse#password}")

    result = run(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    rows = pg_rows(f"SELECT customer_id, name, email FROM {schema}.customers ORDER BY 1")
    assert rows == [
        (1, "Ada Lovelace", "ada@example.com"),
        (2, "Grace Hopper", "grace.hopper@example.com"),
        (3, "Alan Turing", "alan@example.com"),
    ]
    assert latest(tmp_path)["status"] == "success"
    audit = [json.loads(line) for line in (tmp_path / "state" / "audit" / "secrets.jsonl").read_text().splitlines()]
    # read once from Vault when the run starts (recovery looks for staging tables of dead runs), then from the cache
    assert [(a["provider"], a["reference"], a["outcome"]) for a in audit] == [
        ("vault", "vault:apps/warehouse#password", "resolved"),
        ("vault", "vault:apps/warehouse#password", "cached"),
    ]
    assert {a["pipeline"] for a in audit} == {PIPELINE}
    assert_nowhere(password, tmp_path, result)


# --------------------------------------------------------------------------- redaction under failures

#: (case id, provider, where the failure is forced, options of `etl-cli run`). Every run shows tracebacks;
#: with --verbose Spark's log goes to stderr, without it to the JVM log file in the state dir; --log-file
#: writes the run's lines to run.log in the project too (checked like every other file there).
FAILURES = [
    ("vault-wrong-password", "vault", "wrong_password", ("--log-format", "json", "--log-file", "run.log")),
    ("vault-unreachable-host", "vault", "unreachable", ("--verbose",)),
    ("vault-failing-transform", "vault", "transform", ()),
    ("aws-wrong-password", "aws", "wrong_password", ("--verbose",)),
    ("aws-unreachable-host", "aws", "unreachable", ()),
    ("env-wrong-password", "env", "wrong_password", ()),
    ("env-failing-transform", "env", "transform", ("--verbose", "--log-file", "run.log")),
]


@pytest.mark.parametrize(("provider", "failure", "options"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_a_failing_run_never_reveals_a_secret(
    tmp_path: Path,
    vault: Vault,
    aws: SecretsManager,
    schema: str,
    provider: str,
    failure: str,
    options: tuple[str, ...],
) -> None:
    secret = distinctive()  # stored as the password (wrong for the database) and in the URL's query string
    real_password = require(PG_VARS, "pg")["ETL_TEST_PG_PASSWORD"]
    env: dict[str, str] = {}
    if provider == "vault":
        path = f"apps/{uuid.uuid4().hex[:8]}"
        vault.put(path, password=secret)
        ref = f"${{secret:vault:{path}#password}}"
    elif provider == "aws":
        name = aws.put(f"etl/{SUFFIX}/{uuid.uuid4().hex[:8]}", password=secret)
        ref = f"${{secret:aws:{name}#password}}"
    else:
        env["ETL_E2E_SECRET"] = secret
        ref = "${secret:env:ETL_E2E_SECRET}"
    if failure == "transform":
        # the login works (the real password comes from the environment); the secret rides in the URL
        env["ETL_E2E_PG_PASSWORD"] = real_password
        password = "${secret:env:ETL_E2E_PG_PASSWORD}"
    else:
        password = ref

    pg_execute(TABLE_SQL.format(table=f"{schema}.customers"))
    write_project(tmp_path, vault)
    write_pipeline(
        tmp_path,
        f"{schema}.customers",
        password,
        url_query=f"?ApplicationName={ref}",
        port=str(closed_port()) if failure == "unreachable" else "${env:ETL_TEST_PG_PORT}",
        fail_transform=failure == "transform",
    )

    result = run(tmp_path, env, "--debug", *options)

    assert result.returncode == 4, result.stdout + result.stderr
    error = latest(tmp_path)["error"]
    assert error["stage"] == "customers_table", error
    if failure == "wrong_password":
        assert "refused the login" in result.stderr, result.stderr
    elif failure == "unreachable":
        assert "cannot reach PostgreSQL" in result.stderr, result.stderr
    else:
        assert "customer rejected" in result.stderr, result.stderr
    assert {"runs", "audit"} | (set() if "--verbose" in options else {"logs"}) <= state_files(tmp_path)
    audit = [json.loads(line) for line in (tmp_path / "state" / "audit" / "secrets.jsonl").open()]
    assert {a["outcome"] for a in audit} <= {"resolved", "cached", "refreshed"}
    assert (provider, "resolved") in {(a["provider"], a["outcome"]) for a in audit}, "the secret was really read"
    if "--log-file" in options:
        assert "customers_table" in (tmp_path / "run.log").read_text(), "the run's lines reached the log file"
    assert_nowhere(secret, tmp_path, result)
    assert pg_rows(f"SELECT count(*) FROM {schema}.customers") == [(0,)]
