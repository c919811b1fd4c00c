"""``etl-cli schedule next|export``: the project's schedules (use cases in :mod:`etl_cli.usecases.schedule`;
see docs/orchestration.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer

from etl_cli.cli.options import EnvOpt, FormatOpt, ProjectPathArg, SelectOpt, TakesDebug, TextOrJson
from etl_cli.errors import UsageError
from etl_cli.usecases.schedule import Exported, ExportFormat, ExportOptions, FireTimes, export, fire_times

schedule_app = typer.Typer(
    name="schedule",
    help="Show when the project's pipelines run next and export their schedules to cron, systemd, Airflow or "
    "Kubernetes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@schedule_app.command("next", cls=TakesDebug)
def next_command(
    path: ProjectPathArg = Path("."),
    select: SelectOpt = None,
    env: EnvOpt = None,
    count: Annotated[int, typer.Option("-n", "--count", help="How many fire times per pipeline.")] = 5,
    after: Annotated[
        str | None,
        typer.Option(
            "--after",
            metavar="DATETIME",
            help="Count from this time (ISO 8601, UTC unless it has an offset) instead of now.",
        ),
    ] = None,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """List the next fire times of each selected pipeline's schedule, in its time zone and in UTC.

    Times across a daylight-saving change follow Debian cron's rules: a time that does not exist
    that day fires at the first minute that does; a time that happens twice fires once. Offline.
    """
    found = fire_times(path, tuple(select or ()), env, count, _instant(after))
    if output_format is TextOrJson.json:
        print(json.dumps({"pipelines": [_fire_json(item) for item in found]}, indent=2))
        return
    _print_fire_times(found)


@schedule_app.command("export", cls=TakesDebug)
def export_command(
    path: ProjectPathArg = Path("."),
    output_format: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            "-f",
            help="crontab lines, systemd service and timer units, an Airflow DAG file, or Kubernetes CronJobs.",
        ),
    ] = ExportFormat.crontab,
    select: SelectOpt = None,
    env: EnvOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE|DIR",
            help="Write to this file (systemd: into this folder, which it needs) instead of stdout.",
        ),
    ] = None,
    etl_cli: Annotated[
        Path | None,
        typer.Option(
            "--etl-cli",
            metavar="PATH",
            help="The etl-cli executable the scheduler runs (default: this one; kubernetes: etl-cli in the image).",
        ),
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", help="kubernetes: the container image holding etl-cli and the project.")
    ] = None,
    image_project_dir: Annotated[
        str, typer.Option("--image-project-dir", metavar="DIR", help="kubernetes: the project's folder in the image.")
    ] = "/project",
    dag_id: Annotated[
        str | None, typer.Option("--dag-id", help="airflow: the DAG's id (default: the project's name).")
    ] = None,
) -> None:
    """Write the schedules of the selected pipelines in the format a scheduler reads.

    crontab, systemd and kubernetes: one entry per scheduled pipeline, running its DAG run
    (etl-cli dag run --select NAME): the pipeline's lock, run results and exit codes as usual.
    airflow: one DAG file, a task per selected pipeline, ordered as the project DAG. Offline.
    """
    options = ExportOptions(
        selectors=tuple(select or ()),
        env=env,
        etl_cli=etl_cli,
        image=image,
        image_project_dir=PurePosixPath(image_project_dir),
        dag_id=dag_id,
    )
    exported = export(path, output_format, options)
    if output_format is ExportFormat.systemd:
        _write_units(exported, output)
    elif output is None:
        print(next(iter(exported.files.values())), end="")
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(next(iter(exported.files.values())), encoding="utf-8")
        typer.echo(f"wrote {output} ({', '.join(exported.pipelines)})", err=True)


def _write_units(exported: Exported, folder: Path | None) -> None:
    if folder is None:
        raise UsageError("--format systemd writes several unit files: give the folder with --output DIR")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output {folder} is a file: systemd units go into a folder")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in exported.files.items():
        (folder / name).write_text(text, encoding="utf-8")
        typer.echo(f"wrote {folder / name}", err=True)


def _instant(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--after {text}: not an ISO 8601 date and time", hint="for example 2026-03-28T00:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fire_json(item: FireTimes) -> dict[str, object]:
    if item.schedule is None:
        return {"name": item.name, "schedule": None, "next": []}
    schedule = item.schedule
    return {
        "name": item.name,
        "schedule": {"cron": schedule.cron, "timezone": schedule.timezone},
        "next": [{"local": t.isoformat(), "utc": t.astimezone(UTC).isoformat()} for t in item.times],
    }


def _print_fire_times(found: list[FireTimes]) -> None:
    unscheduled = [item.name for item in found if item.schedule is None]
    for item in found:
        if item.schedule is None:
            continue
        print(f"{item.name}  '{item.schedule.cron}'  {item.schedule.timezone}")
        for moment in item.times:
            utc = moment.astimezone(UTC)
            print(f"  {moment:%a %Y-%m-%d %H:%M %Z (%z)}  =  {utc:%Y-%m-%d %H:%M} UTC")
    if unscheduled:
        print(f"not scheduled: {', '.join(unscheduled)}")
