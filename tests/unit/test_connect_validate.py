"""What cannot run over Spark Connect, said offline by ``validate`` at its line, and the choice of the warm engine.

Line and column numbers are counted by hand in the files written below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.cli.options import spark_target
from etl_cli.config.project import read_project
from etl_cli.errors import UsageError
from etl_cli.runtime.spark.engine import EngineInfo, engine_fit
from tests.clihelp import etl_cli
from tests.unit.helpers import make_project, write

JDBC = (
    "sources:\n"
    "  - name: orders\n"  # line 2, column 5: where a stage's own problems point
    "    type: jdbc\n"
    "    url: jdbc:postgresql://localhost:5432/shop\n"
    "    table: orders\n"
    "    user: etl\n"
    "    password: ${secret:env:PG_PASSWORD}\n"
    "sinks:\n"
    "  - {name: out, type: parquet, input: orders, path: output/orders}\n"
)
FILES = (
    "spark:\n"
    "  conf:\n"
    "    spark.sql.shuffle.partitions: 4\n"
    "    spark.driver.memory: 2g\n"  # line 4, column 5
    "sources:\n"
    "  - {name: raw, type: csv, path: data/orders.csv}\n"
    "sinks:\n"
    "  - {name: out, type: parquet, input: raw, path: 's3a://bucket/orders'}\n"  # line 8, column 44 (its path key)
)


def _project(root: Path, pipeline: str, project: str = "name: shop\n") -> Path:
    write(root, "data/orders.csv", "id\n1\n")
    make_project(root, {"p/pipeline.yaml": pipeline})
    (root / "etl-project.yaml").write_text(project)
    return root / "p"


def _found(path: Path, remote: str | None) -> list[tuple[str, str, int | None, int | None]]:
    (report,) = app.validate([path], remote=remote)
    return [
        (d.severity, d.code, d.location.line if d.location else None, d.location.column if d.location else None)
        for d in report.diagnostics
        if d.code in ("not-over-connect", "server-setting")
    ]


def test_a_jdbc_stage_cannot_run_over_connect_and_validate_says_so_at_the_stage(tmp_path: Path) -> None:
    path = _project(tmp_path, JDBC)
    assert _found(path, None) == []  # not asked about Connect: no problem
    assert _found(path, "sc://localhost:15002") == [("error", "not-over-connect", 2, 5)]
    result = etl_cli("validate", "p", "--remote", "sc://localhost:15002", cwd=tmp_path)
    assert result.returncode == 1
    assert "p/pipeline.yaml:2:5" in result.stdout and "JDBC connections in Spark's driver JVM" in result.stdout


def test_a_sink_off_the_local_disk_is_an_error_and_a_server_setting_a_warning(tmp_path: Path) -> None:
    path = _project(tmp_path, FILES)
    assert sorted(_found(path, "sc://localhost:15002")) == [
        ("error", "not-over-connect", 8, 44),
        ("warning", "server-setting", 4, 5),
    ]


def test_the_projects_spark_remote_applies_unless_the_pipeline_names_its_own_master(tmp_path: Path) -> None:
    path = _project(tmp_path, JDBC, "name: shop\nspark:\n  remote: sc://spark.example:15002\n")
    # the JDBC source, and the Parquet sink: etl-cli publishes it on this machine, not the server's
    assert sorted(_found(path, None)) == [("error", "not-over-connect", 2, 5), ("error", "not-over-connect", 9, 5)]
    local = _project(tmp_path / "local", "spark: {master: 'local[2]'}\n" + JDBC)
    (tmp_path / "local" / "etl-project.yaml").write_text("name: shop\nspark:\n  remote: sc://spark.example:15002\n")
    assert _found(local, None) == []


def test_a_project_spark_remote_must_be_a_connect_url(tmp_path: Path) -> None:
    (tmp_path / "etl-project.yaml").write_text("name: shop\nspark:\n  remote: spark://m:7077\n  master: x\n")
    project, problems = read_project(tmp_path)
    assert project.spark_remote is None
    assert sorted((p.code, p.location.line if p.location else None) for p in problems) == [
        ("bad-remote", 3),
        ("unknown-key", 4),
    ]


def test_remote_and_master_are_one_choice() -> None:
    assert spark_target("local[2]", None) == "local[2]"
    assert spark_target(None, "sc://h:15002") == "sc://h:15002"
    with pytest.raises(UsageError, match="cannot be used together"):
        spark_target("local[2]", "sc://h:15002")
    with pytest.raises(UsageError, match="starts with sc://"):
        spark_target(None, "spark://h:7077")


def _engine(**kwargs: object) -> EngineInfo:
    base: dict[str, object] = {
        "pid": 1,
        "port": 15002,
        "token": "t",
        "project": "shop",
        "started_at": "2026-12-06T00:00:00+00:00",
        "spark_version": "4.0.5",
        "python": "python3",
    }
    return EngineInfo(**{**base, **kwargs})  # type: ignore[arg-type]


def test_the_engine_fits_a_pipeline_only_with_its_packages_jars_and_server_settings() -> None:
    engine = _engine(
        packages=("org.postgresql:postgresql:42.7.4",),
        settings={"spark.sql.extensions": "a.Ext,b.Ext", "spark.driver.memory": "2g"},
    )
    assert engine_fit(engine, ["org.postgresql:postgresql:42.7.4"], [], {"spark.sql.extensions": "b.Ext"}) is None
    delta = "io.delta:delta-spark_2.13:4.0.1"
    assert f"packages {delta}" in str(engine_fit(engine, [delta], [], {}))
    assert "jars /x.jar" in str(engine_fit(engine, [], ["/x.jar"], {}))
    assert "extensions c.Ext" in str(engine_fit(engine, [], [], {"spark.sql.extensions": "c.Ext"}))
    why = engine_fit(engine, [], [], {"spark.driver.memory": "8g"})
    assert why == "it needs the Spark setting spark.driver.memory=8g, but the engine started with 2g"


def test_the_engine_address_never_shows_the_token() -> None:
    engine = _engine(token="s3cret")
    assert "s3cret" in engine.url and "s3cret" not in engine.address and "s3cret" not in str(engine.public())


def test_without_the_connect_extra_a_remote_session_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from etl_cli.errors import RunError
    from etl_cli.runtime.spark.connect import require_connect_client

    require_connect_client()  # the dev install has the extra
    monkeypatch.setitem(sys.modules, "grpc", None)  # as if grpcio were not installed
    with pytest.raises(RunError, match="needs the `connect` extra") as raised:
        require_connect_client()
    assert raised.value.hint == "pip install 'etl-cli[connect]'"


LOCAL = (
    "sources:\n"
    "  - {name: raw, type: csv, path: data/orders.csv}\n"
    "sinks:\n"
    "  - {name: out, type: parquet, input: raw, path: output/orders}\n"  # line 4, column 5
    "dead_letter:\n"  # line 5, column 1: where the queue's problems point
    "  type: jdbc\n"
    "  url: jdbc:postgresql://localhost:5432/shop\n"
    "  table: rejects\n"
)


def test_local_outputs_need_a_server_on_this_machine_and_the_queue_is_checked_too(tmp_path: Path) -> None:
    path = _project(tmp_path, LOCAL)
    assert _found(path, "sc://localhost:15002") == [("error", "not-over-connect", 5, 1)]
    assert sorted(_found(path, "sc://spark.example:15002")) == [
        ("error", "not-over-connect", 4, 5),
        ("error", "not-over-connect", 5, 1),
    ]
    (report,) = app.validate([path], remote="sc://spark.example:15002")
    messages = " ".join(d.message for d in report.diagnostics)
    assert "publishes file outputs on this machine's disk" in messages and "sink 'dead_letter' (jdbc)" in messages


def test_a_run_over_connect_is_refused_before_any_session_at_the_line_of_what_needs_the_jvm(tmp_path: Path) -> None:
    _project(tmp_path, JDBC)
    # port 1: nothing listens there; the refusal comes first, without a connection
    result = etl_cli("run", "p", "--remote", "sc://localhost:1", cwd=tmp_path, env={"PG_PASSWORD": "x"})
    assert result.returncode == 1, result.stderr
    assert "p/pipeline.yaml:2:5: source 'orders' (jdbc): cannot run over Spark Connect" in result.stderr
    assert "starting Spark" not in result.stderr


STREAM = (
    "streaming: {checkpoint_location: .etl/checkpoints/p, trigger: {available_now: true}}\n"
    "sources:\n"
    "  - name: clicks\n"
    "    type: kafka\n"
    "    mode: stream\n"
    "    bootstrap_servers: 127.0.0.1:59092\n"
    "    topic: clicks\n"
    "    schema: {id: BIGINT, page: STRING, event_time: TIMESTAMP}\n"
    "    watermark: {column: event_time, delay: 1 minute, late: drop}\n"  # line 9
    "transforms:\n"
    "  - name: per_page\n"  # line 11, column 5
    "    type: aggregate\n"
    "    inputs: [clicks]\n"
    "    window: {column: event_time, duration: 1 minute}\n"
    "    group_by: [page]\n"
    "    aggregations: {n: {function: count}}\n"
    "sinks:\n"
    "  - {name: raw, type: parquet, input: clicks, path: output/raw, mode: append}\n"
    "  - {name: pages, type: json, input: per_page, path: output/pages, mode: append}\n"
)


def test_a_stream_written_by_sparks_own_sinks_runs_over_connect(tmp_path: Path) -> None:
    path = _project(tmp_path, STREAM)
    assert _found(path, "sc://localhost:15002") == []
    result = etl_cli("validate", "p", "--remote", "sc://localhost:15002", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_what_a_stream_commits_in_etl_clis_process_is_refused_over_connect_at_its_line(tmp_path: Path) -> None:
    text = (
        STREAM.replace(", late: drop", "")  # late records go to the queue below: a handler writes them
        + "  - {name: by_page, type: delta, input: clicks, path: output/by_page, mode: merge, keys: [id]}\n"
        + "dead_letter: {type: json, path: output/dlq}\n"
        + "checks:\n"
        + "  - {name: has_page, type: not_null, stage: clicks, columns: [page], action: quarantine}\n"
    )
    path = _project(tmp_path, text)
    assert _found(path, None) == []
    found = _found(path, "sc://localhost:15002")
    (report,) = app.validate([path], remote="sc://localhost:15002")
    said = [(d.location.line if d.location else None, d.message) for d in report.diagnostics]
    assert ("error", "not-over-connect", 11, 5) in found  # the aggregate whose late records are dead-lettered
    assert ("error", "not-over-connect", 20, 71) in found  # the merge sink's mode
    assert ("error", "not-over-connect", 23, 5) in found  # the quarantine check
    assert any(line == 11 and "its late records cannot go to the dead-letter queue" in m for line, m in said)
    assert any(line == 20 and "a stream written in mode merge cannot run over Spark Connect" in m for line, m in said)
    assert any(
        line == 23 and "check 'has_page' (not_null) on stage 'clicks': quarantined rows" in m for line, m in said
    )


def test_real_time_mode_is_refused_over_a_remote_given_on_the_command_line(tmp_path: Path) -> None:
    text = STREAM.replace("trigger: {available_now: true}", "trigger: {real_time: 30 seconds}")
    text = text.replace("    watermark: {column: event_time, delay: 1 minute, late: drop}\n", "")  # stateless
    text = (
        text.split("transforms:\n")[0]
        + "sinks:\n  - {name: raw, type: kafka, input: clicks, topic: out,"
        + (" bootstrap_servers: 127.0.0.1:59092, mode: append}\n")
    )
    path = _project(tmp_path, text)
    assert ("error", "not-over-connect", 1, 64) in _found(path, "sc://localhost:15002")
