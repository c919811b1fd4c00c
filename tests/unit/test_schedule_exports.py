"""``etl-cli schedule export``: each format's output parsed and checked against what was written by hand.

systemd units are also checked by ``systemd-analyze verify``, their calendars by ``systemd-analyze
calendar`` (an implementation independent of ours) against cronsim's fire times; Kubernetes manifests
by kubernetes-validate against the Kubernetes 1.30 schemas.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import kubernetes_validate
import pytest
import yaml

from etl_cli.errors import ConfigError, UsageError
from etl_cli.model.resilience import RetryPolicy
from etl_cli.model.schedule import ScheduleSpec
from etl_cli.orchestration.exports.systemd import on_calendar
from etl_cli.orchestration.schedules import ScheduledPipeline, next_fire_times
from etl_cli.usecases.schedule import ExportFormat, ExportOptions, export
from tests.clihelp import etl_cli

from .helpers import write
from .schedulehelp import PROTECTED_PROJECT, shop

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None and not os.environ.get("CI"), reason="systemd-analyze is not installed (package systemd)"
)


@pytest.fixture
def fake_etl_cli(tmp_path: Path) -> Path:
    """An executable that stands for etl-cli: it prints the folder it runs in and its arguments."""
    script = write(tmp_path, "bin/etl-cli", '#!/bin/sh\necho "$PWD"\necho "$@"\n')
    script.chmod(0o755)
    return script


def exported(root: Path, output_format: ExportFormat, **options: object) -> dict[str, str]:
    return export(root, output_format, ExportOptions(**options)).files  # type: ignore[arg-type]


def crontab_entries(text: str) -> list[tuple[str, str, str]]:
    """(CRON_TZ in force, the five fields, the command) of each entry of a crontab."""
    entries, zone = [], ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            name, _, value = line.partition("=")
            zone = value if name == "CRON_TZ" else zone
            continue
        fields = line.split(maxsplit=5)
        entries.append((zone, " ".join(fields[:5]), fields[5]))
    return entries


# --------------------------------------------------------------------------- crontab


def test_crontab_has_one_entry_per_scheduled_pipeline_in_its_time_zone(tmp_path: Path, fake_etl_cli: Path) -> None:
    text = exported(shop(tmp_path / "p"), ExportFormat.crontab, etl_cli=fake_etl_cli)["crontab"]
    assert [(zone, cron) for zone, cron, _ in crontab_entries(text)] == [
        ("Europe/Paris", "30 2 * * *"),
        ("Europe/Paris", "0 6 1 * MON-FRI"),
    ]
    assert text.startswith("# etl-cli schedules of project shop")
    assert "# catchup: true is not honoured by cron (the systemd export's Persistent=true is)" in text
    assert "etl-cli schedule export --format crontab" in text.splitlines()[1]


def test_crontab_entry_runs_the_dag_run_of_its_pipeline_from_the_project_root(
    tmp_path: Path, fake_etl_cli: Path
) -> None:
    root = shop(tmp_path / "p")
    text = exported(root, ExportFormat.crontab, etl_cli=fake_etl_cli)["crontab"]
    _, _, command = crontab_entries(text)[1]
    logs = f"{root}/.etl/logs/schedule"
    assert shlex.split(command) == [
        "cd", str(root), "&&", "mkdir", "-p", logs, "&&",
        str(fake_etl_cli), "dag", "run", "--select", "b", "--env", "prod", ">>", f"{logs}/b.log", "2>&1",
    ]  # fmt: skip


def test_crontab_entry_appends_what_the_run_prints_to_its_log_file(tmp_path: Path, fake_etl_cli: Path) -> None:
    root = shop(tmp_path / "p")
    _, _, command = crontab_entries(exported(root, ExportFormat.crontab, etl_cli=fake_etl_cli)["crontab"])[0]
    for _ in range(2):
        subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, check=True)
    expected = f"{root}\ndag run --select a --env dev\n"
    assert (root / ".etl/logs/schedule/a.log").read_text() == expected * 2


def test_a_crontab_line_into_a_protected_environment_confirms_it_and_no_other_does(
    tmp_path: Path, fake_etl_cli: Path
) -> None:
    root = shop(tmp_path / "p", project=PROTECTED_PROJECT)
    text = exported(root, ExportFormat.crontab, etl_cli=fake_etl_cli)["crontab"]
    (_, _, a), (_, _, b) = crontab_entries(text)
    logs = f"{root}/.etl/logs/schedule"
    assert shlex.split(b) == [
        "cd", str(root), "&&", "mkdir", "-p", logs, "&&",
        str(fake_etl_cli), "dag", "run", "--select", "b", "--env", "prod", "--confirm-env", "prod",
        ">>", f"{logs}/b.log", "2>&1",
    ]  # fmt: skip
    assert "# environment prod is protected: this export confirms its runs (--confirm-env prod)" in text
    assert "--confirm-env" not in a
    subprocess.run(["/bin/sh", "-c", b], cwd=tmp_path, check=True)
    printed = (root / ".etl/logs/schedule/b.log").read_text()
    assert printed == f"{root}\ndag run --select b --env prod --confirm-env prod\n"


def test_crontab_carries_etl_cli_settings_of_the_exporting_shell(
    tmp_path: Path, fake_etl_cli: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ETL_UNRELATED", "x")
    text = exported(shop(tmp_path / "p"), ExportFormat.crontab, etl_cli=fake_etl_cli)["crontab"]
    assert f"ETL_STATE_DIR={tmp_path}/state" in text.splitlines()
    assert "ETL_UNRELATED" not in text
    assert f">> {tmp_path}/state/logs/schedule/a.log 2>&1" in text


def test_a_percent_sign_is_escaped_for_cron(tmp_path: Path, fake_etl_cli: Path) -> None:
    root = shop(tmp_path / "100%")
    text = exported(root, ExportFormat.crontab, etl_cli=fake_etl_cli)["crontab"]
    _, _, command = crontab_entries(text)[0]
    assert command.startswith(f"cd {tmp_path}/100\\% && ")


def test_an_expression_cron_does_not_read_is_an_error_naming_the_pipeline_and_expression(
    tmp_path: Path, fake_etl_cli: Path
) -> None:
    root = shop(tmp_path / "p", a="schedule: {cron: '0 1 L * *'}\n")
    with pytest.raises(ConfigError) as caught:
        exported(root, ExportFormat.crontab, etl_cli=fake_etl_cli)
    assert caught.value.message == (
        "pipeline 'a': cron expression '0 1 L * *' cannot be exported to cron: "
        "it uses L (the last day of the month), which cron does not read"
    )
    assert str(caught.value.location) == f"{root}/pipelines/a/pipeline.yaml:2:18"


def test_a_selection_without_any_schedule_is_a_usage_error(tmp_path: Path, fake_etl_cli: Path) -> None:
    with pytest.raises(UsageError, match="no selected pipeline has a schedule"):
        exported(shop(tmp_path / "p"), ExportFormat.crontab, etl_cli=fake_etl_cli, selectors=("c",))


# --------------------------------------------------------------------------- systemd


def unit_sections(text: str) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections and their key=value lines, in order (keys such as OnCalendar= repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
        else:
            key, _, value = line.partition("=")
            sections[current].append((key, value))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [value for k, value in section if k == key]


def test_systemd_export_is_a_service_and_a_timer_per_scheduled_pipeline(tmp_path: Path, fake_etl_cli: Path) -> None:
    units = exported(shop(tmp_path / "p"), ExportFormat.systemd, etl_cli=fake_etl_cli)
    assert sorted(units) == ["shop-a.service", "shop-a.timer", "shop-b.service", "shop-b.timer"]


def test_systemd_service_runs_the_dag_run_once_from_the_project_root_into_its_log(
    tmp_path: Path, fake_etl_cli: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_MASTER", "local[2]")
    root = shop(tmp_path / "p")
    service = unit_sections(exported(root, ExportFormat.systemd, etl_cli=fake_etl_cli)["shop-b.service"])["Service"]
    assert values(service, "Type") == ["oneshot"]
    assert values(service, "WorkingDirectory") == [str(root)]
    assert values(service, "Environment") == ["ETL_MASTER=local[2]"]
    assert shlex.split(values(service, "ExecStart")[0]) == [
        str(fake_etl_cli), "dag", "run", "--select", "b", "--env", "prod",
    ]  # fmt: skip
    assert values(service, "StandardOutput") == [f"append:{root}/.etl/logs/schedule/b.log"]
    assert values(service, "StandardError") == ["inherit"]


def test_systemd_timer_fires_on_the_cron_days_in_the_time_zone_and_catches_up_when_asked(
    tmp_path: Path, fake_etl_cli: Path
) -> None:
    units = exported(shop(tmp_path / "p"), ExportFormat.systemd, etl_cli=fake_etl_cli)
    a, b = (unit_sections(units[f"shop-{name}.timer"])["Timer"] for name in "ab")
    assert values(a, "OnCalendar") == ["*-*-* 02:30:00 Europe/Paris"]
    assert values(a, "Persistent") == ["false"]
    # cron runs '0 6 1 * MON-FRI' on the 1st and on weekdays: one calendar for each
    assert values(b, "OnCalendar") == ["*-*-01 06:00:00 Europe/Paris", "Mon..Fri *-*-* 06:00:00 Europe/Paris"]
    assert values(b, "Persistent") == ["true"]
    assert values(b, "Unit") == ["shop-b.service"]


def test_a_systemd_service_into_a_protected_environment_confirms_it_and_no_other_does(
    tmp_path: Path, fake_etl_cli: Path
) -> None:
    units = exported(shop(tmp_path / "p", project=PROTECTED_PROJECT), ExportFormat.systemd, etl_cli=fake_etl_cli)
    a, b = (unit_sections(units[f"shop-{name}.service"])["Service"] for name in "ab")
    assert shlex.split(values(b, "ExecStart")[0]) == [
        str(fake_etl_cli), "dag", "run", "--select", "b", "--env", "prod", "--confirm-env", "prod",
    ]  # fmt: skip
    assert shlex.split(values(a, "ExecStart")[0]) == [str(fake_etl_cli), "dag", "run", "--select", "a", "--env", "dev"]
    note = "# environment prod is protected: this export confirms its runs (--confirm-env prod)"
    assert note in units["shop-b.service"].splitlines()
    assert "protected" not in units["shop-a.service"]


@needs_systemd_analyze
def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path, fake_etl_cli: Path) -> None:
    folder = tmp_path / "units"
    result = etl_cli(
        "schedule", "export", str(shop(tmp_path / "p")), "--format", "systemd",
        "--etl-cli", str(fake_etl_cli), "--output", str(folder),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    files = sorted(str(path) for path in folder.iterdir())
    verify = subprocess.run([str(SYSTEMD_ANALYZE), "verify", "--man=no", *files], capture_output=True, text=True)
    assert (verify.returncode, verify.stderr) == (0, "")


def scheduled(cron: str, zone: str = "UTC") -> ScheduledPipeline:
    return ScheduledPipeline("p", Path("p.yaml"), "p", ScheduleSpec(cron, zone), None, RetryPolicy())


def systemd_elapses(spec: str, base: datetime, count: int) -> list[str]:
    """What ``systemd-analyze calendar`` says ``spec`` fires at after ``base``, in UTC."""
    result = subprocess.run(
        [
            str(SYSTEMD_ANALYZE), "calendar", f"--iterations={count}",
            f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC", spec,
        ],
        capture_output=True, text=True, env={**os.environ, "TZ": "UTC"}, check=True,
    )  # fmt: skip
    return re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d):00 UTC", result.stdout)


@needs_systemd_analyze
@pytest.mark.parametrize(
    ("cron", "zone"),
    [
        ("30 2 * * *", "UTC"),
        ("*/20 8-10 * * MON-FRI", "UTC"),
        ("0 0 1 * MON", "UTC"),
        ("0 0 */10 2,4 *", "UTC"),
        ("15 6 L * *", "UTC"),
        ("0 7 * * FRI#2", "UTC"),
        ("0 7 * * 5L", "UTC"),
        ("45 7 * * 0,6", "Europe/Paris"),
        ("0 9-17/4 1-7 * 1", "America/New_York"),
    ],
)
def test_systemd_calendar_fires_when_the_cron_expression_does(cron: str, zone: str) -> None:
    base = datetime(2026, 5, 3, 12, tzinfo=UTC)  # no daylight-saving change in the weeks after it
    expected = [
        t.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for t in next_fire_times(ScheduleSpec(cron, zone), base, 12)
    ]
    fired: list[str] = []
    for spec in on_calendar(scheduled(cron, zone)):
        fired += systemd_elapses(spec, base, 12)
    assert sorted(set(fired))[:12] == expected


def test_a_last_weekday_of_the_month_is_an_error_for_systemd(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"pipeline 'p': cron expression '0 1 LW \* \*' cannot be exported to systemd"
    ):
        on_calendar(scheduled("0 1 LW * *"))


def test_systemd_export_without_an_output_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = etl_cli("schedule", "export", str(shop(tmp_path / "p")), "--format", "systemd")
    assert result.returncode == 2
    assert "give the folder with --output DIR" in result.stderr


# --------------------------------------------------------------------------- kubernetes


def cronjobs_of(root: Path, **options: object) -> list[dict[str, object]]:
    text = exported(root, ExportFormat.kubernetes, image="registry.example/etl:1.2", **options)["cronjobs.yaml"]
    assert text.startswith("# Generated by etl-cli")
    return list(yaml.safe_load_all(text))


def test_cronjobs_are_valid_for_kubernetes_1_30(tmp_path: Path) -> None:
    manifests = cronjobs_of(shop(tmp_path / "p"))
    assert len(manifests) == 2
    for manifest in manifests:
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)
    # the same check refuses a manifest Kubernetes would refuse (a key CronJobSpec does not have)
    broken = {**manifests[0], "spec": {**manifests[0]["spec"], "schedul": "0 2 * * *"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30.0", strict=True)


def test_a_cronjob_runs_the_dag_run_of_its_pipeline_in_the_image(tmp_path: Path) -> None:
    a, b = cronjobs_of(shop(tmp_path / "p"), image_project_dir=PurePosixPath("/srv/shop"))
    assert a["metadata"] == {
        "name": "shop-a",
        "labels": {"app.kubernetes.io/managed-by": "etl-cli", "etl-cli/pipeline": "a"},
    }
    spec = b["spec"]
    assert isinstance(spec, dict)
    (container,) = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container == {
        "name": "etl-cli",
        "image": "registry.example/etl:1.2",
        "workingDir": "/srv/shop",
        "command": ["etl-cli", "dag", "run", "--select", "b", "--env", "prod"],
    }


def test_a_cronjob_into_a_protected_environment_confirms_it_and_no_other_does(tmp_path: Path) -> None:
    manifests = cronjobs_of(shop(tmp_path / "p", project=PROTECTED_PROJECT))
    commands = []
    for manifest in manifests:
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)
        spec = manifest["spec"]
        assert isinstance(spec, dict)
        (container,) = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        commands.append(container["command"])
    assert commands == [
        ["etl-cli", "dag", "run", "--select", "a", "--env", "dev"],
        ["etl-cli", "dag", "run", "--select", "b", "--env", "prod", "--confirm-env", "prod"],
    ]


def test_a_cronjob_forbids_overlap_for_one_active_run_and_skips_missed_runs_without_catchup(tmp_path: Path) -> None:
    a, b = (manifest["spec"] for manifest in cronjobs_of(shop(tmp_path / "p")))
    assert isinstance(a, dict) and isinstance(b, dict)
    assert (a["schedule"], a["timeZone"], a["concurrencyPolicy"]) == ("30 2 * * *", "Europe/Paris", "Forbid")
    assert a["startingDeadlineSeconds"] == 300
    assert (b["concurrencyPolicy"], "startingDeadlineSeconds" in b) == ("Allow", False)


def test_the_kubernetes_export_needs_an_image(tmp_path: Path) -> None:
    result = etl_cli("schedule", "export", str(shop(tmp_path / "p")), "--format", "kubernetes")
    assert result.returncode == 2
    assert "--format kubernetes needs --image" in result.stderr


# --------------------------------------------------------------------------- airflow


def airflow_file(root: Path, fake_etl_cli: Path, **options: object) -> str:
    return exported(root, ExportFormat.airflow, etl_cli=fake_etl_cli, **options)["dag.py"]


def assigned(source: str, name: str) -> object:
    """The literal value the DAG file assigns to ``name`` at its top level."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned")


def test_the_airflow_file_compiles_and_imports_nothing_from_etl_cli(tmp_path: Path, fake_etl_cli: Path) -> None:
    source = airflow_file(shop(tmp_path / "p", b=""), fake_etl_cli)
    tree = ast.parse(source)
    compile(tree, "dag.py", "exec")
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    assert modules == {"__future__", "datetime", "re", "shlex", "pendulum", "airflow"}


def test_the_airflow_file_has_a_task_per_pipeline_with_the_dags_edges_and_mapped_retries(
    tmp_path: Path, fake_etl_cli: Path
) -> None:
    root = shop(tmp_path / "p", b="")
    source = airflow_file(root, fake_etl_cli)
    assert assigned(source, "PIPELINES") == {
        "a": {"file": "pipelines/a/pipeline.yaml", "env": "dev", "confirm_env": None, "retries": 3,
              "retry_delay_s": 5.0, "backoff": 3.0, "max_retry_delay_s": 60.0},
        "b": {"file": "pipelines/b/pipeline.yaml", "env": "dev", "confirm_env": None, "retries": 2,
              "retry_delay_s": 1.0, "backoff": 2.0, "max_retry_delay_s": 30.0},
        "c": {"file": "pipelines/c/pipeline.yaml", "env": "dev", "confirm_env": None, "retries": 2,
              "retry_delay_s": 1.0, "backoff": 2.0, "max_retry_delay_s": 30.0},
    }  # fmt: skip
    assert assigned(source, "EDGES") == [("a", "b"), ("b", "c")]
    assert (assigned(source, "PROJECT_ROOT"), assigned(source, "ETL_CLI")) == (str(root), str(fake_etl_cli))


def run_commands(source: str) -> dict[str, str]:
    """What the DAG file's ``run_command`` gives for each pipeline: its top-level constants and that function,
    run without Airflow (the rest of the file needs it)."""
    module = ast.parse(source)
    kept = [
        node
        for node in module.body
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper())
        or (isinstance(node, ast.FunctionDef) and node.name == "run_command")
    ]
    namespace: dict[str, object] = {"shlex": shlex}
    exec(compile(ast.Module(body=kept, type_ignores=[]), "dag.py", "exec"), namespace)
    run_command = namespace["run_command"]
    assert callable(run_command)
    return {name: run_command(name) for name in assigned(source, "PIPELINES")}  # type: ignore[attr-defined]


def test_an_airflow_task_into_a_protected_environment_confirms_it_and_no_other_does(
    tmp_path: Path, fake_etl_cli: Path
) -> None:
    # b runs in prod (its schedule's env, the same cron as a's so that both fit one DAG)
    b = "schedule: {cron: '30 2 * * *', env: prod}\n"
    source = airflow_file(shop(tmp_path / "p", b=b, project=PROTECTED_PROJECT), fake_etl_cli)
    pipelines = assigned(source, "PIPELINES")
    assert isinstance(pipelines, dict)
    assert {name: (s["env"], s["confirm_env"]) for name, s in pipelines.items()} == {
        "a": ("dev", None),
        "b": ("prod", "prod"),
        "c": ("dev", None),
    }
    run_id = " --run-id {{ etl_run_id(run_id, ti.try_number) }}"
    assert run_commands(source) == {
        "a": f"{fake_etl_cli} run pipelines/a/pipeline.yaml --env dev" + run_id,
        "b": f"{fake_etl_cli} run pipelines/b/pipeline.yaml --env prod --confirm-env prod" + run_id,
        "c": f"{fake_etl_cli} run pipelines/c/pipeline.yaml --env dev" + run_id,
    }


def test_the_airflow_dag_takes_the_schedule_of_the_selected_pipelines(tmp_path: Path, fake_etl_cli: Path) -> None:
    source = airflow_file(shop(tmp_path / "p", b=""), fake_etl_cli, dag_id="nightly")
    assert "dag_id='nightly'," in source
    assert "schedule=CronTriggerTimetable('30 2 * * *', timezone='Europe/Paris')," in source
    assert "catchup=False," in source


def test_selected_pipelines_with_different_schedules_are_a_usage_error(tmp_path: Path, fake_etl_cli: Path) -> None:
    with pytest.raises(UsageError, match="the selected pipelines have different schedules"):
        airflow_file(shop(tmp_path / "p"), fake_etl_cli)


# --------------------------------------------------------------------------- schedule next, validate


def test_schedule_next_lists_fire_times_in_the_zone_and_in_utc_as_json(tmp_path: Path) -> None:
    root = shop(tmp_path / "p")
    result = etl_cli(
        "schedule", "next", str(root), "--select", "a", "-n", "2", "--after", "2026-03-28T12:00", "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.replace(" ", "").replace("\n", "") == (
        '{"pipelines":[{"name":"a","schedule":{"cron":"302***","timezone":"Europe/Paris"},"next":['
        '{"local":"2026-03-29T03:00:00+02:00","utc":"2026-03-29T01:00:00+00:00"},'
        '{"local":"2026-03-30T02:30:00+02:00","utc":"2026-03-30T00:30:00+00:00"}]}]}'
    )


def test_validate_reports_an_unknown_time_zone_at_its_line_with_the_nearest_name(tmp_path: Path) -> None:
    root = shop(tmp_path / "p", a="schedule: {cron: '30 2 * * *', timezone: Europe/Pariss}\n")
    result = etl_cli("validate", str(root / "pipelines/a"))
    assert result.returncode == 1
    assert "pipelines/a/pipeline.yaml:2:42: error" in result.stdout + result.stderr
    assert "unknown time zone 'Europe/Pariss'" in result.stdout + result.stderr
    assert "did you mean 'Europe/Paris'?" in result.stdout + result.stderr


def test_a_last_weekday_n_is_an_error_for_airflow_which_reads_it_otherwise(tmp_path: Path, fake_etl_cli: Path) -> None:
    root = shop(tmp_path / "p", a="schedule: {cron: '0 7 * * 5L'}\n", b="")
    with pytest.raises(
        ConfigError, match=r"pipeline 'a': cron expression '0 7 \* \* 5L' cannot be exported to Airflow"
    ):
        airflow_file(root, fake_etl_cli)
