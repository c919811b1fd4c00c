"""An input that does not exist, as ``dry-run`` and ``run`` report it: at the line where the user set its path.

The pipeline extends a template whose source reads ``${var:input_path}``; the user sets that
parameter (or an overlay changes it), so the template's own line is never the one to fix.
Line and column numbers are counted by hand in the files written below.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

TEMPLATE = """
    params:
      input_path: {required: true}
    sources:
      - {name: input, type: csv, path: "${var:input_path}"}
    sinks:
      - {name: output, type: parquet, input: input, path: out}
"""
PIPELINE = "extends:\n  template: files\n  params:\n    input_path: data/nope.csv\n"


def project(root: Path, **files: str) -> Path:
    """A project with environment ``dev``, the template and pipeline ``p``, and ``files`` (path: text)."""
    files = {"templates/files.yaml": TEMPLATE, "p/pipeline.yaml": PIPELINE, **files}
    return make_project(root, files, project="name: t\nenvironments: {dev: {}}\n")


def test_dry_run_reports_a_missing_input_at_the_parameter_with_the_resolved_path(tmp_path: Path) -> None:
    result = etl_cli(
        "dry-run", "p", "--format", "json", cwd=project(tmp_path), env={"ETL_STATE_DIR": str(tmp_path / "state")}
    )
    assert result.returncode == 1, result.stderr
    (problem,) = json.loads(result.stdout)["diagnostics"]
    assert (problem["code"], problem["file"], problem["line"], problem["column"]) == (
        "input-not-found",
        "p/pipeline.yaml",
        4,
        5,
    )
    assert f"Path does not exist: file:{tmp_path}/data/nope.csv" in problem["message"]
    assert problem["hint"] == (
        f"no file or folder at {tmp_path}/data/nope.csv: fix the path, or create the input before the run; "
        f"relative paths are relative to the project root {tmp_path} (the folder of etl-project.yaml)"
    )


def test_run_reports_a_missing_input_at_the_overlay_that_set_it_with_the_resolved_path(tmp_path: Path) -> None:
    root = project(tmp_path, **{"p/env/dev.yaml": "vars:\n  input_path: data/gone.csv\n"})
    result = etl_cli(
        "run", "p", "--env", "dev", "--results-dir", str(tmp_path / "results"),
        cwd=root, env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "source 'input' (csv) failed (path set at p/env/dev.yaml:2:3): [PATH_NOT_FOUND]" in result.stderr
    assert f"hint: no file or folder at {tmp_path}/data/gone.csv: fix the path" in result.stderr
