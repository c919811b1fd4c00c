"""Row-level checks on a stream from the real Kafka broker, through ``etl-cli run``: drop, quarantine to the
dead-letter queue and warn as the rows flow, and a ``fail`` check that stops the stream before its
micro-batch is committed (exit 3). Expected rows are computed from what the test produced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.clihelp import etl_cli
from tests.integration.kafkahelp import committed_json_rows, kafka_bootstrap, new_topic, produce_json
from tests.unit.helpers import write

PIPELINE = """\
name: readings
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2}}}}
streaming: {{checkpoint_location: ck, trigger: {{available_now: true}}}}
sources:
  - name: readings
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {topic}
    starting_offsets: earliest
    schema: "id BIGINT, sensor STRING, value DOUBLE"
sinks:
  - {{name: out, type: json, input: readings, path: out}}
dead_letter: {{type: json, path: dlq}}
checks:
  - {{name: has_sensor, stage: readings, type: not_null, columns: [sensor], action: drop}}
  - {{name: plausible, stage: readings, type: range, column: value, max: 150, action: quarantine}}
  - {{name: round_id, stage: readings, type: expression, expression: "id % 10 <> 0", action: warn}}
{extra}"""


def readings(bad_value: int | None = None) -> list[dict[str, Any]]:
    """30 readings: every seventh without a sensor, ids 5 and 17 implausible (999), ``bad_value`` negative."""
    return [
        {
            "id": n,
            "sensor": None if n % 7 == 0 else f"s{n % 3}",
            "value": 999.0 if n in (5, 17) else (-1.0 if n == bad_value else float(n)),
        }
        for n in range(1, 31)
    ]


def run(root: Path, produced: list[dict[str, Any]], extra: str = "") -> tuple[int, str, dict[str, Any]]:
    bootstrap, topic = kafka_bootstrap(), new_topic("checks")
    produce_json(bootstrap, topic, produced, key="id")
    write(root, "etl-project.yaml", "name: readings\n")
    write(root, "readings/pipeline.yaml", PIPELINE.format(bootstrap=bootstrap, topic=topic, extra=extra))
    done = etl_cli("run", "readings", cwd=root, env={"ETL_STATE_DIR": str(root / "state")}, timeout=300)
    results = json.loads((root / "state" / "runs" / "readings" / "default" / "latest.json").read_text())
    return done.returncode, done.stdout + done.stderr, results


def dead_letters(root: Path) -> list[dict[str, Any]]:
    files = sorted((root / "dlq").rglob("*.json"))
    return [json.loads(line) for path in files for line in path.read_text().splitlines() if line.strip()]


def test_drop_quarantine_and_warn_apply_to_every_micro_batch(tmp_path: Path) -> None:
    produced = readings()
    code, output, results = run(tmp_path, produced)
    assert code == 0, output
    dropped = {r["id"] for r in produced if r["sensor"] is None}
    quarantined = {r["id"] for r in produced if r["value"] > 150}
    assert sorted(r["id"] for r in committed_json_rows(tmp_path / "out")) == sorted(
        r["id"] for r in produced if r["id"] not in dropped | quarantined
    )
    letters = dead_letters(tmp_path)
    assert sorted(json.loads(d["row"])["id"] for d in letters) == sorted(quarantined)
    assert {(d["stage"], d["kind"], d["check"], d["reason"]) for d in letters} == {
        ("readings", "quarantined", "plausible", "failed check(s): plausible")
    }
    checks = {c["name"]: c for c in results["quality"]["checks"]}
    assert {name: (c["rows_evaluated"], c["rows_failed"], c["outcome"]) for name, c in checks.items()} == {
        "has_sensor": (30, len(dropped), "warned"),
        "plausible": (30, len(quarantined), "warned"),
        "round_id": (30, 3, "warned"),  # ids 10, 20, 30: kept
    }
    assert results["dead_letters"]["rows"] == len(quarantined)


def test_a_fail_check_stops_the_stream_before_its_batch_is_committed(tmp_path: Path) -> None:
    extra = "  - {name: not_negative, stage: readings, type: range, column: value, min: 0, action: fail}\n"
    code, output, results = run(tmp_path, readings(bad_value=12), extra)
    assert code == 3, output
    assert "data-quality gate failed on the stream" in output and "not_negative" in output
    assert committed_json_rows(tmp_path / "out") == [], "the micro-batch with the failing row never committed"
    assert results["status"] == "failed" and results["exit_code"] == 3
    outcome = {c["name"]: c["outcome"] for c in results["quality"]["checks"]}
    assert outcome["not_negative"] == "failed"
