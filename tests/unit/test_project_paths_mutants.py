"""Where a command finds its pipeline, environment and templates, and the project settings read on the way, pinned
where mutation testing found them loose (config/loader.py: ``resolve_pipeline_file``; config/project.py:
``Project.choose_env``, ``Project.template_dirs``, ``_ProjectReader._history``, ``_text`` and ``_unknown_keys``).

A pipeline is a YAML file or a folder holding ``pipeline.yaml``: a folder without one, or a path that is not there,
is a usage error naming it, the folder's with a hint. The environment chosen (``--env``, else the project's default)
must be a name, else the error lists the project's environments and the overlays beside the pipeline (no hint when
there are none); one the project does not list is an error naming the project file (or its root when there is no
file), with a "did you mean" or else every environment. ``extends:`` looks in the project's templates folder, then
in the templates bundled with the installed package (``etl_cli/_templates``) and in a source checkout's
``templates`` folder, each only when it exists and only once.

``history:`` in etl-project.yaml: each limit a whole number of at least 1 or null, each read whether or not the
other is written; a wrong value, an unknown key (with a "did you mean", else the known keys) and a value that is
not text where text is expected are each reported with their code, message, hint and place. No JVM.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import etl_cli.config.project as project_module
from etl_cli.config.limits import NAME_RULE
from etl_cli.config.loader import resolve_pipeline_file
from etl_cli.config.project import Environment, HistorySettings, Project, read_project
from etl_cli.errors import UsageError

from .helpers import make_project, said

# --------------------------------------------------------------------------- the pipeline a path names


def test_a_pipeline_is_its_yaml_file_or_the_pipeline_yaml_of_its_folder(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pipeline.yaml").write_text("name: p\n", encoding="utf-8")
    (tmp_path / "other.yaml").write_text("name: o\n", encoding="utf-8")
    assert resolve_pipeline_file(tmp_path / "p") == tmp_path / "p" / "pipeline.yaml"
    assert resolve_pipeline_file(tmp_path / "other.yaml") == tmp_path / "other.yaml"


@pytest.mark.parametrize(
    ("name", "message", "hint"),
    [
        ("empty", "{path} is a folder without a pipeline.yaml", "pass the pipeline's YAML file or its folder"),
        ("missing", "no such pipeline: {path}", None),
    ],
)
def test_a_folder_without_pipeline_yaml_or_a_missing_path_is_a_usage_error_naming_it(
    tmp_path: Path, name: str, message: str, hint: str | None
) -> None:
    (tmp_path / "empty").mkdir()
    path = tmp_path / name
    with pytest.raises(UsageError) as caught:
        resolve_pipeline_file(path)
    assert (caught.value.message, caught.value.hint) == (message.format(path=path), hint)


# --------------------------------------------------------------------------- the environment chosen


def test_an_environment_that_is_not_a_name_lists_the_project_s_environments_then_the_overlays(tmp_path: Path) -> None:
    project = Project(root=tmp_path, environments={"dev": Environment("dev"), "prod": Environment("prod")})
    with pytest.raises(UsageError) as caught:
        project.choose_env("../prod", overlays=["prod", "qa"])
    assert (caught.value.message, caught.value.hint) == (
        f"environment '../prod' is not a name: use {NAME_RULE}",
        "available environments: dev, prod, qa",
    )


def test_an_environment_that_is_not_a_name_has_no_hint_when_there_is_none_to_list(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        Project(root=tmp_path, environments={}).choose_env("a/b")
    assert (caught.value.message, caught.value.hint) == (f"environment 'a/b' is not a name: use {NAME_RULE}", None)


@pytest.mark.parametrize(
    ("config_file", "requested", "hint"),
    [
        ("etl-project.yaml", "staging", "choose one of: dev, qa, prod"),
        (None, "prd", "did you mean 'prod'?"),
    ],
)
def test_an_environment_the_project_does_not_list_names_the_project_file_else_its_root(
    tmp_path: Path, config_file: str | None, requested: str, hint: str
) -> None:
    where = tmp_path / config_file if config_file else tmp_path
    project = Project(
        root=tmp_path,
        environments={name: Environment(name) for name in ("dev", "qa", "prod")},
        config_file=tmp_path / config_file if config_file else None,
    )
    with pytest.raises(UsageError) as caught:
        project.choose_env(requested)
    assert (caught.value.message, caught.value.hint) == (f"unknown environment '{requested}' (project {where})", hint)


# --------------------------------------------------------------------------- where extends: looks


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        # a source checkout: the repository's templates folder
        (["templates"], ["project/templates", "templates"]),
        # an installed wheel: the templates bundled in the package
        (["etl_cli/_templates"], ["project/templates", "etl_cli/_templates"]),
        (["etl_cli/_templates", "templates"], ["project/templates", "etl_cli/_templates", "templates"]),
        # neither is there: only the project's own folder, whether it exists or not
        ([], ["project/templates"]),
    ],
)
def test_extends_looks_in_the_project_s_templates_then_in_the_bundled_ones_that_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folders: list[str], expected: list[str]
) -> None:
    # the package as if it lay at <tmp_path>/etl_cli: a checkout's repository root is then tmp_path
    monkeypatch.setattr(project_module, "__file__", str(tmp_path / "etl_cli" / "config" / "project.py"))
    for folder in folders:
        (tmp_path / folder).mkdir(parents=True)
    dirs = Project(root=tmp_path / "project").template_dirs()
    assert dirs == [tmp_path / folder for folder in expected]


def test_a_project_whose_templates_folder_is_the_checkout_s_looks_there_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(project_module, "__file__", str(tmp_path / "etl_cli" / "config" / "project.py"))
    (tmp_path / "templates").mkdir()
    assert Project(root=tmp_path).template_dirs() == [tmp_path / "templates"]
    assert Project(root=tmp_path / "p", templates_dir=tmp_path / "templates").template_dirs() == [
        tmp_path / "templates"
    ]


# --------------------------------------------------------------------------- history: and text settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("history: {keep_days: 1, keep_runs_per_pipeline: 1}\n", HistorySettings(1, 1)),
        ("history: {keep_days: 2}\n", HistorySettings(2, 500)),
        ("history: {keep_runs_per_pipeline: 7}\n", HistorySettings(90, 7)),
        ("history: {keep_days: null, keep_runs_per_pipeline: null}\n", HistorySettings(None, None)),
        ("history: {}\n", HistorySettings()),
    ],
)
def test_each_history_limit_is_read_whether_or_not_the_other_is_written(
    text: str, expected: HistorySettings, tmp_path: Path
) -> None:
    project, problems = read_project(make_project(tmp_path, project=text))
    assert (project.history, problems) == (expected, [])


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "history: {keep_days: 0, keep_runs_per_pipeline: 2.5}\n",
            [
                (
                    "wrong-type",
                    "history.keep_days must be a whole number of at least 1 (or null: no limit), got 0",
                    None,
                    1,
                    22,
                ),
                (
                    "wrong-type",
                    "history.keep_runs_per_pipeline must be a whole number of at least 1 (or null: no limit), got 2.5",
                    None,
                    1,
                    49,
                ),
            ],
        ),
        (
            "history: {keep_dayz: 3}\n",
            [("unknown-key", "unknown key 'keep_dayz' in history", "did you mean 'keep_days'?", 1, 11)],
        ),
        (
            "history: {retention: 3}\n",
            [
                (
                    "unknown-key",
                    "unknown key 'retention' in history",
                    "known keys: keep_days, keep_runs_per_pipeline",
                    1,
                    11,
                )
            ],
        ),
        ("name: 5\n", [("wrong-type", "name must be a string, got 5", None, 1, 7)]),
        ("templates_dir: [a]\n", [("wrong-type", "templates_dir must be a string, got ['a']", None, 1, 16)]),
    ],
)
def test_a_wrong_history_limit_an_unknown_history_key_or_a_setting_that_is_not_text_is_reported_at_its_place(
    tmp_path: Path, text: str, problems: list[tuple[str, str, str | None, int, int]]
) -> None:
    project, found = read_project(make_project(tmp_path, project=text))
    assert [said(problem) for problem in found] == problems
    assert (project.history, project.name, project.templates_dir) == (HistorySettings(), tmp_path.name, None)
