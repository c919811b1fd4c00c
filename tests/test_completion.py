"""Shell completion, driven as the shells drive it: the installed script run with the variables the completion
script sets (bash: ``COMP_WORDS``/``COMP_CWORD``; zsh and fish: ``_TYPER_COMPLETE_ARGS``), and bash itself
sourcing the script ``--install-completion`` writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ptyhelp import script
from tests.unit.helpers import make_project, write

PROJECT = """
    default_env: dev
    environments:
      dev: {}
      qa: {}
      prod: {protected: true}
"""
ORDERS = """
    name: orders
    sources:
      - {name: raw, type: csv, path: in.csv}
    transforms:
      - {name: clean, type: filter, inputs: [raw], condition: "amount > 0"}
    sinks:
      - {name: out, type: parquet, input: clean, path: out/}
"""
QA_OVERLAY = """
    transforms:
      - {name: sampled, type: filter, inputs: [clean], condition: "rand() < 0.1"}
    sinks:
      - {name: out, input: sampled}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with one pipeline folder (overlay qa), one pipeline file, and folders holding no YAML."""
    root = make_project(tmp_path / "project", {"pipelines/orders/pipeline.yaml": ORDERS}, project=PROJECT)
    write(root, "pipelines/orders/env/qa.yaml", QA_OVERLAY)
    write(root, "pipelines/notes.txt", "not a pipeline\n")
    write(root, "single.yaml", ORDERS)
    write(root, "data/in.csv", "amount\n1\n")
    return root


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder in no project."""
    (tmp_path / "elsewhere").mkdir()
    return tmp_path / "elsewhere"


def completion_env(program: str, shell: str, **variables: str) -> dict[str, str]:
    variable = "_" + program.replace("-", "_").upper() + "_COMPLETE"
    return {**os.environ, "NO_COLOR": "1", variable: f"complete_{shell}", **variables}


def bash(words: list[str], cwd: Path, program: str = "etl-cli") -> list[str]:
    """What the bash completion function receives when Tab is pressed after ``words`` (the last one incomplete)."""
    env = completion_env(program, "bash", COMP_WORDS="\n".join([program, *words]), COMP_CWORD=str(len(words)))
    result = subprocess.run([script(program)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [line for line in result.stdout.splitlines() if line]  # no candidates: one empty line


def test_commands_complete() -> None:
    assert bash(["va"], Path.cwd()) == ["validate"]
    assert bash(["secrets", ""], Path.cwd()) == ["set", "get", "list", "test", "audit"]


def test_options_complete() -> None:
    assert bash(["run", "--ma"], Path.cwd()) == ["--master"]


def test_choices_of_an_option_complete() -> None:
    assert bash(["run", "x", "--log-format", ""], Path.cwd()) == ["text", "json"]


def test_pipeline_paths_offer_yaml_files_pipeline_folders_and_folders_leading_to_them(project: Path) -> None:
    assert bash(["run", ""], project) == ["pipelines/", "single.yaml"]


def test_a_single_folder_leading_to_pipelines_opens_so_the_shell_adds_no_space(project: Path) -> None:
    write(project, "pipelines/orders_v2/pipeline.yaml", ORDERS)
    assert bash(["validate", "pip"], project) == ["pipelines/orders", "pipelines/orders_v2"]


def test_a_pipeline_folder_completes_to_its_name(project: Path) -> None:
    assert bash(["run", "pipelines/or"], project) == ["pipelines/orders"]


def test_environments_are_those_of_the_project_of_the_pipeline_named_before(project: Path, elsewhere: Path) -> None:
    assert bash(["run", str(project / "pipelines/orders"), "--env", ""], elsewhere) == ["dev", "qa", "prod"]
    assert bash(["render", str(project / "pipelines/orders"), "-e", "q"], elsewhere) == ["qa"]


def test_environments_of_the_first_path_given_to_validate(project: Path, elsewhere: Path) -> None:
    assert bash(["validate", str(project / "single.yaml"), "--env", ""], elsewhere) == ["dev", "qa", "prod"]


def test_environments_without_a_pipeline_are_those_of_the_current_folder(project: Path, elsewhere: Path) -> None:
    assert bash(["run", "--env", ""], project) == ["dev", "qa", "prod"]
    assert bash(["run", "--env", ""], elsewhere) == ["dev", "staging", "prod"]


def test_a_project_that_declares_no_environments_offers_the_overlays_of_the_pipeline(project: Path) -> None:
    write(project, "etl-project.yaml", "environments: {}\n")
    assert bash(["run", "pipelines/orders", "--env", ""], project) == ["qa"]


def test_stage_names_come_from_the_pipeline_named_before(project: Path) -> None:
    assert bash(["debug", "pipelines/orders", "--stage", ""], project) == ["raw", "clean", "out"]
    assert bash(["dlq", "show", "pipelines/orders", "--stage", "c"], project) == ["clean"]


def test_stage_names_follow_the_environment_named_before(project: Path) -> None:
    assert bash(["debug", "pipelines/orders", "--env", "qa", "--break-at", ""], project) == [
        "raw", "clean", "sampled", "out"
    ]  # fmt: skip


def test_etl_debug_completes_its_options_and_stages(project: Path) -> None:
    assert bash(["--brea"], project, program="etl-debug") == ["--break-at"]
    assert bash(["pipelines/orders", "--break-at", ""], project, program="etl-debug") == ["raw", "clean", "out"]


def test_an_invalid_pipeline_completes_nothing_and_prints_nothing(project: Path) -> None:
    write(project, "broken/pipeline.yaml", "sources: [unclosed\n")
    assert bash(["debug", "broken", "--stage", ""], project) == []
    assert bash(["debug", "missing", "--stage", ""], project) == []
    assert bash(["run", "missing", "--env", ""], project) == ["dev", "qa", "prod"]


def test_a_broken_project_file_completes_no_environment_and_prints_nothing(project: Path) -> None:
    write(project, "etl-project.yaml", "environments: [dev\n")
    assert bash(["run", "pipelines/orders", "--env", ""], project) == []


def test_stage_completion_never_imports_spark(project: Path) -> None:
    """With pyspark impossible to import, stages still complete: completion never reaches Spark."""
    code = "import sys; sys.modules['pyspark'] = None; from etl_cli.cli.main import main; main()"
    env = completion_env("etl-cli", "bash", COMP_WORDS="etl-cli debug pipelines/orders --stage ", COMP_CWORD="4")
    result = subprocess.run([sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True)
    assert result.stdout.splitlines() == ["raw", "clean", "out"], result.stderr


def test_zsh_gets_candidates_with_what_each_one_is(project: Path) -> None:
    env = completion_env("etl-cli", "zsh", _TYPER_COMPLETE_ARGS="etl-cli run pipelines/orders --env ")
    result = subprocess.run([script("etl-cli")], cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == (
        """_arguments '*: :(("dev":"environment"\n"qa":"environment, overlay env/qa.yaml"\n"""
        """"prod":"environment (protected)"))'"""
    )


def test_fish_gets_stage_names_with_their_kind(project: Path) -> None:
    env = completion_env(
        "etl-cli", "fish", _TYPER_COMPLETE_ARGS="etl-cli debug pipelines/orders --stage ",
        _TYPER_COMPLETE_FISH_ACTION="get-args",
    )  # fmt: skip
    result = subprocess.run([script("etl-cli")], cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines() == ["raw\tsource (csv)", "clean\ttransform (filter)", "out\tsink (parquet)"]


@pytest.mark.parametrize("program", ["etl-cli", "etl-debug"])
def test_install_completion_writes_a_script_that_bash_uses(program: str, project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{Path(script(program)).parent}:{os.environ['PATH']}"}
    # "; true" keeps bash from exec-ing the program, so the program sees bash as its parent shell
    installed = subprocess.run(
        ["bash", "--norc", "-c", f"{program} --install-completion; true"], env=env, capture_output=True, text=True
    )
    assert "bash completion installed in" in installed.stdout, installed.stderr
    completion_file = home / ".bash_completions" / f"{program}.sh"
    assert f"source '{completion_file}'" in (home / ".bashrc").read_text()
    function = "_" + program.replace("-", "_") + "_completion"
    words = "pipelines/orders --stage " if program == "etl-debug" else "debug pipelines/orders --stage "
    session = (
        f"source '{completion_file}'; COMP_WORDS=({program} {words}''); COMP_CWORD=${{#COMP_WORDS[@]}}; "
        f"COMP_CWORD=$((COMP_CWORD - 1)); {function} {program}; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    completed = subprocess.run(["bash", "--norc", "-c", session], cwd=project, env=env, capture_output=True, text=True)
    assert completed.stdout.splitlines() == ["raw", "clean", "out"], completed.stderr


def test_show_completion_prints_the_script_for_the_calling_shell() -> None:
    env = {**os.environ, "PATH": f"{Path(script('etl-cli')).parent}:{os.environ['PATH']}"}
    shown = subprocess.run(["bash", "--norc", "-c", "etl-cli --show-completion; true"], env=env, capture_output=True,
                           text=True)  # fmt: skip
    assert "complete -o default -F _etl_cli_completion etl-cli" in shown.stdout, shown.stderr
