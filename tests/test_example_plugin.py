"""The example plug-in package (examples/etl-cli-plugin-example), built and installed for real into a folder of
its own, is found through its entry points by ``etl-cli plugins list`` and ``etl-cli validate``.

It is installed with uv (a dev tool, pinned in requirements/dev.txt) with ``--target``, never into the
project's environment; each ``etl-cli`` subprocess gets that folder on its ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clihelp import REPO, etl_cli
from tests.unit.helpers import write

EXAMPLE = REPO / "examples" / "etl-cli-plugin-example"

PIPELINE = """
    sources:
      - name: people_raw
        type: csv
        path: people.csv
    transforms:
      - name: people
        type: trim_strings
        inputs: [people_raw]
        columns: [name, city]
        empty_as_null: true
    checks:
      - name: named
        stage: people
        type: not_blank
        columns: [name]
        action: drop
    sinks:
      - name: people_out
        type: parquet
        input: people
        path: out/people
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example, built by its own build backend (hatchling) and installed into a fresh folder."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.fail("uv is missing: install the dev tools with scripts/bootstrap.sh dev")
    target = tmp_path_factory.mktemp("site")
    command = [uv, "pip", "install", "--quiet", "--no-deps", "--python", sys.executable, "--target", str(target)]
    subprocess.run([*command, str(EXAMPLE)], check=True, capture_output=True, text=True, timeout=300)
    return target


def with_example(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(site)}


def pipeline(root: Path, text: str = PIPELINE) -> Path:
    write(root, "people.csv", "name,city\n Ada ,Paris\n")
    return write(root, "pipeline.yaml", text)


def test_plugins_list_shows_the_examples_transform_and_check_with_its_package_and_version(site: Path) -> None:
    result = etl_cli("plugins", "list", "--format", "json", env=with_example(site))
    assert result.returncode == 0, result.stderr
    listed = [
        (p["kind"], p["type"], p["package"], p["version"], p["entry_point"])
        for p in json.loads(result.stdout)["plugins"]
        if p["origin"] == "entry point"
    ]
    assert listed == [
        ("transform", "trim_strings", "etl-cli-plugin-example", "0.2.0", "etl_cli.plugins:trim_strings"),
        ("check", "not_blank", "etl-cli-plugin-example", "0.2.0", "etl_cli.plugins:not_blank"),
    ]


def test_validate_accepts_a_pipeline_that_uses_the_examples_transform_and_check(site: Path, tmp_path: Path) -> None:
    result = etl_cli("validate", str(pipeline(tmp_path)), env=with_example(site))
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_rejects_a_bad_option_of_the_examples_transform_with_its_schema_error(
    site: Path, tmp_path: Path
) -> None:
    path = pipeline(tmp_path, PIPELINE.replace("empty_as_null: true", "empty_as_null: sometimes"))
    result = etl_cli("validate", str(path), env=with_example(site))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"{path}:10:20: error: transforms.people.empty_as_null must be true or false, got 'sometimes' [wrong-type]"
    )


def test_without_the_example_installed_validate_does_not_know_its_transform(tmp_path: Path) -> None:
    result = etl_cli("validate", str(pipeline(tmp_path)))
    assert result.returncode == 1
    assert "error: invalid value 'trim_strings' for transforms.people.type" in result.stdout
