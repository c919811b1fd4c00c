"""``schedule:`` checks that mutation testing found unpinned: the diagnostic code, the no-cron hint and
where it points, ``enabled: false`` without any cron, and a pipeline's keys over the project's cron.

See docs/testing.md, "Mutation testing".
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.errors import Location

from .test_schedule_spec import PROJECT, errors, schedule_of


def test_a_bad_schedule_value_is_an_invalid_schedule_error(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "schedule: {cron: '0 25 * * *'}\n")
    assert problem.code == "invalid-schedule"


def test_a_schedule_without_cron_anywhere_says_how_to_add_one(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "description: nightly\nschedule: {timezone: UTC}\n")
    assert problem.code == "invalid-schedule"
    assert problem.location == Location(str(tmp_path / "p/pipeline.yaml"), 2, 1)
    assert problem.hint == (
        "add cron: '30 2 * * *' (02:30 every day) or '0 6 * * MON-FRI' (06:00 on weekdays); or remove schedule:"
    )


def test_enabled_false_without_any_cron_is_not_an_error_and_not_scheduled(tmp_path: Path) -> None:
    assert schedule_of(tmp_path, "schedule: {enabled: false}\n") is None


def test_a_pipeline_schedule_without_cron_takes_the_projects_cron(tmp_path: Path) -> None:
    project = PROJECT + "schedule: {cron: '0 1 * * *'}\n"
    schedule = schedule_of(tmp_path, "schedule: {timezone: Europe/Paris}\n", project)
    assert schedule is not None
    assert (schedule.cron, schedule.timezone) == ("0 1 * * *", "Europe/Paris")
