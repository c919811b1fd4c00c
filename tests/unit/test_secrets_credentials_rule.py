"""``validate`` flags credentials written as plain text: an error in protected environments, else a warning."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.model.credentials import check_literal_credentials, is_credential_conf_key, is_credential_key
from tests.unit.helpers import PROJECT, make_project

PIPELINE = """
    name: orders
    vars:
      db_password: var-literal-1
    sources:
      - name: pg
        type: csv
        path: data/in.csv
        options:
          header: true
          password: literal-pass-1
          nested:
            - {apiKey: literal-key-2}
          from_env: ${env:HOME}
          token: ${secret:vault:apps/orders#token}
          token_url: https://auth.example.com
    sinks:
      - name: out
        type: parquet
        input: pg
        path: out/
    spark:
      conf:
        spark.hadoop.fs.s3a.secret.key: literal-s3-3
        spark.authenticate.secret.file: /etc/spark/secret
"""


def position_of(text: str) -> tuple[int, int]:
    """(line, column) of ``text`` in the pipeline as written (1-based), found independently of the rule."""
    lines = textwrap.dedent(PIPELINE).lstrip("\n").splitlines()
    return next((n, line.index(text) + 1) for n, line in enumerate(lines, 1) if text in line)


LITERALS = ["var-literal-1", "literal-pass-1", "literal-key-2", "literal-s3-3"]


def credential_diagnostics(root: Path, env: str) -> list[Diagnostic]:
    loaded = load_pipeline(root / "p" / "pipeline.yaml", env)
    return check_literal_credentials(loaded.document, loaded.provenance, loaded.project.is_protected(loaded.env))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"p/pipeline.yaml": PIPELINE}, project=PROJECT)


def test_each_literal_credential_is_reported_at_its_value(project: Path) -> None:
    places = {(d.location.line, d.location.column) for d in credential_diagnostics(project, "dev") if d.location}
    assert places == {position_of(v) for v in LITERALS}
    assert position_of("literal-pass-1") == (10, 17)


def test_literals_are_warnings_in_an_unprotected_environment(project: Path) -> None:
    diagnostics = credential_diagnostics(project, "dev")
    assert {d.severity for d in diagnostics} == {"warning"}
    assert all(d.code == "literal-credential" for d in diagnostics)


def test_literals_are_errors_in_a_protected_environment(project: Path) -> None:
    assert {d.severity for d in credential_diagnostics(project, "prod")} == {"error"}


def test_the_message_names_the_key_and_file_but_never_the_value(project: Path) -> None:
    diagnostics = credential_diagnostics(project, "prod")
    password = next(d for d in diagnostics if d.location and d.location.line == 10)
    assert password.location is not None and password.location.file.endswith("p/pipeline.yaml")
    assert "sources.pg.options.password" in password.message
    assert password.hint is not None and "${secret:vault:orders/pg#password}" in password.hint
    assert "${env:PG_PASSWORD}" in password.hint
    for d in diagnostics:
        assert not any(v in f"{d.message} {d.hint}" for v in LITERALS)


def test_validate_reports_the_rule_with_file_line_and_column(project: Path) -> None:
    [report] = app.validate([project / "p"], env="prod")
    found = [d for d in report.diagnostics if d.code == "literal-credential"]
    assert [(d.location.line, d.location.column) for d in found if d.location] == [position_of(v) for v in LITERALS]
    assert not report.ok


def test_a_pipeline_using_references_only_is_clean(tmp_path: Path) -> None:
    pipeline = """
        sources:
          - name: pg
            type: csv
            path: in.csv
            options: {password: "${secret:keyring:pg#password}", token: "${env:HOME}", secret: ""}
        sinks:
          - {name: out, type: parquet, input: pg, path: out/}
    """
    make_project(tmp_path, {"p/pipeline.yaml": pipeline}, project=PROJECT)
    assert credential_diagnostics(tmp_path, "prod") == []


@pytest.mark.parametrize(
    "key",
    ["password", "PASSWORD", "db_password", "keyStorePassword", "passwd", "token", "auth-token", "secret",
     "client_secret", "secret_key", "access_key", "aws_secret_access_key", "api_key", "apiKey", "APIKey", "apikey",
     "kafka.sasl.jaas.config", "sasl.jaas.config"],
)  # fmt: skip
def test_credential_option_keys(key: str) -> None:
    assert is_credential_key(key)


@pytest.mark.parametrize("key", ["token_url", "secret_name", "access_key_id", "max_tokens", "user", "key", "path"])
def test_keys_that_only_mention_a_credential_are_not_flagged(key: str) -> None:
    assert not is_credential_key(key)


@pytest.mark.parametrize(
    ("key", "flagged"),
    [
        ("spark.hadoop.fs.s3a.secret.key", True),
        ("spark.hadoop.fs.s3a.access.key", True),
        ("spark.hadoop.fs.s3a.session.token", True),
        ("spark.ssl.keyStorePassword", True),
        ("spark.authenticate.secret", True),
        ("spark.authenticate.secret.file", False),
        ("spark.kubernetes.authenticate.driver.oauthTokenFile", False),
        ("spark.redaction.regex", False),
        ("spark.sql.shuffle.partitions", False),
    ],
)
def test_spark_conf_keys(key: str, flagged: bool) -> None:
    assert is_credential_conf_key(key) is flagged
