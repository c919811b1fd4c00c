"""The MongoDB source and sink through ``etl-cli run``, against the FerretDB server of scripts/services.sh.

FerretDB speaks MongoDB's wire protocol (its SQLite backend keeps the documents); the sink and
source go through the official MongoDB Spark connector. One run (a module-scoped fixture)
reads collections the test filled with pymongo and inserts and upserts a CSV file's rows; the
expected documents are written out by hand and read back with pymongo.
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

pymongo = need_module("pymongo")

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.services("mongo")]

DB = "etltest"
CSV = """\
id,code,name,score
1,A,ada,9.5
2,B,grace,7
3,C,edsger,
"""

PIPELINE = """\
name: mongo_roundtrip
spark:
  master: local[2]
  conf: {{spark.sql.shuffle.partitions: 2}}
vars:
  db: {db}
sources:
  - name: people
    type: csv
    path: people.csv
    schema: {{id: BIGINT, code: STRING, name: STRING, score: DOUBLE}}
  - name: paid
    type: mongodb
    uri: ${{secret:env:MONGO_URI}}
    database: ${{var:db}}
    collection: orders
    filter: {{status: paid, total: {{$gt: 10}}}}
    schema: {{_id: INT, customer: STRING, total: DOUBLE, items: "STRUCT<n: INT>", absent: STRING}}
    partitioner: paginate
  - name: per_customer
    type: mongodb
    uri: ${{secret:env:MONGO_URI}}
    database: ${{var:db}}
    collection: orders
    pipeline:
      - {{$match: {{status: {{$ne: void}}}}}}
      - {{$group: {{_id: $customer, total: {{$sum: $total}}}}}}
    schema: "_id STRING, total DOUBLE"
transforms:
  - name: keyed
    type: sql
    inputs: [people]
    query: SELECT id AS _id, name, score FROM people
sinks:
  - name: inserted
    type: mongodb
    input: keyed
    uri: ${{secret:env:MONGO_URI}}
    database: ${{var:db}}
    collection: inserted
    mode: append
  - name: upserted
    type: mongodb
    input: keyed
    uri: ${{secret:env:MONGO_URI}}
    database: ${{var:db}}
    collection: upserted
    mode: upsert
  - name: by_code
    type: mongodb
    input: people
    uri: ${{secret:env:MONGO_URI}}
    database: ${{var:db}}
    collection: by_code
    mode: upsert
    keys: [code]
  - {{name: paid_out, type: parquet, input: paid, path: out/paid, mode: overwrite}}
  - {{name: per_customer_out, type: parquet, input: per_customer, path: out/per_customer, mode: overwrite}}
"""


def database() -> Any:
    return pymongo.MongoClient(os.environ["ETL_TEST_MONGO_URI"])[DB]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mongo")
    db = database()
    for name in db.list_collection_names():
        db.drop_collection(name)
    db.orders.insert_many([
        {"_id": 1, "customer": "ada", "total": 12.5, "status": "paid", "items": {"n": 2}},
        {"_id": 2, "customer": "grace", "total": 8.0, "status": "paid", "items": {"n": 1}},
        {"_id": 3, "customer": "ada", "total": 30.0, "status": "open"},
        {"_id": 4, "customer": "edsger", "total": 99.0, "status": "void"},
        {"_id": 5, "customer": "grace", "total": 21.0, "status": "paid", "items": {"n": 3}},
    ])  # fmt: skip
    db.upserted.insert_many([{"_id": 1, "name": "old", "extra": "replaced away"}, {"_id": 9, "name": "untouched"}])
    kept_id = db.by_code.insert_one({"code": "A", "name": "old", "extra": "replaced away"}).inserted_id
    (root / "etl-project.yaml").write_text("name: mongo_roundtrip\n", encoding="utf-8")
    (root / "people.csv").write_text(CSV, encoding="utf-8")
    (root / "pipeline.yaml").write_text(PIPELINE.format(db=DB), encoding="utf-8")
    env = {"ETL_STATE_DIR": str(root / "state"), "MONGO_URI": os.environ["ETL_TEST_MONGO_URI"]}
    result = etl_cli("run", str(root / "pipeline.yaml"), env=env, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    latest = json.loads((root / "state" / "runs" / "mongo_roundtrip" / "default" / "latest.json").read_text())
    return {"root": root, "stages": {s["name"]: s for s in latest["stages"]}, "kept_id": kept_id}


def parquet(folder: Path) -> list[dict[str, Any]]:
    return ds.dataset(folder, format="parquet").to_table().to_pylist()


def test_append_inserts_one_document_per_row(run: dict[str, Any]) -> None:
    assert sorted(database().inserted.find(), key=lambda d: d["_id"]) == [
        {"_id": 1, "name": "ada", "score": 9.5},
        {"_id": 2, "name": "grace", "score": 7.0},
        {"_id": 3, "name": "edsger", "score": None},
    ]
    assert run["stages"]["inserted"]["rows_out"] == 3


def test_upsert_replaces_documents_by_id_and_inserts_the_rest(run: dict[str, Any]) -> None:
    assert sorted(database().upserted.find(), key=lambda d: d["_id"]) == [
        {"_id": 1, "name": "ada", "score": 9.5},
        {"_id": 2, "name": "grace", "score": 7.0},
        {"_id": 3, "name": "edsger", "score": None},
        {"_id": 9, "name": "untouched"},
    ]


def test_upsert_by_other_keys_keeps_the_matched_document_id(run: dict[str, Any]) -> None:
    db = database()
    documents = sorted(db.by_code.find({}, {"_id": 0}), key=lambda d: d["code"])
    assert documents == [
        {"id": 1, "code": "A", "name": "ada", "score": 9.5},
        {"id": 2, "code": "B", "name": "grace", "score": 7.0},
        {"id": 3, "code": "C", "name": "edsger", "score": None},
    ]
    assert db.by_code.count_documents({}) == 3
    assert db.by_code.find_one({"code": "A"})["_id"] == run["kept_id"]


def test_filter_runs_on_the_server_into_declared_columns_with_paginated_partitions(run: dict[str, Any]) -> None:
    rows = sorted(parquet(run["root"] / "out" / "paid"), key=lambda row: row["_id"])
    assert rows == [
        {"_id": 1, "customer": "ada", "total": 12.5, "items": {"n": 2}, "absent": None},
        {"_id": 5, "customer": "grace", "total": 21.0, "items": {"n": 3}, "absent": None},
    ]


def test_aggregation_pipeline_runs_on_the_server(run: dict[str, Any]) -> None:
    rows = sorted((r["_id"], r["total"]) for r in parquet(run["root"] / "out" / "per_customer"))
    assert rows == [("ada", 42.5), ("grace", 29.0)]
