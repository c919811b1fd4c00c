"""Bounded inputs: a configuration expands to a bounded size or stops with exit 1 at a file and line.

Inputs that used to blow up (billion laughs, exponential ``${var:}``, endless ``extends``
chains) run in a child process capped at 4 GiB and 10 s, so a regression fails the test
instead of exhausting the machine. Expected places are counted by hand from the text.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from etl_cli.cli.main import main
from etl_cli.config.yaml_loader import load_yaml_text

from .helpers import PROJECT, write, yaml_error

STAGES = """
sources:
  - {name: a, type: csv, path: a.csv}
sinks:
  - {name: o, type: parquet, input: a, path: out}
"""


@pytest.fixture(autouse=True)
def _no_env_from_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETL_ENV", raising=False)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


#: how much slower than usual the code under test runs: scripts/mutation.sh sets ETL_TEST_SLOWDOWN, mutmut calling
#: every function of the package through a trampoline; the time bounds below stretch by it
SLOWDOWN = float(os.environ.get("ETL_TEST_SLOWDOWN", "1"))


def bounded_python(*args: str) -> tuple[int, str]:
    """Run Python in a child limited to 4 GiB of address space and 10 s (x SLOWDOWN); exit code and output."""
    result = subprocess.run(
        [sys.executable, *args],
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=10 * SLOWDOWN,
        preexec_fn=_cap_memory,
        stdin=subprocess.DEVNULL,
    )
    return result.returncode, result.stdout + result.stderr


def bounded_cli(*args: str) -> tuple[int, str]:
    """Run etl-cli in a bounded child (see :func:`bounded_python`)."""
    return bounded_python("-m", "etl_cli", *args)


TIMED_LOAD = """
import sys, time
from pathlib import Path
from etl_cli.config.loader import load_pipeline
started = time.perf_counter()
loaded = load_pipeline(Path(sys.argv[1]), None, environ={})
print(round(time.perf_counter() - started, 3), *[d.code for d in loaded.diagnostics])
"""


def etl(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run etl-cli in this process; exit code and everything it printed."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out + err


def pipeline(root: Path, body: str) -> Path:
    write(root, "etl-project.yaml", PROJECT)
    return write(root, "p/pipeline.yaml", body + STAGES)


# --- YAML aliases and nesting -----------------------------------------------------------


def billion_laughs() -> str:
    """Ten anchors, each a list of ten aliases of the previous one: 10**10 nodes once expanded."""
    lines = ["name: bl", "vars:", "  a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("command", ["validate", "render"])
def test_billion_laughs_stops_at_the_alias_that_crosses_the_limit(tmp_path: Path, command: str) -> None:
    # a1 copies 10 x 11 nodes (110), a2 10 x 111 (1,110): 1,220 so far; each *a2 copies 1,111,
    # so the 8th alias of a2 on line 6 (column 12 + 7 x 5) passes 10,000.
    path = pipeline(tmp_path, billion_laughs())
    code, out = bounded_cli(command, str(path))
    assert code == 1, out
    assert "pipeline.yaml:6:47" in out
    assert "*a2" in out


def test_an_anchor_shared_a_few_times_is_copied_each_time() -> None:
    tree = load_yaml_text("a: &d {x: 1}\nb: *d\nc: *d\n", "f.yaml")
    assert [tree.value[k].value["x"].value for k in "abc"] == [1, 1, 1]
    assert tree.value["b"] is not tree.value["c"]


def test_an_alias_inside_its_own_anchor_is_refused_at_the_alias() -> None:
    diag = yaml_error("a: &x [1, *x]\n")
    assert diag.code == "yaml-alias"
    assert (diag.location.line, diag.location.column) == (1, 11)


def test_nesting_past_100_levels_is_refused_where_level_101_starts() -> None:
    # the root mapping is level 1, so the 100th '[' (column 4 + 99) opens level 101
    diag = yaml_error("x: " + "[" * 100 + "]" * 100 + "\n")
    assert diag.code == "yaml-depth"
    assert (diag.location.line, diag.location.column) == (1, 103)


def test_nesting_of_exactly_100_levels_loads() -> None:
    tree = load_yaml_text("x: " + "[" * 99 + "]" * 99 + "\n", "f.yaml")
    assert tree.value["x"].is_sequence


def test_aliases_nesting_past_100_levels_are_refused_at_the_outer_alias() -> None:
    # a_k expands to k + 2 nested lists plus the scalar: a98 is the first to reach level 101,
    # and "a98: &a98 [" is 11 characters long.
    text = "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 600))
    diag = yaml_error(text)
    assert diag.code == "yaml-depth"
    assert (diag.location.line, diag.location.column) == (99, 12)


# --- interpolation ------------------------------------------------------------------------


def doubling_vars(order: range = range(11)) -> str:
    """v0 is 100 characters; each next var is ten copies of the previous one."""
    lines = ["name: vx", "vars:"]
    for i in order:
        value = "x" * 100 if i == 0 else f"${{var:v{i - 1}}}" * 10
        lines.append(f'  v{i}: "{value}"')
    return "\n".join(lines) + "\n"


def many_large_items() -> str:
    """``big`` is 10**6 characters, used in 5,000 items: 5 GB of text once interpolated."""
    return (
        'name: total\nvars:\n  v0: "' + "x" * 1000 + '"\n'
        '  v1: "' + "${var:v0}" * 10 + '"\n  v2: "' + "${var:v1}" * 10 + '"\n'
        '  big: "' + "${var:v2}" * 10 + '"\n  items: [' + ", ".join(['"${var:big}."'] * 5000) + "]\n"
    )


def list_copies() -> str:
    """v0 is a list of ten letters; each next var is a list of ten copies of the previous one."""
    lines = ["name: copies", "vars:", "  v0: [" + ", ".join("abcdefghij") + "]"]
    lines += [f"  v{i}: [" + ", ".join([f'"${{var:v{i - 1}}}"'] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def var_chain() -> str:
    """1,200 vars, each the next one: v0 -> v1 -> ... -> v1199."""
    lines = ["name: deep", "vars:"] + [f'  v{i}: "${{var:v{i + 1}}}"' for i in range(1199)] + ["  v1199: x"]
    return "\n".join(lines) + "\n"


def test_a_value_growing_past_1_mib_stops_at_its_line(tmp_path: Path) -> None:
    # v4 is 10**6 characters (under 1 MiB), v5 would be 10**7: v5 is on line 8, its value at column 7
    path = pipeline(tmp_path, doubling_vars())
    code, out = bounded_cli("validate", str(path))
    assert code == 1, out
    assert "pipeline.yaml:8:7" in out
    assert "v5" in out


def test_a_value_too_large_names_the_chain_of_variables(tmp_path: Path) -> None:
    path = pipeline(tmp_path, doubling_vars(range(10, -1, -1)))
    code, out = bounded_cli("render", str(path))
    assert code == 1, out
    assert "pipeline.yaml:8:7" in out
    assert "v10 -> v9 -> v8 -> v7 -> v6 -> v5" in out


def test_text_written_by_interpolation_is_bounded_per_pipeline(tmp_path: Path) -> None:
    # v1, v2 and big make 10**4 + 10**5 + 10**6 = 1,110,000 characters; each item adds
    # 1,000,001 more, so the 16th item passes 16 MiB (16,777,216). "  items: [" is 10 long.
    path = pipeline(tmp_path, many_large_items())
    code, out = bounded_cli("validate", str(path))
    assert code == 1, out
    assert f"pipeline.yaml:7:{11 + 15 * 15}" in out


def test_copies_of_lists_are_bounded_per_pipeline(tmp_path: Path) -> None:
    # v0 is 11 nodes; v_k holds ten copies of v_(k-1). Copies made: 110 (v1), 1,110 (v2), then
    # 1,111 per item of v3 (line 6): its 8th item passes 10,000. "  v3: [" is 7 long, items 13 apart.
    path = pipeline(tmp_path, list_copies())
    code, out = bounded_cli("validate", str(path))
    assert code == 1, out
    assert f"pipeline.yaml:6:{8 + 7 * 13}" in out


def test_variables_nested_more_than_32_deep_are_refused_with_the_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # v0 -> v1 -> ... : v31 (line 3 + 31) is the 32nd and asks for a 33rd
    path = pipeline(tmp_path, var_chain())
    code, out = etl(["validate", str(path)], capsys)
    assert code == 1, out
    assert "pipeline.yaml:34:8" in out
    assert "v0 -> v1 -> v2" in out
    assert "v31 -> v32" in out


# --- templates ----------------------------------------------------------------------------


def template_chain(root: Path, length: int) -> Path:
    """Templates t0 -> t1 -> ... -> t(length-1); the last one holds the stages."""
    for i in range(length - 1):
        write(root, f"templates/t{i}.yaml", f"extends: t{i + 1}\n")
    write(root, f"templates/t{length - 1}.yaml", STAGES)
    write(root, "etl-project.yaml", PROJECT)
    return write(root, "p/pipeline.yaml", "extends: t0\nname: p\n")


def test_a_chain_of_templates_deeper_than_32_stops_at_the_extends_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = template_chain(tmp_path, 1200)
    code, out = etl(["validate", str(path)], capsys)
    assert code == 1, out
    assert "t31.yaml:1:10" in out
    assert "t0 -> t1 -> t2" in out
    assert "t31 -> t32" in out


def test_a_chain_of_32_templates_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = template_chain(tmp_path, 32)
    code, out = etl(["validate", str(path)], capsys)
    assert code == 0, out


def test_extends_cannot_leave_the_templates_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "outside.yaml", STAGES)
    path = pipeline(tmp_path, "extends: ../outside\nname: p\n")
    code, out = etl(["validate", str(path)], capsys)
    assert code == 1, out
    assert "pipeline.yaml:1:10" in out
    assert "template-name" in out


def test_extends_cannot_name_an_absolute_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = write(tmp_path, "outside.yaml", STAGES)
    path = pipeline(tmp_path, f"extends: {{template: {outside.with_suffix('')}}}\nname: p\n")
    code, out = etl(["validate", str(path)], capsys)
    assert code == 1, out
    assert "template-name" in out


def test_a_template_linking_outside_its_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = write(tmp_path, "outside.yaml", STAGES)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "linked.yaml").symlink_to(outside)
    path = write(tmp_path, "p/pipeline.yaml", "extends: linked\nname: p\n")
    write(tmp_path, "etl-project.yaml", PROJECT)
    code, out = etl(["validate", str(path)], capsys)
    assert code == 1, out
    assert "pipeline.yaml:1:10" in out
    assert "outside" in out


@pytest.mark.parametrize(
    ("template", "extends"),
    [
        pytest.param("templates/files/base.yaml", "files/base", id="in-a-subfolder-of-templates"),
        pytest.param("templates/base.yaml", "base.yaml", id="named-with-its-extension"),
    ],
)
def test_a_template_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str, extends: str) -> None:
    write(tmp_path, template, STAGES)
    path = write(tmp_path, "p/pipeline.yaml", f"extends: {extends}\nname: p\n")
    write(tmp_path, "etl-project.yaml", PROJECT)
    code, out = etl(["validate", str(path)], capsys)
    assert code == 0, out


def _body(make: Callable[[], str]) -> Callable[[Path], Path]:
    return lambda root: pipeline(root, make())


@pytest.mark.parametrize(
    ("write_case", "code"),
    [
        (_body(billion_laughs), "yaml-alias"),
        (_body(doubling_vars), "value-size"),
        (_body(many_large_items), "interpolation-size"),
        (_body(list_copies), "interpolation-size"),
        (_body(var_chain), "variable-depth"),
        (lambda root: template_chain(root, 1200), "template-depth"),
    ],
    ids=["aliases", "value", "text", "copies", "vars", "templates"],
)
def test_each_limit_stops_loading_in_well_under_a_second(
    tmp_path: Path, write_case: Callable[[Path], Path], code: str
) -> None:
    exit_code, out = bounded_python("-c", TIMED_LOAD, str(write_case(tmp_path)))
    assert exit_code == 0, out
    seconds, *codes = out.split()
    assert codes == [code]
    assert float(seconds) < 0.5 * SLOWDOWN


# --- environments -------------------------------------------------------------------------

OPEN_PROJECT = "environments: {}\n"  # no declared environments: any overlay name is accepted


def test_env_outside_the_env_folder_is_a_usage_error_listing_environments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "etl-project.yaml", OPEN_PROJECT)
    path = write(tmp_path, "p/pipeline.yaml", "name: p\n" + STAGES)
    write(tmp_path, "p/env/dev.yaml", "name: dev\n")
    write(tmp_path, "evil.yaml", "sinks:\n  - {name: o, path: /evil}\n")
    code, out = etl(["render", str(path), "--env", "../../evil"], capsys)
    assert code == 2, out
    assert "path: /evil" not in out
    assert "dev" in out


def test_etl_env_is_checked_like_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "etl-project.yaml", OPEN_PROJECT)
    path = write(tmp_path, "p/pipeline.yaml", "name: p\n" + STAGES)
    write(tmp_path, "evil.yaml", "name: evil\n")
    monkeypatch.setenv("ETL_ENV", "../../evil")
    code, out = etl(["render", str(path)], capsys)
    assert code == 2, out


def test_default_env_in_the_project_must_be_a_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "etl-project.yaml", "environments: {}\ndefault_env: ../../evil\n")
    path = write(tmp_path, "p/pipeline.yaml", "name: p\n" + STAGES)
    write(tmp_path, "evil.yaml", "name: evil\n")
    code, out = etl(["validate", str(path)], capsys)
    assert code == 1, out
    assert "etl-project.yaml:2:14" in out


def test_environment_names_in_the_project_must_be_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "etl-project.yaml", "environments:\n  dev: {}\n  ../x: {}\n")
    path = write(tmp_path, "p/pipeline.yaml", "name: p\n" + STAGES)
    code, out = etl(["validate", str(path)], capsys)
    assert code == 1, out
    assert "etl-project.yaml:3:3" in out


def test_an_overlay_linking_outside_the_env_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "etl-project.yaml", PROJECT)
    path = write(tmp_path, "p/pipeline.yaml", "name: p\n" + STAGES)
    outside = write(tmp_path, "shared.yaml", "name: shared\n")
    (tmp_path / "p" / "env").mkdir()
    (tmp_path / "p" / "env" / "dev.yaml").symlink_to(outside)
    code, out = etl(["render", str(path), "--env", "dev"], capsys)
    assert code == 1, out
    assert "dev.yaml" in out
    assert "name: shared" not in out


# --- --set values ---------------------------------------------------------------------------


def test_a_set_value_nested_past_the_limit_is_kept_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pipeline(tmp_path, "name: p\n")
    deep = "[" * 900 + "]" * 900
    code, out = etl(["render", str(path), "--set", f"vars.x={deep}", "--format", "json"], capsys)
    assert code == 0, out
    assert json.loads(out)["vars"]["x"] == deep


def test_a_set_value_with_aliases_of_aliases_is_kept_as_text(tmp_path: Path) -> None:
    laughs = "[&a0 [" + ", ".join(["lol"] * 10) + "]"
    laughs += "".join(f", &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)) + "]"
    path = pipeline(tmp_path, "name: p\n")
    code, out = bounded_cli("render", str(path), "--set", f"vars.x={laughs}", "--format", "json")
    assert code == 0, out
    assert json.loads(out)["vars"]["x"] == laughs


def test_a_set_value_that_is_no_valid_date_is_kept_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pipeline(tmp_path, "name: p\n")
    code, out = etl(["render", str(path), "--set", "vars.x=2024-13-45", "--format", "json"], capsys)
    assert code == 0, out
    assert json.loads(out)["vars"]["x"] == "2024-13-45"


def test_a_set_value_is_still_read_as_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pipeline(tmp_path, "name: p\n")
    code, out = etl(["render", str(path), "--set", "vars.x={a: [1, true]}", "--format", "json"], capsys)
    assert code == 0, out
    assert json.loads(out)["vars"]["x"] == {"a": [1, True]}
