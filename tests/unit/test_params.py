"""Run-time parameters: ``params:``, ``${param:NAME}`` and ``--param NAME=VALUE`` (config/params.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli import app
from etl_cli.cli.main import main
from etl_cli.config.loader import LoadedConfig, load_pipeline
from etl_cli.config.params import parse_value
from etl_cli.errors import Location, UsageError

from .helpers import make_project

#: a pipeline whose line numbers the tests below name: ``ds`` is declared at 3:3, ``n`` at 5:3
PIPELINE = """
name: daily
params:
  ds:
    type: date
  n: {type: int, default: 5}
  country: {type: string, choices: [NO, SE], required: false}
vars:
  out: /tmp/out/ds=${param:ds}
sources:
  - {name: events, type: csv, path: /tmp/in.csv}
transforms:
  - name: recent
    type: filter
    inputs: [events]
    condition: day = '${param:ds}'
sinks:
  - {name: out, type: parquet, input: recent, path: "${var:out}", mode: overwrite}
"""


def project(tmp_path: Path, pipeline: str = PIPELINE) -> Path:
    make_project(tmp_path, {"daily/pipeline.yaml": pipeline})
    return tmp_path / "daily" / "pipeline.yaml"


def load(tmp_path: Path, *params: str, pipeline: str = PIPELINE, require: bool = False) -> LoadedConfig:
    return load_pipeline(project(tmp_path, pipeline), None, params=params, environ={}, require_params=require)


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("string", " a b ", " a b "),
        ("int", "-42", -42),
        ("float", "0.25", 0.25),
        ("bool", "TRUE", True),
        ("bool", "false", False),
        ("date", "2026-02-28", "2026-02-28"),
        ("timestamp", "2026-02-28T06:30:00", "2026-02-28T06:30:00"),
        ("timestamp", "2026-02-28 06:30", "2026-02-28T06:30:00"),
        ("timestamp", "2026-02-28T06:30:00Z", "2026-02-28T06:30:00+00:00"),
    ],
)
def test_a_value_is_read_by_its_type(kind: str, text: str, value: Any) -> None:
    assert parse_value(kind, text) == value


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("int", "4.5"),
        ("int", "12abc"),
        ("float", "nan"),
        ("bool", "yes"),
        ("date", "2026-13-01"),
        ("date", "2026-02-30"),
        ("date", "26-01-01"),
        ("date", "2026-01-01T00:00:00"),
        ("timestamp", "2026-01-01"),
        ("timestamp", "2026-01-01T25:00:00"),
    ],
)
def test_a_value_not_of_its_type_is_refused(kind: str, text: str) -> None:
    with pytest.raises(ValueError):
        parse_value(kind, text)


def test_a_given_parameter_is_interpolated_where_vars_are(tmp_path: Path) -> None:
    loaded = load(tmp_path, "ds=2026-01-03")
    assert loaded.diagnostics == []
    assert loaded.document["sinks"][0]["path"] == "/tmp/out/ds=2026-01-03"
    assert loaded.document["transforms"][0]["condition"] == "day = '2026-01-03'"


def test_a_whole_value_keeps_the_parameters_type(tmp_path: Path) -> None:
    loaded = load(tmp_path, "ds=2026-01-03", pipeline=PIPELINE + "x: ${param:n}\ny: n=${param:n}\n")
    assert (loaded.document["x"], loaded.document["y"]) == (5, "n=5")


def test_a_default_applies_when_no_value_is_given(tmp_path: Path) -> None:
    loaded = load(tmp_path, "ds=2026-01-03", require=True)
    assert loaded.params["n"].value == 5
    assert loaded.params["n"].source == "default"


def test_the_last_of_two_values_wins(tmp_path: Path) -> None:
    assert load(tmp_path, "n=1", "n=7").params["n"].value == 7


def test_without_a_value_validation_uses_a_placeholder_of_the_type(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    assert loaded.diagnostics == []
    assert loaded.document["sinks"][0]["path"] == "/tmp/out/ds=1970-01-01"
    assert loaded.params["ds"].source == "placeholder"


def test_an_optional_parameter_without_default_is_unset(tmp_path: Path) -> None:
    loaded = load(tmp_path, "ds=2026-01-03", require=True)
    assert loaded.params["country"].value is None
    assert loaded.params["country"].source == "unset"


def test_a_required_parameter_without_value_stops_a_run_naming_its_declaration(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        load(tmp_path, require=True)
    message = str(caught.value)
    assert "parameter 'ds'" in message
    assert "daily/pipeline.yaml:3:3" in message
    assert caught.value.exit_code == 2


def test_a_value_not_of_its_type_names_the_parameter_value_form_and_declaration(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        load(tmp_path, "ds=2026-13-01")
    message = str(caught.value)
    assert "--param ds=2026-13-01" in message
    assert "YYYY-MM-DD" in message
    assert "daily/pipeline.yaml:3:3" in message


def test_a_value_outside_the_choices_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not one of the choices") as caught:
        load(tmp_path, "ds=2026-01-01", "country=FI")
    assert caught.value.hint == "choose one of NO, SE"


def test_a_param_the_pipeline_does_not_declare_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="declares no parameter 'dss'") as caught:
        load(tmp_path, "dss=2026-01-01")
    assert caught.value.hint == "did you mean 'ds'?"


def test_a_param_without_equals_sign_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="NAME=VALUE"):
        load(tmp_path, "ds")


def test_an_undeclared_reference_is_reported_at_its_line_with_a_suggestion(tmp_path: Path) -> None:
    loaded = load(tmp_path, pipeline=PIPELINE.replace("${param:ds}'", "${param:dss}'"))
    (diag,) = loaded.diagnostics
    assert diag.code == "unknown-parameter"
    assert diag.location is not None and (diag.location.line, diag.location.column) == (15, 16)
    assert diag.hint == "did you mean 'ds'?"


def test_a_default_not_of_its_type_is_reported_at_the_default(tmp_path: Path) -> None:
    loaded = load(tmp_path, "ds=2026-01-01", pipeline=PIPELINE.replace("default: 5", "default: five"))
    (diag,) = loaded.diagnostics
    assert diag.code == "param-default"
    assert diag.location is not None and (diag.location.line, diag.location.column) == (5, 27)
    assert "'n'" in diag.message


def test_a_default_outside_the_choices_is_reported(tmp_path: Path) -> None:
    pipeline = PIPELINE.replace("required: false", "default: DK")
    (diag,) = load(tmp_path, "ds=2026-01-01", pipeline=pipeline).diagnostics
    assert diag.code == "param-default"
    assert "not one of its choices" in diag.message


def test_a_reference_inside_a_declaration_is_reported(tmp_path: Path) -> None:
    pipeline = PIPELINE.replace("default: 5", "default: '${env:N}'")
    diags = load(tmp_path, "ds=2026-01-01", pipeline=pipeline).diagnostics
    assert [d.code for d in diags] == ["param-reference"]
    assert diags[0].location is not None and diags[0].location.line == 5


def test_a_value_built_from_a_param_remembers_where_the_value_was_set(tmp_path: Path) -> None:
    given = load(tmp_path, "ds=2026-01-03")
    info = given.provenance.info(("vars", "out"))
    assert info is not None and info.origin == Location("--param ds=2026-01-03", 0, 0)
    defaulted = load(tmp_path, "ds=2026-01-03", pipeline=PIPELINE + "x: ${param:n}\n")
    info = defaulted.provenance.info(("x",))
    assert info is not None and info.origin is not None and (info.origin.line, info.origin.column) == (5, 27)


def test_the_schema_reports_an_unknown_key_of_a_declaration(tmp_path: Path) -> None:
    (report,) = app.validate([project(tmp_path, PIPELINE.replace("type: date", "type: date\n    defualt: x"))])
    (diag,) = [d for d in report.diagnostics if d.severity == "error"]
    assert diag.code == "unknown-key"
    assert diag.location is not None and diag.location.line == 5


def test_the_schema_reports_an_unknown_type(tmp_path: Path) -> None:
    (report,) = app.validate([project(tmp_path, PIPELINE.replace("type: date", "type: day"))])
    assert [d.location.line for d in report.diagnostics if d.severity == "error" and d.location] == [4]


def test_validate_without_params_checks_the_pipeline_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(["validate", str(project(tmp_path))], capsys)
    assert code == 0, out


def test_validate_checks_a_given_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(["validate", str(project(tmp_path)), "--param", "ds=2026-02-30"], capsys)
    assert code == 2
    assert "--param ds=2026-02-30" in err


def test_validate_refuses_a_param_no_pipeline_declares(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(["validate", str(project(tmp_path)), "--param", "day=2026-02-01"], capsys)
    assert code == 2
    assert "no pipeline validated declares a parameter 'day'" in err


def test_run_without_a_required_param_exits_2_before_spark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(["run", str(project(tmp_path))], capsys)
    assert code == 2
    assert "parameter 'ds'" in err and "pipeline.yaml:3:3" in err


@pytest.mark.parametrize("command", ["dry-run", "debug"])
def test_dry_run_and_debug_need_the_required_params_too(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli([command, str(project(tmp_path)), "--param", "n=2"], capsys)
    assert code == 2
    assert "parameter 'ds'" in err


def test_render_shows_each_parameters_value_and_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(["render", str(project(tmp_path)), "--param", "ds=2026-01-03"], capsys)
    assert code == 0
    assert out.splitlines()[:3] == [
        "# param ds = 2026-01-03  (from --param)",
        "# param n = 5  (its default)",
        "# param country = (unset)  (no value)",
    ]
    assert "path: /tmp/out/ds=2026-01-03" in out


def test_render_explain_says_where_each_value_came_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = cli(["render", str(project(tmp_path)), "--explain"], capsys)
    rows = [line.split() for line in out.splitlines() if line.startswith("${param:")]
    assert rows[0][:2] == ["${param:ds}", '"1970-01-01"']
    assert "(placeholder: no value given)" in " ".join(rows[0])
    assert rows[1][:3] == ["${param:n}", "5", "#"]


def test_the_spec_carries_the_values_for_the_run_results(tmp_path: Path) -> None:
    _, spec = app.load_spec(project(tmp_path), None, params=["ds=2026-01-03"], require_params=True)
    assert {name: value.to_json() for name, value in spec.params.items()} == {
        "ds": {"value": "2026-01-03", "type": "date", "source": "--param"},
        "n": {"value": 5, "type": "int", "source": "default"},
        "country": {"value": None, "type": "string", "source": "unset"},
    }
