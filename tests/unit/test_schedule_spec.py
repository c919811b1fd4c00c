"""``schedule:`` in a pipeline and in etl-project.yaml: checked offline, each problem at its file:line:col."""

from __future__ import annotations

from pathlib import Path

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import Location
from etl_cli.model.check import check_pipeline
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.schedule import ScheduleSpec

from .helpers import make_project

STAGES = """
sources:
  - {name: src, type: csv, path: in.csv}
sinks:
  - {name: out, type: parquet, input: src, path: /tmp/out}
"""
PROJECT = "name: t\nenvironments: {dev: {}, prod: {}}\n"


def check(root: Path, schedule: str, project: str = PROJECT) -> tuple[PipelineSpec | None, list[Diagnostic]]:
    """Load ``p/pipeline.yaml``: its ``schedule:`` block (lines 1 on) followed by two stages."""
    make_project(root, {"p/pipeline.yaml": schedule + STAGES}, project=project)
    return check_pipeline(load_pipeline(root / "p", "dev", environ={}), registry())


def errors(root: Path, schedule: str, project: str = PROJECT) -> list[Diagnostic]:
    spec, diagnostics = check(root, schedule, project)
    assert spec is None
    return [d for d in diagnostics if d.severity == "error"]


def schedule_of(root: Path, schedule: str, project: str = PROJECT) -> ScheduleSpec | None:
    spec, diagnostics = check(root, schedule, project)
    assert spec is not None, diagnostics
    return spec.schedule


def at(root: Path, relative: str, line: int, column: int) -> Location:
    return Location(str(root / relative), line, column)


def test_a_cron_expression_with_an_hour_out_of_range_is_an_error_at_its_value(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "schedule:\n  cron: '0 25 * * *'\n")
    assert problem.location == at(tmp_path, "p/pipeline.yaml", 2, 9)
    assert problem.message == "schedule.cron: cron expression '0 25 * * *': the hour field is not valid"
    assert problem.hint is not None and "hour field takes 0-23" in problem.hint


def test_a_cron_expression_with_six_fields_is_an_error_naming_the_five(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "schedule: {cron: '0 0 2 * * *'}\n")
    assert problem.location == at(tmp_path, "p/pipeline.yaml", 1, 18)
    assert "has 6 fields; a schedule takes 5 (minute hour day-of-month month day-of-week)" in problem.message


def test_a_cron_shorthand_is_an_error_that_gives_its_five_fields(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "schedule: {cron: '@daily'}\n")
    assert problem.hint == "write '0 0 * * *' instead"


def test_an_unknown_time_zone_is_an_error_at_its_value_with_the_nearest_name(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "schedule:\n  cron: '0 2 * * *'\n  timezone: Europe/Pariss\n")
    assert problem.location == at(tmp_path, "p/pipeline.yaml", 3, 13)
    assert problem.message == "schedule.timezone: unknown time zone 'Europe/Pariss'"
    assert problem.hint == "did you mean 'Europe/Paris'?"


def test_a_time_zone_in_the_wrong_case_is_named_in_its_right_case(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "schedule: {cron: '0 2 * * *', timezone: europe/paris}\n")
    assert problem.hint == "did you mean 'Europe/Paris'? (time zone names are case-sensitive)"


def test_an_environment_the_project_does_not_have_is_an_error(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "schedule: {cron: '0 2 * * *', env: prd}\n")
    assert problem.message == "schedule.env: unknown environment 'prd'"
    assert problem.hint == "did you mean 'prod'?"


def test_max_active_runs_below_one_is_a_schema_error(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "schedule:\n  cron: '0 2 * * *'\n  max_active_runs: 0\n")
    assert problem.location == at(tmp_path, "p/pipeline.yaml", 3, 20)


def test_a_schedule_without_cron_anywhere_is_an_error_at_its_key(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "schedule: {timezone: UTC}\n")
    assert problem.location == at(tmp_path, "p/pipeline.yaml", 1, 1)
    assert problem.message.startswith("schedule has no cron")


def test_the_schedule_takes_its_defaults(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, "schedule: {cron: '30 2 * * *'}\n")
    assert schedule == ScheduleSpec(
        cron="30 2 * * *",
        timezone="UTC",
        catchup=False,
        max_active_runs=1,
        env=None,
        location=at(tmp_path, "p/pipeline.yaml", 1, 18),
    )


def test_a_pipeline_without_schedule_is_not_scheduled(tmp_path: Path) -> None:
    assert schedule_of(tmp_path, "") is None


def test_the_project_schedule_lies_under_the_pipelines_key_by_key(tmp_path: Path) -> None:
    project = PROJECT + "schedule: {cron: '0 1 * * *', timezone: Europe/Paris, catchup: true}\n"
    schedule = schedule_of(tmp_path, "schedule: {cron: '0 3 * * MON'}\n", project)
    assert schedule is not None
    assert (schedule.cron, schedule.timezone, schedule.catchup) == ("0 3 * * MON", "Europe/Paris", True)


def test_a_pipeline_without_schedule_takes_the_projects_and_points_at_its_cron(tmp_path: Path) -> None:
    project = PROJECT + "schedule:\n  cron: '0 1 * * *'\n"
    schedule = schedule_of(tmp_path, "", project)
    assert schedule is not None
    assert (schedule.cron, schedule.location) == ("0 1 * * *", at(tmp_path, "etl-project.yaml", 4, 9))


def test_enabled_false_leaves_a_pipeline_out_of_the_projects_schedule(tmp_path: Path) -> None:
    project = PROJECT + "schedule: {cron: '0 1 * * *'}\n"
    assert schedule_of(tmp_path, "schedule: {enabled: false}\n", project) is None


def test_a_bad_cron_in_the_project_file_is_an_error_at_its_line_there(tmp_path: Path) -> None:
    project = PROJECT + "schedule:\n  cron: '61 1 * * *'\n"
    (problem,) = errors(tmp_path, "", project)
    assert problem.location == at(tmp_path, "etl-project.yaml", 4, 9)
    assert problem.message == "schedule.cron: cron expression '61 1 * * *': the minute field is not valid"


def test_an_unknown_key_in_the_projects_schedule_is_an_error_with_the_nearest_key(tmp_path: Path) -> None:
    project = PROJECT + "schedule:\n  timezon: UTC\n"
    (problem,) = errors(tmp_path, "", project)
    assert problem.location == at(tmp_path, "etl-project.yaml", 4, 3)
    assert problem.hint == "did you mean 'timezone'?"


def test_a_catchup_that_is_not_a_boolean_in_the_project_file_is_an_error(tmp_path: Path) -> None:
    project = PROJECT + "schedule: {catchup: sometimes}\n"
    (problem,) = errors(tmp_path, "", project)
    assert problem.message == "schedule.catchup: must be true or false, got 'sometimes'"
