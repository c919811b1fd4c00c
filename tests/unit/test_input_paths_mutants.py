"""How ``validate`` tells that a local input path names nothing (etl_cli/model/input_paths.py, ``missing_input``
with ``_matches`` and ``_alternatives``), called in-process on files made in a temporary folder: a path holding a
``${`` reference is left alone; a plain path that is not there "does not exist"; a glob "matches nothing" unless
it matches a file, hidden ones included; ``[^...]`` is Hadoop's negation (Python's ``[!...]``); ``{a,b}`` is
expanded, up to 256 alternatives exactly, and a glob with more is not checked at all.

Then which sources ``check_input_paths`` checks (``_reads_files``): a batch source of a file type, each of its paths
(one or a list), word for word with its hint and place; not a source whose type takes no ``path`` (a stray
``path:`` key on a jdbc source), of an unknown type or of none (the schema's errors say so, this check must not
fail on them), nor a plug-in's file source reading a stream. No JVM."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import warning
from etl_cli.errors import Location
from etl_cli.model.input_paths import INPUT_NOT_FOUND, check_input_paths, missing_input
from etl_cli.plugins.api import PLUGIN_KINDS
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sources.files import CsvSource
from tests.unit.helpers import column, make_project, write

#: 16 x 16 = 256 alternatives: still checked; 16 x 17 = 272: too many, not checked
SIXTEEN = "{" + ",".join(f"a{i}" for i in range(16)) + "}"
SEVENTEEN = "{" + ",".join(f"b{i}" for i in range(17)) + "}"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        pytest.param("data/${var:day}/orders.csv", None, id="a-path-holding-a-reference-is-not-checked"),
        pytest.param("data/nope.csv", "data/nope.csv, which does not exist", id="a-missing-plain-path"),
        pytest.param("data/orders.csv", None, id="an-existing-plain-path"),
        pytest.param("data/*.csv", None, id="a-glob-matching-a-file"),
        pytest.param("data/*.json", "data/*.json, which matches nothing", id="a-glob-matching-nothing"),
        pytest.param("hidden/*.csv", None, id="a-glob-matching-a-hidden-file-only"),
        pytest.param("data/[^o]*.csv", None, id="hadoop-negation-matching-another-file"),
        pytest.param("data/[^ob]*.csv", "data/[^ob]*.csv, which matches nothing", id="hadoop-negation-matching-none"),
        pytest.param("data/{nope,bills}.csv", None, id="alternatives-one-of-which-matches"),
        pytest.param(
            "data/{nope,none}.csv", "data/{nope,none}.csv, which matches nothing", id="no-alternative-matches"
        ),
        pytest.param(
            f"data/{SIXTEEN}{SIXTEEN}.csv",
            f"data/{SIXTEEN}{SIXTEEN}.csv, which matches nothing",
            id="256-alternatives-are-still-checked",
        ),
        pytest.param(f"data/{SIXTEEN}{SEVENTEEN}.csv", None, id="more-than-256-alternatives-are-not-checked"),
    ],
)
def test_what_a_local_input_path_fails_to_name(tmp_path: Path, path: str, problem: str | None) -> None:
    write(tmp_path, "data/orders.csv", "id\n1\n")
    write(tmp_path, "data/bills.csv", "id\n1\n")
    write(tmp_path, "hidden/.part-0.csv", "id\n1\n")
    expected = None if problem is None else f"{tmp_path}/{problem}"
    assert missing_input(path, tmp_path) == expected


class TailedCsvSource(CsvSource):
    """A plug-in file source that reads its folder as a stream under ``mode: stream``."""

    type = "tailed_csv"

    @classmethod
    def is_streaming(cls, options: Mapping[str, Any]) -> bool:
        return options.get("mode") == "stream"


INPUTS = """\
sources:
  - {name: orders, type: csv, path: nope/orders.csv}
  - {name: db, type: jdbc, url: "jdbc:postgresql://db/shop", table: t, path: nope/db.csv}
  - {name: odd, type: nope, path: nope/odd.csv}
  - {name: untyped, path: nope/untyped.csv}
  - {name: tail, type: tailed_csv, mode: stream, path: nope/tail.csv}
  - {name: days, type: tailed_csv, path: [nope/d1.csv, nope/d2.csv]}
"""


def test_only_the_paths_of_batch_file_sources_are_checked_each_at_its_place(tmp_path: Path) -> None:
    plugins = Registry()
    for kind in PLUGIN_KINDS:
        for plugin in registry().plugins(kind):
            plugins.register(plugin)
    plugins.register(TailedCsvSource)
    make_project(tmp_path, {"p/pipeline.yaml": INPUTS})
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    file = str(tmp_path / "p" / "pipeline.yaml")
    hint = f"fix the path, or ignore this if the input arrives before the run; {loaded.project.relative_paths_rule()}"

    lines = INPUTS.splitlines()

    def missing(name: str, path: str, line: int, token: str) -> object:
        message = f"source '{name}' reads {tmp_path}/{path}, which does not exist"
        return warning(INPUT_NOT_FOUND, message, Location(file, line, column(lines[line - 1], token)), hint)

    assert check_input_paths(loaded.document, loaded, plugins) == [
        missing("orders", "nope/orders.csv", 2, "path"),
        missing("days", "nope/d1.csv", 7, "nope/d1.csv"),
        missing("days", "nope/d2.csv", 7, "nope/d2.csv"),
    ]
