"""``run --resume``: the failed run's ``--param`` values are taken again, and another value is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.errors import UsageError
from tests.unit.helpers import make_project

PIPELINE = """\
name: daily
params:
  ds: {type: date}
  full: {type: bool, default: false}
sources:
  - name: events
    type: csv
    path: data/events_${param:ds}.csv
sinks:
  - name: out
    type: parquet
    input: events
    path: out/day=${param:ds}
"""


def _failed_run(results: Path, run_id: str, params: dict[str, object]) -> None:
    """The results file a failed run wrote (only the fields a resume reads)."""
    results.mkdir(parents=True, exist_ok=True)
    data = {"run_id": run_id, "pipeline": "daily", "env": None, "status": "failed", "params": params}
    (results / f"{run_id}.json").write_text(json.dumps(data))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"pipelines/daily/pipeline.yaml": PIPELINE})


def _options(project: Path, *params: str) -> app.RunOptions:
    return app.RunOptions(results_dir=project / "results", params=params, resume="r1")


def test_a_resume_takes_the_params_the_failed_run_was_given(project: Path) -> None:
    given = {"ds": {"value": "2026-03-01", "type": "date", "source": "--param"}}
    _failed_run(project / "results", "r1", {**given, "full": {"value": False, "type": "bool", "source": "default"}})

    assert app._resumed_params(project / "pipelines/daily", _options(project)) == ("ds=2026-03-01",)


def test_the_same_value_given_again_is_accepted(project: Path) -> None:
    _failed_run(project / "results", "r1", {"ds": {"value": "2026-03-01", "type": "date", "source": "--param"}})

    taken = app._resumed_params(project / "pipelines/daily", _options(project, "ds=2026-03-01"))

    assert taken == ("ds=2026-03-01",)


def test_another_value_is_refused_naming_both(project: Path) -> None:
    _failed_run(project / "results", "r1", {"ds": {"value": "2026-03-01", "type": "date", "source": "--param"}})

    with pytest.raises(UsageError) as raised:
        app._resumed_params(project / "pipelines/daily", _options(project, "ds=2026-03-02"))

    assert "that run had --param ds=2026-03-01, not --param ds=2026-03-02" in str(raised.value)


def test_a_param_the_failed_run_took_by_default_cannot_be_set_on_resume(project: Path) -> None:
    _failed_run(
        project / "results",
        "r1",
        {
            "ds": {"value": "2026-03-01", "type": "date", "source": "--param"},
            "full": {"value": False, "type": "bool", "source": "default"},
        },
    )

    with pytest.raises(UsageError) as raised:
        app._resumed_params(project / "pipelines/daily", _options(project, "ds=2026-03-01", "full=true"))

    assert "that run had no --param full, not --param full=true" in str(raised.value)


def test_without_readable_results_the_params_are_as_given(project: Path) -> None:
    assert app._resumed_params(project / "pipelines/daily", _options(project, "ds=2026-03-05")) == ("ds=2026-03-05",)
