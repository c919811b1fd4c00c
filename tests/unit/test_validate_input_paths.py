"""``validate`` warns when a local input of a file source does not exist (data may still arrive: a warning).

Paths resolve against the project root as a run resolves them; line and column numbers are
counted by hand in the files written below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project, write

SINK = "sinks:\n  - {name: out, type: parquet, input: raw, path: out}\n"


def validate(root: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    """``etl-cli validate p --format json`` in ``root``: the exit code and the diagnostics."""
    result = etl_cli("validate", "p", "--format", "json", *args, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    (report,) = json.loads(result.stdout)["results"]
    return result.returncode, report["diagnostics"]


def source(root: Path, path: str) -> Path:
    """A project whose pipeline ``p`` reads ``path`` with csv source ``raw`` (its ``path`` key on line 2, column 28)."""
    return make_project(root, {"p/pipeline.yaml": f'sources:\n  - {{name: raw, type: csv, path: "{path}"}}\n' + SINK})


def warnings(diagnostics: list[dict[str, Any]]) -> list[tuple[str, str, int, int]]:
    return [(d["code"], d["file"], d["line"], d["column"]) for d in diagnostics if d["severity"] == "warning"]


def test_a_missing_local_input_is_a_warning_at_its_path_with_the_resolved_path(tmp_path: Path) -> None:
    code, diagnostics = validate(source(tmp_path, "data/orders.csv"))
    assert code == 0
    assert warnings(diagnostics) == [("input-not-found", "p/pipeline.yaml", 2, 28)]
    (warning,) = diagnostics
    assert f"{tmp_path}/data/orders.csv" in warning["message"]
    assert f"relative paths are relative to the project root {tmp_path}" in warning["hint"]


def test_strict_fails_on_a_missing_input(tmp_path: Path) -> None:
    code, _ = validate(source(tmp_path, "data/orders.csv"), "--strict")
    assert code == 1


def test_the_text_output_names_the_line_and_the_resolved_path(tmp_path: Path) -> None:
    result = etl_cli("validate", "p", cwd=source(tmp_path, "data/orders.csv"))
    assert result.returncode == 0, result.stderr
    expected = f"p/pipeline.yaml:2:28: warning: source 'raw' reads {tmp_path}/data/orders.csv, which does not exist"
    assert expected in result.stdout


def test_an_existing_input_is_not_reported(tmp_path: Path) -> None:
    write(tmp_path, "data/orders.csv", "id\n1\n")
    assert validate(source(tmp_path, "data/orders.csv")) == (0, [])


def test_an_existing_folder_given_as_an_absolute_path_is_not_reported(tmp_path: Path) -> None:
    write(tmp_path, "data/day=1/part.csv", "id\n1\n")
    assert validate(source(tmp_path, str(tmp_path / "data"))) == (0, [])


def test_a_glob_that_matches_is_not_reported(tmp_path: Path) -> None:
    write(tmp_path, "data/2024-01/orders.csv", "id\n1\n")
    assert validate(source(tmp_path, "data/2024-*/*.csv")) == (0, [])


def test_a_glob_with_alternatives_that_match_is_not_reported(tmp_path: Path) -> None:
    write(tmp_path, "data/b.csv", "id\n1\n")
    assert validate(source(tmp_path, "data/{a,b}.csv")) == (0, [])


def test_a_glob_that_matches_nothing_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "data/2024-01/orders.json", "{}\n")
    code, diagnostics = validate(source(tmp_path, "data/2024-*/*.csv"))
    assert (code, warnings(diagnostics)) == (0, [("input-not-found", "p/pipeline.yaml", 2, 28)])
    assert f"{tmp_path}/data/2024-*/*.csv, which matches nothing" in diagnostics[0]["message"]


def test_a_missing_file_uri_is_reported(tmp_path: Path) -> None:
    code, diagnostics = validate(source(tmp_path, f"file://{tmp_path}/nope.csv"))
    assert (code, warnings(diagnostics)) == (0, [("input-not-found", "p/pipeline.yaml", 2, 28)])


def test_a_remote_input_is_not_checked(tmp_path: Path) -> None:
    assert validate(source(tmp_path, "hdfs://namenode/data/orders.csv")) == (0, [])


def test_each_missing_path_of_a_list_is_reported_at_its_item(tmp_path: Path) -> None:
    write(tmp_path, "a.csv", "id\n1\n")
    pipeline = "sources:\n  - name: raw\n    type: csv\n    path:\n      - a.csv\n      - b.csv\n" + SINK
    make_project(tmp_path, {"p/pipeline.yaml": pipeline})
    code, diagnostics = validate(tmp_path)
    assert (code, warnings(diagnostics)) == (0, [("input-not-found", "p/pipeline.yaml", 6, 9)])


def test_a_path_given_as_a_template_parameter_is_reported_at_the_parameter(tmp_path: Path) -> None:
    template = """
        params:
          input_path: {required: true}
        sources:
          - {name: raw, type: csv, path: "${var:input_path}"}
    """
    pipeline = "extends:\n  template: files\n  params:\n    input_path: data/nope.csv\n" + SINK
    make_project(tmp_path, {"templates/files.yaml": template, "p/pipeline.yaml": pipeline})
    code, diagnostics = validate(tmp_path)
    assert (code, warnings(diagnostics)) == (0, [("input-not-found", "p/pipeline.yaml", 4, 5)])


def test_a_path_with_an_unresolved_variable_is_not_checked(tmp_path: Path) -> None:
    template = """
        params:
          input_path: {required: true}
        sources:
          - {name: raw, type: csv, path: "${var:input_path}"}
    """
    make_project(tmp_path, {"templates/files.yaml": template, "p/pipeline.yaml": "extends: files\n" + SINK})
    code, diagnostics = validate(tmp_path)
    assert (code, warnings(diagnostics)) == (1, [])
    assert "template-param" in [d["code"] for d in diagnostics]
