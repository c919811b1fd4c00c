"""The warm engine (``etl-cli engine``) and Spark Connect (``--remote``), against a real Spark Connect server.

One engine serves the module: ``etl-cli engine start`` launches PySpark's own SparkConnectServer for a
project holding the quickstart (and a JDBC pipeline, which cannot run over Connect), and the commands
run against it as a user runs them: subprocesses of the installed CLI. Results are checked against rows
computed with plain Python from the sample CSVs (tests/spark/test_cli_run.py).

The isolation of sessions runs in a subprocess: a Spark Connect session marks its whole process as a
Connect one, which the in-process Spark tests sharing this pytest process must not become.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.clihelp import REPO, etl_cli
from tests.integration.kafkahelp import committed_parquet_rows, kafka_bootstrap, new_topic, produce_json
from tests.spark.test_cli_run import QUICKSTART_DATA, expected_quickstart_rows

# the commands run as subprocesses: a Connect session in this process would make it a Connect one (see above)
pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.own_jvm]

#: malformed records go to a dead-letter queue; the replay loads corrected rows (tests/spark/test_quality_replay.py)
MALFORMED = """\
sources:
  - {name: orders, type: csv, path: data/orders.csv, schema: "id INT, amount DOUBLE", on_malformed: dead_letter}
sinks:
  - {name: out, type: parquet, input: orders, path: output/malformed, mode: overwrite}
dead_letter: {type: json, path: output/dlq}
"""
#: a stream from Kafka written by Spark's own file sink, so it runs over Spark Connect (tests name the topic)
CLICKS = """\
streaming:
  checkpoint_location: .etl/checkpoints/clicks
  trigger: {available_now: true}
sources:
  - name: clicks_raw
    type: kafka
    mode: stream
    bootstrap_servers: ${env:CLICKS_BOOTSTRAP:-127.0.0.1:59092}
    topic: ${env:CLICKS_TOPIC:-clicks}
    starting_offsets: earliest
    schema: {click_id: BIGINT, page: STRING}
transforms:
  - {name: clicks, type: filter, inputs: [clicks_raw], condition: page IS NOT NULL}
checks:
  - {name: has_id, type: not_null, stage: clicks, columns: [click_id], action: fail}
sinks:
  - {name: clicks_out, type: parquet, input: clicks, path: output/clicks, mode: append}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project with the quickstart and a JDBC pipeline, and its engine running (stopped at the end)."""
    root = tmp_path_factory.mktemp("engine-project")
    (root / "etl-project.yaml").write_text("name: shop\n")
    shutil.copytree(REPO / "pipelines" / "quickstart", root / "pipelines" / "quickstart")
    shutil.copytree(
        REPO / "pipelines" / "postgres_to_parquet_incremental", root / "pipelines" / "postgres_to_parquet_incremental"
    )
    (root / "pipelines" / "malformed").mkdir()
    (root / "pipelines" / "malformed" / "pipeline.yaml").write_text(MALFORMED)
    (root / "pipelines" / "clicks").mkdir()
    (root / "pipelines" / "clicks" / "pipeline.yaml").write_text(CLICKS)  # the engine loads the Kafka connector
    (root / "data").mkdir()
    (root / "data" / "orders.csv").write_text("id,amount\n1,1.5\n2,2.5\n3,abc\n4,4.5,extra\n")
    started = etl_cli("engine", "start", str(root), "--format", "json", cwd=root, timeout=400)
    assert started.returncode == 0, started.stderr
    try:
        yield root
    finally:
        etl_cli("engine", "stop", str(root), cwd=root)


def _engine(root: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads((root / ".etl" / "engine" / "engine.json").read_text())
    return data


def _written_rows(folder: Path) -> list[tuple[object, ...]]:
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table().to_pylist()
    return sorted(
        (str(r["order_date"]), r["country"], r["orders"], r["revenue"], r["buyers"], r["rank_in_day"]) for r in table
    )


def test_start_records_the_engine_privately_and_status_shows_it_without_the_token(project: Path) -> None:
    record = project / ".etl" / "engine" / "engine.json"
    assert record.stat().st_mode & 0o777 == 0o600
    token = _engine(project)["token"]
    status = etl_cli("engine", "status", str(project), "--format", "json", cwd=project)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["running"] is True and shown["address"] == f"sc://localhost:{_engine(project)['port']}"
    assert token not in status.stdout and "token" not in shown
    # the server got its token from its environment: no process's command line holds it
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert token not in listing


def test_the_jdbc_pipeline_is_not_served_and_says_why(project: Path) -> None:
    again = etl_cli("engine", "start", str(project), cwd=project)
    assert again.returncode != 0 and "already runs" in again.stderr
    # what start reported: the quickstart is served, the JDBC pipeline starts Spark in-process
    from etl_cli.usecases.engine import engine_needs

    needs = engine_needs(project.resolve())
    assert needs.served == ("clicks", "malformed", "quickstart")
    assert "JDBC" in needs.not_served["postgres_to_parquet_incremental"]


def test_run_uses_the_engine_and_writes_the_expected_rows(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "warehouse"
    result = etl_cli(
        "run", "pipelines/quickstart", "--set", f"vars.output_dir={out}", "--results-dir", str(tmp_path), cwd=project
    )
    assert result.returncode == 0, result.stderr
    engine = _engine(project)
    assert f"using the warm engine at sc://localhost:{engine['port']}" in result.stderr
    assert _written_rows(out / "daily_revenue") == sorted(expected_quickstart_rows())
    results_text = (tmp_path / "latest.json").read_text()
    assert engine["token"] not in results_text + result.stdout + result.stderr
    results = json.loads(results_text)
    assert results["status"] == "success" and results["master"] == f"sc://localhost:{engine['port']}"
    sink = next(s for s in results["stages"] if s["name"] == "daily_revenue_out")
    assert sink["rows_out"] == len(expected_quickstart_rows())
    # Spark 4.1's Connect server returns the observed counts of every stage below the sink (4.0's: the top only)
    counts = {s["name"]: s["rows_out"] for s in results["stages"]}
    assert all(isinstance(n, int) for n in counts.values()), counts
    with (QUICKSTART_DATA / "orders.csv").open() as fh:
        assert counts["orders_raw"] == sum(1 for _ in fh) - 1  # the header
    # the run's staging folders are gone: only the published output and etl-cli's marker are left
    assert sorted(p.name for p in out.iterdir()) == ["daily_revenue"]


def test_dry_run_and_pipeline_tests_use_the_engine(project: Path) -> None:
    dry = etl_cli("dry-run", "pipelines/quickstart", cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert "using the warm engine" in dry.stderr and "nothing written" in dry.stdout
    assert not (project / "output").exists()
    tests = etl_cli("test", "pipelines/quickstart", cwd=project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "using the warm engine" in tests.stderr and "2 passed, 0 failed" in tests.stdout
    # with a pipeline that needs an in-process session among those tested, the one session they share is in-process
    both = etl_cli("test", "pipelines/quickstart", "pipelines/postgres_to_parquet_incremental", cwd=project)
    assert both.returncode == 0, both.stdout + both.stderr
    assert "warm engine" not in both.stderr and "0 failed" in both.stdout


def test_etl_engine_off_and_an_explicit_master_start_spark_in_process(project: Path, tmp_path: Path) -> None:
    result = etl_cli(
        "dry-run", "pipelines/quickstart", cwd=project, env={"ETL_ENGINE": "off", "ETL_STATE_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert "warm engine" not in result.stderr and "starting Spark (local[*])" in result.stderr


def test_remote_runs_over_a_connect_url_given_in_the_environment(project: Path, tmp_path: Path) -> None:
    engine = _engine(project)
    out = tmp_path / "warehouse"
    result = etl_cli(
        "run",
        "pipelines/quickstart",
        "--set",
        f"vars.output_dir={out}",
        "--results-dir",
        str(tmp_path),
        cwd=project,
        env={"ETL_REMOTE": f"sc://localhost:{engine['port']}/;token={engine['token']}"},
    )
    assert result.returncode == 0, result.stderr
    assert "warm engine" not in result.stderr  # named, not found
    assert _written_rows(out / "daily_revenue") == sorted(expected_quickstart_rows())
    assert engine["token"] not in (tmp_path / "latest.json").read_text() + result.stderr
    wrong = etl_cli(
        "run",
        "pipelines/quickstart",
        cwd=project,
        env={"ETL_REMOTE": f"sc://localhost:{engine['port']}/;token=not-the-token"},
    )
    assert wrong.returncode != 0


def test_dead_letters_and_their_replay_on_the_engine(project: Path, tmp_path: Path) -> None:
    first = etl_cli("run", "pipelines/malformed", "--results-dir", str(tmp_path), cwd=project)
    assert first.returncode == 0, first.stderr
    assert "using the warm engine" in first.stderr
    run_id = json.loads((tmp_path / "latest.json").read_text())["run_id"]
    out = project / "output" / "malformed"
    assert sorted(r["id"] for r in ds.dataset(out, format="parquet").to_table().to_pylist()) == [1, 2]
    letters = ds.dataset(project / "output" / "dlq", format="json").to_table().to_pylist()
    assert sorted(r["raw"] for r in letters) == ["3,abc", "4,4.5,extra"]
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text('{"id": 3, "amount": 3.5}\n{"id": 4, "amount": 4.5}\n')
    replayed = etl_cli("dlq", "replay", "pipelines/malformed", "--run", run_id, "--rows", str(fixed), cwd=project)
    assert replayed.returncode == 0, replayed.stderr
    assert "using the warm engine" in replayed.stderr
    written = ds.dataset(out, format="parquet").to_table().to_pylist()
    assert sorted((r["id"], r["amount"]) for r in written) == [(1, 1.5), (2, 2.5), (3, 3.5), (4, 4.5)]


def test_a_kafka_stream_into_files_runs_on_the_engine_and_resumes_from_its_checkpoint(
    project: Path, tmp_path: Path
) -> None:
    bootstrap, topic = kafka_bootstrap(), new_topic("connect")
    env = {"CLICKS_BOOTSTRAP": bootstrap, "CLICKS_TOPIC": topic}
    first = [{"click_id": n, "page": None if n % 4 == 0 else f"/p{n % 3}"} for n in range(1, 21)]
    produce_json(bootstrap, topic, first)
    done = etl_cli("run", "pipelines/clicks", "--results-dir", str(tmp_path), cwd=project, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "using the warm engine" in done.stderr
    kept = sorted(r["click_id"] for r in first if r["page"] is not None)
    assert sorted(r["click_id"] for r in committed_parquet_rows(project / "output" / "clicks")) == kept
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["status"] == "success" and results["master"].startswith("sc://localhost:")
    assert next(s for s in results["stages"] if s["name"] == "clicks_out")["rows_out"] == len(kept)
    check = next(c for c in results["quality"]["checks"] if c["name"] == "has_id")
    assert (check["rows_evaluated"], check["outcome"]) == (len(kept), "passed")
    # the next run reads on from the checkpoint the server kept: only the new records are written
    second = [{"click_id": n, "page": "/new"} for n in range(21, 26)]
    produce_json(bootstrap, topic, second)
    again = etl_cli("run", "pipelines/clicks", "--results-dir", str(tmp_path), cwd=project, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    written = sorted(r["click_id"] for r in committed_parquet_rows(project / "output" / "clicks"))
    assert written == [*kept, 21, 22, 23, 24, 25]
    # a fail check stops the stream on the server before its micro-batch is committed (exit 3)
    produce_json(bootstrap, topic, [{"click_id": None, "page": "/bad"}, {"click_id": 26, "page": "/ok"}])
    failed = etl_cli("run", "pipelines/clicks", cwd=project, env=env, timeout=300)
    assert failed.returncode == 3, failed.stderr
    assert "data-quality gate failed on the stream" in failed.stderr and "has_id" in failed.stderr
    assert sorted(r["click_id"] for r in committed_parquet_rows(project / "output" / "clicks")) == written


def test_sessions_on_the_engine_are_isolated(project: Path) -> None:
    engine = _engine(project)
    script = textwrap.dedent(
        f"""
        from etl_cli.runtime.spark.connect import connect_session
        url = "sc://localhost:{engine["port"]}/;token={engine["token"]}"
        first = connect_session(url, {{"spark.sql.shuffle.partitions": "3"}})
        second = connect_session(url, {{}})
        first.range(5).createOrReplaceTempView("mine")
        print(first.table("mine").count(), second.catalog.tableExists("mine"))
        print(first.conf.get("spark.sql.shuffle.partitions"), second.conf.get("spark.sql.shuffle.partitions"))
        first.stop()
        second.stop()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5", "False", "3", "200"]


def test_stop_ends_the_engine_and_commands_start_spark_in_process_again(project: Path) -> None:
    pid = int(_engine(project)["pid"])
    stopped = etl_cli("engine", "stop", str(project), cwd=project)
    assert stopped.returncode == 0 and "engine stopped" in stopped.stdout
    status = etl_cli("engine", "status", str(project), cwd=project)
    assert status.returncode == 1 and "no engine" in status.stdout
    assert not (project / ".etl" / "engine" / "engine.json").exists()
    assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0
