"""Every problem of ``etl-project.yaml`` is reported at once, each at its ``file:line:col``, like a pipeline's.

Line and column numbers are counted by hand in :data:`BROKEN`.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

PIPELINE = """\
sources:
  - {name: raw, type: csv, path: in.csv}
sinks:
  - {name: out, type: parquet, input: raw, path: out}
"""

BROKEN = """\
name: shop
default_env: qa
environments:
  dev: {protected: maybe}
  ../x: {}
  prod: {protectd: true}
templates_dir: [a]
state_dirr: .etl
secrets:
  vault: http://x
"""

#: (code, line, column) of each problem of BROKEN, in file order
EXPECTED = [
    ("unknown-environment", 2, 14),
    ("wrong-type", 4, 20),
    ("invalid-name", 5, 3),
    ("unknown-key", 6, 10),
    ("wrong-type", 7, 16),
    ("unknown-key", 8, 1),
    ("wrong-type", 10, 10),
]


def project(root: Path, text: str) -> Path:
    return make_project(root, {"p/pipeline.yaml": PIPELINE, "in.csv": "id\n1\n"}, project=text)


def test_validate_lists_every_problem_of_the_project_file(tmp_path: Path) -> None:
    result = etl_cli("validate", "p", "--format", "json", cwd=project(tmp_path, BROKEN))
    assert result.returncode == 1, result.stderr
    (report,) = json.loads(result.stdout)["results"]
    found = [(d["code"], d["file"], d["line"], d["column"]) for d in report["diagnostics"]]
    assert found == [(code, "etl-project.yaml", line, column) for code, line, column in EXPECTED]


def test_the_text_output_says_what_is_wrong_and_how_to_fix_it(tmp_path: Path) -> None:
    result = etl_cli("validate", "p", cwd=project(tmp_path, BROKEN))
    assert result.returncode == 1, result.stderr
    assert "etl-project.yaml:2:14: error: default_env 'qa' is not one of the environments: dev, prod" in result.stdout
    assert (
        "etl-project.yaml:4:20: error: environments.dev.protected must be true or false, got 'maybe'" in result.stdout
    )
    assert "etl-project.yaml:8:1: error: unknown key 'state_dirr' in etl-project.yaml" in result.stdout
    assert "hint: did you mean 'state_dir'?" in result.stdout
    assert "7 error(s)" in result.stdout


def test_other_commands_fail_with_every_problem_too(tmp_path: Path) -> None:
    result = etl_cli("render", "p", cwd=project(tmp_path, BROKEN))
    assert result.returncode == 1
    shown = [line.split(": error: ")[0] for line in result.stderr.splitlines() if ": error: " in line]
    assert shown == [f"etl-project.yaml:{line}:{column}" for _, line, column in EXPECTED]


def test_a_command_that_reads_only_the_project_fails_with_every_problem(tmp_path: Path) -> None:
    result = etl_cli("secrets", "list", cwd=project(tmp_path, BROKEN))
    assert result.returncode == 1
    shown = [line.split(": error: ")[0] for line in result.stderr.splitlines() if ": error: " in line]
    assert shown == [f"etl-project.yaml:{line}:{column}" for _, line, column in EXPECTED]


def test_a_yaml_syntax_error_in_the_project_file_is_a_placed_diagnostic(tmp_path: Path) -> None:
    result = etl_cli("validate", "p", "--format", "json", cwd=project(tmp_path, "name: shop\nenvironments: [dev\n"))
    assert result.returncode == 1, result.stderr
    (report,) = json.loads(result.stdout)["results"]
    assert [(d["severity"], d["file"]) for d in report["diagnostics"]] == [("error", "etl-project.yaml")]


def test_a_valid_project_file_has_no_problem(tmp_path: Path) -> None:
    text = "name: shop\ndefault_env: dev\nenvironments:\n  dev: {}\n  prod: {protected: true}\nsecrets:\n  vault: {}\n"
    result = etl_cli("validate", "p", "--format", "json", cwd=project(tmp_path, text))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["results"][0]["diagnostics"] == []
