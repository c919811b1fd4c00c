"""``etl-cli backfill`` without Spark: intervals, the parameter chosen, sinks refused, the record and --resume.

A fake launcher stands in for the ``etl-cli run`` children (tests/spark/test_backfill.py runs real ones).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from etl_cli.cli.main import main
from etl_cli.errors import UsageError
from etl_cli.orchestration.backfill import BackfillRecord, IntervalRun, Launcher, holding
from etl_cli.orchestration.intervals import MAX_INTERVALS, intervals, parse_bound, parse_step
from etl_cli.orchestration.launch import LaunchRequest, LaunchResult
from etl_cli.usecases.backfill import BackfillOptions, BackfillOutcome, run_backfill

from .helpers import make_project


def spans(start: str, stop: str, step: str) -> list[tuple[str, str]]:
    found = intervals(parse_bound("--from", start), parse_bound("--to", stop), parse_step(step))
    return [(a.isoformat(), b.isoformat()) for a, b in found]


# --- intervals --------------------------------------------------------------------------------------------------


def test_daily_intervals_include_both_bounds_and_end_where_the_next_starts() -> None:
    assert spans("2026-01-30", "2026-02-02", "1d") == [
        ("2026-01-30T00:00:00", "2026-01-31T00:00:00"),
        ("2026-01-31T00:00:00", "2026-02-01T00:00:00"),
        ("2026-02-01T00:00:00", "2026-02-02T00:00:00"),
        ("2026-02-02T00:00:00", "2026-02-03T00:00:00"),
    ]


def test_a_to_between_two_starts_ends_with_the_interval_starting_before_it() -> None:
    assert [a for a, _ in spans("2026-01-01", "2026-01-20", "7d")] == [
        "2026-01-01T00:00:00",
        "2026-01-08T00:00:00",
        "2026-01-15T00:00:00",
    ]


def test_month_steps_from_a_months_last_day_keep_to_each_months_last_day() -> None:
    assert [a[:10] for a, _ in spans("2028-01-31", "2028-05-31", "1mo")] == [
        "2028-01-31",
        "2028-02-29",
        "2028-03-31",
        "2028-04-30",
        "2028-05-31",
    ]


def test_a_month_step_crosses_the_year() -> None:
    assert spans("2026-11-15", "2027-01-15", "1mo")[-1] == ("2027-01-15T00:00:00", "2027-02-15T00:00:00")


def test_hour_steps_in_utc_keep_the_offset() -> None:
    assert spans("2026-03-29T00:00Z", "2026-03-29T02:00Z", "1h") == [
        ("2026-03-29T00:00:00+00:00", "2026-03-29T01:00:00+00:00"),
        ("2026-03-29T01:00:00+00:00", "2026-03-29T02:00:00+00:00"),
        ("2026-03-29T02:00:00+00:00", "2026-03-29T03:00:00+00:00"),
    ]


def test_hour_steps_without_a_zone_are_wall_clock_hours() -> None:
    assert spans("2026-03-28T22:00", "2026-03-29T01:00", "6h") == [("2026-03-28T22:00:00", "2026-03-29T04:00:00")]


def test_one_bound_with_a_zone_and_one_without_is_refused() -> None:
    with pytest.raises(UsageError, match="both have a time zone offset or both have none"):
        spans("2026-01-01T00:00Z", "2026-01-02T00:00", "1h")


def test_from_after_to_is_refused() -> None:
    with pytest.raises(UsageError, match="is after --to"):
        spans("2026-02-01", "2026-01-01", "1d")


@pytest.mark.parametrize("step", ["1", "d", "0d", "1m", "1 d", "2y", "-1d"])
def test_a_step_needs_a_positive_count_and_a_known_unit(step: str) -> None:
    with pytest.raises(UsageError, match="--step"):
        parse_step(step)


@pytest.mark.parametrize("bound", ["2026-1-1", "2026-02-30", "yesterday", "2026-01-01T25:00"])
def test_a_bound_must_be_a_date_or_a_timestamp(bound: str) -> None:
    with pytest.raises(UsageError, match="expected a date"):
        parse_bound("--from", bound)


def test_too_many_intervals_are_refused() -> None:
    with pytest.raises(UsageError, match=f"more than {MAX_INTERVALS:,} intervals"):
        spans("2000-01-01T00:00", "2026-01-01T00:00", "1h")


# --- a project to backfill -----------------------------------------------------------------------------------------

PARAMS = """
params:
  ds: {type: date}
"""

SINK = "  - {name: out, type: parquet, input: events, path: out/daily, mode: overwrite, partition_by: [day]}\n"


def pipeline(params: str = PARAMS, sink: str = SINK) -> str:
    """A pipeline with ``params`` and one ``sink`` (its lines: name 1, params from 2, the sink last)."""
    return (
        "name: daily\n"
        + params.lstrip("\n")
        + "sources:\n  - {name: events, type: csv, path: data/events.csv}\n"
        + "sinks:\n"
        + sink
    )


def project(tmp_path: Path, text: str | None = None) -> Path:
    make_project(tmp_path, {"daily/pipeline.yaml": text or pipeline(), "data/events.csv": "day\n2026-01-01\n"})
    return tmp_path / "daily"


class FakeLauncher:
    """Runs no process: keeps each request, ends each run with the exit code asked for its start (default 0)."""

    def __init__(self, codes: Mapping[str, int] | None = None):
        self.codes = dict(codes or {})
        self.requests: list[LaunchRequest] = []

    def __call__(self, request: LaunchRequest, stop: threading.Event | None) -> LaunchResult:
        self.requests.append(request)
        start = next(p.partition("=")[2] for p in request.params if p.startswith("ds="))
        code = self.codes.get(start, 0)
        return LaunchResult(request.run_id, code, "success" if code == 0 else "failed", 0.5, None)

    def starts(self) -> list[str]:
        return [next(p for p in r.params if p.startswith("ds=")) for r in self.requests]


class Quiet:
    """An observer that keeps the events it was told."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def backfill_started(self, record: BackfillRecord) -> None:
        self.events.append("started")

    def interval_started(self, record: BackfillRecord, interval: IntervalRun) -> None:
        self.events.append(f"start {interval.start}")

    def interval_finished(self, record: BackfillRecord, interval: IntervalRun) -> None:
        counts = record.counts()
        self.events.append(
            f"{interval.status} {interval.start} {counts['done']}/{counts['failed']}/{counts['remaining']}"
        )


def backfill(folder: Path, launcher: Launcher, **options: object) -> BackfillOutcome:
    asked = {"start": "2026-01-01", "stop": "2026-01-03", **options}
    return run_backfill(BackfillOptions(folder, **asked), Quiet(), launcher)  # type: ignore[arg-type]


def saved(outcome: BackfillOutcome) -> dict[str, Any]:
    assert outcome.record_file is not None
    data: dict[str, Any] = json.loads(outcome.record_file.read_text(encoding="utf-8"))
    return data


# --- which parameter, which values ---------------------------------------------------------------------------------


def test_each_interval_runs_with_its_start_as_the_date_parameter_in_order(tmp_path: Path) -> None:
    launcher = FakeLauncher()
    outcome = backfill(project(tmp_path), launcher)
    assert launcher.starts() == ["ds=2026-01-01", "ds=2026-01-02", "ds=2026-01-03"]
    assert outcome.record is not None and outcome.record.exit_code == 0


def test_a_declared_end_parameter_gets_the_next_intervals_start(tmp_path: Path) -> None:
    launcher = FakeLauncher()
    params = PARAMS + "  ds_end: {type: date}\n"
    backfill(project(tmp_path, pipeline(params)), launcher, stop="2026-01-02")
    assert [r.params for r in launcher.requests] == [
        ("ds=2026-01-01", "ds_end=2026-01-02"),
        ("ds=2026-01-02", "ds_end=2026-01-03"),
    ]


def test_a_timestamp_parameter_gets_iso_timestamps(tmp_path: Path) -> None:
    launcher = FakeLauncher()
    folder = project(tmp_path, pipeline("params:\n  hour: {type: timestamp}\n"))
    backfill(folder, launcher, start="2026-01-01T22:00Z", stop="2026-01-01T23:00Z", step="1h")
    assert [r.params for r in launcher.requests] == [
        ("hour=2026-01-01T22:00:00+00:00",),
        ("hour=2026-01-01T23:00:00+00:00",),
    ]


def test_other_params_and_sets_go_to_every_run(tmp_path: Path) -> None:
    launcher = FakeLauncher()
    params = PARAMS + "  country: {type: string}\n"
    folder = project(tmp_path, pipeline(params))
    backfill(folder, launcher, stop="2026-01-01", params=("country=NO",), sets=("spark.master=local[1]",))
    (request,) = launcher.requests
    assert (request.params, request.sets) == (("country=NO", "ds=2026-01-01"), ("spark.master=local[1]",))


def test_a_missing_required_parameter_is_refused_before_any_run(tmp_path: Path) -> None:
    launcher = FakeLauncher()
    folder = project(tmp_path, pipeline(PARAMS + "  country: {type: string}\n"))
    with pytest.raises(UsageError, match="parameter 'country'"):
        backfill(folder, launcher)
    assert launcher.requests == []


def test_two_date_parameters_need_param_name(tmp_path: Path) -> None:
    folder = project(tmp_path, pipeline(PARAMS + "  other: {type: date}\n"))
    with pytest.raises(UsageError, match=r"several date or timestamp parameters \(ds, other\)"):
        backfill(folder, FakeLauncher())
    launcher = FakeLauncher()
    backfill(folder, launcher, param_name="other", params=("ds=2025-12-31",), stop="2026-01-01")
    assert launcher.requests[0].params == ("ds=2025-12-31", "other=2026-01-01")


def test_a_pipeline_without_a_date_parameter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="declares no date or timestamp parameters"):
        backfill(project(tmp_path, pipeline("params:\n  n: {type: int, default: 1}\n")), FakeLauncher())


def test_param_name_of_no_such_parameter_suggests_one(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--param-name dss: is not a parameter") as caught:
        backfill(project(tmp_path), FakeLauncher(), param_name="dss")
    assert caught.value.hint == "did you mean 'ds'?"


def test_giving_the_interval_parameter_yourself_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="the backfill gives 'ds' each interval's start"):
        backfill(project(tmp_path), FakeLauncher(), params=("ds=2026-01-01",))


def test_an_hour_step_for_a_date_parameter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a date, so intervals are whole days"):
        backfill(project(tmp_path), FakeLauncher(), step="6h")


def test_timestamp_bounds_for_a_date_parameter_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="write --from and --to as dates"):
        backfill(project(tmp_path), FakeLauncher(), start="2026-01-01T00:00", stop="2026-01-02T00:00")


# --- sinks a backfill can repeat ----------------------------------------------------------------------------------


def refusal(tmp_path: Path, sink: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    folder = project(tmp_path, pipeline(sink=sink))
    args = ["backfill", str(folder), "--from", "2026-01-01", "--to", "2026-01-02", *extra]
    with pytest.raises(SystemExit) as exited:
        main(args)
    return int(exited.value.code or 0), capsys.readouterr().err


def test_an_overwrite_of_the_whole_target_is_refused_at_its_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = "  - name: out\n    type: parquet\n    input: events\n    path: out/daily\n    mode: overwrite\n"
    code, err = refusal(tmp_path, sink, capsys)
    assert code == 1
    assert "daily/pipeline.yaml:11:5: error: sink 'out' (parquet): mode overwrite replaces the whole target" in err
    assert "partition_by" in err


def test_an_overwrite_of_a_path_holding_the_parameter_is_accepted(tmp_path: Path) -> None:
    sink = "  - {name: out, type: parquet, input: events, path: 'out/ds=${param:ds}', mode: overwrite}\n"
    launcher = FakeLauncher()
    backfill(project(tmp_path, pipeline(sink=sink)), launcher)
    assert len(launcher.requests) == 3


def test_an_overwrite_of_a_path_built_from_a_var_holding_the_parameter_is_accepted(tmp_path: Path) -> None:
    params = PARAMS + "vars:\n  out: out/ds=${param:ds}\n"
    sink = "  - {name: out, type: parquet, input: events, path: '${var:out}', mode: overwrite}\n"
    launcher = FakeLauncher()
    backfill(project(tmp_path, pipeline(params, sink)), launcher)
    assert len(launcher.requests) == 3


def test_an_append_is_refused_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sink = "  - name: out\n    type: parquet\n    input: events\n    path: out/daily\n    mode: append\n"
    code, err = refusal(tmp_path, sink, capsys)
    assert code == 1
    assert "mode append adds an interval's rows again" in err and "--allow-append" in err
    launcher = FakeLauncher()
    backfill(tmp_path / "daily", launcher, allow_append=True)
    assert len(launcher.requests) == 3


def test_mode_error_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sink = "  - {name: out, type: parquet, input: events, path: 'out/ds=${param:ds}', mode: error}\n"
    code, err = refusal(tmp_path, sink, capsys)
    assert code == 1
    assert "mode error cannot re-run an interval" in err


# --- the record, failures and --resume ----------------------------------------------------------------------------


def test_a_failed_interval_does_not_stop_the_others_and_the_worst_code_wins(tmp_path: Path) -> None:
    launcher = FakeLauncher({"2026-01-01": 3, "2026-01-02": 4})
    outcome = backfill(project(tmp_path), launcher)
    data = saved(outcome)
    assert [(i["start"], i["status"], i["exit_code"]) for i in data["intervals"]] == [
        ("2026-01-01", "failed", 3),
        ("2026-01-02", "failed", 4),
        ("2026-01-03", "succeeded", 0),
    ]
    assert (data["status"], data["exit_code"]) == ("failed", 4)


def test_the_record_is_kept_in_the_state_folder_with_the_options(tmp_path: Path) -> None:
    outcome = backfill(project(tmp_path), FakeLauncher(), step="1d")
    assert outcome.record_file is not None
    assert outcome.record_file.parent == tmp_path / ".etl" / "backfills"
    data = saved(outcome)
    assert {k: data[k] for k in ("pipeline", "param", "end_param", "from", "to", "step", "env", "status")} == {
        "pipeline": "daily",
        "param": "ds",
        "end_param": None,
        "from": "2026-01-01",
        "to": "2026-01-03",
        "step": "1d",
        "env": None,
        "status": "succeeded",
    }
    assert [i["end"] for i in data["intervals"]] == ["2026-01-02", "2026-01-03", "2026-01-04"]


def test_the_observer_hears_of_each_interval_with_the_counts(tmp_path: Path) -> None:
    quiet = Quiet()
    run_backfill(BackfillOptions(project(tmp_path), "2026-01-01", "2026-01-02"), quiet, FakeLauncher({"2026-01-01": 4}))
    assert quiet.events == [
        "started",
        "start 2026-01-01",
        "failed 2026-01-01 0/1/1",
        "start 2026-01-02",
        "succeeded 2026-01-02 1/1/0",
    ]


def test_resume_runs_only_what_did_not_succeed_and_keeps_the_earlier_run_ids(tmp_path: Path) -> None:
    folder = project(tmp_path)
    first = backfill(folder, FakeLauncher({"2026-01-02": 4}))
    assert first.record is not None
    failed_run = first.record.intervals[1].run_id
    again = FakeLauncher()
    resumed = run_backfill(BackfillOptions(folder, resume=first.record.backfill_id), Quiet(), again)
    assert again.starts() == ["ds=2026-01-02"]
    assert resumed.record_file == first.record_file
    data = saved(resumed)
    assert [i["status"] for i in data["intervals"]] == ["succeeded"] * 3
    assert data["intervals"][1]["earlier_run_ids"] == [failed_run]
    assert (data["status"], data["exit_code"], len(data["resumed_at"])) == ("succeeded", 0, 1)


def test_resuming_a_backfill_that_succeeded_runs_nothing(tmp_path: Path) -> None:
    folder = project(tmp_path)
    first = backfill(folder, FakeLauncher())
    assert first.record is not None
    again = FakeLauncher()
    outcome = run_backfill(BackfillOptions(folder, resume=first.record.backfill_id), Quiet(), again)
    assert (outcome.record, outcome.nothing_to_resume, again.requests) == (None, first.record.backfill_id, [])


def test_resume_takes_its_options_from_the_record(tmp_path: Path) -> None:
    folder = project(tmp_path)
    with pytest.raises(UsageError, match="drop --from, --env"):
        run_backfill(BackfillOptions(folder, start="2026-01-01", env="dev", resume="x"), Quiet(), FakeLauncher())


def test_resume_of_an_unknown_id_names_the_recent_ones(tmp_path: Path) -> None:
    folder = project(tmp_path)
    first = backfill(folder, FakeLauncher())
    assert first.record is not None
    with pytest.raises(UsageError, match="no backfill 'nope'") as caught:
        run_backfill(BackfillOptions(folder, resume="nope"), Quiet(), FakeLauncher())
    assert caught.value.hint == f"recent backfills: {first.record.backfill_id}"


def test_sigint_during_an_interval_leaves_the_next_ones_not_run_and_exits_130(tmp_path: Path) -> None:
    def interrupted(request: LaunchRequest, stop: threading.Event | None) -> LaunchResult:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the first interval runs; it still ends normally
        return LaunchResult(request.run_id, 0, "success", 0.1, None)

    outcome = backfill(project(tmp_path), interrupted)
    data = saved(outcome)
    assert [i["status"] for i in data["intervals"]] == ["succeeded", "not_run", "not_run"]
    assert (data["status"], data["exit_code"]) == ("interrupted", 130)


def test_the_record_reads_back_as_written(tmp_path: Path) -> None:
    outcome = backfill(project(tmp_path), FakeLauncher({"2026-01-03": 5}))
    assert outcome.record is not None
    assert BackfillRecord.from_json(saved(outcome)) == outcome.record


def test_one_process_at_a_time_works_on_a_record(tmp_path: Path) -> None:
    with (
        holding(tmp_path, "b1"),
        pytest.raises(UsageError, match="backfill b1 is running in another process"),
        holding(tmp_path, "b1"),
    ):
        pass


def test_the_cli_prints_progress_and_the_resume_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = project(tmp_path)
    monkeypatch.setattr("etl_cli.usecases.backfill.launch", FakeLauncher({"2026-01-02": 4}))
    with pytest.raises(SystemExit) as exited:
        main(["backfill", str(folder), "--from", "2026-01-01", "--to", "2026-01-02"])
    err = capsys.readouterr().err
    assert exited.value.code == 4
    assert "succeeded 2026-01-01 · exit 0 in 0.5s · done 1, failed 0, remaining 1" in err
    assert "failed    2026-01-02 · exit 4 in 0.5s" in err
    assert "done 1, failed 1, remaining 0" in err
    assert f"etl-cli backfill {folder} --resume " in err


def test_interval_starts_are_datetimes_of_the_bounds() -> None:
    (only,) = intervals(parse_bound("--from", "2026-01-01"), parse_bound("--to", "2026-01-01"), parse_step("1d"))
    assert only == (datetime(2026, 1, 1), datetime(2026, 1, 2))
