"""``validate`` refuses an overwrite that would delete the project, a home folder, the pipeline or its inputs.

Each pipeline here is written with its sink's ``path:`` on line 9, so every refusal must point there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.app import validate
from etl_cli.diagnostics import Diagnostic

from .helpers import make_project, write

PATH_LINE = 9


def pipeline(path: str, mode: str = "overwrite", source: str = "data/raw/orders.csv", extra: str = "") -> str:
    """A pipeline whose only sink writes ``path`` (on line 9) from a csv source reading ``source``."""
    return (
        "name: p\n"
        "sources:\n"
        "  - name: orders\n"
        "    type: csv\n"
        f"    path: {source}\n"
        "sinks:\n"
        "  - name: out\n"
        "    type: parquet\n"
        f"    path: '{path}'\n"
        "    input: orders\n"
        f"    mode: {mode}\n"
        f"{extra}"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", {"data/raw/orders.csv": "id\n1\n"}, project="name: proj\n")


def refusals(project: Path, text: str, sets: tuple[str, ...] = (), env: str | None = None) -> list[Diagnostic]:
    write(project, "pipelines/p/pipeline.yaml", text)
    (report,) = validate([project / "pipelines" / "p"], env=env, sets=sets)
    return [d for d in report.diagnostics if d.code == "unsafe-target"]


def assert_refused_at_path_line(found: list[Diagnostic], project: Path, words: str) -> None:
    assert len(found) == 1, found
    (diagnostic,) = found
    assert diagnostic.severity == "error"
    assert diagnostic.location is not None
    assert diagnostic.location.file.endswith("pipelines/p/pipeline.yaml")
    assert diagnostic.location.line == PATH_LINE
    assert words in diagnostic.message


def test_an_empty_variable_that_makes_the_path_the_project_root_is_refused(project: Path) -> None:
    text = pipeline("./${var:out}", extra="vars:\n  out: ''\n")
    found = refusals(project, text)
    assert_refused_at_path_line(found, project, "the project root")
    assert "variable" in (found[0].hint or "")


@pytest.mark.parametrize(
    ("path", "words"),
    [
        pytest.param(".", "the project root", id="the project root written plainly"),
        pytest.param("..", "the project root", id="a folder above the project root"),
        pytest.param("/", "/", id="the filesystem root"),
        pytest.param(str(Path.home()), "home folder", id="the home folder"),
        pytest.param("pipelines/p", "pipeline", id="the folder holding the pipeline"),
        pytest.param("pipelines", "pipeline", id="a folder above the pipeline"),
        pytest.param(".etl", "state", id="the state folder"),
        pytest.param("data", "source 'orders'", id="a folder above an input"),
        pytest.param("data/raw", "source 'orders'", id="the folder holding an input file"),
        pytest.param("data/raw/orders.csv", "source 'orders'", id="an input itself"),
    ],
)
def test_an_overwrite_of_a_protected_folder_is_refused(project: Path, path: str, words: str) -> None:
    assert_refused_at_path_line(refusals(project, pipeline(path)), project, words)


def test_the_folder_of_the_environment_overlays_is_refused(project: Path) -> None:
    write(project, "pipelines/p/env/prod.yaml", "description: prod\n")
    found = refusals(project, pipeline("pipelines/p/env"))
    assert_refused_at_path_line(found, project, "environment overlay")


def test_the_folder_of_a_template_the_pipeline_extends_is_refused(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", project="name: proj\ntemplates_dir: ../shared/templates\n")
    write(tmp_path, "shared/templates/base.yaml", "description: shared base\n")
    text = pipeline(str(tmp_path / "shared"), extra="extends: {template: base}\n")
    assert_refused_at_path_line(refusals(root, text), root, "template")


def test_a_folder_that_a_glob_input_reads_from_is_refused(project: Path) -> None:
    found = refusals(project, pipeline("data/2024-01", source="data/2024-*/orders.csv"))
    assert_refused_at_path_line(found, project, "source 'orders'")


def test_a_sibling_of_a_glob_input_folder_is_allowed(project: Path) -> None:
    assert refusals(project, pipeline("data/out", source="data/2024-*/orders.csv")) == []


def test_a_folder_next_to_the_inputs_is_allowed(project: Path) -> None:
    assert refusals(project, pipeline("data/curated/orders")) == []


def test_an_output_folder_of_its_own_is_allowed(project: Path) -> None:
    assert refusals(project, pipeline("output/orders")) == []


def test_a_bucket_root_is_refused(project: Path) -> None:
    assert_refused_at_path_line(refusals(project, pipeline("s3a://lake")), project, "bucket")


def test_a_bucket_root_with_a_slash_is_refused(project: Path) -> None:
    assert_refused_at_path_line(refusals(project, pipeline("s3a://lake/")), project, "bucket")


def test_a_folder_in_a_bucket_is_allowed(project: Path) -> None:
    assert refusals(project, pipeline("s3a://lake/orders")) == []


def test_append_to_the_project_root_is_allowed_as_it_deletes_nothing(project: Path) -> None:
    assert refusals(project, pipeline(".", mode="append")) == []


def test_a_sink_without_a_mode_overwrites_by_default_and_is_checked(project: Path) -> None:
    text = pipeline(".").replace("    mode: overwrite\n", "")
    found = refusals(project, text)
    assert len(found) == 1
    assert found[0].location is not None and found[0].location.line == PATH_LINE


def test_a_path_set_on_the_command_line_is_checked(project: Path) -> None:
    found = refusals(project, pipeline("output/orders"), sets=("sinks.out.path=.",))
    assert len(found) == 1
    assert "the project root" in found[0].message


def test_a_path_set_by_an_environment_overlay_is_refused_at_the_overlay_line(project: Path) -> None:
    write(project, "pipelines/p/env/dev.yaml", "sinks:\n  - name: out\n    path: data\n")
    found = refusals(project, pipeline("output/orders"), env="dev")
    assert len(found) == 1
    assert found[0].location is not None
    assert found[0].location.file.endswith("pipelines/p/env/dev.yaml")
    assert found[0].location.line == 3
