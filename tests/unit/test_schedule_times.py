"""Next fire times of a schedule, in its time zone, across daylight-saving changes (times worked out by hand).

Europe/Paris in 2026: clocks go from 02:00 CET (+01:00) to 03:00 CEST (+02:00) on Sunday 29 March, and
from 03:00 CEST back to 02:00 CET on Sunday 25 October.
"""

from __future__ import annotations

from datetime import UTC, datetime

from etl_cli.model.schedule import ScheduleSpec
from etl_cli.orchestration.schedules import cron_extensions, next_fire_times


def utc_times(cron: str, after: str, count: int, zone: str = "Europe/Paris") -> list[str]:
    times = next_fire_times(ScheduleSpec(cron, zone), datetime.fromisoformat(after), count)
    return [t.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for t in times]


def test_a_daily_time_keeps_its_local_hour_when_clocks_go_forward() -> None:
    assert utc_times("0 9 * * *", "2026-03-27T12:00:00+00:00", 3) == [
        "2026-03-28 08:00",  # 09:00 CET
        "2026-03-29 07:00",  # 09:00 CEST
        "2026-03-30 07:00",
    ]


def test_a_time_that_does_not_exist_that_day_fires_at_the_first_minute_that_does() -> None:
    assert utc_times("30 2 * * *", "2026-03-27T12:00:00+00:00", 3) == [
        "2026-03-28 01:30",  # 02:30 CET
        "2026-03-29 01:00",  # 02:30 does not exist: 03:00 CEST
        "2026-03-30 00:30",  # 02:30 CEST
    ]


def test_a_time_that_happens_twice_fires_once_the_first_time() -> None:
    assert utc_times("30 2 * * *", "2026-10-24T12:00:00+00:00", 2) == [
        "2026-10-25 00:30",  # 02:30 CEST; 02:30 CET an hour later does not fire
        "2026-10-26 01:30",  # 02:30 CET
    ]


def test_an_every_half_hour_schedule_fires_every_half_hour_of_real_time_through_the_repeated_hour() -> None:
    assert utc_times("*/30 * * * *", "2026-10-25T00:00:00+00:00", 4) == [
        "2026-10-25 00:30",  # 02:30 CEST
        "2026-10-25 01:00",  # 02:00 CET
        "2026-10-25 01:30",  # 02:30 CET
        "2026-10-25 02:00",  # 03:00 CET
    ]


def test_fire_times_are_in_the_schedules_zone() -> None:
    (first,) = next_fire_times(ScheduleSpec("0 6 * * *", "America/New_York"), datetime(2026, 7, 1, tzinfo=UTC), 1)
    assert (first.isoformat(), str(first.tzinfo)) == ("2026-07-01T06:00:00-04:00", "America/New_York")


def test_day_of_month_and_day_of_week_both_restricted_fire_on_either() -> None:
    # 1 May 2026 is a Friday: the 1st, then the Mondays 4 and 11 May
    assert utc_times("0 0 1 * MON", "2026-04-30T12:00:00+00:00", 3, "UTC") == [
        "2026-05-01 00:00",
        "2026-05-04 00:00",
        "2026-05-11 00:00",
    ]


def test_the_extensions_a_cron_expression_uses_are_named() -> None:
    assert cron_extensions("0 0 L * 5#2,1L") == {"L", "#", "NL"}
    assert cron_extensions("0 0 LW * *") == {"LW"}
    assert cron_extensions("0 2 1-5 JAN MON-FRI") == set()
