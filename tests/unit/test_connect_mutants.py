"""What of a streaming pipeline cannot run over Spark Connect (etl_cli/model/connect.py, ``_streaming_problems``),
as ``validate --remote`` says it: the exact message, hint and place of each refusal (real-time mode, a sink
mode etl-cli commits itself, quarantined rows, late records of a join of two streams). No JVM, no server."""

from __future__ import annotations

from pathlib import Path

from etl_cli import app
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
