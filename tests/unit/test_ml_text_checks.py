"""Offline checks and lineage of ``text`` and ``ml_score`` through the real ``etl-cli validate`` and ``etl-cli
lineage``; line and column numbers are counted by hand in the pipeline written below."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project, write

HEAD = """\
sources:
  - name: raw
    type: csv
    path: in.csv
    schema: {id: INT, review: STRING, x: DOUBLE, y: DOUBLE}
transforms:
  - name: t
"""
SINK = "sinks:\n  - {name: out, type: parquet, input: t, path: out}\n"


def errors(root: Path, stage: str, env: dict[str, str] | None = None) -> list[tuple[str, int, int, str, str]]:
    """``etl-cli validate`` of pipeline ``p`` whose stage ``t`` is ``stage``: its errors.

    Each as (code, line, column, message, hint).
    """
    make_project(root, {"p/pipeline.yaml": HEAD + stage + SINK})
    result = etl_cli("validate", "p", "--format", "json", cwd=root, env=env)
    (report,) = json.loads(result.stdout)["results"]
    found: list[dict[str, Any]] = report["diagnostics"]
    return [
        (d["code"], d["line"], d["column"], d["message"], d.get("hint") or "")
        for d in found
        if d["severity"] == "error"
    ]


def without(root: Path, *modules: str) -> dict[str, str]:
    """An environment in which ``modules`` cannot be imported (as if their extra were not installed)."""
    hidden = "".join(f"sys.modules[{name!r}] = None\n" for name in modules)
    write(root, "hide/sitecustomize.py", "import sys\n" + hidden)
    return {"PYTHONPATH": str(root / "hide")}


def test_text_needs_an_output(tmp_path: Path) -> None:
    ((code, line, column, message, _),) = errors(tmp_path, "    type: text\n    inputs: [raw]\n    column: review\n")
    assert (code, line, column) == ("invalid-option", 7, 5)
    assert "text needs one of tokenize, normalize, sentiment" in message


def test_text_outputs_of_one_name_are_reported_at_the_second(tmp_path: Path) -> None:
    stage = "    type: text\n    inputs: [raw]\n    column: review\n    tokenize: words\n    normalize: Words\n"
    ((code, line, column, message, _),) = errors(tmp_path, stage)
    assert (code, line, column) == ("invalid-option", 12, 16)
    assert "'Words' is also the column of tokenize" in message


def test_sentiment_without_the_text_extra_names_the_install_command(tmp_path: Path) -> None:
    stage = "    type: text\n    inputs: [raw]\n    column: review\n    sentiment: mood\n"
    ((code, line, column, message, hint),) = errors(tmp_path, stage, without(tmp_path, "vaderSentiment"))
    assert (code, line, column) == ("invalid-option", 11, 16)
    assert "needs the vaderSentiment package" in message
    assert hint == "pip install 'etl-cli[text]'"


def test_mlflow_model_without_the_ml_extra_names_the_install_command(tmp_path: Path) -> None:
    stage = "    type: ml_score\n    inputs: [raw]\n    model: m\n    flavor: mlflow_pyfunc\n    columns: [x, y]\n"
    ((code, line, column, message, hint),) = errors(tmp_path, stage, without(tmp_path, "mlflow"))
    assert (code, line, column) == ("invalid-option", 11, 13)
    assert "an mlflow_pyfunc model needs mlflow, not installed" in message
    assert hint == "pip install 'etl-cli[ml]'"


def test_mlflow_result_type_must_be_a_spark_type(tmp_path: Path) -> None:
    stage = "    type: ml_score\n    inputs: [raw]\n    model: m\n    flavor: mlflow_pyfunc\n    columns: [x]\n"
    ((code, line, column, message, _),) = errors(tmp_path, stage + "    result_type: NUMBR\n")
    assert (code, line, column) == ("invalid-option", 13, 18)
    assert "unknown type 'NUMBR'" in message


def test_spark_ml_model_needs_keep_and_refuses_the_mlflow_options(tmp_path: Path) -> None:
    stage = "    type: ml_score\n    inputs: [raw]\n    model: m\n    output: score\n"
    found = {(code, line, column, message) for code, line, column, message, _ in errors(tmp_path, stage)}
    assert found == {
        ("invalid-option", 7, 5, "transforms.t: a spark_ml model needs keep"),
        ("invalid-option", 11, 13, "transforms.t.output: output is for flavor mlflow_pyfunc only"),
    }


def test_lineage_derives_text_and_score_columns_from_the_columns_read(tmp_path: Path) -> None:
    stage = "    type: text\n    inputs: [raw]\n    column: review\n    tokenize: words\n    sentiment: mood\n"
    stage += "  - name: s\n    type: ml_score\n    inputs: [t]\n    model: m\n    keep: [prediction]\n"
    stage += "    columns: [x, y]\n"
    make_project(tmp_path, {"p/pipeline.yaml": HEAD + stage + SINK.replace("input: t", "input: s")})
    shown = [" ".join(line.split()) for line in etl_cli("lineage", "p", cwd=tmp_path).stdout.splitlines()]
    assert "words ← raw.review expression: FILTER(SPLIT(LOWER(review), '[^\\\\p{L}]+'), t -> t <> '')" in shown
    assert "mood ← raw.review expression: CAST(SENTIMENT(review) AS DOUBLE)" in shown
    assert "prediction ← t.x, t.y expression: ML_MODEL(STRUCT(x AS x, y AS y))" in shown


def test_features_splits_must_increase(tmp_path: Path) -> None:
    stage = "    type: features\n    inputs: [raw]\n    bucketize:\n      x: {splits: [0, 5, 5], output: xb}\n"
    ((code, line, column, message, _),) = errors(tmp_path, stage)
    assert (code, line, column) == ("invalid-option", 11, 19)  # the splits list
    assert "splits must increase strictly" in message


def test_features_outputs_of_one_name_are_reported_at_the_second(tmp_path: Path) -> None:
    stage = "    type: features\n    inputs: [raw]\n    one_hot: {review: v}\n    scale: {columns: [x, y], output: V}\n"
    ((code, line, column, message, _),) = errors(tmp_path, stage)
    assert (code, line, column) == ("invalid-option", 11, 38)  # V
    assert "'V' is the name of another new column of this stage" in message


STREAMING_FEATURES = """\
streaming: {checkpoint_location: ck}
sources:
  - {name: events, type: kafka, mode: stream, bootstrap_servers: "b:9092", topic: t, schema: {k: STRING, v: INT}}
transforms:
  - {name: t, type: features, inputs: [events], one_hot: {k: kv}}
sinks:
  - {name: out, type: json, input: t, path: out}
"""


def test_validate_refuses_features_of_a_stream(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": STREAMING_FEATURES})
    result = etl_cli("validate", "p", "--format", "json", cwd=tmp_path)
    (report,) = json.loads(result.stdout)["results"]
    found = [(d["code"], d["message"]) for d in report["diagnostics"] if d["severity"] == "error"]
    assert found == [
        (
            "not-streamable",
            "transforms.t: features fits its encoders and scalers on the whole input, which a stream never has",
        )
    ]


def test_lineage_of_features_reads_the_columns_each_is_made_from(tmp_path: Path) -> None:
    stage = "    type: features\n    inputs: [raw]\n    one_hot: {review: rv}\n"
    stage += "    scale: {columns: [x, y], output: xy}\n"
    make_project(tmp_path, {"p/pipeline.yaml": HEAD + stage + SINK})
    shown = [" ".join(line.split()) for line in etl_cli("lineage", "p", cwd=tmp_path).stdout.splitlines()]
    assert "rv ← raw.review expression: ML_ONE_HOT(review)" in shown
    assert "xy ← raw.x, raw.y expression: ML_SCALE(STRUCT(x AS x, y AS y))" in shown
