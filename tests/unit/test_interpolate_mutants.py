"""Interpolation in-process, found untested by mutation testing (mutmut) of etl_cli/config/interpolate.py
(``Interpolator._too_large``, ``_resolve_string`` and ``_as_text``).

The 1 MiB limit on one interpolated value (tests/unit/test_config_limits.py checks it through ``etl-cli``
subprocesses, which mutmut cannot attribute): a value of exactly 1,048,576 characters once its references are
replaced loads, one character more stops loading with one ``value-size`` error at that value (code, message, hint,
line and column), the message names the chain of variables being resolved when the value is a var's, and a value
stops at the reference that takes it over, before resolving the next. The 16 MiB that interpolation may write into
one pipeline, by copies of a var as whole values or inside a text: loading stops at the copy that passes it. A whole
``${param:NAME}`` that is not declared is reported at its value; a missing template parameter is reported once and
its reference kept as written (unless the pipeline's own var fills it). Inside a text a boolean reads ``true`` or
``false`` and a null var or an unset optional parameter reads as nothing (docs/orchestration.md). The large text
comes from an environment variable, so the YAML written stays small.

Found next (``_env``, ``_param``, ``_reference``, ``_origin``, ``_extent``, ``resolve_runtime_value``): inside a
longer text an unset environment variable, an undeclared parameter (the hint lists the declared ones) and an
unknown scheme are each reported with their hint and read as nothing; a missing template parameter inside a text
is kept as written too, unless a var fills it; a value built from a var whose name holds a colon points at that
var; what a copied list or mapping adds (nodes, characters of text, levels); and at run time, secrets inside lists
are resolved and a reference left over is named in the error. An ``Interpolator`` given no environment reads
``${env:NAME}`` from the process environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.interpolate import Interpolator, _extent, resolve_runtime_value
from etl_cli.config.limits import MAX_VALUE_CHARS
from etl_cli.config.loader import LoadedConfig, load_pipeline
from etl_cli.config.nodes import Node
from etl_cli.diagnostics import error
from etl_cli.errors import ConfigError, Location

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


def test_a_value_stops_at_the_reference_that_takes_it_past_1_mib_before_reading_the_next(tmp_path: Path) -> None:
    # outer passes 1 MiB at its third reference: inner, after it, is never resolved (nor reported as too large)
    body = (
        "name: big\nvars:\n"
        '  outer: "${env:HALF}${env:HALF}y${env:HALF}${var:inner}"\n'
        '  inner: "${env:HALF}${env:HALF}z"\n'
    )
    (diag,) = load(tmp_path, body).diagnostics
    assert said(diag) == ("value-size", f"{MESSAGE} (resolving outer)", HINT, 3, 10)


# --------------------------------------------------------------------------- the 16 MiB written per pipeline

WRITTEN = "interpolation writes more than 16,777,216 characters (16 MiB) into this pipeline by this value"
WRITTEN_HINT = "a var used N times is copied N times: use fewer copies of large vars"


@pytest.mark.parametrize(
    ("item", "line"),
    [
        # half (512 KiB, counted once when resolved) and 31 copies make 16 MiB: the 32nd item (line 4 + 32) passes
        ("${var:half}", 36),
        # one character more per copy: the 31st item (line 4 + 31) passes
        ("${var:half}.", 35),
    ],
)
def test_copies_of_a_var_passing_16_mib_in_a_pipeline_stop_loading_at_the_copy_that_passes(
    tmp_path: Path, item: str, line: int
) -> None:
    body = "name: big\nvars:\n  half: ${env:HALF}\nitems:\n" + f"  - {item}\n" * 40
    loaded = load(tmp_path, body)
    assert loaded.document == {}
    (diag,) = loaded.diagnostics
    assert said(diag) == ("interpolation-size", WRITTEN, WRITTEN_HINT, line, 5)


# --------------------------------------------------------------------------- whole-value references


def test_a_whole_value_parameter_that_is_not_declared_is_reported_at_the_value(tmp_path: Path) -> None:
    loaded = load(tmp_path, "name: p\nx: ${param:nope}\n")
    assert loaded.document["x"] == ""
    assert loaded.diagnostics == [
        error(
            "unknown-parameter",
            "parameter 'nope' is not declared",
            Location(str(tmp_path / "p" / "pipeline.yaml"), 2, 4),
            "declare it under 'params:' (nope: {type: string}) and give it with --param nope=VALUE",
        )
    ]


TEMPLATE = """\
params:
  input_path: {required: true}
sources:
  - {name: src, type: csv, path: "${var:input_path}"}
"""


@pytest.mark.parametrize(
    ("pipeline", "path"),
    [
        # reported once, by the template: the reference stays as written, with no "variable not defined" after it
        ("name: p\nextends: base\n", "${var:input_path}"),
        # the pipeline's own var of that name still fills it
        ("name: p\nextends: base\nvars: {input_path: in.csv}\n", "in.csv"),
    ],
)
def test_a_missing_template_parameter_is_reported_once_and_its_reference_kept_unless_a_var_fills_it(
    tmp_path: Path, pipeline: str, path: str
) -> None:
    write(tmp_path, "etl-project.yaml", "name: t\n")
    write(tmp_path, "templates/base.yaml", TEMPLATE)
    loaded = load(tmp_path, pipeline)
    assert loaded.document["sources"] == [{"name": "src", "type": "csv", "path": path}]
    assert loaded.diagnostics == [
        error(
            "template-param",
            "template 'base' needs parameter 'input_path'",
            Location(str(tmp_path / "p" / "pipeline.yaml"), 2, 10),
            "add it under extends.params: input_path: ...",
        )
    ]


def test_inside_a_text_a_boolean_reads_true_or_false_and_a_null_or_an_unset_parameter_reads_as_nothing(
    tmp_path: Path,
) -> None:
    # docs/orchestration.md: an unset optional parameter "is empty text inside a longer value and null where
    # ${param:NAME} is the whole value"; a var set to null reads the same
    body = (
        "name: p\n"
        "params:\n  suffix: {type: string, required: false}\n"
        "vars: {yes_: true, no_: false, none: null, n: 3}\n"
        "x: ${var:yes_}/${var:no_}/${var:none}/${var:n}/${param:suffix}\n"
        "whole: ${param:suffix}\n"
    )
    loaded = load(tmp_path, body)
    assert loaded.diagnostics == []
    assert (loaded.document["x"], loaded.document["whole"]) == ("true/false//3/", None)


# --------------------------------------------------------------------------- references inside a longer text

UNKNOWN_SCHEME_HINT = (
    "write ${env:NAME}, ${var:name}, ${param:name} or ${secret:provider:path#key}; escape a literal with $${"
)


def test_inside_a_text_an_unset_env_an_undeclared_param_and_an_unknown_scheme_are_reported_and_read_as_nothing(
    tmp_path: Path,
) -> None:
    body = (
        "name: p\n"
        "params:\n  day: {type: string, required: false}\n  region: {type: string, required: false}\n"
        "x: a${env:NOPE}b${param:zzz}c${zzz:q}d\n"
    )
    loaded = load(tmp_path, body)
    assert loaded.document["x"] == "abcd"
    at = Location(str(tmp_path / "p" / "pipeline.yaml"), 5, 4)
    assert loaded.diagnostics == [
        error(
            "unset-variable",
            "environment variable NOPE is not set",
            at,
            "export NOPE=... before running, or give a default: ${env:NOPE:-value}",
        ),
        error("unknown-parameter", "parameter 'zzz' is not declared", at, "the parameters declared: day, region"),
        error("interpolation", "unknown reference '${zzz:q}'", at, UNKNOWN_SCHEME_HINT),
    ]


@pytest.mark.parametrize(
    ("pipeline", "path"),
    [
        ("name: p\nextends: base\n", "in/${var:input_path}.csv"),
        ("name: p\nextends: base\nvars: {input_path: orders}\n", "in/orders.csv"),
    ],
)
def test_a_missing_template_parameter_inside_a_text_is_kept_as_written_unless_a_var_fills_it(
    tmp_path: Path, pipeline: str, path: str
) -> None:
    write(tmp_path, "etl-project.yaml", "name: t\n")
    write(tmp_path, "templates/base.yaml", TEMPLATE.replace('"${var:input_path}"', '"in/${var:input_path}.csv"'))
    loaded = load(tmp_path, pipeline)
    assert loaded.document["sources"] == [{"name": "src", "type": "csv", "path": path}]
    assert [d.code for d in loaded.diagnostics] == ["template-param"]


def test_a_value_built_from_a_var_whose_name_holds_a_colon_points_at_that_var(tmp_path: Path) -> None:
    body = "name: p\nvars:\n  'ns:day': '2026-01-01'\n  day: '1999-01-01'\nx: ${var:ns:day}\ny: on ${var:ns:day}\n"
    loaded = load(tmp_path, body)
    assert loaded.diagnostics == []
    assert (loaded.document["x"], loaded.document["y"]) == ("2026-01-01", "on 2026-01-01")
    var = Location(str(tmp_path / "p" / "pipeline.yaml"), 3, 3)
    assert [loaded.provenance.user_location((key,)) for key in ("x", "y")] == [var, var]


@pytest.mark.parametrize(
    ("value", "extent"),
    [
        ("abc", (1, 3, 1)),
        (5, (1, 0, 1)),
        (None, (1, 0, 1)),
        ([], (1, 0, 1)),
        # the keys of a mapping are not counted: its values are
        ({"ab": [1, "xyz"], "e": [[]]}, (6, 3, 3)),
    ],
)
def test_what_a_copied_value_adds_in_nodes_characters_of_text_and_levels(
    value: object, extent: tuple[int, int, int]
) -> None:
    assert _extent(value) == extent


def test_at_run_time_secrets_inside_lists_are_resolved_and_a_leftover_reference_is_named() -> None:
    value = {"a": ["${secret:env:A}", "$${x}", 3, ["${secret:env:B}"]]}
    assert resolve_runtime_value(value, lambda ref: f"<{ref}>") == {"a": ["<env:A>", "${x}", 3, ["<env:B>"]]}
    with pytest.raises(ConfigError) as caught:
        resolve_runtime_value(["${var:x}"], lambda ref: "")
    assert caught.value.message == "unresolved reference '${var:x}' at run time"


def test_without_an_environment_given_env_references_read_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ETL_TEST_TEAM", "orders")
    interpolator = Interpolator(None)
    node = interpolator.resolve_tree(Node("team-${env:ETL_TEST_TEAM}", Location("p.yaml", 2, 4)))
    assert (node.value, node.interpolated, interpolator.diagnostics) == ("team-orders", True, [])
