"""Benchmark 5's stateless variants judge every event: counted once means exactly the produced events the
pipeline's filter keeps, none missing, none twice; latency is each event's own (first visible minus produced)."""

from __future__ import annotations

from typing import Any

from benchmarks.kafka_passthrough import WARMUP_IDS, kept, summarise
from benchmarks.run import broken


def rows(ids: list[int], latency_ms: float = 20.0) -> list[tuple[float, dict[str, Any]]]:
    return [((1000.0 * n + latency_ms) / 1000, {"event_id": n, "produced_ms": 1000.0 * n}) for n in ids]


def test_the_kept_events_each_once_are_counted_once_with_their_own_latency() -> None:
    sent = 64
    output = rows([n for n in range(sent) if kept(n)]) + rows([WARMUP_IDS + 3], latency_ms=5000)

    result = summarise(output, sent, rate=60, produced_rate=60.0)

    assert (result["events_measured"], result["events_expected"]) == (60, 60)
    assert result["counted_once"] and result["sustained"]
    assert result["latency_ms"]["p95"] == 20 and result["p95_met"]  # the warm-up event is not measured


def test_a_missing_event_a_repeated_one_and_a_filtered_one_are_found() -> None:
    sent = 32
    ids = [n for n in range(sent) if kept(n) and n != 5] + [7, 15]  # 5 lost, 7 twice, 15 should be filtered out

    result = summarise(rows(ids), sent, rate=32, produced_rate=32.0)

    assert (result["missing"], result["duplicates"], result["unexpected"]) == (1, 1, 1)
    assert not result["counted_once"] and not result["sustained"]
    suite = {
        "benchmarks": [
            {"name": "kafka_real_time", "status": "ok", "kind": "streaming_latency", "variants": {"real_time": result}}
        ]
    }
    assert broken(suite) == ["kafka_real_time real_time: events not counted once (1 missing, 1 twice)"]
