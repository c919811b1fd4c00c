"""The Redis source and sink through ``etl-cli run`` against the redis-server of scripts/services.sh.

One run (a module-scoped fixture) reads hashes, strings and a stream range that the test
wrote beforehand with redis-py, and writes a CSV file's rows as hashes, strings with a time
to live and stream entries, two of them refused into the dead-letter queue. The expected
values are written out by hand; the results are read back with redis-py and pyarrow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from tests.clihelp import etl_cli
from tests.integration.serviceshelp import need_module

redis = need_module("redis")

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.services("redis")]

PREFIX = "etltest"
CSV = """\
id,name,city,score
1,ada,London,9.5
2,grace,,7
3,edsger,Nuenen,
4,barbara,Boston,8
,nobody,Nowhere,1
"""

PIPELINE = """\
name: redis_roundtrip
spark:
  master: local[2]
  conf: {{spark.sql.shuffle.partitions: 2}}
vars:
  url: ${{env:ETL_TEST_REDIS_URL}}
sources:
  - name: people
    type: csv
    path: people.csv
    schema: {{id: BIGINT, name: STRING, city: STRING, score: "DECIMAL(4,1)"}}
  - name: src_hashes
    type: redis
    url: ${{var:url}}
    password: ${{secret:env:REDIS_PASSWORD}}
    pattern: "{p}:src:cust:*"
    schema: {{name: STRING, age: INT, missing: STRING}}
    batch_size: 2
  - name: src_maps
    type: redis
    url: ${{var:url}}
    password: ${{secret:env:REDIS_PASSWORD}}
    pattern: "{p}:src:cust:[12]"
    key_column: redis_key
  - name: src_strings
    type: redis
    data_type: string
    url: ${{var:url}}
    password: ${{secret:env:REDIS_PASSWORD}}
    pattern: "{p}:src:str:*"
  - name: src_events
    type: redis
    data_type: stream
    url: ${{var:url}}
    password: ${{secret:env:REDIS_PASSWORD}}
    stream: "{p}:src:events"
    start_id: "2-0"
    end_id: "5-0"
    schema: "kind STRING, n BIGINT"
    batch_size: 2
sinks:
  - name: hashes
    type: redis
    input: people
    url: ${{var:url}}
    password: ${{secret:env:REDIS_PASSWORD}}
    key: "{p}:out:cust:{{id}}"
    columns: [name, city, score]
  - name: strings
    type: redis
    input: people
    data_type: string
    url: ${{var:url}}
    password: ${{secret:env:REDIS_PASSWORD}}
    key: "{p}:out:name:{{id}}"
    value_column: name
    ttl_seconds: 600
  - name: json_strings
    type: redis
    input: people
    data_type: string
    url: ${{var:url}}
    password: ${{secret:env:REDIS_PASSWORD}}
    key: "{p}:out:json:{{name}}"
    columns: [id, score]
  - name: events
    type: redis
    input: people
    data_type: stream
    mode: append
    url: ${{var:url}}
    password: ${{secret:env:REDIS_PASSWORD}}
    key: "{p}:out:stream"
  - {{name: hashes_read, type: parquet, input: src_hashes, path: out/hashes, mode: overwrite}}
  - {{name: maps_read, type: parquet, input: src_maps, path: out/maps, mode: overwrite}}
  - {{name: strings_read, type: parquet, input: src_strings, path: out/strings, mode: overwrite}}
  - {{name: events_read, type: parquet, input: src_events, path: out/events, mode: overwrite}}
dead_letter: {{type: parquet, path: dead_letters}}
"""


def client() -> Any:
    return redis.Redis.from_url(os.environ["ETL_TEST_REDIS_URL"], password=os.environ["ETL_TEST_REDIS_PASSWORD"])


def parquet(folder: Path) -> list[dict[str, Any]]:
    return ds.dataset(folder, format="parquet").to_table().to_pylist()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("redis")
    r = client()
    for key in r.scan_iter(match=f"{PREFIX}:*"):
        r.delete(key)
    r.hset(f"{PREFIX}:src:cust:1", mapping={"name": "ada", "age": "36"})
    r.hset(f"{PREFIX}:src:cust:2", mapping={"name": "grace", "age": "45", "extra": "x"})
    r.hset(f"{PREFIX}:src:cust:3", mapping={"name": "edsger"})
    r.set(f"{PREFIX}:src:cust:9", "a string, not a hash: left out")
    r.set(f"{PREFIX}:src:str:a", "alpha")
    r.set(f"{PREFIX}:src:str:b", "beta")
    for n in range(1, 7):
        r.xadd(f"{PREFIX}:src:events", {"kind": "tick" if n % 2 else "tock", "n": str(n * 10)}, id=f"{n}-0")
    r.hset(f"{PREFIX}:out:cust:1", mapping={"stale": "from an earlier run", "name": "old"})
    r.rpush(f"{PREFIX}:out:cust:4", "a list: the row for key 4 cannot be written")
    (root / "etl-project.yaml").write_text("name: redis_roundtrip\n", encoding="utf-8")
    (root / "people.csv").write_text(CSV, encoding="utf-8")
    (root / "pipeline.yaml").write_text(PIPELINE.format(p=PREFIX), encoding="utf-8")
    env = {"ETL_STATE_DIR": str(root / "state"), "REDIS_PASSWORD": os.environ["ETL_TEST_REDIS_PASSWORD"]}
    result = etl_cli("run", str(root / "pipeline.yaml"), env=env, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = etl_cli("dlq", "show", "--format", "json", "--limit", "100", str(root / "pipeline.yaml"), env=env, cwd=root)
    assert shown.returncode == 0, shown.stderr
    latest = json.loads((root / "state" / "runs" / "redis_roundtrip" / "default" / "latest.json").read_text())
    return {
        "root": root,
        "stages": {s["name"]: s for s in latest["stages"]},
        "letters": [json.loads(line) for line in shown.stdout.splitlines() if line.strip()],
    }


def test_hashes_are_upserted_with_their_non_null_fields(run: dict[str, Any]) -> None:
    r = client()
    assert r.hgetall(f"{PREFIX}:out:cust:1") == {b"name": b"ada", b"city": b"London", b"score": b"9.5"}
    assert r.hgetall(f"{PREFIX}:out:cust:2") == {b"name": b"grace", b"score": b"7.0"}
    assert r.hgetall(f"{PREFIX}:out:cust:3") == {b"name": b"edsger", b"city": b"Nuenen"}
    assert r.type(f"{PREFIX}:out:cust:4") == b"list"
    assert r.lrange(f"{PREFIX}:out:cust:4", 0, -1) == [b"a list: the row for key 4 cannot be written"]
    assert r.ttl(f"{PREFIX}:out:cust:1") == -1
    assert run["stages"]["hashes"]["rows_out"] == 3


def test_strings_carry_their_ttl_and_json_values(run: dict[str, Any]) -> None:
    r = client()
    assert [r.get(f"{PREFIX}:out:name:{n}") for n in (1, 2, 3, 4)] == [b"ada", b"grace", b"edsger", b"barbara"]
    assert 0 < r.ttl(f"{PREFIX}:out:name:4") <= 600
    assert json.loads(r.get(f"{PREFIX}:out:json:ada")) == {"id": 1, "score": 9.5}
    assert json.loads(r.get(f"{PREFIX}:out:json:edsger")) == {"id": 3}
    assert json.loads(r.get(f"{PREFIX}:out:json:nobody")) == {"score": 1.0}
    assert r.ttl(f"{PREFIX}:out:json:ada") == -1


def test_stream_entries_are_appended_one_per_row(run: dict[str, Any]) -> None:
    entries = sorted(
        (
            (fields.get(b"id"), fields.get(b"name"), fields.get(b"city"), fields.get(b"score"))
            for _, fields in client().xrange(f"{PREFIX}:out:stream")
        ),
        key=repr,
    )
    assert entries == sorted([
        (b"1", b"ada", b"London", b"9.5"), (b"2", b"grace", None, b"7.0"), (b"3", b"edsger", b"Nuenen", None),
        (b"4", b"barbara", b"Boston", b"8.0"), (None, b"nobody", b"Nowhere", b"1.0"),
    ], key=repr)  # fmt: skip


def test_rows_that_cannot_be_written_are_dead_letters(run: dict[str, Any]) -> None:
    refused = sorted(
        (letter["stage"], letter["reason"], json.loads(letter["row"]).get("name")) for letter in run["letters"]
    )
    assert refused == [
        ("hashes", f"key '{PREFIX}:out:cust:4' holds a list, not a hash", "barbara"),
        ("hashes", "key column 'id' is null", "nobody"),
        ("strings", "key column 'id' is null", "nobody"),
    ]
    assert run["stages"]["strings"]["rows_out"] == 4


def test_hash_source_reads_matching_hashes_into_declared_columns(run: dict[str, Any]) -> None:
    rows = sorted(parquet(run["root"] / "out" / "hashes"), key=lambda row: row["key"])
    assert rows == [
        {"key": f"{PREFIX}:src:cust:1", "name": "ada", "age": 36, "missing": None},
        {"key": f"{PREFIX}:src:cust:2", "name": "grace", "age": 45, "missing": None},
        {"key": f"{PREFIX}:src:cust:3", "name": "edsger", "age": None, "missing": None},
    ]
    maps = sorted((row["redis_key"], sorted(row["fields"])) for row in parquet(run["root"] / "out" / "maps"))
    assert maps == [
        (f"{PREFIX}:src:cust:1", [("age", "36"), ("name", "ada")]),
        (f"{PREFIX}:src:cust:2", [("age", "45"), ("extra", "x"), ("name", "grace")]),
    ]


def test_string_source_and_stream_range(run: dict[str, Any]) -> None:
    strings = sorted((row["key"], row["value"]) for row in parquet(run["root"] / "out" / "strings"))
    assert strings == [(f"{PREFIX}:src:str:a", "alpha"), (f"{PREFIX}:src:str:b", "beta")]
    events = sorted((row["id"], row["kind"], row["n"]) for row in parquet(run["root"] / "out" / "events"))
    assert events == [("2-0", "tock", 20), ("3-0", "tick", 30), ("4-0", "tock", 40), ("5-0", "tick", 50)]
