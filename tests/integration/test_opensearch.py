"""The OpenSearch source and sink through ``etl-cli run`` against the node of scripts/services.sh.

Three runs of one pipeline (a module-scoped fixture): the first indexes a CSV file's rows by id
(one stale document replaced, two refused into the dead-letter queue) and appends them to a
second index, and reads 2,400 of 2,500 documents the test indexed beforehand (three pages) and
a small query without a schema; the second run is the same, to show that ids make it replace
rather than add; the third refuses the bad rows instead and must fail. A second pipeline indexes
without a dead-letter queue (at commit) next to a sink that fails, then without the failure. The
expected documents are written out by hand and read back over HTTP with the standard library.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from tests.clihelp import etl_cli

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.services("opensearch")]

PEOPLE = "etltest_people"
LOG = "etltest_people_log"
SOURCE = "etltest_source"
AT_COMMIT = "etltest_at_commit"
CSV = """\
id,name,age,city
1,ada,36,London
2,grace,45,
3,edsger,old,Nuenen
,nobody,20,Nowhere
4,barbara,50,Boston
"""

PIPELINE = """\
name: opensearch_roundtrip
spark:
  master: local[2]
  conf: {{spark.sql.shuffle.partitions: 2, spark.default.parallelism: 2}}
vars:
  url: ${{env:ETL_TEST_OPENSEARCH_URL}}
sources:
  - name: people
    type: csv
    path: people.csv
    schema: {{id: BIGINT, name: STRING, age: STRING, city: STRING}}
  - name: big
    type: opensearch
    url: ${{var:url}}
    index: {source}
    query: {{range: {{n: {{gte: 100}}}}}}
    page_size: 1000
    id_column: doc_id
    schema: {{n: BIGINT, parity: STRING, absent: STRING}}
  - name: small
    type: opensearch
    url: ${{var:url}}
    index: {source}
    query: {{bool: {{filter: [{{term: {{parity: odd}}}}, {{range: {{n: {{lt: 10}}}}}}]}}}}
sinks:
  - name: people_os
    type: opensearch
    input: people
    url: ${{var:url}}
    index: {people}
    keys: [id]
    batch_size: 2
    on_reject: dead_letter
  - name: people_log
    type: opensearch
    input: people
    mode: append
    url: ${{var:url}}
    index: {log}
    on_reject: dead_letter
  - {{name: big_out, type: parquet, input: big, path: out/big, mode: overwrite}}
  - {{name: small_out, type: parquet, input: small, path: out/small, mode: overwrite}}
dead_letter: {{type: parquet, path: dead_letters}}
"""

#: without a dead-letter queue the documents are indexed at commit, after the other sinks
AT_COMMIT_PIPELINE = """\
name: opensearch_at_commit
spark: {{master: "local[2]"}}
sources:
  - {{name: people, type: csv, path: good.csv, schema: {{id: BIGINT, name: STRING}}}}
sinks:
  - name: indexed
    type: opensearch
    input: people
    url: ${{env:ETL_TEST_OPENSEARCH_URL}}
    index: {index}
    keys: [id]
  - {{name: blocked, type: parquet, input: people, path: existing, mode: error}}
"""


def node(method: str, path: str, body: Any = None, ndjson: str | None = None) -> Any:
    data = ndjson.encode() if ndjson is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(os.environ["ETL_TEST_OPENSEARCH_URL"] + path, data=data, method=method)
    request.add_header("Content-Type", "application/x-ndjson" if ndjson is not None else "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404 and method == "DELETE":
            return None
        raise AssertionError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode(errors='replace')}") from exc


def documents(index: str) -> dict[str, dict[str, Any]]:
    hits = node("POST", f"/{index}/_search", {"size": 100, "query": {"match_all": {}}})["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def parquet(folder: Path) -> list[dict[str, Any]]:
    return ds.dataset(folder, format="parquet").to_table().to_pylist()


def latest(root: Path) -> dict[str, Any]:
    results = json.loads((root / "state" / "runs" / "opensearch_roundtrip" / "default" / "latest.json").read_text())
    return {stage["name"]: stage for stage in results["stages"]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("opensearch")
    for index in (PEOPLE, LOG, SOURCE):
        node("DELETE", f"/{index}")
    settings = {"number_of_shards": 2, "number_of_replicas": 0}
    node("PUT", f"/{PEOPLE}", {"settings": settings, "mappings": {"properties": {"age": {"type": "integer"}}}})
    node("PUT", f"/{LOG}", {"settings": settings, "mappings": {"properties": {"age": {"type": "integer"}}}})
    node("PUT", f"/{SOURCE}", {"settings": settings, "mappings": {"properties": {"parity": {"type": "keyword"}}}})
    node("PUT", f"/{PEOPLE}/_doc/1?refresh=true", {"name": "old", "stale": "from an earlier load"})
    lines = []
    for n in range(2500):
        lines.append(json.dumps({"index": {"_index": SOURCE, "_id": f"d{n:05d}"}}))
        lines.append(json.dumps({"n": n, "parity": "odd" if n % 2 else "even", "label": f"doc {n}"}))
    assert not node("POST", "/_bulk?refresh=true", ndjson="\n".join(lines) + "\n")["errors"]
    (root / "etl-project.yaml").write_text("name: opensearch_roundtrip\n", encoding="utf-8")
    (root / "people.csv").write_text(CSV, encoding="utf-8")
    (root / "pipeline.yaml").write_text(PIPELINE.format(people=PEOPLE, log=LOG, source=SOURCE), encoding="utf-8")
    env = {"ETL_STATE_DIR": str(root / "state")}
    pipeline = str(root / "pipeline.yaml")

    first = etl_cli("run", pipeline, env=env, cwd=root)
    assert first.returncode == 0, first.stdout + first.stderr
    after_first = {"people": documents(PEOPLE), "log": documents(LOG), "stages": latest(root)}
    shown = etl_cli("dlq", "show", "--format", "json", "--limit", "100", pipeline, env=env, cwd=root)
    assert shown.returncode == 0, shown.stderr
    letters = [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]

    second = etl_cli("run", pipeline, env=env, cwd=root)
    assert second.returncode == 0, second.stdout + second.stderr
    after_second = {"people": documents(PEOPLE), "log": documents(LOG), "stages": latest(root)}
    refusing = etl_cli("run", pipeline, "--set", "sinks.people_os.on_reject=fail", env=env, cwd=root)

    node("DELETE", f"/{AT_COMMIT}")
    node("PUT", f"/{AT_COMMIT}", {"settings": settings})
    (root / "good.csv").write_text("id,name\n1,ada\n2,grace\n", encoding="utf-8")
    (root / "existing").mkdir()
    (root / "at_commit.yaml").write_text(AT_COMMIT_PIPELINE.format(index=AT_COMMIT), encoding="utf-8")
    blocked = etl_cli("run", str(root / "at_commit.yaml"), env=env, cwd=root)
    after_blocked = documents(AT_COMMIT)
    unblocked = etl_cli("run", str(root / "at_commit.yaml"), "--set", "sinks.blocked.path=fresh", env=env, cwd=root)
    return {
        "at_commit": (blocked, after_blocked, unblocked, documents(AT_COMMIT)),
        "root": root,
        "first": after_first,
        "letters": letters,
        "second": after_second,
        "refusing": refusing,
    }


def test_rows_are_indexed_by_id_replacing_the_stale_document(runs: dict[str, Any]) -> None:
    assert runs["first"]["people"] == {
        "1": {"id": 1, "name": "ada", "age": "36", "city": "London"},
        "2": {"id": 2, "name": "grace", "age": "45"},
        "4": {"id": 4, "name": "barbara", "age": "50", "city": "Boston"},
    }
    assert runs["first"]["stages"]["people_os"]["rows_out"] == 3
    older = node("POST", f"/{PEOPLE}/_search", {"query": {"range": {"age": {"gte": 40}}}})["hits"]["hits"]
    assert sorted(hit["_id"] for hit in older) == ["2", "4"], "age is indexed as the mapping's integer"


def test_refused_documents_are_dead_letters_with_the_node_s_reason(runs: dict[str, Any]) -> None:
    refused = sorted(
        (letter["stage"], json.loads(letter["row"]).get("name"), letter["reason"].split(":")[0])
        for letter in runs["letters"]
    )
    assert refused == [
        ("people_log", "edsger", "mapper_parsing_exception"),
        ("people_os", "edsger", "mapper_parsing_exception"),
        ("people_os", "nobody", "the id column id is null"),
    ]
    assert any("age" in letter["reason"] for letter in runs["letters"] if letter["stage"] == "people_os")


def test_a_second_run_replaces_by_id_and_append_adds(runs: dict[str, Any]) -> None:
    assert runs["second"]["people"] == runs["first"]["people"]
    first_log = sorted((doc["name"], doc.get("city")) for doc in runs["first"]["log"].values())
    assert first_log == [("ada", "London"), ("barbara", "Boston"), ("grace", None), ("nobody", "Nowhere")]
    second_log = sorted((doc["name"], doc.get("city")) for doc in runs["second"]["log"].values())
    assert second_log == sorted(first_log * 2)
    assert runs["second"]["stages"]["people_log"]["rows_out"] == 4


def test_a_refused_document_fails_the_run_when_asked(runs: dict[str, Any]) -> None:
    result = runs["refusing"]
    assert result.returncode == 4, result.stdout + result.stderr
    assert "OpenSearch refused 2 document(s)" in result.stdout + result.stderr


def test_without_a_dead_letter_queue_documents_are_indexed_at_commit_after_the_other_sinks(
    runs: dict[str, Any],
) -> None:
    blocked, after_blocked, unblocked, after_unblocked = runs["at_commit"]
    assert blocked.returncode == 4, blocked.stdout + blocked.stderr
    assert "exists (mode error)" in blocked.stdout + blocked.stderr
    assert after_blocked == {}, "a later sink failed while staging: nothing may be indexed"
    assert unblocked.returncode == 0, unblocked.stdout + unblocked.stderr
    assert after_unblocked == {"1": {"id": 1, "name": "ada"}, "2": {"id": 2, "name": "grace"}}


def test_source_pages_through_every_match_into_the_declared_columns(runs: dict[str, Any]) -> None:
    rows = parquet(runs["root"] / "out" / "big")
    assert len(rows) == 2400
    assert sorted(row["n"] for row in rows) == list(range(100, 2500))
    assert all(row["doc_id"] == f"d{row['n']:05d}" for row in rows)
    assert all(row["parity"] == ("odd" if row["n"] % 2 else "even") and row["absent"] is None for row in rows)
    assert set(rows[0]) == {"n", "parity", "absent", "doc_id"}


def test_source_without_a_schema_infers_it(runs: dict[str, Any]) -> None:
    rows = sorted(parquet(runs["root"] / "out" / "small"), key=lambda row: row["n"])
    assert rows == [{"label": f"doc {n}", "n": n, "parity": "odd"} for n in (1, 3, 5, 7, 9)]
