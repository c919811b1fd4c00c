"""``schedule export --format systemd``: a oneshot ``.service`` and its ``.timer`` per scheduled pipeline.

The timer's ``OnCalendar=`` lines are the cron expression in systemd's calendar syntax, with the time
zone: each field becomes the list of values it stands for (ranges as ``a..b``). cron runs a line whose
day of month and day of week are both restricted (neither starts with ``*``) on either day, so that is
two ``OnCalendar=`` lines, one per field; systemd's ``~`` (days from the end of the month) expresses
``L`` (the last day), ``NL`` (the last weekday N) and ``N#K`` becomes weekday N on days 7K-6 to 7K.
``LW`` has no equivalent and is an error. ``Persistent=`` is the schedule's ``catchup``: systemd then
starts a run missed while the machine was off as soon as it is back. systemd never starts a unit that is
still running, so a timer's runs never overlap, whatever ``max_active_runs`` says. A pipeline scheduled into
a protected environment gets ``--confirm-env ENV`` on its ``ExecStart=``: installing the units confirms its runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from cronsim import CronSim

from etl_cli.orchestration.exports import generated_by
from etl_cli.orchestration.schedules import (
    RunCommand,
    ScheduledPipeline,
    protected_note,
    require_cron_reads,
    unexpressible,
)

TARGET = "systemd calendar syntax"
_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
#: the Monday-first order systemd writes weekday ranges in (Mon..Sun)
_WEEK_ORDER = (1, 2, 3, 4, 5, 6, 0)
_LAST = CronSim.LAST


def unit_name(project: str, pipeline: str) -> str:
    """``<project>-<pipeline>``, with what unit names may not hold replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{project}-{pipeline}")


def systemd_units(pipelines: Sequence[ScheduledPipeline], command: RunCommand, project: str) -> dict[str, str]:
    """Each unit file's name and text: ``<unit>.service`` and ``<unit>.timer`` per pipeline."""
    units: dict[str, str] = {}
    for pipeline in pipelines:
        name = unit_name(project, pipeline.name)
        calendar = on_calendar(pipeline)
        units[f"{name}.service"] = _service(pipeline, command, project)
        units[f"{name}.timer"] = _timer(pipeline, calendar, f"{name}.service")
    return units


def _service(pipeline: ScheduledPipeline, command: RunCommand, project: str) -> str:
    lines = [
        f"# {generated_by('systemd')}",
        f"# The DAG run of pipeline {pipeline.name}: it takes the pipeline's lock, writes its run results, exits",
        "# as etl-cli run does; its output is appended to the log file of StandardOutput=.",
        *([protected_note(pipeline)] if pipeline.protected else []),
        "[Unit]",
        f"Description=etl-cli: pipeline {pipeline.name} of project {project}",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={_escape(str(command.project_root))}",
        *(
            f"Environment={_word(f'{name}={value}', command=False)}"
            for name, value in sorted(command.environment.items())
        ),
        f"ExecStartPre=/bin/mkdir -p {_word(str(command.log_dir))}",
        f"ExecStart={' '.join(_word(word) for word in command.dag_run(pipeline))}",
        f"StandardOutput=append:{_escape(str(command.log_file(pipeline)))}",
        "StandardError=inherit",
    ]
    return "\n".join(lines) + "\n"


def _timer(pipeline: ScheduledPipeline, calendar: list[str], service: str) -> str:
    schedule = pipeline.schedule
    where = f" ({schedule.location})" if schedule.location else ""
    lines = [
        f"# {generated_by('systemd')}",
        f"# cron '{schedule.cron}' in {schedule.timezone}{where}",
        "[Unit]",
        f"Description=etl-cli schedule of pipeline {pipeline.name}: {schedule.cron} ({schedule.timezone})",
        "",
        "[Timer]",
        *(f"OnCalendar={spec}" for spec in calendar),
        f"Persistent={'true' if schedule.catchup else 'false'}",
        f"Unit={service}",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]
    return "\n".join(lines) + "\n"


def on_calendar(pipeline: ScheduledPipeline) -> list[str]:
    """The ``OnCalendar=`` values that fire when the pipeline's cron expression does, in its time zone."""
    require_cron_reads(pipeline, TARGET, ("L", "#", "NL"))
    schedule = pipeline.schedule
    fields = CronSim(schedule.cron, datetime(2000, 1, 1))
    time = f"{_values(fields.hours, 24)}:{_values(fields.minutes, 60)}:00"
    months = _values(fields.months, 13, first=1)
    return [f"{weekdays}*-{months}{days} {time} {schedule.timezone}" for weekdays, days in _day_specs(pipeline, fields)]


def _day_specs(pipeline: ScheduledPipeline, fields: CronSim) -> list[tuple[str, str]]:
    """The (weekdays, day of month) parts, one per ``OnCalendar=`` line: ``("Mon..Fri ", "-*")``."""
    days = _days_of_month(pipeline, fields.days)
    weekdays = _weekday_specs(pipeline, fields.weekdays)
    all_weekdays = [("", "-*")]
    if fields.day_and:
        if days == "-*":
            return weekdays
        if weekdays == all_weekdays:
            return [("", days)]
        if any(part != "-*" for _, part in weekdays):
            raise unexpressible(pipeline, TARGET, "it restricts the day of month and uses N#K or NL together")
        return [(names, days) for names, _ in weekdays]
    return [("", days), *weekdays]


def _days_of_month(pipeline: ScheduledPipeline, days: set[int]) -> str:
    if _LAST in days:
        if days != {_LAST}:
            raise unexpressible(pipeline, TARGET, "L is mixed with other days of the month")
        return "~01"
    return "-" + _values(days, 32, first=1)


def _weekday_specs(pipeline: ScheduledPipeline, weekdays: set[int | tuple[int, int]]) -> list[tuple[str, str]]:
    """Plain weekdays: one part ("Mon..Fri ", "-*"); each N#K or NL item: a part of its own."""
    plain = {day % 7 for day in weekdays if isinstance(day, int)}
    specials = sorted(item for item in weekdays if isinstance(item, tuple))
    if specials and plain:
        raise unexpressible(pipeline, TARGET, "N#K or NL is mixed with plain weekdays")
    if not specials:
        return [("" if len(plain) == 7 else _weekday_names(plain) + " ", "-*")]
    parts = []
    for day, which in specials:
        name = _WEEKDAYS[day % 7]
        parts.append((f"{name} ", "~07/1" if which == _LAST else f"-{7 * which - 6:02d}..{7 * which:02d}"))
    return parts


def _weekday_names(days: set[int]) -> str:
    ordered = [day for day in _WEEK_ORDER if day in days]
    return ",".join(
        _WEEKDAYS[run[0]] if len(run) == 1 else f"{_WEEKDAYS[run[0]]}..{_WEEKDAYS[run[-1]]}"
        for run in _runs(ordered, key=_WEEK_ORDER.index)
    )


def _values(values: Iterable[int], end: int, first: int = 0) -> str:
    """``*`` for every value of ``range(first, end)``, else a list with runs of three or more as ``a..b``."""
    chosen = sorted(values)
    if chosen == list(range(first, end)):
        return "*"
    items = []
    for run in _runs(chosen, key=lambda value: value):
        if len(run) >= 3:
            items.append(f"{run[0]:02d}..{run[-1]:02d}")
        else:
            items.extend(f"{value:02d}" for value in run)
    return ",".join(items)


def _runs(values: list[int], key: Callable[[int], int]) -> list[list[int]]:
    """``values`` cut into runs of consecutive ones (by ``key``, their position in the order they count in)."""
    runs: list[list[int]] = []
    for value in values:
        if runs and key(runs[-1][-1]) + 1 == key(value):
            runs[-1].append(value)
        else:
            runs.append([value])
    return runs


def _escape(text: str) -> str:
    """A value as a unit file keeps it literally: ``%`` starts a specifier."""
    return text.replace("%", "%%")


def _word(text: str, command: bool = True) -> str:
    """One word of a command line (``$`` doubled: not expanded) or of ``Environment=``, quoted if it must be."""
    escaped = _escape(text).replace("$", "$$") if command else _escape(text)
    if re.search(r"[\s\"'\\]", escaped):
        return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped
