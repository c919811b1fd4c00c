"""``schedule export --format crontab``: one crontab line per scheduled pipeline.

Each line is preceded by ``CRON_TZ=`` with its schedule's time zone, which cronie (the cron of Fedora, RHEL,
CentOS and Arch Linux) reads per line; a cron that does not read it runs the lines in the system's time zone.
The command is the DAG run of that one pipeline (``etl-cli dag run --select NAME``), from the project root, its
output appended to a log file. cron has no catch-up: a time missed while the machine was off is not run later.
A pipeline scheduled into a protected environment gets ``--confirm-env ENV`` on its line (and a comment saying
so): installing the exported crontab is the confirmation its runs need.
"""

from __future__ import annotations

from collections.abc import Sequence

from etl_cli.orchestration.exports import generated_by
from etl_cli.orchestration.schedules import RunCommand, ScheduledPipeline, protected_note, require_cron_reads

TARGET = "cron"


def crontab(pipelines: Sequence[ScheduledPipeline], command: RunCommand, project: str) -> str:
    """The crontab text: a header, the carried variables, then each pipeline's ``CRON_TZ=`` and line."""
    for pipeline in pipelines:
        require_cron_reads(pipeline, TARGET)
    lines = [
        f"# etl-cli schedules of project {project} ({command.project_root})",
        f"# {generated_by('crontab')}",
        "# Each line is the DAG run of one pipeline: it takes the pipeline's lock (a run still going makes the",
        "# next one exit 5), writes its run results, and appends its output to the log file named on the line.",
        "SHELL=/bin/sh",
        *(f"{name}={_cron_text(value)}" for name, value in sorted(command.environment.items())),
    ]
    for pipeline in pipelines:
        lines += ["", *_entry(pipeline, command)]
    return "\n".join(lines) + "\n"


def _entry(pipeline: ScheduledPipeline, command: RunCommand) -> list[str]:
    schedule = pipeline.schedule
    where = f" ({schedule.location})" if schedule.location else ""
    comment = [f"# {pipeline.name}: '{schedule.cron}' in {schedule.timezone}{where}"]
    if schedule.catchup:
        comment.append("# catchup: true is not honoured by cron (the systemd export's Persistent=true is)")
    if pipeline.protected:
        comment.append(protected_note(pipeline))
    line = f"{schedule.cron} {_cron_text(command.shell_line(pipeline))}"
    return [*comment, f"CRON_TZ={schedule.timezone}", line]


def _cron_text(text: str) -> str:
    """``text`` as cron reads it: a ``%`` ends the command (the rest goes to its standard input) unless escaped."""
    return text.replace("%", "\\%")
