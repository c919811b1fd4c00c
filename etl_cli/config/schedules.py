"""The values of a ``schedule:`` block checked offline: its cron expression and its time zone.

Both ``etl-project.yaml`` (the project's default schedule, read in config/project.py) and a pipeline's own
``schedule:`` (etl_cli/model/schedule.py) are checked here, so the two report the same problem in the same words.
Cron expressions are parsed by cronsim (Debian cron's rules, including its daylight-saving behaviour), time
zones looked up in the IANA database (the system's, else the tzdata package).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from cronsim import CronSim, CronSimError

from etl_cli.config.limits import NAME_RULE, is_name
from etl_cli.config.nodes import Node
from etl_cli.diagnostics import Diagnostic, did_you_mean, error

#: the keys a ``schedule:`` block may hold, in etl-project.yaml as in a pipeline
SCHEDULE_KEYS = ("cron", "timezone", "catchup", "max_active_runs", "env", "enabled")
DEFAULT_TIMEZONE = "UTC"
#: the five fields of a cron expression, with what each accepts (cronsim's field names as its errors say them)
CRON_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31, L or LW"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 or SUN-SAT (0 and 7: Sunday), N#K, NL"),
)
CRON_EXAMPLE = "'30 2 * * *' (02:30 every day) or '0 6 * * MON-FRI' (06:00 on weekdays)"
#: the shorthands some crons accept, and the five fields each stands for
_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class ValueProblem:
    """What is wrong with one value of a ``schedule:`` block, and how to fix it."""

    message: str
    hint: str


def cron_problem(expression: str) -> ValueProblem | None:
    """What is wrong with ``expression`` as a 5-field cron expression, or None when it is right."""
    text = expression.strip()
    if text.lower() in _NICKNAMES:
        return ValueProblem(
            f"cron expression '{expression}' is a shorthand: a schedule takes the five fields",
            f"write '{_NICKNAMES[text.lower()]}' instead",
        )
    fields = text.split()
    if len(fields) != len(CRON_FIELDS):
        names = " ".join(name for name, _ in CRON_FIELDS)
        return ValueProblem(
            f"cron expression '{expression}' has {len(fields)} fields; a schedule takes 5 ({names})",
            f"for example {CRON_EXAMPLE}",
        )
    try:
        next(CronSim(text, datetime(2000, 1, 1)))
    except CronSimError as exc:
        return ValueProblem(f"cron expression '{expression}': {_field_message(str(exc))}", _field_hint(str(exc)))
    except StopIteration:
        return ValueProblem(
            f"cron expression '{expression}' never fires (no date matches it)",
            "check the day-of-month and month fields",
        )
    return None


def _field_message(cronsim_message: str) -> str:
    """cronsim says 'Bad hour'; the message says which field and that its value is out of range or misspelt."""
    for name, _ in CRON_FIELDS:
        if cronsim_message == f"Bad {name}":
            return f"the {name} field is not valid"
    return cronsim_message


def _field_hint(cronsim_message: str) -> str:
    for name, accepted in CRON_FIELDS:
        if cronsim_message == f"Bad {name}":
            return f"the {name} field takes {accepted}, with lists (a,b), ranges (a-b) and steps (*/n)"
    return f"for example {CRON_EXAMPLE}"


def timezone_problem(name: str) -> ValueProblem | None:
    """What is wrong with ``name`` as an IANA time zone name, or None when the database has it."""
    try:
        zoneinfo.ZoneInfo(name)
        return None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    known = _zone_names()
    same_but_case = [zone for zone in known if zone.lower() == name.lower()]
    if same_but_case:
        hint = f"did you mean '{same_but_case[0]}'? (time zone names are case-sensitive)"
    else:
        hint = did_you_mean(name, known) or "use an IANA time zone name, for example UTC or Europe/Paris"
    return ValueProblem(f"unknown time zone '{name}'", hint)


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    """Every IANA zone name (read only when a name is wrong: listing them reads the whole database)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def check_schedule_block(node: Node, environments: Collection[str], within: str) -> list[Diagnostic]:
    """Every problem of a ``schedule:`` block written as ``node`` (etl-project.yaml's), each at its line.

    A pipeline's own block is checked by the pipeline JSON Schema and etl_cli/model/schedule.py; this one
    has no schema, so the types are checked here too.
    """
    if not node.is_mapping:
        example = "for example: schedule: {cron: '30 2 * * *', timezone: Europe/Paris}"
        return [error("wrong-type", f"'{within}' must be a mapping of settings", node.loc, example)]
    found = []
    for key, child in node.value.items():
        if key not in SCHEDULE_KEYS:
            hint = did_you_mean(key, SCHEDULE_KEYS) or f"known keys: {', '.join(SCHEDULE_KEYS)}"
            found.append(error("unknown-key", f"unknown key '{key}' in {within}", child.key_loc, hint))
            continue
        problem = value_problem(key, child.value, environments)
        if problem is not None:
            found.append(error("invalid-schedule", f"{within}.{key}: {problem.message}", child.loc, problem.hint))
    return found


_TEXT_EXAMPLES = {
    "cron": f"for example {CRON_EXAMPLE}",
    "timezone": "for example UTC or Europe/Paris",
    "env": "the name of an environment, for example prod",
}


def value_problem(key: str, value: Any, environments: Collection[str]) -> ValueProblem | None:
    """What is wrong with ``value`` as the ``key`` of a schedule, or None."""
    if key in _TEXT_EXAMPLES and not isinstance(value, str):
        return ValueProblem(f"must be a string, got {value!r}", _TEXT_EXAMPLES[key])
    if key in ("catchup", "enabled") and not isinstance(value, bool):
        return ValueProblem(f"must be true or false, got {value!r}", "write true or false")
    if key == "max_active_runs" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        return ValueProblem(f"must be a whole number of at least 1, got {value!r}", "1 runs one at a time")
    if key == "cron":
        return cron_problem(value)
    if key == "timezone":
        return timezone_problem(value)
    if key == "env":
        return environment_problem(value, environments)
    return None


def environment_problem(name: str, environments: Collection[str]) -> ValueProblem | None:
    """What is wrong with ``name`` as the environment scheduled runs use, or None."""
    if not is_name(name):
        return ValueProblem(f"environment '{name}' is not a name", f"use {NAME_RULE}")
    if environments and name not in environments:
        hint = did_you_mean(name, environments) or f"choose one of: {', '.join(environments)}"
        return ValueProblem(f"unknown environment '{name}'", hint)
    return None
