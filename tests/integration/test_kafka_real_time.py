"""Real-time mode against the real broker: Kafka → filter, derive, a broadcast lookup → Kafka with
``trigger: {real_time: "10 minutes"}``.

Records produced while the run is up come out while its first real-time batch is still running (no query
has reported a finished batch yet), which micro-batches cannot do: there, a record is written only by
a batch that then reports its progress. Every expected output record is computed here from the records
produced, and each comes out once. SIGTERM ends the run at once (exit 0), without waiting out the batch. With
``streaming.count_rows: false`` the query writes the same records without counting them (no ``observe``).

Needs the broker of scripts/services.sh (``up kafka``).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

from tests.clihelp import etl_cli
from tests.integration.kafkahelp import BackgroundRun, kafka_bootstrap, new_topic, produce_json, read_topic, wait_until

PIPELINE = """
name: sensors_live
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2}}}}
streaming:
  checkpoint_location: {checkpoints}
  trigger: {{real_time: "10 minutes"}}
  count_rows: false
sources:
  - name: readings
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {input_topic}
    starting_offsets: earliest
    schema: {{reading_id: BIGINT, sensor: STRING, value: DOUBLE}}
    metadata: []
  - name: sensors
    type: csv
    path: {sensors}
    schema: {{sensor: STRING, site: STRING}}
transforms:
  - name: valid
    type: filter
    inputs: [readings]
    condition: value >= 0
  - name: scaled
    type: derive
    inputs: [valid]
    columns: {{value_x10: "value * 10"}}
  - name: sited
    type: lookup
    inputs: [scaled, sensors]
    on: [sensor]
sinks:
  - name: live
    type: kafka
    input: sited
    bootstrap_servers: {bootstrap}
    topic: {output_topic}
    key_column: sensor
"""
SITES = {"s1": "north", "s2": "south"}


def readings(first: int, count: int) -> list[dict[str, Any]]:
    """Readings ``first``.. of sensors s1, s2 and s3 (no site), every fourth one negative."""
    return [
        {"reading_id": i, "sensor": f"s{i % 3 + 1}", "value": float(-1 if i % 4 == 0 else i)}
        for i in range(first, first + count)
    ]


def expected(produced: list[dict[str, Any]]) -> dict[int, tuple[str, str | None, float]]:
    """reading id → (sensor, site, value * 10) of the readings the filter keeps."""
    return {
        r["reading_id"]: (r["sensor"], SITES.get(r["sensor"]), r["value"] * 10) for r in produced if r["value"] >= 0
    }


def written(bootstrap: str, topic: str) -> list[tuple[int, str, str | None, float]]:
    found = []
    for record in read_topic(bootstrap, topic):
        assert record.value is not None
        value = json.loads(record.value)
        assert record.key is not None, "keyed by sensor"
        found.append((value["reading_id"], record.key, value.get("site"), value["value_x10"]))
    return found


def finished_batches(project: Path, state: Path) -> list[Any]:
    """The batch id of each streaming query's last progress report (None: no batch has finished yet)."""
    result = etl_cli("streams", "status", str(project), "--format", "json", env={"ETL_STATE_DIR": str(state)})
    assert result.returncode == 0, result.stdout + result.stderr
    runs = json.loads(result.stdout)["runs"]
    return [query.get("batch_id") for run in runs for query in run["queries"]]


def test_records_pass_through_in_real_time_each_once_and_sigterm_stops_at_once(tmp_path: Path) -> None:
    bootstrap = kafka_bootstrap()
    input_topic, output_topic = new_topic("rt-in"), new_topic("rt-out")
    sensors = tmp_path / "sensors.csv"
    sensors.write_text("sensor,site\n" + "".join(f"{k},{v}\n" for k, v in SITES.items()))
    project = tmp_path / "project"
    (project / "sensors_live").mkdir(parents=True)
    (project / "etl-project.yaml").write_text("name: rt\n")
    pipeline = project / "sensors_live" / "pipeline.yaml"
    pipeline.write_text(
        PIPELINE.format(
            bootstrap=bootstrap,
            checkpoints=tmp_path / "ck",
            input_topic=input_topic,
            output_topic=output_topic,
            sensors=sensors,
        )
    )
    state = tmp_path / "state"
    before = readings(0, 40)
    produce_json(bootstrap, input_topic, before)
    run = BackgroundRun([str(pipeline)], tmp_path / "run.log", {"ETL_STATE_DIR": str(state)})
    try:
        run.start()
        wait_until(
            lambda: {w[0] for w in written(bootstrap, output_topic)} == set(expected(before)),
            180,
            "the readings produced before the run",
            run.assert_running,
        )
        during = readings(40, 40)
        produce_json(bootstrap, input_topic, during)
        wait_until(
            lambda: len(written(bootstrap, output_topic)) >= len(expected(before + during)),
            60,
            "the readings produced while the run is up",
            run.assert_running,
        )
        batches = finished_batches(project, state)
        assert batches and all(b is None for b in batches), f"a batch finished: not real-time mode ({batches})"
        started = time.monotonic()
        assert run.stop(signal.SIGTERM) == 0, run.output()[-4000:]
        assert time.monotonic() - started < 60, "SIGTERM waited for the 10-minute batch"
    finally:
        run.cleanup()

    rows = written(bootstrap, output_topic)
    assert sorted(r[0] for r in rows) == sorted(expected(before + during)), "each kept reading once"
    assert {r[0]: r[1:] for r in rows} == expected(before + during)
    [results] = [f for f in (state / "runs" / "sensors_live").glob("*/*.json") if f.name != "latest.json"]
    [sink] = [s for s in json.loads(results.read_text())["stages"] if s["kind"] == "sink"]
    assert sink["rows_out"] is None, "streaming.count_rows: false: the sink's rows are not counted"
