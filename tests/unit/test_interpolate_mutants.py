"""The 1 MiB limit on one interpolated value, in-process: found untested by mutation testing (mutmut) of
etl_cli/config/interpolate.py (``Interpolator._too_large``).

tests/unit/test_config_limits.py checks this limit through ``etl-cli`` subprocesses, which mutmut cannot attribute.
Here the pipeline is loaded in this process: a value of exactly 1,048,576 characters once its references are replaced
loads, one character more stops loading with one ``value-size`` error at that value (code, message, hint, line and
column), and the message names the chain of variables being resolved when the value is a var's. The large text comes
from an environment variable, so the YAML written stays small.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.limits import MAX_VALUE_CHARS
from etl_cli.config.loader import LoadedConfig, load_pipeline

from .helpers import said, write

#: half of the limit: ``${env:HALF}${env:HALF}`` is exactly 1 MiB
HALF = "x" * (MAX_VALUE_CHARS // 2)
MESSAGE = "this value grows past 1,048,576 characters (1 MiB) once its references are replaced"
HINT = "a var used N times is copied N times: use fewer copies, or keep large text in a file"


def load(root: Path, body: str) -> LoadedConfig:
    write(root, "p/pipeline.yaml", body)
    return load_pipeline(root / "p", None, environ={"HALF": HALF})


def test_a_value_of_exactly_1_mib_once_its_references_are_replaced_loads(tmp_path: Path) -> None:
    loaded = load(tmp_path, "name: big\nx: ${env:HALF}${env:HALF}\n")
    assert loaded.diagnostics == []
    assert len(loaded.document["x"]) == MAX_VALUE_CHARS


def test_one_character_past_1_mib_stops_loading_at_the_value(tmp_path: Path) -> None:
    loaded = load(tmp_path, "name: big\nx: ${env:HALF}${env:HALF}y\n")
    assert loaded.document == {}
    (diag,) = loaded.diagnostics
    assert said(diag) == ("value-size", MESSAGE, HINT, 2, 4)


def test_a_reference_taking_the_value_past_1_mib_stops_loading_at_the_value(tmp_path: Path) -> None:
    loaded = load(tmp_path, "name: big\nother: 1\nx: y${env:HALF}${env:HALF}\n")
    (diag,) = loaded.diagnostics
    assert said(diag) == ("value-size", MESSAGE, HINT, 3, 4)


def test_a_var_growing_past_1_mib_names_the_chain_of_vars_being_resolved(tmp_path: Path) -> None:
    # outer, declared first, is resolved first: it reads inner, whose value (line 4, column 10) goes over
    body = 'name: big\nvars:\n  outer: "${var:inner}"\n  inner: "${env:HALF}${env:HALF}y"\nx: ${var:outer}\n'
    loaded = load(tmp_path, body)
    (diag,) = loaded.diagnostics
    assert said(diag) == ("value-size", f"{MESSAGE} (resolving outer -> inner)", HINT, 4, 10)
