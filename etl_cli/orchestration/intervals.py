"""The intervals of a backfill: ``--from``, ``--to`` and ``--step`` made into a list of (start, end).

Every interval whose start lies between ``--from`` and ``--to`` (both included) is one run; its end is
the next interval's start, so intervals never overlap and leave no gap. The *n*-th start is counted from
``--from`` (``from + n * step``), never from the previous start, so a month step from January 31 gives
February 28, March 31, April 30: each month's last day, no drift.

Bounds are dates (``2026-01-31``) or timestamps (``2026-01-31T06:00``); a timestamp has no time zone
(wall-clock time, as a ``timestamp`` parameter without one) or a fixed UTC offset (``Z``, ``+01:00``),
the same for both bounds. Steps count whole hours, days, weeks or months: with a fixed offset a day is
always 24 hours, so no interval is stretched or shortened by a daylight-saving change.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from etl_cli.errors import UsageError

#: more intervals than this is almost certainly a mistaken step or range (``--step 1h`` over years)
MAX_INTERVALS = 10_000

_STEP = re.compile(r"([1-9][0-9]{0,3})(h|d|w|mo)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Step:
    """``7d``: a count of one unit (``h``, ``d``, ``w`` or ``mo``)."""

    count: int
    unit: str

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    def after(self, start: datetime, times: int) -> datetime:
        """``start`` plus ``times`` steps; months keep ``start``'s day, or the month's last when it has fewer."""
        if self.unit == "mo":
            return _add_months(start, self.count * times)
        hours = {"h": 1, "d": 24, "w": 24 * 7}[self.unit]
        return start + timedelta(hours=hours * self.count * times)


@dataclass(frozen=True)
class Bound:
    """A ``--from`` or ``--to``: the moment, and whether it was written as a date."""

    moment: datetime
    is_date: bool


def parse_step(text: str) -> Step:
    """``1d``, ``6h``, ``2w``, ``1mo``; anything else is a usage error saying what is accepted."""
    match = _STEP.fullmatch(text.strip())
    if not match:
        raise UsageError(
            f"--step {text}: expected a count and a unit: 1h, 6h, 1d, 7d, 1w, 1mo...",
            hint="units: h (hours), d (days), w (weeks), mo (months)",
        )
    return Step(int(match.group(1)), match.group(2))


def parse_bound(option: str, text: str) -> Bound:
    """A ``--from``/``--to`` value: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]`` with an optional offset."""
    text = text.strip()
    try:
        if _DATE.fullmatch(text):
            return Bound(datetime.fromisoformat(text), True)
        if "T" in text or " " in text:
            return Bound(datetime.fromisoformat(text.replace("Z", "+00:00")), False)
    except ValueError:
        pass
    raise UsageError(
        f"{option} {text}: expected a date (YYYY-MM-DD) or a timestamp (YYYY-MM-DDTHH:MM:SS, optionally with Z "
        "or +HH:MM)",
        hint=f"for example {option} 2026-01-31",
    )


def intervals(start: Bound, stop: Bound, step: Step) -> list[tuple[datetime, datetime]]:
    """Every (start, end) whose start is within [``start``, ``stop``], in order."""
    if (start.moment.tzinfo is None) != (stop.moment.tzinfo is None):
        raise UsageError(
            "--from and --to must both have a time zone offset or both have none",
            hint="write both as UTC (…Z) or both without a zone",
        )
    if start.moment > stop.moment:
        raise UsageError(f"--from {start.moment.isoformat()} is after --to {stop.moment.isoformat()}")
    found: list[tuple[datetime, datetime]] = []
    while (begin := step.after(start.moment, len(found))) <= stop.moment:
        if len(found) == MAX_INTERVALS:
            raise UsageError(
                f"more than {MAX_INTERVALS:,} intervals of {step} between --from and --to",
                hint="use a longer --step or a shorter range",
            )
        found.append((begin, step.after(start.moment, len(found) + 1)))
    return found


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
