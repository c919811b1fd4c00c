"""The Airflow DAG file of ``etl-cli schedule export --format airflow`` in a real Apache Airflow.

Airflow runs from its own virtualenv (scripts/airflow-env.sh; ``AIRFLOW_VENV``, default .tools/airflow-venv),
so it constrains none of etl-cli's dependencies: the DAG file imports nothing from etl_cli. The test loads the
file in a real ``DagBag`` and checks its tasks, edges and schedule, then runs one task with ``airflow tasks
test``, which runs the real pipeline through the etl-cli executable. Without the virtualenv the test skips;
under CI (CI=true) it creates it first.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.clihelp import REPO, etl_cli
from tests.unit.helpers import make_project

PROJECT = "name: shop\ndefault_env: dev\nenvironments: {dev: {}, prod: {}}\n"
PIPELINES = {
    "in.csv": "id,amount\n1,10\n2,20\n",
    # a: scheduled; b reads what a writes; c runs after b (depends_on)
    "pipelines/a/pipeline.yaml": """
        name: a
        schedule: {cron: '0 3 * * *', timezone: Europe/Paris}
        retry: {attempts: 2, initial_delay: 30}
        sources: [{name: s, type: csv, path: in.csv, schema: {id: INT, amount: INT}}]
        sinks: [{name: o, type: parquet, input: s, path: out/a}]
    """,
    "pipelines/b/pipeline.yaml": """
        name: b
        sources: [{name: s, type: parquet, path: out/a}]
        sinks: [{name: o, type: parquet, input: s, path: out/b}]
    """,
    "pipelines/c/pipeline.yaml": """
        name: c
        depends_on: [b]
        sources: [{name: s, type: parquet, path: out/b}]
        sinks: [{name: o, type: parquet, input: s, path: out/c}]
    """,
}
#: prints what the DagBag holds, as JSON (run by the Airflow virtualenv's Python)
LOAD_DAGBAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("shop")
tasks = {} if dag is None else {
    t.task_id: {"downstream": sorted(t.downstream_task_ids), "retries": t.retries,
                "retry_delay_s": t.retry_delay.total_seconds()}
    for t in dag.tasks
}
print(json.dumps({
    "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "dag_ids": sorted(bag.dag_ids),
    "tasks": tasks,
    "timetable": None if dag is None else dag.timetable.serialize(),
    "catchup": None if dag is None else dag.catchup,
    "max_active_runs": None if dag is None else dag.max_active_runs,
}))
"""


@pytest.fixture(scope="module")
def airflow_python() -> Path:
    """The Python of Airflow's virtualenv: there already, or made by scripts/airflow-env.sh under CI."""
    venv = Path(os.environ.get("AIRFLOW_VENV", REPO / ".tools" / "airflow-venv"))
    if not (venv / "bin" / "airflow").is_file():
        if not os.environ.get("CI"):
            pytest.skip(f"no Airflow virtualenv at {venv}: scripts/airflow-env.sh makes it")
        made = subprocess.run([str(REPO / "scripts" / "airflow-env.sh")], capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The project and the AIRFLOW_HOME whose dags/ holds the DAG file exported for it.

    The export is made with ETL_STATE_DIR set: the DAG file hands it to the runs, whose results go there.
    """
    base = tmp_path_factory.mktemp("airflow")
    root = make_project(base / "shop", PIPELINES, project=PROJECT)
    home = base / "airflow-home"
    dag_file = str(home / "dags" / "shop.py")
    state = {"ETL_STATE_DIR": str(root / "state")}
    result = etl_cli("schedule", "export", str(root), "--format", "airflow", "--output", dag_file, env=state)
    assert result.returncode == 0, result.stderr
    return root, home


def airflow_env(home: Path) -> dict[str, str]:
    return {
        **{name: value for name, value in os.environ.items() if name != "ETL_STATE_DIR"},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def test_the_dag_file_loads_in_a_dagbag_with_the_tasks_edges_and_schedule(
    airflow_python: Path, exported: tuple[Path, Path]
) -> None:
    _, home = exported
    result = subprocess.run(
        [str(airflow_python), "-c", LOAD_DAGBAG, str(home / "dags")],
        capture_output=True,
        text=True,
        env=airflow_env(home),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert (loaded["import_errors"], loaded["dag_ids"]) == ({}, ["shop"])
    assert loaded["tasks"] == {
        "a": {"downstream": ["b"], "retries": 1, "retry_delay_s": 30.0},
        "b": {"downstream": ["c"], "retries": 2, "retry_delay_s": 1.0},
        "c": {"downstream": [], "retries": 2, "retry_delay_s": 1.0},
    }
    assert loaded["timetable"]["expression"] == "0 3 * * *"
    assert loaded["timetable"]["timezone"] == "Europe/Paris"
    assert (loaded["catchup"], loaded["max_active_runs"]) == (False, 1)


def test_airflow_tasks_test_runs_the_real_pipeline(airflow_python: Path, exported: tuple[Path, Path]) -> None:
    root, home = exported
    airflow = str(airflow_python.parent / "airflow")
    env = airflow_env(home)
    migrate = subprocess.run([airflow, "db", "migrate"], capture_output=True, text=True, env=env, timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    run = subprocess.run(
        [airflow, "tasks", "test", "shop", "a", "2026-12-05"], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    (results,) = (root / "state" / "runs" / "a" / "dev").glob("airflow-*.json")
    assert json.loads(results.read_text())["status"] == "success"
    rows = pq.read_table(root / "out" / "a").to_pylist()
    assert sorted((row["id"], row["amount"]) for row in rows) == [(1, 10), (2, 20)]
