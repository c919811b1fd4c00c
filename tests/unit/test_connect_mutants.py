"""What of a pipeline cannot run over Spark Connect (etl_cli/model/connect.py), as ``validate --remote`` says it and
as ``unfit_for_connect`` tells a run: the exact message, hint and place of each refusal of a stream (real-time mode,
a sink mode etl-cli commits itself, quarantined rows, late records of a join of two streams), a stage that needs the
driver JVM beside them, file outputs a server on another machine cannot publish, and the warning for a setting only
a server's start applies. No JVM, no server."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.model.connect import unfit_for_connect
from tests.unit.helpers import column, make_project, said

REMOTE = "sc://localhost:15002"
HANDLER = "etl-cli commits it micro-batch by micro-batch in its own process (a foreachBatch handler)"
IN_PROCESS = "run it in-process or on a cluster (--master) instead of over Spark Connect (--remote)"

COMMITTED_HERE = """\
streaming: {checkpoint_location: ck}
sources:
  - name: clicks
    type: kafka
    mode: stream
    bootstrap_servers: 127.0.0.1:59092
    topic: clicks
    schema: {id: BIGINT, ad_id: BIGINT, page: STRING, click_time: TIMESTAMP}
    watermark: {column: click_time, delay: 1 minute}
  - name: views
    type: kafka
    mode: stream
    bootstrap_servers: 127.0.0.1:59092
    topic: views
    schema: {ad_id: BIGINT, view_time: TIMESTAMP}
    watermark: {column: view_time, delay: 1 minute}
transforms:
  - name: matched
    type: join
    inputs: [clicks, views]
    on: [ad_id]
    within: {left: click_time, right: view_time, lower: "-10 minutes", upper: "0 seconds"}
sinks:
  - {name: out, type: json, input: matched, path: output/matched}
  - {name: by_id, type: delta, input: clicks, path: output/by_id, mode: merge, keys: [id]}
dead_letter: {type: json, path: output/dlq}
checks:
  - {name: has_page, type: not_null, stage: clicks, columns: [page], action: quarantine}
"""
REAL_TIME = """\
streaming: {checkpoint_location: ck, trigger: {real_time: 30 seconds}}
sources:
  - {name: clicks, type: kafka, mode: stream, bootstrap_servers: 127.0.0.1:59092, topic: clicks, schema: {id: BIGINT}}
sinks:
  - {name: raw, type: kafka, input: clicks, topic: out, bootstrap_servers: 127.0.0.1:59092, mode: append}
"""


def over_connect(tmp_path: Path, text: str) -> list[tuple[str, str, str | None, int, int]]:
    """What ``validate --remote`` says of the pipeline ``text`` that cannot run over Spark Connect."""
    make_project(tmp_path, {"p/pipeline.yaml": text})
    (report,) = app.validate([tmp_path / "p"], remote=REMOTE)
    return [said(d) for d in report.diagnostics if d.code == "not-over-connect"]


def place(text: str, line_fragment: str, token: str) -> tuple[int, int]:
    number, line = next((n, line) for n, line in enumerate(text.splitlines(), start=1) if line_fragment in line)
    return number, column(line, token)


def test_a_sink_mode_etl_cli_commits_itself_is_refused_with_what_runs_over_connect(tmp_path: Path) -> None:
    assert (
        "not-over-connect",
        f"sink 'by_id' (delta): a stream written in mode merge cannot run over Spark Connect: {HANDLER}",
        f"{IN_PROCESS}; over Spark Connect a stream is written by Spark's own sinks (files and Kafka, in append mode)",
        *place(COMMITTED_HERE, "name: by_id", "mode: merge"),
    ) in over_connect(tmp_path, COMMITTED_HERE)


def test_quarantined_rows_of_a_stream_are_refused_with_the_other_actions_as_hint(tmp_path: Path) -> None:
    assert (
        "not-over-connect",
        "check 'has_page' (not_null) on stage 'clicks': quarantined rows of a stream cannot go to the dead-letter "
        f"queue over Spark Connect: {HANDLER}",
        f"{IN_PROCESS}; or use action drop or fail",
        *place(COMMITTED_HERE, "name: has_page", "{name"),
    ) in over_connect(tmp_path, COMMITTED_HERE)


def test_late_records_of_a_join_of_two_streams_are_refused_naming_both_watermarks(tmp_path: Path) -> None:
    assert (
        "not-over-connect",
        "transform 'matched' (join): its late records cannot go to the dead-letter queue over Spark Connect: "
        f"{HANDLER}",
        f"{IN_PROCESS}; or set late: drop on the watermark of clicks, views",
        *place(COMMITTED_HERE, "name: matched", "name"),
    ) in over_connect(tmp_path, COMMITTED_HERE)


def test_real_time_mode_is_refused_at_its_trigger_with_the_in_process_hint(tmp_path: Path) -> None:
    assert over_connect(tmp_path, REAL_TIME) == [
        (
            "not-over-connect",
            "real-time mode cannot run over Spark Connect: PySpark sets its trigger on the JVM of etl-cli's own "
            "process",
            IN_PROCESS,
            *place(REAL_TIME, "real_time:", "real_time:"),
        )
    ]


def test_a_stage_that_needs_the_driver_jvm_is_refused_beside_what_the_stream_commits_itself(tmp_path: Path) -> None:
    assert (
        "not-over-connect",
        "sink 'by_id' (delta): cannot run over Spark Connect: it commits through Delta Lake's Java API in Spark's "
        "driver JVM (merges, the table's log)",
        "run this pipeline in-process or on a cluster (--master) instead of over Spark Connect (--remote)",
        *place(COMMITTED_HERE, "name: by_id", "{name"),
    ) in over_connect(tmp_path, COMMITTED_HERE)


# --------------------------------------------------------------------------- a server on another machine

ELSEWHERE = "sc://spark.example:15002"
FILES = """\
spark:
  conf:
    spark.sql.shuffle.partitions: 4
    spark.driver.memory: 2g
sources:
  - {name: raw, type: csv, path: data/orders.csv}
sinks:
  - {name: out, type: parquet, input: raw, path: output/orders}
"""
UNPUBLISHED = (
    f"sink 'out' (parquet): cannot be published over the Spark Connect server at {ELSEWHERE}: etl-cli publishes "
    "file outputs on this machine's disk, and that server writes on its own"
)


def test_a_server_elsewhere_cannot_publish_file_outputs_and_ignores_server_settings(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": FILES, "data/orders.csv": "id\n1\n"})
    (report,) = app.validate([tmp_path / "p"], remote=f"{ELSEWHERE}/;token=s3cret")  # the token is never shown
    assert [
        (d.severity, d.code, d.message, d.hint, d.location.line, d.location.column)
        for d in report.diagnostics
        if d.code in ("not-over-connect", "server-setting") and d.location is not None
    ] == [
        (
            "warning",
            "server-setting",
            "spark.conf.spark.driver.memory is a server setting: a Spark Connect session cannot change it, so the "
            "server's own value applies",
            "set it where the Connect server starts (etl-cli engine start reads the project's pipelines)",
            *place(FILES, "spark.driver.memory", "spark.driver.memory"),
        ),
        (
            "error",
            "not-over-connect",
            UNPUBLISHED,
            "use a Connect server on this machine (etl-cli engine start), or run in-process or on a cluster",
            *place(FILES, "name: out", "{name"),
        ),
    ]


@pytest.mark.parametrize(
    ("remote", "why"),
    [
        (ELSEWHERE, UNPUBLISHED),
        ("sc://localhost:15002", None),  # a server on this machine: the server setting is only a warning
        (None, None),
    ],
)
def test_unfit_for_connect_says_why_from_an_error_never_from_a_warning(
    tmp_path: Path, remote: str | None, why: str | None
) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": FILES, "data/orders.csv": "id\n1\n"})
    spec = app.load_spec(tmp_path / "p", None, environ={})[1]
    assert unfit_for_connect(spec, app.registry(), remote) == why
