"""``etl-cli secrets`` with the keyring backends a machine may have, chosen by keyring's own PYTHON_KEYRING_BACKEND:
a plain-text backend is refused unless opted into, and every command that stores or lists says which backend it used.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.helpers import make_project, write

PLAINTEXT = "keyrings.alt.file.PlaintextKeyring"
PIPELINE = """
    name: orders
    sources:
      - {name: raw, type: csv, path: in.csv, options: {token: "${secret:keyring:api#token}"}}
    sinks:
      - {name: out, type: parquet, input: raw, path: out/}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project", {"p/pipeline.yaml": PIPELINE})


def secrets(project: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """``etl-cli secrets ARGS`` in ``project``, the keyring's files under the test's folder."""
    variables = {"NO_COLOR": "1", "XDG_DATA_HOME": str(project.parent / "xdg"), "XDG_CONFIG_HOME": str(project.parent)}
    full_env = {k: v for k, v in os.environ.items() if k != "ETL_KEYRING_ALLOW_PLAINTEXT"} | variables | env
    return subprocess.run(
        [sys.executable, "-m", "etl_cli", "secrets", *args],
        cwd=project, env=full_env, input=stdin, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_storing_in_a_plaintext_keyring_is_refused_and_says_how_to_opt_in(project: Path) -> None:
    result = secrets(project, "set", "keyring:api#token", stdin="kr-cli-1\n", PYTHON_KEYRING_BACKEND=PLAINTEXT)
    assert result.returncode == 1
    assert f"refusing keyring backend {PLAINTEXT}: it keeps values unencrypted" in result.stderr
    assert "allow_plaintext: true" in result.stderr and "ETL_KEYRING_ALLOW_PLAINTEXT=1" in result.stderr
    assert not (project.parent / "xdg" / "python_keyring").exists()


def test_the_environment_variable_opts_in_and_set_names_the_backend(project: Path) -> None:
    result = secrets(
        project, "set", "keyring:api#token", stdin="kr-cli-2\n",
        PYTHON_KEYRING_BACKEND=PLAINTEXT, ETL_KEYRING_ALLOW_PLAINTEXT="1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"backend {PLAINTEXT}, unencrypted: allowed by ETL_KEYRING_ALLOW_PLAINTEXT" in result.stderr


def test_the_project_setting_opts_in_and_list_names_the_backend(project: Path) -> None:
    write(project, "etl-project.yaml", "secrets:\n  keyring: {allow_plaintext: true}\n")
    stored = secrets(project, "set", "keyring:api#token", stdin="kr-cli-3\n", PYTHON_KEYRING_BACKEND=PLAINTEXT)
    assert stored.returncode == 0, stored.stderr
    listed = secrets(project, "list", PYTHON_KEYRING_BACKEND=PLAINTEXT)
    assert f"backend {PLAINTEXT}, unencrypted: allowed by allow_plaintext" in listed.stdout
    assert "  keyring:api#token" in listed.stdout


def test_secrets_test_reports_the_refusal_at_the_reference(project: Path) -> None:
    result = secrets(project, "test", "p", PYTHON_KEYRING_BACKEND=PLAINTEXT)
    assert result.returncode == 1
    assert "FAIL keyring:api#token" in result.stdout
    assert f"refusing keyring backend {PLAINTEXT}" in result.stdout


def test_a_keyring_that_keeps_nothing_fails_the_store_instead_of_losing_the_value(project: Path) -> None:
    result = secrets(project, "set", "keyring:api#token", stdin="kr-cli-4\n",
                     PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")  # fmt: skip
    assert result.returncode == 4
    assert "the keyring backend keyring.backends.null.Keyring did not keep the value" in result.stderr
