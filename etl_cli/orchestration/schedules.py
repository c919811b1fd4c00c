"""The project's schedules, offline: which pipelines run when, their next fire times, what an export runs.

A pipeline is scheduled when its ``schedule:`` (the project's under its own, etl_cli/model/schedule.py) has a
cron expression. Fire times are computed by cronsim in the schedule's time zone, by Debian cron's rules
across daylight-saving changes: a time that does not exist that day (02:30 when clocks go from 02:00 to
03:00) fires at the first minute that does (03:00); a time that happens twice fires once, the first time.
The exporters (``exports/``) turn :class:`ScheduledPipeline` values into what each scheduler reads; the
command of a pipeline scheduled into a protected environment carries ``--confirm-env ENV``
(:func:`confirmation_args`).
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cronsim import CronSim

from etl_cli.errors import ConfigError, UsageError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.resilience import RetryPolicy
from etl_cli.model.schedule import ScheduleSpec
from etl_cli.orchestration.dag import ProjectDag

#: the variables of etl-cli's settings (docs/environment.md) that an export hands to the scheduled runs, when set
#: where it is made: schedulers start commands with an environment of their own, not the user's shell's
CARRIED_VARIABLES = (
    "ETL_STATE_DIR",
    "ETL_RESULTS_DIR",
    "ETL_MASTER",
    "ETL_LOG_FORMAT",
    "ETL_CACHE_DIR",
    "ETL_JARS_DIR",
    "ETL_CLASS_SHARING",
    "ETL_SPARK_KAFKA_VERSION",
    "ETL_ASCII",
    "JAVA_HOME",
)
#: what cronsim reads beyond standard cron, which not every scheduler does
EXTENSIONS = {
    "L": "L (the last day of the month)",
    "LW": "LW (the last weekday of the month)",
    "#": "N#K (the Kth weekday N of the month)",
    "NL": "NL (the last weekday N of the month)",
}


@dataclass(frozen=True)
class ScheduledPipeline:
    """A pipeline with a schedule, and what its scheduled runs need."""

    name: str
    #: its ``pipeline.yaml``
    file: Path
    #: its folder, posix, relative to the project root
    folder: str
    schedule: ScheduleSpec
    #: the environment its runs use: the schedule's ``env:``, else the one the pipeline was loaded in
    env: str | None
    #: the pipeline's ``retry:`` (the Airflow export maps it onto task retries)
    retry: RetryPolicy
    #: whether ``env`` is protected (``protected: true`` in etl-project.yaml): its runs need ``--confirm-env``
    protected: bool = False

    def confirmation(self) -> list[str]:
        """``--confirm-env ENV`` when the environment is protected, else nothing: the export is the confirmation."""
        return confirmation_args(self.env, self.protected)


@dataclass(frozen=True)
class RunCommand:
    """How a scheduler starts etl-cli: which executable, from which folder, logging where."""

    #: the etl-cli executable, absolute
    etl_cli: Path
    #: the project root, where the command runs
    project_root: Path
    #: where each pipeline's scheduled runs append their output (``<state_dir>/logs/schedule``)
    log_dir: Path
    #: the variables scheduled runs get (:data:`CARRIED_VARIABLES` as set where the export was made)
    environment: Mapping[str, str] = field(default_factory=dict)

    def dag_run(self, pipeline: ScheduledPipeline) -> list[str]:
        """The DAG run of that one pipeline: ``dag run`` takes its lock, writes run results, exits as ``run``."""
        command = [str(self.etl_cli), "dag", "run", "--select", pipeline.name]
        return [*command, "--env", pipeline.env, *pipeline.confirmation()] if pipeline.env else command

    def log_file(self, pipeline: ScheduledPipeline) -> Path:
        return self.log_dir / f"{pipeline.name}.log"

    def shell_line(self, pipeline: ScheduledPipeline) -> str:
        """``cd ROOT && mkdir -p LOGS && etl-cli dag run ... >> LOG 2>&1``, every word quoted for ``sh``."""
        root, logs = shlex.quote(str(self.project_root)), shlex.quote(str(self.log_dir))
        run = shlex.join(self.dag_run(pipeline))
        return f"cd {root} && mkdir -p {logs} && {run} >> {shlex.quote(str(self.log_file(pipeline)))} 2>&1"


def scheduled_pipelines(
    dag: ProjectDag, specs: Mapping[str, PipelineSpec], names: Sequence[str]
) -> list[ScheduledPipeline]:
    """The pipelines among ``names`` (in that order) that have a schedule; each runs in its schedule's
    environment, else in the one it was loaded in."""
    found = []
    for name in names:
        spec = specs[name]
        if spec.schedule is None:
            continue
        pipeline = dag.pipelines[name]
        chosen = spec.schedule.env or spec.env
        protected = spec.project.is_protected(chosen)
        found.append(
            ScheduledPipeline(name, pipeline.file, pipeline.folder, spec.schedule, chosen, spec.retry, protected)
        )
    return found


def confirmation_args(env: str | None, protected: bool) -> list[str]:
    """What a scheduled run into ``env`` is given to confirm it: ``--confirm-env ENV`` when ``env`` is protected.

    A run into a protected environment needs it (docs/data-security.md); a scheduler cannot type it, so the
    export writes it into the command it generates: exporting, and installing what was exported, is the
    explicit and reviewable confirmation. Any other environment gets nothing.
    """
    return ["--confirm-env", env] if protected and env else []


def protected_note(pipeline: ScheduledPipeline) -> str:
    """The comment an exported file puts beside the command of a pipeline scheduled into a protected environment."""
    return f"# environment {pipeline.env} is protected: this export confirms its runs (--confirm-env {pipeline.env})"


def require_scheduled(pipelines: Sequence[ScheduledPipeline], selected: Sequence[str]) -> None:
    """Refuse an export with nothing in it: a typo in ``--select`` must not write an empty crontab."""
    if not pipelines:
        names = ", ".join(selected) or "none"
        raise UsageError(
            f"no selected pipeline has a schedule (selected: {names})",
            hint="add schedule: {cron: '30 2 * * *'} to a pipeline, or to etl-project.yaml for all of them",
        )


def next_fire_times(schedule: ScheduleSpec, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` times the schedule fires strictly after ``after`` (aware), in the schedule's zone."""
    times = CronSim(schedule.cron, after.astimezone(schedule.zone))
    found = []
    for _ in range(count):
        try:
            found.append(next(times))
        except StopIteration:
            break
    return found


def cron_extensions(cron: str) -> set[str]:
    """Which of cronsim's extensions to standard cron ``cron`` uses: ``L``, ``LW`` (day of month), ``#``, ``NL``."""
    _, _, days, _, weekdays = cron.upper().split()
    found = {"LW" if item.startswith("LW") else "L" for item in days.split(",") if item.startswith("L")}
    for item in weekdays.split(","):
        if "#" in item:
            found.add("#")
        elif item.endswith("L"):
            found.add("NL")
    return found


def require_cron_reads(pipeline: ScheduledPipeline, target: str, reads: Collection[str] = ()) -> None:
    """Refuse a cron expression using one of cronsim's extensions that ``target`` does not read (``reads``)."""
    unread = sorted(cron_extensions(pipeline.schedule.cron) - set(reads))
    if unread:
        names = ", ".join(EXTENSIONS[mark] for mark in unread)
        raise unexpressible(pipeline, target, f"it uses {names}, which {target} does not read")


def unexpressible(pipeline: ScheduledPipeline, target: str, why: str) -> ConfigError:
    """The error of a schedule ``target`` cannot express, naming the pipeline, the expression and its line."""
    schedule = pipeline.schedule
    return ConfigError(
        f"pipeline '{pipeline.name}': cron expression '{schedule.cron}' cannot be exported to {target}: {why}",
        location=schedule.location,
        hint="write it with numbers, names, *, lists (a,b), ranges (a-b) and steps (*/n) only",
    )
