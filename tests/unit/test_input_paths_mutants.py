"""How ``validate`` tells that a local input path names nothing (etl_cli/model/input_paths.py, ``missing_input``
with ``_matches`` and ``_alternatives``), called in-process on files made in a temporary folder: a path holding a
``${`` reference is left alone; a plain path that is not there "does not exist"; a glob "matches nothing" unless
it matches a file, hidden ones included; ``[^...]`` is Hadoop's negation (Python's ``[!...]``); ``{a,b}`` is
expanded, up to 256 alternatives exactly, and a glob with more is not checked at all. No JVM."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.model.input_paths import missing_input
from tests.unit.helpers import write

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
