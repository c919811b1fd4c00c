"""``schedule export --format airflow``: one Apache Airflow DAG file for the selected pipelines.

One task per pipeline, a BashOperator that runs ``etl-cli run PIPELINE --env ENV --run-id ID`` from the
project root: Airflow orders the tasks by the project DAG's edges, retries them and skips what follows a
failure, so each task is one plain run (its lock, exit code and run results as always). The run id is the
Airflow run's, made a valid etl-cli run id, with the try number (a retry is a new run). Task retries come
from the pipeline's ``retry:``: ``attempts - 1`` retries, ``initial_delay`` seconds first, multiplied by
``multiplier`` at each retry (Airflow's ``retry_exponential_backoff``), up to ``max_delay``. The DAG's
schedule is the one schedule of the selected pipelines that have one (Airflow 3: a ``CronTriggerTimetable``
in the schedule's time zone); pipelines without one run when the DAG does. The file imports Airflow (3.x)
and pendulum only, never etl_cli: Airflow need not share an environment with etl-cli. A task whose environment
is protected runs with ``--confirm-env ENV`` (its ``confirm_env`` in the file's ``PIPELINES``): deploying the
exported file is the confirmation its runs need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from etl_cli.errors import UsageError
from etl_cli.model.resilience import RetryPolicy
from etl_cli.model.schedule import ScheduleSpec
from etl_cli.orchestration.dag import ProjectDag
from etl_cli.orchestration.exports import generated_by
from etl_cli.orchestration.schedules import ScheduledPipeline, require_cron_reads

TARGET = "Airflow"


@dataclass(frozen=True)
class AirflowTask:
    """One selected pipeline as a task: the file it runs, its environment, its schedule (if any), its retries."""

    name: str
    #: its ``pipeline.yaml``, relative to the project root
    file: str
    env: str | None
    schedule: ScheduleSpec | None
    retry: RetryPolicy
    #: whether ``env`` is protected: its runs get ``--confirm-env ENV``
    protected: bool = False


def dag_id_of(project: str) -> str:
    """A DAG id from the project's name: what Airflow allows (letters, digits, ``_``, ``-``, ``.``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", project) or "etl_cli"


def dag_schedule(tasks: Sequence[AirflowTask], scheduled: Sequence[ScheduledPipeline]) -> ScheduleSpec | None:
    """The one schedule of the selected pipelines that have one, or None when none has."""
    for pipeline in scheduled:
        require_cron_reads(pipeline, TARGET, ("L", "#"))
    found = {_timing(task.schedule): task.name for task in tasks if task.schedule is not None}
    if len(found) > 1:
        listed = "; ".join(f"{name}: {timing}" for timing, name in found.items())
        raise UsageError(
            f"the selected pipelines have different schedules ({listed}); an Airflow DAG has one",
            hint="export each schedule's pipelines into a file of its own: --select them and give --dag-id",
        )
    return next((task.schedule for task in tasks if task.schedule is not None), None)


def _timing(schedule: ScheduleSpec) -> str:
    catchup = str(schedule.catchup).lower()
    return (
        f"cron {schedule.cron!r} in {schedule.timezone}, catchup {catchup}, max_active_runs {schedule.max_active_runs}"
    )


def dag_file(
    tasks: Sequence[AirflowTask],
    dag: ProjectDag,
    *,
    dag_id: str,
    schedule: ScheduleSpec | None,
    project_root: Path,
    etl_cli: Path,
    environment: Mapping[str, str],
    start: date,
) -> str:
    """The Python source of the DAG file."""
    names = {task.name for task in tasks}
    edges = sorted({(e.upstream, e.downstream) for e in dag.edges if e.upstream in names and e.downstream in names})
    pipelines = {task.name: _task_settings(task) for task in tasks}
    zone = schedule.timezone if schedule else "UTC"
    timetable = f"CronTriggerTimetable({schedule.cron!r}, timezone={zone!r})" if schedule else "None"
    return _TEMPLATE.format(
        generated=generated_by("airflow"),
        project_root=repr(str(project_root)),
        etl_cli=repr(str(etl_cli)),
        environment=_lines(dict(sorted(environment.items()))),
        pipelines=_lines(pipelines),
        edges=_lines(edges),
        dag_id=repr(dag_id),
        timetable=timetable,
        start=f"pendulum.datetime({start.year}, {start.month}, {start.day}, tz={zone!r})",
        catchup=bool(schedule and schedule.catchup),
        max_active_runs=schedule.max_active_runs if schedule else 1,
    )


def _lines(value: Mapping[str, object] | list[tuple[str, str]]) -> str:
    """A dict or list literal with one item per line (the generated file is read by people too)."""
    if not value:
        return repr(value)
    if isinstance(value, Mapping):
        items = [f"{key!r}: {item!r}" for key, item in value.items()]
        return "{\n" + "".join(f"    {item},\n" for item in items) + "}"
    return "[\n" + "".join(f"    {item!r},\n" for item in value) + "]"


def _task_settings(task: AirflowTask) -> dict[str, object]:
    retry = task.retry
    return {
        "file": task.file,
        "env": task.env,
        # --confirm-env's value for a protected environment (None: not protected)
        "confirm_env": task.env if task.protected else None,
        "retries": retry.attempts - 1,
        "retry_delay_s": retry.initial_delay,
        # Airflow's backoff multiplies the delay by this at each retry; 0 keeps it constant
        "backoff": retry.multiplier if retry.multiplier > 1 else 0,
        "max_retry_delay_s": retry.max_delay,
    }


_TEMPLATE = '''"""Apache Airflow DAG of an etl-cli project: one task per pipeline, each an etl-cli run.

{generated}
It imports nothing from etl-cli: each task runs the etl-cli executable below from the project root.
"""

from __future__ import annotations

import datetime
import re
import shlex

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable

PROJECT_ROOT = {project_root}
ETL_CLI = {etl_cli}
#: etl-cli's settings from where the file was exported, given to every run over Airflow's own environment
ENVIRONMENT = {environment}
#: each pipeline: its file (relative to PROJECT_ROOT), its environment, the --confirm-env its runs are given
#: (a protected environment: this file is the confirmation; None otherwise), its retries
PIPELINES = {pipelines}
#: (upstream, downstream): the project DAG between the pipelines above
EDGES = {edges}


def etl_run_id(airflow_run_id: str, try_number: int) -> str:
    """The Airflow run's id as an etl-cli run id (letters, digits, _, - and .), with the try number."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"airflow-{{airflow_run_id}}-{{try_number}}")[:128]


def run_command(pipeline: str) -> str:
    settings = PIPELINES[pipeline]
    words = [ETL_CLI, "run", settings["file"]]
    if settings["env"]:
        words += ["--env", settings["env"]]
    if settings["confirm_env"]:
        words += ["--confirm-env", settings["confirm_env"]]
    return shlex.join(words) + " --run-id {{{{ etl_run_id(run_id, ti.try_number) }}}}"


with DAG(
    dag_id={dag_id},
    schedule={timetable},
    start_date={start},
    catchup={catchup},
    max_active_runs={max_active_runs},
    tags=["etl-cli"],
    user_defined_macros={{"etl_run_id": etl_run_id}},
) as dag:
    tasks = {{
        name: BashOperator(
            task_id=name,
            bash_command=run_command(name),
            cwd=PROJECT_ROOT,
            env=ENVIRONMENT,
            append_env=True,
            retries=settings["retries"],
            retry_delay=datetime.timedelta(seconds=settings["retry_delay_s"]),
            retry_exponential_backoff=settings["backoff"],
            max_retry_delay=datetime.timedelta(seconds=settings["max_retry_delay_s"]),
        )
        for name, settings in PIPELINES.items()
    }}
    for upstream, downstream in EDGES:
        tasks[upstream] >> tasks[downstream]
'''
