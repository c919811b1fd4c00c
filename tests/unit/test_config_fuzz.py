"""Fuzzing the configuration layer: whatever the YAML, ``validate`` and ``render`` end cleanly.

Hypothesis writes small projects (a pipeline with odd scalars, anchors and aliases,
duplicate keys, tabs and interpolation strings; an overlay with ``!delete``/``!replace``;
a template) and runs both commands in this process. Every run must end with exit 0, or
exit 1 naming a ``file:line``; never an internal error, and never slowly.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl_cli.app import registry
from etl_cli.cli.main import main

from .helpers import PROJECT, write, yaml_error

#: ``ETL_FUZZ_EXAMPLES`` lowers the number of documents per test for scripts/mutation.sh, which runs these
#: tests once per surviving mutant of every function they reach
FUZZ = settings(
    max_examples=int(os.environ.get("ETL_FUZZ_EXAMPLES", "80")),
    deadline=timedelta(seconds=2),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

#: a diagnostic's place as the CLI prints it: ``some/file.yaml:12`` (column optional)
LOCATION = re.compile(r"\S+\.ya?ml:\d+")

#: scalars YAML reads in surprising ways (types, tags, empty values), all well-formed
ODD_SCALARS = [
    "yes", "no", "NO", "on", "~", "null", "0x1F", "0o17", "1e3", ".inf", "-.nan", "1_000", "2024-01-01",
    "2024-13-45", "12:30:00", "'quoted'", '"double"', "''", '""', "!delete", "!replace x", "!!str 1", "!!int x",
    "!!float x", "!!binary aGk=", "!!timestamp 2020-13-45", "!!null x", "'\\t'", '"\\t"', '"\\x00"', "x\ty", "<<",
    "csv", "parquet", "filter", "sql", "overwrite", "append", "data/in.csv", "a b", "-1", "0", "true", "1.5",
]  # fmt: skip
#: tokens that usually break the document
BROKEN_SCALARS = ["a: b", "- x", "&", "*", "%YAML", "@x", "`x`", "'unclosed", '"unclosed', "[", "]", "{", "}", "?"]

INTERPOLATION_PIECES = [
    "${var:a}", "${var:b}", "${var:c}", "${var:missing}", "${var:}", "${var: a }", "${var:${var:a}}",
    "${env:ETL_FUZZ_UNSET}", "${env:ETL_FUZZ_UNSET:-fallback}", "${env:ETL_FUZZ_UNSET:-}", "${env:HOME:-x}",
    "${secret:env:ETL_FUZZ_SECRET#k}", "${unknown:x}", "${}", "${", "}", "$${", "$${var:a}", "$$", "$", "{",
    "x", "/", ":", "-", " ",
]  # fmt: skip

KEYS = ["name", "type", "path", "input", "inputs", "options", "mode", "condition", "a", "b", "c", "x.y", "<<", "k"]
#: where flow_value puts an anchor or an alias; ``linked`` names them once the text is whole
ANCHOR, ALIAS = "\u27e8anchor\u27e9", "\u27e8alias\u27e9"
STAGE_TYPES = ["csv", "parquet", "json", "filter", "sql", "bogus"]
EXTENDS = ["base", "missing", "../base", "/etc/x", "{template: base, params: {p: 1}}", "[base]"]
TOP_KEYS = ["name", "description", "vars", "spark", "sources", "transforms", "sinks", "extends", "bogus", "checks"]


@st.composite
def interpolation(draw: st.DrawFn) -> str:
    """A string of references, escapes and broken braces, quoted so it stays one YAML scalar."""
    text = "".join(draw(st.lists(st.sampled_from(INTERPOLATION_PIECES), min_size=1, max_size=6)))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: how often each kind of scalar is drawn: mostly well-formed, sometimes broken
SCALAR_KINDS = ["odd"] * 3 + ["interpolation"] * 3 + ["word"] * 2 + ["broken"]


@st.composite
def scalar(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(SCALAR_KINDS))
    if kind == "odd":
        return draw(st.sampled_from(ODD_SCALARS))
    if kind == "interpolation":
        return draw(interpolation())
    if kind == "word":
        return draw(st.text(alphabet="abc019_./", min_size=1, max_size=8))
    return draw(st.sampled_from(BROKEN_SCALARS) | st.text(alphabet="abc019 .-_:#&*!'\"[]{},|>%@`\t", max_size=8))


@st.composite
def flow_value(draw: st.DrawFn, depth: int = 0) -> str:
    """A YAML value in flow style: scalars, lists, mappings, anchors and aliases (sometimes to themselves)."""
    kinds = ["scalar"] * 3 + ["alias", "list", "map"] if depth < 3 else ["scalar"] * 3 + ["alias"]
    kind = draw(st.sampled_from(kinds))
    if kind == "alias":
        return ALIAS
    if kind == "scalar":
        text = draw(scalar())
    elif kind == "list":
        text = "[" + ", ".join(draw(st.lists(flow_value(depth + 1), max_size=4))) + "]"
    else:
        pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), flow_value(depth + 1)), max_size=4))
        text = "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    anchor = draw(st.sampled_from([""] * 4 + [ANCHOR + " "]))
    tag = draw(st.sampled_from([""] * 6 + ["!delete ", "!replace ", "!!str "]))
    return f"{tag}{anchor}{text}"


@st.composite
def linked(draw: st.DrawFn, text: str) -> str:
    """Name anchors a1, a2... in order; point each alias at one defined before it (its own, at times)."""
    defined: list[str] = []

    def name(match: re.Match[str]) -> str:
        if match.group(0) == ANCHOR:
            defined.append(f"a{len(defined) + 1}")
            return "&" + defined[-1]
        if not defined:
            return "x"
        return "*" + ("undefined" if draw(st.integers(0, 9)) == 0 else draw(st.sampled_from(defined)))

    return re.sub(f"{ANCHOR}|{ALIAS}", name, text)


@st.composite
def stage(draw: st.DrawFn, index: int) -> str:
    """A list item that looks like a stage, with random values where the schema expects some."""
    fields = {"name": f"s{index}", "type": draw(st.sampled_from(STAGE_TYPES))}
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=4)):
        fields[key] = draw(flow_value(1))
    return "  - {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}"


@st.composite
def document(draw: st.DrawFn, overlay: bool = False) -> str:
    """A pipeline (or overlay) in block style at the top, flow style below."""
    lines: list[str] = []
    for key in draw(st.lists(st.sampled_from(TOP_KEYS), min_size=1, max_size=7)):
        if key in ("sources", "transforms", "sinks"):
            lines.append(f"{key}:")
            lines += [draw(stage(i)) for i in range(draw(st.integers(0, 3)))]
        elif key == "vars":
            lines.append("vars:")
            lines += [f"  {name}: {draw(flow_value(1))}" for name in draw(st.lists(st.sampled_from("abc")))]
        elif key == "extends" and not overlay:
            lines.append(f"extends: {draw(st.sampled_from(EXTENDS))}")
        else:
            lines.append(f"{key}: {draw(flow_value())}")
    return draw(mutated(draw(linked("\n".join(lines) + "\n"))))


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """Sometimes break the text: a tab, a lost or extra character, a repeated line."""
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["tab", "drop", "insert", "repeat"]))
        if edit == "tab":
            text = text[:at] + "\t" + text[at:]
        elif edit == "drop":
            text = text[:at] + text[at + 1 :]
        elif edit == "insert":
            text = text[:at] + draw(st.sampled_from(list(":-[]{}#&*!|>'\"%@` \n"))) + text[at:]
        else:
            lines = text.splitlines(keepends=True)
            line = lines[at % len(lines)] if lines else ""
            text = text + line
    return text


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail an example that hangs (hypothesis' deadline only judges examples that end)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_limit(10):
        try:
            main(list(args))
        except SystemExit as exited:
            code = int(exited.code or 0)
    return code, out.getvalue() + err.getvalue()


def assert_ends_cleanly(code: int, output: str) -> None:
    assert "internal error" not in output, output
    assert code in (0, 1), output
    if code == 1:
        assert LOCATION.search(output), output


def check_project(
    pipeline: str, overlay: str | None = None, template: str | None = None, render_formats: tuple[str, ...] = ("yaml",)
) -> None:
    """Write the project, then validate it (JSON: every error has a file and line) and render it."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write(root, "etl-project.yaml", PROJECT)
        path = root / "p" / "pipeline.yaml"
        path.parent.mkdir()
        path.write_text(pipeline, encoding="utf-8")
        if overlay is not None:
            (root / "p" / "env").mkdir()
            (root / "p" / "env" / "dev.yaml").write_text(overlay, encoding="utf-8")
        if template is not None:
            (root / "templates").mkdir()
            (root / "templates" / "base.yaml").write_text(template, encoding="utf-8")
        code, output = cli("validate", str(path), "--format", "json")
        assert "internal error" not in output, output
        assert code in (0, 1), output
        errors = [d for d in json.loads(output)["results"][0]["diagnostics"] if d["severity"] == "error"]
        assert (code == 1) == bool(errors), output
        assert all(d["file"] and d["line"] for d in errors), errors
        for render_format in render_formats:
            assert_ends_cleanly(*cli("render", str(path), "--format", render_format))


@pytest.fixture(autouse=True, scope="module")
def _plugins_loaded() -> None:
    """Load the plug-ins once, so the first example is not judged on their import time."""
    registry()


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ETL_ENV", "ETL_FUZZ_UNSET", "ETL_FUZZ_SECRET"):
        monkeypatch.delenv(name, raising=False)


@FUZZ
@given(pipeline=document())
def test_any_pipeline_file_ends_with_exit_0_or_a_located_error(pipeline: str) -> None:
    check_project(pipeline)


@FUZZ
@given(pipeline=document(), overlay=document(overlay=True))
def test_any_overlay_ends_with_exit_0_or_a_located_error(pipeline: str, overlay: str) -> None:
    check_project(pipeline, overlay=overlay)


@FUZZ
@given(pipeline=document(), template=document())
def test_any_template_ends_with_exit_0_or_a_located_error(pipeline: str, template: str) -> None:
    check_project("extends: base\n" + pipeline, template=template)


@st.composite
def interpolated_pipeline(draw: st.DrawFn) -> str:
    """Vars a, b and c (strings, lists or mappings) referring to each other, used by the stages."""
    values = [draw(interpolation() | flow_value(1)) for _ in "abc"]
    uses = [draw(interpolation()) for _ in range(3)]
    return draw(
        linked(
            "name: fuzz\nvars:\n"
            + "".join(f"  {name}: {value}\n" for name, value in zip("abc", values, strict=True))
            + f"sources:\n  - {{name: s, type: csv, path: {uses[0]}, options: {{sep: {uses[1]}}}}}\n"
            + f"sinks:\n  - {{name: o, type: parquet, input: s, path: {uses[2]}}}\n"
        )
    )


@FUZZ
@given(pipeline=interpolated_pipeline(), overlay=st.sampled_from(["", "vars: {a: '${var:b}'}\n", "vars: !delete\n"]))
def test_any_interpolation_ends_with_exit_0_or_a_located_error(pipeline: str, overlay: str) -> None:
    check_project(pipeline, overlay=overlay)


@st.composite
def valid_pipeline_with_odd_values(draw: st.DrawFn) -> str:
    """A valid pipeline whose description and vars hold anything: what render prints must not break."""
    values = [draw(flow_value(1)) for _ in "abc"]
    return draw(
        linked(
            f"name: odd\ndescription: {draw(flow_value(1))}\nvars:\n"
            + "".join(f"  {name}: {value}\n" for name, value in zip("abc", values, strict=True))
            + "sources:\n  - {name: s, type: csv, path: in.csv}\n"
            + "sinks:\n  - {name: o, type: parquet, input: s, path: out}\n"
        )
    )


@FUZZ
@given(pipeline=valid_pipeline_with_odd_values())
def test_any_values_of_a_valid_pipeline_render_or_fail_at_their_place(pipeline: str) -> None:
    check_project(pipeline, render_formats=("yaml", "json"))


# --- what the fuzzing found, as plain regression tests --------------------------------------


def test_an_impossible_date_is_an_invalid_value_at_its_place() -> None:
    diag = yaml_error("name: p\nstarted: 2024-13-45\n")
    assert diag.code == "yaml-value"
    assert (diag.location.line, diag.location.column) == (2, 10)
    assert "2024-13-45" in diag.message


@pytest.mark.parametrize("tag", ["!!int", "!!float", "!!bool", "!!timestamp"])
def test_a_scalar_its_tag_cannot_read_is_an_invalid_value_at_its_place(tag: str) -> None:
    diag = yaml_error(f"a: {tag} x\n")
    assert diag.code == "yaml-value"
    assert (diag.location.line, diag.location.column) == (1, 4)


def test_an_anchor_defined_twice_names_both_lines() -> None:
    diag = yaml_error("a: &x 1\nb: &x 2\n")
    assert diag.code == "yaml-anchor"
    assert (diag.location.line, diag.location.column) == (2, 4)
    assert diag.message == "anchor &x is defined twice (first on line 1)"


def test_an_alias_without_its_anchor_is_named() -> None:
    diag = yaml_error("a: *x\n")
    assert diag.code == "yaml-anchor"
    assert (diag.location.line, diag.location.column) == (1, 4)
    assert diag.message == "alias *x has no anchor &x before it"


@pytest.mark.parametrize("section", ["sources", "transforms", "sinks", "checks"])
def test_a_stage_section_that_is_not_a_list_is_a_located_error(section: str) -> None:
    check_project(f"name: p\n{section}: 3\n")
