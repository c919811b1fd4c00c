"""Which places an overwrite may never hit, and what ``validate`` says when one does
(etl_cli/model/sink_targets.py: ``guarded_places`` and ``check_sink_targets``).

``guarded_places`` lists, in order and each with the words of the message: the home folder, the project
root, etl-cli's state folder, the pipeline file, every environment overlay next to it (whichever environment
is loaded), then each template the pipeline extends (the loaded overlay is an overlay, not a template). A
refusal's message names the sink and the place whole. Only sinks of a known type with a ``path`` option are
checked (a sink without a path, of an unknown type, or a JDBC table is passed over), and the walk goes on past them.
No JVM."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.app import validate
from etl_cli.config.loader import load_pipeline
from etl_cli.model.sink_targets import guarded_places
from etl_cli.plugins.sinks.targets import Guarded

from .helpers import make_project, write

PIPELINE = (
    "name: p\n"
    "extends: {template: base}\n"
    "sources:\n"
    "  - {name: orders, type: csv, path: data/orders.csv}\n"
    "sinks:\n"
    "  - name: out\n"
    "    type: parquet\n"
    "    input: orders\n"
    "    path: {path}\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "proj", {"data/orders.csv": "id\n1\n"}, project="name: proj\n")
    write(root, "templates/base.yaml", "description: base\n")
    write(root, "pipelines/p/env/dev.yaml", "description: dev\n")
    write(root, "pipelines/p/env/prod.yaml", "description: prod\n")
    write(root, "pipelines/p/pipeline.yaml", PIPELINE.replace("{path}", "output/orders"))
    return root.resolve()


@pytest.mark.parametrize("env", [None, "dev"])
def test_the_guarded_places_are_home_the_project_the_state_folder_the_pipeline_its_overlays_and_templates(
    project: Path, env: str | None
) -> None:
    loaded = load_pipeline(project / "pipelines" / "p", env, environ={})
    assert not [d for d in loaded.diagnostics if d.severity == "error"], loaded.diagnostics
    folder = project / "pipelines" / "p"
    assert guarded_places(loaded) == [
        Guarded(str(Path.home()), "your home folder"),
        Guarded(str(project), "the project root"),
        Guarded(str(loaded.project.run_state_dir()), "etl-cli's state folder"),
        Guarded(str(folder / "pipeline.yaml"), "the pipeline file"),
        Guarded(str(folder / "env" / "dev.yaml"), "an environment overlay of the pipeline"),
        Guarded(str(folder / "env" / "prod.yaml"), "an environment overlay of the pipeline"),
        Guarded(str(project / "templates" / "base.yaml"), "a template the pipeline extends"),
    ]


@pytest.mark.parametrize(
    ("path", "place"),
    [
        pytest.param(".etl", "is etl-cli's state folder ({state})", id="the state folder"),
        pytest.param("pipelines/p/pipeline.yaml", "is the pipeline file ({pipeline})", id="the pipeline file"),
        pytest.param(
            "pipelines/p/env", "holds an environment overlay of the pipeline ({overlay})", id="the overlays' folder"
        ),
        pytest.param("templates", "holds a template the pipeline extends ({template})", id="a template's folder"),
    ],
)
def test_a_refusal_names_the_sink_and_the_place_word_for_word(project: Path, path: str, place: str) -> None:
    write(project, "pipelines/p/pipeline.yaml", PIPELINE.replace("{path}", path))
    (report,) = validate([project / "pipelines" / "p"], env="prod")
    found = [d for d in report.diagnostics if d.code == "unsafe-target"]
    folder = project / "pipelines" / "p"
    names = {
        "state": project / ".etl",
        "pipeline": folder / "pipeline.yaml",
        "overlay": folder / "env" / "dev.yaml",
        "template": project / "templates" / "base.yaml",
    }
    expected = f"sink 'out' (mode overwrite) would delete everything in {project / path}, which " + place.format(
        **names
    )
    assert [d.message for d in found] == [expected]
    assert found[0].location is not None and found[0].location.line == 9


def test_only_sinks_of_a_known_type_with_a_path_option_are_checked_and_each_one_is(project: Path) -> None:
    """A sink without a path, one of an unknown type and one whose type takes no ``path`` option (a JDBC table) are
    passed over, and the sinks after them are still checked."""
    text = (
        "name: p\n"
        "sources:\n"
        "  - {name: orders, type: csv, path: data/orders.csv}\n"
        "sinks:\n"
        "  - {name: topic, type: kafka, input: orders, topic: t, bootstrap_servers: 'localhost:9092'}\n"
        "  - {name: unknown, type: nope, input: orders, path: ., mode: overwrite}\n"
        "  - {name: table, type: jdbc, input: orders, path: ., mode: overwrite, table: t, url: 'jdbc:h2:mem:x'}\n"
        "  - {name: files, type: parquet, input: orders, path: ., mode: overwrite}\n"
    )
    write(project, "pipelines/p/pipeline.yaml", text)
    (report,) = validate([project / "pipelines" / "p"])
    found = [d for d in report.diagnostics if d.code == "unsafe-target"]
    refusal = f"sink 'files' (mode overwrite) would delete everything in {project}, which is the project root"
    assert [(d.message, d.location.line if d.location else None) for d in found] == [(f"{refusal} ({project})", 8)]
