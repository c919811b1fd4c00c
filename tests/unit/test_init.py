"""``etl-cli init``: a project a new user can validate and run at once, written without overwriting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.cli.main import main
from etl_cli.config.project import HistorySettings, load_project

FILES = [
    ".gitignore",
    "README.md",
    "etl-project.yaml",
    "pipelines/example/data/orders.csv",
    "pipelines/example/pipeline.yaml",
    "templates/README.md",
]


def etl(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_init_writes_a_project_with_three_environments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = etl(["init", str(tmp_path / "shop")], capsys)

    assert code == 0, err
    assert files(tmp_path / "shop") == FILES
    project = load_project(tmp_path / "shop")
    assert (project.name, project.default_env) == ("shop", "dev")
    assert list(project.environments) == ["dev", "staging", "prod"]
    assert project.is_protected("prod") and not project.is_protected("dev")
    assert project.history == HistorySettings(keep_days=90, keep_runs_per_pipeline=500)


def test_the_example_pipeline_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etl(["init", str(tmp_path), "--name", "shop"], capsys)

    code, out, err = etl(["validate", str(tmp_path / "pipelines" / "example"), "--all-envs", "--strict"], capsys)

    assert code == 0, out + err
    assert "0 error(s), 0 warning(s)" in out


def test_gitignore_keeps_the_state_folder_and_outputs_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etl(["init", str(tmp_path)], capsys)

    ignored = (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".etl/" in ignored and "output/" in ignored


def test_init_refuses_a_folder_that_is_already_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "etl-project.yaml").write_text("name: mine\n", encoding="utf-8")

    code, _, err = etl(["init", str(tmp_path)], capsys)

    assert code == 2
    assert "is already a project" in err
    assert files(tmp_path) == ["etl-project.yaml"]
    assert (tmp_path / "etl-project.yaml").read_text(encoding="utf-8") == "name: mine\n"


def test_init_keeps_every_file_already_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("my notes\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("*.log\n", encoding="utf-8")

    code, out, _ = etl(["init", str(tmp_path), "--name", "shop"], capsys)

    assert code == 0
    assert files(tmp_path) == FILES
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "my notes\n"
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == "*.log\n"
    assert f"kept    {tmp_path / 'README.md'} (it was there; not overwritten)" in out


def test_init_refuses_a_name_that_is_not_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = etl(["init", str(tmp_path / "p"), "--name", "my shop: v2"], capsys)

    assert code == 2
    assert "'my shop: v2' is not a project name" in err
    assert not (tmp_path / "p").exists()
