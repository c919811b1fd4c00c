"""``schedule export --format kubernetes``: one ``batch/v1`` CronJob manifest per scheduled pipeline.

The job's container runs ``etl-cli dag run --select NAME`` from the project's folder inside the image (the
image holds the project and etl-cli; ``--image`` names it). ``timeZone`` is the schedule's zone (Kubernetes
1.27 and later); ``concurrencyPolicy`` is ``Forbid`` when ``max_active_runs`` is 1, else ``Allow``
(Kubernetes has no limit between one and any number). Without ``catchup``, a run that could not start within
:data:`STARTING_DEADLINE_SECONDS` of its time is skipped; with it, the controller starts the latest one it missed.
A pipeline scheduled into a protected environment gets ``--confirm-env ENV`` in its command: applying the
manifests confirms its runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import yaml

from etl_cli.errors import UsageError
from etl_cli.orchestration.exports import generated_by
from etl_cli.orchestration.schedules import ScheduledPipeline, require_cron_reads

TARGET = "Kubernetes"
STARTING_DEADLINE_SECONDS = 300
#: a CronJob's name becomes its Jobs' names plus 11 characters: Kubernetes allows it 52
MAX_NAME = 52


def cronjob_name(project: str, pipeline: str) -> str:
    """``<project>-<pipeline>`` as a DNS label (lower case, ``-``), shortened with a hash when too long."""
    name = re.sub(r"[^a-z0-9-]+", "-", f"{project}-{pipeline}".lower()).strip("-")
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9].rstrip('-')}-{digest}"


def cronjobs(
    pipelines: Sequence[ScheduledPipeline], project: str, image: str, workdir: PurePosixPath, etl_cli: str = "etl-cli"
) -> str:
    """The manifests, one YAML document each, after a comment saying how they were made."""
    names: dict[str, str] = {}
    documents = []
    for pipeline in pipelines:
        require_cron_reads(pipeline, TARGET)
        name = cronjob_name(project, pipeline.name)
        if name in names:
            raise UsageError(
                f"pipelines '{names[name]}' and '{pipeline.name}' would both be CronJob '{name}'",
                hint="rename one of them: CronJob names are lower case, with '-' for any other character",
            )
        names[name] = pipeline.name
        documents.append(cronjob(pipeline, name, image, workdir, etl_cli))
    text = yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True)
    return f"# {generated_by('kubernetes')}\n{text}"


def cronjob(pipeline: ScheduledPipeline, name: str, image: str, workdir: PurePosixPath, etl_cli: str) -> dict[str, Any]:
    """One CronJob: its schedule, and a Job of one container that runs the pipeline's DAG run once."""
    schedule = pipeline.schedule
    command = [etl_cli, "dag", "run", "--select", pipeline.name]
    if pipeline.env:
        command += ["--env", pipeline.env, *pipeline.confirmation()]
    spec: dict[str, Any] = {
        "schedule": schedule.cron,
        "timeZone": schedule.timezone,
        "concurrencyPolicy": "Forbid" if schedule.max_active_runs == 1 else "Allow",
    }
    if not schedule.catchup:
        spec["startingDeadlineSeconds"] = STARTING_DEADLINE_SECONDS
    container = {"name": "etl-cli", "image": image, "workingDir": str(workdir), "command": command}
    spec["jobTemplate"] = {
        # etl-cli retries what can be retried inside the run: a failed run is a failed Job, not a new Pod
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [container]}}},
    }
    labels = {"app.kubernetes.io/managed-by": "etl-cli", "etl-cli/pipeline": _label(pipeline.name)}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "labels": labels}, "spec": spec}


def _label(text: str) -> str:
    """A label value: at most 63 of letters, digits, ``-``, ``_`` and ``.``, starting and ending alphanumeric."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63].strip("-_.")
