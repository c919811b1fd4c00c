"""Offline checks of ``cast``, ``rename``, ``drop`` and ``lookup`` through the real ``etl-cli validate`` and
``etl-cli lineage``; line and column numbers are counted by hand in the pipeline written below."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

HEAD = """\
sources:
  - name: raw
    type: csv
    path: in.csv
    schema: {id: STRING, note: STRING, amount: STRING}
  - name: countries
    type: csv
    path: countries.csv
    schema: {id: STRING, label: STRING}
transforms:
  - name: t
"""
SINK = "sinks:\n  - {name: out, type: parquet, input: t, path: out}\n"


def errors(root: Path, stage: str) -> list[tuple[str, int, int, str]]:
    """``etl-cli validate`` of pipeline ``p`` whose stage ``t`` is ``stage``: its errors.

    Each as (code, line, column, message).
    """
    make_project(root, {"p/pipeline.yaml": HEAD + stage + SINK})
    result = etl_cli("validate", "p", "--format", "json", cwd=root)
    (report,) = json.loads(result.stdout)["results"]
    found: list[dict[str, Any]] = report["diagnostics"]
    return [(d["code"], d["line"], d["column"], d["message"]) for d in found if d["severity"] == "error"]


def test_cast_to_an_unknown_type_is_reported_at_the_type(tmp_path: Path) -> None:
    stage = "    type: cast\n    inputs: [raw]\n    columns:\n      amount: NUMBR\n"
    ((code, line, column, message),) = errors(tmp_path, stage)
    assert code == "invalid-option"
    assert (line, column) == (15, 15)
    assert "unknown type 'NUMBR'" in message


def test_cast_on_error_takes_only_fail_or_null(tmp_path: Path) -> None:
    stage = "    type: cast\n    inputs: [raw]\n    on_error: skip\n    columns: {amount: INT}\n"
    ((code, line, column, _),) = errors(tmp_path, stage)
    assert code == "invalid-value"
    assert (line, column) == (14, 15)


def test_two_columns_renamed_to_one_name_is_reported_at_the_second(tmp_path: Path) -> None:
    stage = "    type: rename\n    inputs: [raw]\n    columns:\n      note: text\n      amount: text\n"
    ((code, line, column, message),) = errors(tmp_path, stage)
    assert code == "invalid-option"
    assert (line, column) == (16, 15)
    assert message.endswith("'amount' and 'note' are both renamed to 'text'")


def test_lookup_takes_exactly_two_inputs(tmp_path: Path) -> None:
    stage = "    type: lookup\n    inputs: [raw, countries, raw]\n    on: [id]\n"
    ((code, line, column, message),) = errors(tmp_path, stage)
    assert code == "invalid-option"
    assert (line, column) == (13, 13)
    assert "lookup takes exactly 2 inputs, not 3" in message


def test_lookup_default_for_a_column_not_taken_is_reported_at_it(tmp_path: Path) -> None:
    stage = "    type: lookup\n    inputs: [raw, countries]\n    on: [id]\n    columns: [label]\n"
    stage += "    default: {lable: x}\n"
    ((code, line, column, message),) = errors(tmp_path, stage)
    assert code == "invalid-option"
    assert (line, column) == (16, 22)  # the value given for lable
    assert "'lable' is not one of the columns taken" in message


def test_lineage_reports_a_renamed_column_the_known_input_lacks(tmp_path: Path) -> None:
    stage = "    type: rename\n    inputs: [raw]\n    columns:\n      nots: comment\n"
    make_project(tmp_path, {"p/pipeline.yaml": HEAD + stage + SINK})
    result = etl_cli("lineage", "p", cwd=tmp_path)
    assert "p.t: raw has no column nots" in result.stdout


def test_validate_reports_a_renamed_column_the_known_input_lacks(tmp_path: Path) -> None:
    stage = "    type: rename\n    inputs: [raw]\n    columns:\n      nots: comment\n"
    ((code, line, column, message),) = errors(tmp_path, stage)
    assert code == "unknown-column"
    assert (line, column) == (15, 13)  # the value of the entry naming nots
    assert "nots" in message


def test_validate_reports_a_dropped_column_the_known_input_lacks_unless_if_exists(tmp_path: Path) -> None:
    stage = "    type: drop\n    inputs: [raw]\n    columns: [note, gone]\n"
    ((code, line, column, _message),) = errors(tmp_path, stage)
    assert (code, line, column) == ("unknown-column", 14, 21)  # gone
    assert errors(tmp_path, stage + "    if_exists: true\n") == []


def test_lineage_of_the_example_follows_rename_and_lookup_columns() -> None:
    shown = [" ".join(line.split()) for line in etl_cli("lineage", "pipelines/orders_lookup").stdout.splitlines()]
    assert "customer_id ← typed.cust" in shown
    assert "country_name ← countries.country_name expression: COALESCE(countries.country_name, 'unknown')" in shown
    assert "(rows) ← tidy.country, countries.country join_key: tidy.country = countries.country" in shown
    tidy = shown[shown.index("orders_lookup.tidy (drop transform) pipelines/orders_lookup/pipeline.yaml:45:5") :]
    tidy = tidy[: tidy.index("")]
    assert "ordered_at ← renamed.ordered_at" in tidy and not any("internal_note" in line for line in tidy)
