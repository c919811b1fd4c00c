"""The project's ``schedule:`` block checked by config/schedules.py, pinned where mutation testing found it loose.

``check_schedule_block`` (the block of etl-project.yaml): the code, message, place and example of a block that is
not a mapping, of an unknown key (with and without a close one) and of a bad value; every key is checked, also
after an unknown one; the environments passed in are the ones an ``env:`` is checked against. ``value_problem``:
the message and hint of a value of the wrong type for each key, and the bounds of ``max_active_runs``.
``cron_problem``: the message of a shorthand, the hint of a wrong number of fields, and an expression that
passes cronsim's parsing but never fires. ``timezone_problem`` and ``environment_problem``: the message and hint of a
zone name close to none the database has, and of an environment that is not a name.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.limits import NAME_RULE
from etl_cli.config.project import read_project
from etl_cli.config.schedules import (
    CRON_EXAMPLE,
    ValueProblem,
    check_schedule_block,
    cron_problem,
    environment_problem,
    timezone_problem,
    value_problem,
)
from etl_cli.config.yaml_loader import load_yaml_text

from .helpers import column, make_project, said

ENVIRONMENTS = ("dev", "prod")
KNOWN_KEYS = "known keys: cron, timezone, catchup, max_active_runs, env, enabled"


def checked(text: str, environments: Collection[str] = ENVIRONMENTS) -> list[tuple[str, str, str | None, int, int]]:
    """What ``check_schedule_block`` says of the ``schedule:`` of an etl-project.yaml whose text is ``text``."""
    tree = load_yaml_text(text, "etl-project.yaml")
    node = tree.get("schedule")
    assert node is not None
    return [said(d) for d in check_schedule_block(node, environments, "schedule")]


# --- check_schedule_block -----------------------------------------------------------------------------------------


def test_a_schedule_that_is_not_a_mapping_is_a_wrong_type_error_at_its_value_with_an_example() -> None:
    line = "schedule: [30 2 * * *]"
    assert checked(line + "\n") == [
        (
            "wrong-type",
            "'schedule' must be a mapping of settings",
            "for example: schedule: {cron: '30 2 * * *', timezone: Europe/Paris}",
            1,
            column(line, "["),
        )
    ]


def test_an_unknown_key_far_from_every_known_one_lists_the_known_keys_at_the_key() -> None:
    assert checked("schedule:\n  bogus: 1\n") == [("unknown-key", "unknown key 'bogus' in schedule", KNOWN_KEYS, 2, 3)]


def test_keys_after_an_unknown_key_are_still_checked() -> None:
    text = "schedule:\n  crn: '0 1 * * *'\n  catchup: sometimes\n  bogus: 1\n"
    assert checked(text) == [
        ("unknown-key", "unknown key 'crn' in schedule", "did you mean 'cron'?", 2, 3),
        ("invalid-schedule", "schedule.catchup: must be true or false, got 'sometimes'", "write true or false", 3, 12),
        ("unknown-key", "unknown key 'bogus' in schedule", KNOWN_KEYS, 4, 3),
    ]


def test_a_bad_value_is_an_invalid_schedule_error_at_the_value_with_the_problems_hint() -> None:
    assert checked("schedule:\n  cron: '0 25 * * *'\n") == [
        (
            "invalid-schedule",
            "schedule.cron: cron expression '0 25 * * *': the hour field is not valid",
            "the hour field takes 0-23, with lists (a,b), ranges (a-b) and steps (*/n)",
            2,
            9,
        )
    ]


def test_the_env_is_checked_against_the_environments_given() -> None:
    assert checked("schedule: {env: stage}\n") == [
        ("invalid-schedule", "schedule.env: unknown environment 'stage'", "choose one of: dev, prod", 1, 17)
    ]
    assert checked("schedule: {env: stage}\n", environments=("dev", "stage")) == []


def test_the_project_file_reports_the_schedules_problems_among_its_own(tmp_path: Path) -> None:
    make_project(tmp_path, project="name: t\nenvironments: {dev: {}, prod: {}}\nschedule: {env: prd}\n")
    project, problems = read_project(tmp_path)
    assert [said(d) for d in problems] == [
        ("invalid-schedule", "schedule.env: unknown environment 'prd'", "did you mean 'prod'?", 3, 17)
    ]
    assert project.schedule is None


# --- value_problem ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("cron", f"for example {CRON_EXAMPLE}"),
        ("timezone", "for example UTC or Europe/Paris"),
        ("env", "the name of an environment, for example prod"),
    ],
)
def test_a_text_key_that_is_not_text_says_so_with_an_example(key: str, hint: str) -> None:
    assert value_problem(key, 5, ENVIRONMENTS) == ValueProblem("must be a string, got 5", hint)


@pytest.mark.parametrize("key", ["catchup", "enabled"])
def test_a_boolean_key_that_is_not_a_boolean_says_to_write_true_or_false(key: str) -> None:
    assert value_problem(key, "yes", ENVIRONMENTS) == ValueProblem(
        "must be true or false, got 'yes'", "write true or false"
    )
    assert value_problem(key, False, ENVIRONMENTS) is None


@pytest.mark.parametrize("value", [0, -1, True, False, "2", 1.5, None])
def test_max_active_runs_that_is_not_a_whole_number_of_at_least_one_is_refused(value: Any) -> None:
    assert value_problem("max_active_runs", value, ENVIRONMENTS) == ValueProblem(
        f"must be a whole number of at least 1, got {value!r}", "1 runs one at a time"
    )


@pytest.mark.parametrize("value", [1, 2, 50])
def test_max_active_runs_of_one_or_more_is_accepted(value: int) -> None:
    assert value_problem("max_active_runs", value, ENVIRONMENTS) is None


# --- cron_problem -------------------------------------------------------------------------------------------------


def test_a_shorthand_says_what_it_is_and_gives_its_five_fields() -> None:
    assert cron_problem("@Hourly") == ValueProblem(
        "cron expression '@Hourly' is a shorthand: a schedule takes the five fields", "write '0 * * * *' instead"
    )


def test_a_wrong_number_of_fields_names_the_five_and_gives_an_example() -> None:
    assert cron_problem("0 2 * *") == ValueProblem(
        "cron expression '0 2 * *' has 4 fields; a schedule takes 5 (minute hour day-of-month month day-of-week)",
        f"for example {CRON_EXAMPLE}",
    )


def test_an_expression_no_date_matches_never_fires() -> None:
    # the 1st of a month (*/31 starts with a star: day and weekday must both match) that is its fifth Monday
    assert cron_problem("0 0 */31 * MON#5") == ValueProblem(
        "cron expression '0 0 */31 * MON#5' never fires (no date matches it)",
        "check the day-of-month and month fields",
    )


def test_an_expression_that_fires_only_in_some_leap_years_is_valid() -> None:
    # the fifth Friday of February is 29 February on a Friday: 2008, 2036...
    assert cron_problem("0 0 * 2 5#5") is None


# --- timezone_problem and environment_problem ------------------------------------------------------------------------


def test_a_time_zone_close_to_no_known_one_is_told_to_use_an_iana_name() -> None:
    assert timezone_problem("Mars/Olympus_Mons") == ValueProblem(
        "unknown time zone 'Mars/Olympus_Mons'", "use an IANA time zone name, for example UTC or Europe/Paris"
    )


def test_an_environment_that_is_not_a_name_says_so_and_what_a_name_is() -> None:
    assert environment_problem("../prod", ("dev", "prod")) == ValueProblem(
        "environment '../prod' is not a name", f"use {NAME_RULE}"
    )
