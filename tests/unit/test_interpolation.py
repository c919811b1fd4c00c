"""${env:...}, ${var:...}, escapes and secret references."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.interpolate import resolve_runtime_value
from etl_cli.config.loader import load_pipeline
from etl_cli.errors import ConfigError

from .helpers import write


def load(tmp_path: Path, body: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    write(tmp_path, "p/pipeline.yaml", body)
    return load_pipeline(tmp_path / "p", None, environ=environ or {})


def test_env_reference_is_replaced(tmp_path: Path) -> None:
    loaded = load(tmp_path, "a: ${env:HOST}:5432\n", {"HOST": "db.local"})
    assert loaded.document["a"] == "db.local:5432"


def test_env_default_applies_when_unset(tmp_path: Path) -> None:
    loaded = load(tmp_path, "a: ${env:NOPE:-fallback}\nb: ${env:EMPTY_DEFAULT:-}\n")
    assert loaded.document == {"a": "fallback", "b": ""}


def test_unset_env_without_default_is_reported_at_its_line(tmp_path: Path) -> None:
    loaded = load(tmp_path, "x: 1\npassword: ${env:DB_PASSWORD}\n")
    (diag,) = loaded.diagnostics
    assert diag.code == "unset-variable"
    assert "DB_PASSWORD" in diag.message
    assert (diag.location.line, diag.location.column) == (2, 11)


def test_var_keeps_its_type_when_it_is_the_whole_value(tmp_path: Path) -> None:
    loaded = load(tmp_path, "vars: {n: 4, cols: [a, b]}\nx: ${var:n}\ny: ${var:cols}\nz: n=${var:n}\n")
    assert loaded.document["x"] == 4
    assert loaded.document["y"] == ["a", "b"]
    assert loaded.document["z"] == "n=4"


def test_vars_may_refer_to_vars_and_env(tmp_path: Path) -> None:
    loaded = load(tmp_path, "vars:\n  root: ${env:ROOT}\n  out: ${var:root}/out\nx: ${var:out}\n", {"ROOT": "/data"})
    assert loaded.document["x"] == "/data/out"


def test_undefined_var_suggests_the_closest_name(tmp_path: Path) -> None:
    loaded = load(tmp_path, "vars: {output_dir: /o}\nx: ${var:outptu_dir}\n")
    (diag,) = loaded.diagnostics
    assert diag.hint == "did you mean 'output_dir'?"


def test_var_loop_is_named(tmp_path: Path) -> None:
    loaded = load(tmp_path, "vars: {a: '${var:b}', b: '${var:a}'}\nx: ${var:a}\n")
    assert any(d.code == "variable-cycle" and "a -> b -> a" in d.message for d in loaded.diagnostics)


def test_unknown_scheme_is_an_error(tmp_path: Path) -> None:
    loaded = load(tmp_path, "x: ${evn:HOME}\n")
    (diag,) = loaded.diagnostics
    assert diag.code == "interpolation"
    assert diag.hint == "did you mean 'env'?"


def test_secret_references_are_left_for_run_time(tmp_path: Path) -> None:
    loaded = load(tmp_path, "password: ${secret:vault:db/prod#password}\n")
    assert loaded.document["password"] == "${secret:vault:db/prod#password}"
    assert loaded.diagnostics == []


def test_escape_survives_loading_and_is_unescaped_at_run_time(tmp_path: Path) -> None:
    loaded = load(tmp_path, "x: 'cost $${price}'\n")
    assert loaded.document["x"] == "cost $${price}"
    assert resolve_runtime_value(loaded.document["x"], lambda ref: "never") == "cost ${price}"


def test_escaped_secret_is_never_resolved() -> None:
    assert resolve_runtime_value("$${secret:env:X}", lambda ref: "LEAK") == "${secret:env:X}"


def test_runtime_resolution_calls_the_secret_resolver() -> None:
    seen = []
    value = resolve_runtime_value({"p": "${secret:env:PW}"}, lambda ref: seen.append(ref) or "s3cr3t")
    assert value == {"p": "s3cr3t"}
    assert seen == ["env:PW"]


def test_runtime_resolution_rejects_leftover_references() -> None:
    with pytest.raises(ConfigError):
        resolve_runtime_value("${env:X}", lambda ref: "")
