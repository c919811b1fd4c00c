"""Use cases of ``etl-cli schedule next|export``: the project's schedules, offline (no JVM, nothing installed).

Both load the project DAG around a path (every pipeline, validated), take the selected pipelines, and
read their ``schedule:``. ``export`` returns the files a scheduler reads; writing them is the CLI's.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath

from etl_cli.config.project import load_project
from etl_cli.errors import UsageError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.schedule import ScheduleSpec
from etl_cli.orchestration.dag import ProjectDag
from etl_cli.orchestration.exports.airflow import AirflowTask, dag_file, dag_id_of, dag_schedule
from etl_cli.orchestration.exports.crontab import crontab
from etl_cli.orchestration.exports.kubernetes import cronjobs
from etl_cli.orchestration.exports.systemd import systemd_units
from etl_cli.orchestration.schedules import (
    CARRIED_VARIABLES,
    RunCommand,
    ScheduledPipeline,
    next_fire_times,
    require_scheduled,
    scheduled_pipelines,
)
from etl_cli.orchestration.selectors import select
from etl_cli.usecases.dag import load_project_dag

#: where the Kubernetes CronJobs run etl-cli, unless ``--image-project-dir`` says otherwise
IMAGE_PROJECT_DIR = PurePosixPath("/project")


class ExportFormat(StrEnum):
    crontab = "crontab"
    systemd = "systemd"
    airflow = "airflow"
    kubernetes = "kubernetes"


@dataclass(frozen=True)
class FireTimes:
    """A selected pipeline's next fire times (aware, in its schedule's zone), or its lack of a schedule."""

    name: str
    schedule: ScheduleSpec | None
    times: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class ExportOptions:
    """What ``schedule export`` was asked for, beside the format."""

    selectors: tuple[str, ...] = ()
    env: str | None = None
    #: ``--etl-cli``: the executable schedulers run; None: the one running now (Kubernetes: ``etl-cli``)
    etl_cli: Path | None = None
    #: ``--image``: the container image of the Kubernetes CronJobs
    image: str | None = None
    #: ``--image-project-dir``: the project's folder inside that image
    image_project_dir: PurePosixPath = IMAGE_PROJECT_DIR
    #: ``--dag-id``: the Airflow DAG's id; None: from the project's name
    dag_id: str | None = None
    #: the Airflow DAG's start date; None: today
    start: date | None = None


@dataclass(frozen=True)
class Exported:
    """What an export made: file name → text (one file, or the systemd units), and the pipelines in it."""

    files: dict[str, str]
    pipelines: list[str]


def _selected(
    start: Path, selectors: Sequence[str], env: str | None
) -> tuple[ProjectDag, dict[str, PipelineSpec], list[str]]:
    dag, specs = load_project_dag(start, env)
    return dag, specs, select(dag, selectors)


def fire_times(start: Path, selectors: Sequence[str], env: str | None, count: int, after: datetime) -> list[FireTimes]:
    """The next ``count`` fire times after ``after`` of each selected pipeline, in the DAG's order."""
    if count < 1:
        raise UsageError(f"-n {count}: ask for at least one fire time")
    _, specs, names = _selected(start, selectors, env)
    found = []
    for name in names:
        schedule = specs[name].schedule
        times = next_fire_times(schedule, after, count) if schedule else []
        found.append(FireTimes(name, schedule, times))
    return found


def export(start: Path, output_format: ExportFormat, options: ExportOptions) -> Exported:
    """The files of ``output_format`` for the selected pipelines' schedules."""
    if output_format is ExportFormat.kubernetes and not options.image:
        raise UsageError("--format kubernetes needs --image", hint="the image that holds etl-cli and the project")
    dag, specs, names = _selected(start, options.selectors, options.env)
    scheduled = scheduled_pipelines(dag, specs, names)
    project = load_project(dag.root)
    if output_format is ExportFormat.airflow:
        return Exported({"dag.py": _airflow(dag, specs, names, scheduled, options, project.name)}, names)
    require_scheduled(scheduled, options.selectors)
    listed = [p.name for p in scheduled]
    if output_format is ExportFormat.kubernetes:
        etl_cli = str(options.etl_cli) if options.etl_cli else "etl-cli"
        text = cronjobs(scheduled, project.name, options.image or "", options.image_project_dir, etl_cli)
        return Exported({"cronjobs.yaml": text}, listed)
    command = _run_command(dag, project.run_state_dir(), options.etl_cli)
    if output_format is ExportFormat.crontab:
        return Exported({"crontab": crontab(scheduled, command, project.name)}, listed)
    return Exported(systemd_units(scheduled, command, project.name), listed)


def _airflow(
    dag: ProjectDag,
    specs: dict[str, PipelineSpec],
    names: list[str],
    scheduled: list[ScheduledPipeline],
    options: ExportOptions,
    project: str,
) -> str:
    tasks = [_task(dag, specs[name]) for name in names]
    schedule = dag_schedule(tasks, scheduled)
    zone = schedule.zone if schedule else UTC
    return dag_file(
        tasks,
        dag,
        dag_id=options.dag_id or dag_id_of(project),
        schedule=schedule,
        project_root=dag.root,
        etl_cli=resolve_etl_cli(options.etl_cli),
        environment=carried_environment(),
        start=options.start or datetime.now(zone).date(),
    )


def _task(dag: ProjectDag, spec: PipelineSpec) -> AirflowTask:
    file = dag.pipelines[spec.name].file.resolve().relative_to(dag.root).as_posix()
    env = spec.schedule.env if spec.schedule and spec.schedule.env else spec.env
    return AirflowTask(spec.name, file, env, spec.schedule, spec.retry, spec.project.is_protected(env))


def _run_command(dag: ProjectDag, state_dir: Path, etl_cli: Path | None) -> RunCommand:
    return RunCommand(resolve_etl_cli(etl_cli), dag.root, state_dir / "logs" / "schedule", carried_environment())


def carried_environment() -> dict[str, str]:
    """etl-cli's settings set here (:data:`CARRIED_VARIABLES`): the scheduled runs get them too."""
    return {name: os.environ[name] for name in CARRIED_VARIABLES if os.environ.get(name)}


def resolve_etl_cli(given: Path | None) -> Path:
    """The etl-cli executable schedulers run, absolute: ``--etl-cli``, else the one beside this Python."""
    if given is not None:
        path = Path(os.path.abspath(given))
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise UsageError(f"--etl-cli {given}: not an executable file", hint="give the path of etl-cli")
        return path
    beside = Path(os.path.abspath(sys.executable)).parent / "etl-cli"
    if beside.is_file():
        return beside
    found = shutil.which("etl-cli")
    if found is None:
        raise UsageError("cannot tell where the etl-cli executable is", hint="give it with --etl-cli PATH")
    return Path(os.path.abspath(found))
