"""``etl-cli lineage --format mermaid|dot|html [--output FILE]`` on a small pipeline written here: the pictures
hold the edges worked out by hand below, and a page written to a file opens in a browser with them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clihelp import etl_cli
from tests.lineage.programs import PageDom, program, run_chromium
from tests.unit.helpers import make_project

PIPELINE = """
    name: tiny
    sources:
      - name: people
        type: csv
        path: people.csv
        schema: {id: BIGINT, name: STRING, age: INT}
    transforms:
      - name: adults
        type: filter
        inputs: [people]
        condition: age >= 18
      - name: greeted
        type: derive
        inputs: [adults]
        columns:
          greeting: concat('hello ', name)
    sinks:
      - name: out
        type: parquet
        input: greeted
        path: out
"""

#: (source, arrow and label, target) by box title and column: the file read, each stage, the folder written
EDGES = {
    *{(f"people.csv.{c}", "-->", f"people.{c}") for c in ("id", "name", "age")},
    *{(f"people.{c}", "-->", f"adults.{c}") for c in ("id", "name", "age")},
    ("people.age", "-.->|filter|", "adults.id"),
    ("people.age", "-.->|filter|", "adults.name"),
    *{(f"adults.{c}", "-->", f"greeted.{c}") for c in ("id", "name", "age")},
    ("adults.name", "-->|expression|", "greeted.greeting"),
    *{(f"greeted.{c}", "-->", f"out.{c}") for c in ("id", "name", "age", "greeting")},
    *{(f"out.{c}", "-->", f"out.{c}") for c in ("id", "name", "age", "greeting")},
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"tiny/pipeline.yaml": PIPELINE})


def _lineage(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = etl_cli("lineage", "tiny", *args, cwd=project)
    assert done.returncode == 0, done.stderr
    return done


def _mermaid_edges(text: str) -> set[tuple[str, str, str]]:
    """The edges of a mermaid flowchart, each end named ``box title.column`` (title: the label's first part)."""
    titles = {
        short: label.split(" · ")[0].rsplit("/", 1)[-1]
        for short, label in re.findall(r'subgraph (n\d+)\["([^"]*)"\]', text)
    }
    columns = {
        short: f"{titles[box]}.{label}" for short, box, label in re.findall(r'\s((n\d+)c\d+)\["([^"]*)"\]', text)
    }
    lines = re.findall(r"^  (n\d+c\d+) (\S+) (n\d+c\d+)$", text, re.M)
    return {(columns[source], arrow, columns[target]) for source, arrow, target in lines}


def test_mermaid_draws_every_column_edge_of_the_pipeline(project: Path) -> None:
    text = _lineage(project, "--format", "mermaid").stdout
    assert text.startswith("flowchart LR\n")
    assert '  subgraph p0["tiny"]' in text.splitlines()
    assert _mermaid_edges(text) == EDGES


def test_graphviz_lays_out_the_dot_picture_of_the_pipeline(project: Path) -> None:
    text = _lineage(project, "--format", "dot").stdout
    done = subprocess.run([program(("dot",), "graphviz"), "-Tjson"], input=text, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    laid_out = json.loads(done.stdout)
    assert len([item for item in laid_out["objects"] if "nodes" not in item]) == 6  # 4 stages, 2 files
    assert len(laid_out["edges"]) == len(EDGES)


def test_output_writes_the_page_to_a_file_and_prints_nothing(project: Path) -> None:
    done = _lineage(project, "--format", "html", "--output", "lineage.html")
    assert done.stdout == ""
    page = (project / "lineage.html").read_text(encoding="utf-8")
    assert "<title>Lineage of tiny</title>" in page
    assert page.count('<g class="node ') == 6 and page.count('<path class="edge ') == len(EDGES)


def test_the_page_of_one_column_says_so_in_its_title(project: Path) -> None:
    page = _lineage(project, "--format", "html", "--column", "tiny.greeted.greeting", "--upstream").stdout
    assert "<title>Lineage of tiny.greeted.greeting (upstream)</title>" in page


def test_output_into_a_missing_folder_is_refused_with_the_path(project: Path) -> None:
    done = etl_cli("lineage", "tiny", "--format", "html", "--output", "nowhere/lineage.html", cwd=project)
    assert done.returncode == 2
    assert "nowhere/lineage.html" in done.stderr and "Traceback" not in done.stderr
    assert not (project / "nowhere").exists()


def test_the_written_page_opened_at_a_column_highlights_its_lineage_in_a_browser(project: Path) -> None:
    _lineage(project, "--format", "html", "--output", "lineage.html")
    url = (project / "lineage.html").as_uri() + "#column=tiny.greeted.greeting"
    dom = PageDom()
    dom.feed(run_chromium(project / "profile", "--dump-dom", url).stdout)
    data = f"dataset:file:{project.resolve()}"
    assert dom.having("selected") == {"tiny.greeted.greeting"}
    assert dom.having("upstream") == {
        "tiny.adults.name",  # greeting = concat('hello ', name)
        "tiny.people.name",
        "tiny.people.age",  # adults keeps the rows where age >= 18
        f"{data}/people.csv.name",
        f"{data}/people.csv.age",
    }
    assert dom.having("downstream") == {"tiny.out.greeting", f"{data}/out.greeting"}


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "html"])
def test_drawing_the_lineage_imports_no_spark(project: Path, fmt: str) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "etl_cli", "lineage", "tiny", "--format", fmt],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "etl_cli" in imported and not imported & {"pyspark", "py4j"}
