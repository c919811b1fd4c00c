"""``etl-cli create-pipeline`` answered without a terminal: choices that fit the template, where relative paths
start, a warning for an input that is not there, and the documented example on a copy of the repository.

Expected texts and files are written out by hand from the answers given.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from .clihelp import REPO, etl_cli

ORDERS = "order_id,amount\n1,5.0\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "etl-project.yaml").write_text("name: wizard-answers\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text(ORDERS)
    return tmp_path


def create(cwd: Path, name: str, *answers: str) -> tuple[int, str]:
    args = [a for answer in answers for a in ("--answer", answer)]
    result = etl_cli("create-pipeline", "--name", name, "--template", "files_to_parquet", *args, cwd=cwd)
    return result.returncode, re.sub(r"\s+", " ", result.stderr)


def test_an_input_format_the_template_cannot_read_is_refused_with_the_ones_it_can(project: Path) -> None:
    code, err = create(project, "db", "params.input_path=data/orders.csv", "params.input_format=jdbc")
    assert code == 2
    assert "answer params.input_format: choose one of: csv, delta, json, orc, parquet" in err
    assert not (project / "pipelines" / "db").exists()


def test_an_input_that_is_not_there_is_a_warning_naming_where_it_was_looked_for(project: Path) -> None:
    code, err = create(project, "later", "params.input_path=data/tomorrow.csv")
    assert code == 0, err
    root = project.resolve()
    assert f"warning: params.input_path: the pipeline reads {root}/data/tomorrow.csv, which does not exist" in err
    assert f"relative paths are relative to the project root {root} (the folder of etl-project.yaml)" in err
    assert (project / "pipelines" / "later" / "pipeline.yaml").is_file()


def test_an_input_that_is_there_gives_no_warning(project: Path) -> None:
    code, err = create(project, "present", "params.input_path=data/orders.csv")
    assert code == 0, err
    assert "warning" not in err


def test_without_a_project_file_paths_start_at_the_pipeline_folder_and_the_suggested_path_validates(
    tmp_path: Path,
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text(ORDERS)
    folder = tmp_path.resolve() / "pipelines" / "here"
    code, err = create(tmp_path, "here", "params.input_path=data/orders.csv")
    assert code == 0, err
    assert f"relative paths are relative to the project root {folder} (no etl-project.yaml was found there" in err
    assert "it exists relative to the current folder: answer ../../data/orders.csv" in err

    code, err = create(tmp_path, "there", "params.input_path=../../data/orders.csv")
    assert code == 0, err
    assert "warning" not in err
    checked = etl_cli("validate", "pipelines/there", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_scripted_example_of_the_docs_runs_as_written_on_a_copy_of_the_repository(tmp_path: Path) -> None:
    page = (REPO / "docs" / "create-pipeline.md").read_text()
    answers = re.search(r"<!-- docs-test: file answers\.yaml -->\n```yaml\n(.*?)```", page, re.DOTALL)
    command = re.search(r"\$ (etl-cli create-pipeline --answers answers\.yaml.*?) < /dev/null", page)
    assert answers and command, "docs/create-pipeline.md shows an answers file and the command using it"
    shutil.copy(REPO / "etl-project.yaml", tmp_path)
    shutil.copytree(REPO / "pipelines" / "quickstart" / "data", tmp_path / "pipelines" / "quickstart" / "data")
    (tmp_path / "answers.yaml").write_text(answers.group(1))
    result = etl_cli(*command.group(1).split()[1:], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    name = yaml.safe_load(answers.group(1))["name"]
    assert etl_cli("validate", f"pipelines/{name}", "--all-envs", cwd=tmp_path).returncode == 0
