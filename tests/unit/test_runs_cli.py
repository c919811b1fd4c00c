"""``etl-cli runs list|show|diff``: the run history as people and scripts read it.

The history is filled the way runs fill it (History.record), or from results files of runs
made before it existed; every expected cell is written out by hand from those runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_cli.cli.main import main
from etl_cli.events import StageResult
from etl_cli.runtime.bookkeeping.history import History
from etl_cli.runtime.bookkeeping.results import RunResults
from tests.unit.helpers import PROJECT, make_project


def run(
    run_id: str,
    pipeline: str,
    minute: int,
    stages: list[StageResult],
    status: str = "success",
    error: dict[str, str] | None = None,
) -> RunResults:
    at = f"2026-12-01T10:{minute:02d}:00.000+00:00"
    return RunResults(
        run_id,
        pipeline,
        "dev",
        f"pipelines/{pipeline}/pipeline.yaml",
        started_at=at,
        ended_at=at,
        duration_s=sum(s.duration_s for s in stages),
        status=status,
        exit_code=0 if status == "success" else 4,
        master="local[2]",
        stages=stages,
        error=error,
    )


#: run A: 100 rows read, 80 kept and written in 10s; run B: 120 read, 90 kept, written in 15s, plus a second sink
RUN_A = run(
    "20261201T100000Z-aaaa1111",
    "orders",
    0,
    [
        StageResult("raw", "source", "csv", "ok", None, 100, 2.0),
        StageResult("kept", "transform", "filter", "ok", 100, 80, 0.0),
        StageResult("out", "sink", "parquet", "ok", 80, 80, 8.0),
    ],
)
RUN_B = run(
    "20261201T100500Z-bbbb2222",
    "orders",
    5,
    [
        StageResult("raw", "source", "csv", "ok", None, 120, 3.0),
        StageResult("kept", "transform", "filter", "ok", 120, 90, 0.0),
        StageResult("out", "sink", "parquet", "ok", 90, 90, 10.0),
        StageResult("audit", "sink", "csv", "ok", 90, 90, 2.0),
    ],
)
FAILED = run(
    "20261201T101000Z-cccc3333",
    "customers",
    10,
    [StageResult("raw", "source", "csv", "failed", None, None, 0.5, error="file not found")],
    status="failed",
    error={"type": "RunError", "message": "stage raw failed: file not found", "stage": "raw"},
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose history holds RUN_A, RUN_B and FAILED (its state dir: .etl)."""
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)
    make_project(tmp_path, project=PROJECT)
    history = History(tmp_path / ".etl")
    for results in (RUN_A, RUN_B, FAILED):
        history.record(results, tmp_path / ".etl" / "runs" / results.pipeline / "dev" / f"{results.run_id}.json")
    return tmp_path


def etl(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_list_shows_the_runs_newest_first(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = etl(["runs", "list", str(project)], capsys)

    assert code == 0, err
    assert out.splitlines() == [
        "run id                     pipeline   env  status   exit  started (UTC)        duration  rows written",
        "20261201T101000Z-cccc3333  customers  dev  failed      4  2026-12-01 10:10:00     0.50s             —",
        "20261201T100500Z-bbbb2222  orders     dev  success     0  2026-12-01 10:05:00     15.0s           180",
        "20261201T100000Z-aaaa1111  orders     dev  success     0  2026-12-01 10:00:00     10.0s            80",
    ]


def test_list_filters_by_pipeline_and_status(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, orders, _ = etl(["runs", "list", str(project), "--pipeline", "orders", "--format", "json"], capsys)
    _, failed, _ = etl(["runs", "list", str(project), "--status", "failed", "--format", "json"], capsys)
    _, newest, _ = etl(["runs", "list", str(project), "--limit", "1", "--format", "json"], capsys)

    assert [r["run_id"] for r in json.loads(orders)["runs"]] == [RUN_B.run_id, RUN_A.run_id]
    assert [r["run_id"] for r in json.loads(failed)["runs"]] == [FAILED.run_id]
    assert [r["run_id"] for r in json.loads(newest)["runs"]] == [FAILED.run_id]


def test_list_finds_the_project_from_a_folder_inside_it(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pipelines" / "orders").mkdir(parents=True)

    code, out, _ = etl(["runs", "list", str(project / "pipelines" / "orders"), "--format", "json"], capsys)

    assert code == 0
    assert len(json.loads(out)["runs"]) == 3


def test_list_imports_the_results_files_of_runs_before_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)
    make_project(tmp_path, project=PROJECT)
    for results in (RUN_A, RUN_B):
        folder = tmp_path / ".etl" / "runs" / "orders" / "dev"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{results.run_id}.json").write_text(json.dumps(results.to_json()), encoding="utf-8")
        (folder / "latest.json").write_text(json.dumps(results.to_json()), encoding="utf-8")

    first = etl(["runs", "list", str(tmp_path), "--format", "json"], capsys)[1]
    second = etl(["runs", "list", str(tmp_path), "--format", "json"], capsys)[1]

    assert [r["run_id"] for r in json.loads(first)["runs"]] == [RUN_B.run_id, RUN_A.run_id]
    assert json.loads(second) == json.loads(first)


def test_list_of_a_project_that_never_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)
    make_project(tmp_path, project=PROJECT)

    code, out, _ = etl(["runs", "list", str(tmp_path)], capsys)

    assert (code, out) == (0, "no runs recorded\n")
    assert not (tmp_path / ".etl").exists()


def test_show_lists_stages_and_the_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = etl(["runs", "show", FAILED.run_id, "--project", str(project)], capsys)

    assert code == 0, err
    results_file = project / ".etl" / "runs" / "customers" / "dev" / f"{FAILED.run_id}.json"
    assert out.splitlines() == [
        f"run {FAILED.run_id} · pipeline customers · env dev",
        "failed (exit 4) · started 2026-12-01 10:10:00 UTC · 0.50s · master local[2] · rows written —",
        "error in stage raw: RunError: stage raw failed: file not found",
        f"results: {results_file}",
        "stages",
        "stage  kind    type  status  rows in  rows out   time  error",
        "raw    source  csv   failed        —         —  0.50s  file not found",
    ]


def test_show_takes_the_start_of_an_id(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = etl(["runs", "show", "20261201T1005", "--project", str(project), "--format", "json"], capsys)

    assert code == 0
    shown = json.loads(out)
    assert (shown["run_id"], [s["name"] for s in shown["stages"]]) == (RUN_B.run_id, ["raw", "kept", "out", "audit"])


def test_show_an_unknown_run_suggests_a_recent_one(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = etl(["runs", "show", "20261201T100000Z-aaaa1112", "--project", str(project)], capsys)

    assert code == 2
    assert "no run '20261201T100000Z-aaaa1112'" in err
    assert "did you mean '20261201T100000Z-aaaa1111'?" in err


def test_show_a_start_shared_by_several_runs_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = etl(["runs", "show", "20261201T10", "--project", str(project)], capsys)

    assert code == 2
    assert "names more than one run" in err


def test_diff_puts_rows_and_durations_side_by_side(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = etl(["runs", "diff", RUN_A.run_id, RUN_B.run_id, "--project", str(project)], capsys)

    assert code == 0, err
    assert out.splitlines()[2:] == [
        "stage              kind       rows A  rows B     rows change  time A  time B      time change",
        "raw                source        100     120    +20 (+20.0%)   2.00s   3.00s  +1.00s (+50.0%)",
        "kept               transform      80      90    +10 (+12.5%)   0.00s   0.00s            0.00s",
        "out                sink           80      90    +10 (+12.5%)   8.00s   10.0s  +2.00s (+25.0%)",
        "audit (only in B)  sink            —      90               —       —   2.00s                —",
        "(whole run)                       80     180  +100 (+125.0%)   10.0s   15.0s  +5.00s (+50.0%)",
    ]


def test_diff_as_json_gives_each_change(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = etl(["runs", "diff", RUN_A.run_id, RUN_B.run_id, "--project", str(project), "-f", "json"], capsys)

    stages = {s["name"]: s for s in json.loads(out)["stages"]}
    assert stages["raw"]["rows_out"] == {"a": 100, "b": 120, "change": 20, "percent": 20.0}
    assert stages["audit"]["only_in"] == "b"
    assert stages["audit"]["rows_out"] == {"a": None, "b": 90, "change": None, "percent": None}


def test_an_id_given_to_runs_of_two_pipelines_is_told_apart_by_pipeline(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = run(RUN_A.run_id, "customers", 30, [StageResult("raw", "source", "csv", "ok", None, 7, 1.0)])
    History(project / ".etl").record(twin, project / "twin.json")

    ambiguous, _, err = etl(["runs", "show", RUN_A.run_id, "--project", str(project)], capsys)
    chosen, out, _ = etl(
        ["runs", "show", RUN_A.run_id, "--pipeline", "customers", "--project", str(project), "-f", "json"], capsys
    )

    assert ambiguous == 2 and "name the pipeline with --pipeline" in err
    assert chosen == 0 and json.loads(out)["pipeline"] == "customers"


def test_a_damaged_history_is_an_error_naming_the_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = project / ".etl" / "history.sqlite"
    for leftover in store.parent.glob("history.sqlite-*"):  # the WAL files of the good store
        leftover.unlink()
    store.write_bytes(b"not a database " * 100)

    code, _, err = etl(["runs", "list", str(project)], capsys)

    assert code == 4
    assert f"cannot open the run history {store}: file is not a database" in err
