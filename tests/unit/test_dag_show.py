"""``etl-cli dag show``: the project's pipelines in run order, what each waits for and why, its last run; as text,
JSON, mermaid, Graphviz dot (laid out by the real ``dot``) and a self-contained HTML page.

The project (arrows: runs before): ``a`` writes out/a, which ``b`` reads; ``c`` has ``depends_on: [b]``.
``a`` has one recorded run, a success; ``b`` and ``c`` never ran.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from etl_cli.runtime.bookkeeping.history import History
from etl_cli.runtime.bookkeeping.results import RunResults
from tests.clihelp import etl_cli
from tests.lineage.programs import program
from tests.unit.dag_projects import pipeline_yaml, project

#: recent: the history's retention removes old runs
_AT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
STARTED = _AT.isoformat()
#: as the text shows it
SHOWN = f"{_AT:%Y-%m-%d %H:%M:%S} UTC"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    project(
        tmp_path,
        {
            "a": pipeline_yaml("a", writes=["out/a"], tags=["staging"]),
            "b": pipeline_yaml("b", reads=["out/a"], tags=["finance", "daily"]),
            "c": pipeline_yaml("c", depends_on=["b"]),
        },
    )
    state = tmp_path / ".etl"
    run = RunResults("r1", "a", "dev", "pipelines/a/pipeline.yaml", STARTED, duration_s=2.5, status="success")
    History(state).record(RunResults(**{**run.__dict__, "exit_code": 0}), state / "runs" / "a" / "dev" / "r1.json")
    return tmp_path


def _show(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return etl_cli("dag", "show", *args, cwd=root, env={"ETL_STATE_DIR": str(root / ".etl")})


def test_text_lists_each_pipeline_in_run_order_with_why_it_waits_and_its_last_run(shop: Path) -> None:
    done = _show(shop)
    assert done.returncode == 0, done.stderr
    never = "never run".ljust(len(SHOWN))
    assert done.stdout == (
        "DAG of shop (env dev): 3 pipelines, 2 dependencies, in the order they run\n"
        f"a  staging         success {SHOWN}  pipelines/a\n"
        f"b  finance, daily  {never}          pipelines/b\n"
        "  after a: reads out/a\n"
        f"c  -               {never}          pipelines/c\n"
        "  after b: depends_on\n"
    )


def test_text_names_what_a_selected_pipeline_waits_for_outside_the_selection(shop: Path) -> None:
    done = _show(shop, "--select", "c")
    assert done.stdout.splitlines()[1:] == ["c  -  never run  pipelines/c", "  after b (not selected): depends_on"]


def test_json_has_the_pipelines_the_edges_with_their_reasons_and_the_last_runs(shop: Path) -> None:
    shown = json.loads(_show(shop, "--format", "json").stdout)
    assert shown["order"] == ["a", "b", "c"]
    assert shown["edges"] == [
        {"upstream": "a", "downstream": "b", "reason": "dataset", "dataset": "out/a"},
        {"upstream": "b", "downstream": "c", "reason": "depends_on", "dataset": None},
    ]
    a, b, _ = shown["pipelines"]
    assert a["last_run"] == {
        "run_id": "r1",
        "status": "success",
        "env": "dev",
        "started_at": STARTED,
        "duration_s": 2.5,
        "exit_code": 0,
    }
    assert (b["file"], b["tags"], b["upstream"], b["downstream"], b["last_run"]) == (
        "pipelines/b/pipeline.yaml",
        ["finance", "daily"],
        ["a"],
        ["c"],
        None,
    )


def test_select_and_exclude_narrow_what_is_shown(shop: Path) -> None:
    shown = json.loads(_show(shop, "--format", "json", "--select", "a+", "--exclude", "tag:daily").stdout)
    assert shown["order"] == ["a", "c"]
    assert shown["edges"] == []


def test_an_unknown_selector_is_a_usage_error_with_a_suggestion(shop: Path) -> None:
    done = _show(shop, "--select", "bb+")
    assert done.returncode == 2
    assert "selector 'bb+': no pipeline named 'bb'" in done.stderr and "did you mean 'b'?" in done.stderr


def test_a_project_with_a_cycle_is_refused_with_every_problem(shop: Path) -> None:
    (shop / "pipelines" / "a" / "pipeline.yaml").write_text(pipeline_yaml("a", writes=["out/a"], depends_on=["c"]))
    done = _show(shop)
    assert done.returncode == 1
    assert re.search(r"pipelines/a/pipeline\.yaml:2:14: error: pipelines wait for each other in a cycle", done.stderr)


def test_mermaid_draws_pipelines_by_status_the_dataset_between_them_and_a_dashed_depends_on(shop: Path) -> None:
    lines = _show(shop, "--format", "mermaid").stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert lines[1:9] == [
        '  p0("a<br/>success")',
        '  p1("b<br/>never run")',
        '  p2("c<br/>never run")',
        '  d0[("out/a")]',
        "  p0 --> d0",
        "  d0 --> p1",
        "  p1 -. depends_on .-> p2",
        "  classDef success fill:#dcfce7,stroke:#16a34a,stroke-width:2px",
    ]
    assert lines[-4:] == ["  class p0 success", "  class p1 never_run", "  class p2 never_run", "  class d0 dataset"]


def test_graphviz_lays_out_the_dot_picture(shop: Path) -> None:
    text = _show(shop, "--format", "dot").stdout
    done = subprocess.run([program(("dot",), "graphviz"), "-Tjson"], input=text, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    laid_out = json.loads(done.stdout)
    names = {item["_gvid"]: item["label"] for item in laid_out["objects"]}
    assert sorted(names.values()) == ["a\\nsuccess", "b\\nnever run", "c\\nnever run", "out/a"]
    edges = {(names[e["tail"]], names[e["head"]], e.get("style")) for e in laid_out["edges"]}
    assert edges == {
        ("a\\nsuccess", "out/a", None),
        ("out/a", "b\\nnever run", None),
        ("b\\nnever run", "c\\nnever run", "dashed"),
    }


def test_dot_makes_an_svg(shop: Path) -> None:
    text = _show(shop, "--format", "dot").stdout
    done = subprocess.run([program(("dot",), "graphviz"), "-Tsvg"], input=text, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.count('<g id="node') == 4 and done.stdout.count('<g id="edge') == 3


def test_html_is_one_page_that_loads_nothing(shop: Path) -> None:
    done = _show(shop, "--format", "html", "--output", "dag.html")
    assert done.returncode == 0 and done.stdout == ""
    page = (shop / "dag.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<title>DAG of shop</title>" in page
    assert not re.search(r"\b(src|href)=|@import|url\((?!#)|https?:", page)  # url(#arrow): the marker, in the page
    assert page.count('<g class="pipeline ') == 3 and page.count('<g class="dataset"') == 1
    assert page.count('<path class="arrow ') == 3
    assert '<g class="pipeline status-success" data-name="a"' in page


def test_output_into_a_missing_folder_is_a_usage_error(shop: Path) -> None:
    done = _show(shop, "--format", "html", "--output", "nowhere/dag.html")
    assert done.returncode == 2 and "nowhere/dag.html" in done.stderr and "Traceback" not in done.stderr


def test_a_folder_inside_the_project_shows_the_whole_project(shop: Path) -> None:
    shown = json.loads(_show(shop / "pipelines" / "b", "--format", "json").stdout)
    assert shown["order"] == ["a", "b", "c"]


def test_showing_the_dag_starts_no_jvm(shop: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "etl_cli", "dag", "show", "--format", "html"],
        cwd=shop,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "pyspark" not in done.stderr
