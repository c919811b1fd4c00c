"""File sources and sinks on HDFS, Google Cloud Storage (fake-gcs-server) and Azure Blob Storage (Azurite).

Per store, two ``etl-cli run``s in a module-scoped fixture: the first publishes a local CSV to the
store as partitioned Parquet and as CSV; the second reads the Parquet back from the store and
overwrites the CSV target with a derived column. What the store holds afterwards is read without Spark:
Hadoop's FsShell for HDFS, the GCS JSON API, the Blob REST API with a shared key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli

pytestmark = [pytest.mark.integration, pytest.mark.spark]

ORDERS = "id,region,amount\n1,north,10.5\n2,south,20.0\n3,north,4.5\n"
#: run 2 writes id,region,amount,doubled ordered by id (amount * 2 computed by hand)
EXPECTED_CSV = ["id,region,amount,doubled", "1,north,10.5,21.0", "2,south,20.0,40.0", "3,north,4.5,9.0"]


@dataclass(frozen=True)
class Store:
    """Where a store's test folder is, the YAML block its stages need, and how to read it back."""

    root: str
    block: dict[str, Any]  # the stage keys the store needs (its settings block)
    list_names: Callable[[str], list[str]]  # names directly under a folder (relative to root)
    read: Callable[[str], bytes]  # one object (relative to root)


def _get(url: str, headers: dict[str, str] | None = None) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as answer:
        return bytes(answer.read())


# --------------------------------------------------------------------------- HDFS (Hadoop's own shell, FsShell)
def _fs_shell(*args: str) -> bytes:
    classpath = os.environ["ETL_TEST_HDFS_CLASSPATH"]
    command = ["java", "-Xmx128m", "-cp", classpath, "org.apache.hadoop.fs.FsShell", *args]
    return subprocess.run(command, check=True, capture_output=True, timeout=120).stdout


def hdfs_store() -> Store:
    root = f"{os.environ['ETL_TEST_HDFS_URL']}/etl-test/{uuid.uuid4().hex[:8]}"  # hdfs://127.0.0.1:PORT/...

    def list_names(relative: str) -> list[str]:
        lines = _fs_shell("-ls", "-C", f"{root}/{relative}".rstrip("/")).decode().splitlines()
        return sorted(line.rstrip("/").rsplit("/", 1)[-1] for line in lines if line.strip())

    def read(relative: str) -> bytes:
        return _fs_shell("-cat", f"{root}/{relative}")

    return Store(root, {}, list_names, read)


# --------------------------------------------------------------------------- GCS (fake-gcs-server's JSON API)
def gcs_store() -> Store:
    endpoint = os.environ["ETL_TEST_GCS_ENDPOINT"]
    bucket = f"etl-{uuid.uuid4().hex[:8]}"
    request = urllib.request.Request(
        f"{endpoint}/storage/v1/b",
        data=json.dumps({"name": bucket}).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).close()

    def list_names(relative: str) -> list[str]:
        prefix = relative.rstrip("/") + "/" if relative else ""
        query = urllib.parse.urlencode({"prefix": prefix, "delimiter": "/"})
        data = json.loads(_get(f"{endpoint}/storage/v1/b/{bucket}/o?{query}"))
        names = [item["name"][len(prefix) :] for item in data.get("items", [])]
        names += [p[len(prefix) :].rstrip("/") for p in data.get("prefixes", [])]
        return sorted(n for n in names if n)

    def read(relative: str) -> bytes:
        return _get(f"{endpoint}/storage/v1/b/{bucket}/o/{urllib.parse.quote(relative, safe='')}?alt=media")

    block = {"gcs": {"endpoint": endpoint, "auth": "none", "project_id": "etl-test"}}
    return Store(
        f"gs://{bucket}/data", block, lambda r: list_names(f"data/{r}".rstrip("/")), lambda r: read(f"data/{r}")
    )


# --------------------------------------------------------------------------- Azure Blob (Azurite, shared key)
def azure_store() -> Store:
    blob_url = os.environ["ETL_TEST_AZURITE_BLOB_URL"]  # http://127.0.0.1:10000/devstoreaccount1
    account, key = os.environ["ETL_TEST_AZURITE_ACCOUNT"], os.environ["ETL_TEST_AZURITE_KEY"]
    container = f"etl-{uuid.uuid4().hex[:8]}"

    def signed(path: str, query: dict[str, str], method: str = "GET") -> urllib.request.Request:
        headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
        canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
        canonical_resource = f"/{account}/{account}/{path}" + "".join(f"\n{k}:{v}" for k, v in sorted(query.items()))
        to_sign = f"{method}\n\n\n\n\n\n\n\n\n\n\n\n{canonical_headers}{canonical_resource}"  # no body, no type
        digest = hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
        headers["Authorization"] = f"SharedKey {account}:{base64.b64encode(digest).decode()}"
        url = f"{blob_url}/{urllib.parse.quote(path)}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        if method == "PUT":
            headers["Content-Length"] = "0"
        return urllib.request.Request(url, method=method, headers=headers)

    urllib.request.urlopen(signed(container, {"restype": "container"}, "PUT"), timeout=30).close()

    def list_names(relative: str) -> list[str]:
        prefix = relative.rstrip("/") + "/" if relative else ""
        query = {"comp": "list", "restype": "container", "prefix": prefix, "delimiter": "/"}
        with urllib.request.urlopen(signed(container, query), timeout=30) as answer:
            text = answer.read().decode()
        import xml.etree.ElementTree as ET

        root = ET.fromstring(text)
        names = [e.text or "" for e in root.iter("Name")]
        return sorted({n[len(prefix) :].rstrip("/") for n in names if n[len(prefix) :].rstrip("/")})

    def read(relative: str) -> bytes:
        with urllib.request.urlopen(signed(f"{container}/{relative}", {}), timeout=30) as answer:
            return bytes(answer.read())

    block = {"azure": {"emulator": True}}
    return Store(
        f"wasb://{container}@{account}/data",
        block,
        lambda r: list_names(f"data/{r}".rstrip("/")),
        lambda r: read(f"data/{r}"),
    )


def pipeline(
    name: str, sources: list[dict[str, Any]], transforms: list[dict[str, Any]], sinks: list[dict[str, Any]]
) -> str:
    """A pipeline file (JSON is YAML)."""
    spark = {"master": "local[1]", "conf": {"spark.sql.shuffle.partitions": 1}}
    body = {"name": name, "spark": spark, "sources": sources, "transforms": transforms, "sinks": sinks}
    return json.dumps(body, indent=2)


@dataclass(frozen=True)
class Runs:
    store: Store
    publish: subprocess.CompletedProcess[str]
    roundtrip: subprocess.CompletedProcess[str]
    dry_run: subprocess.CompletedProcess[str]


def _runs(tmp: Path, store: Store) -> Runs:
    (tmp / "orders.csv").write_text(ORDERS)
    block = store.block
    csv_out = {"name": "csv_out", "type": "csv", "path": f"{store.root}/orders_csv", "mode": "overwrite", "coalesce": 1}
    first = pipeline(
        "publish",
        [{"name": "orders", "type": "csv", "path": str(tmp / "orders.csv")}],
        [],
        [
            {
                "name": "parquet_out",
                "type": "parquet",
                "input": "orders",
                "path": f"{store.root}/orders_parquet",
                "mode": "overwrite",
                "partition_by": ["region"],
                **block,
            },
            {**csv_out, "input": "orders", **block},
        ],
    )
    second = pipeline(
        "roundtrip",
        [{"name": "back", "type": "parquet", "path": f"{store.root}/orders_parquet", **block}],
        [
            {
                "name": "doubled",
                "type": "sql",
                "inputs": ["back"],
                "query": "SELECT id, region, amount, amount * 2 AS doubled FROM back ORDER BY id",
            }
        ],
        [{**csv_out, "input": "doubled", **block}],
    )
    for name, text in (("publish", first), ("roundtrip", second)):
        (tmp / name).mkdir()
        (tmp / name / "pipeline.yaml").write_text(text)
    env = {"ETL_STATE_DIR": str(tmp / "state")}
    one = etl_cli("run", str(tmp / "publish"), env=env)
    two = etl_cli("run", str(tmp / "roundtrip"), env=env)
    dry = etl_cli("dry-run", str(tmp / "roundtrip"), "--format", "json", env=env)
    return Runs(store, one, two, dry)


STORES = {"hdfs": ("hdfs", hdfs_store), "gcs": ("gcs", gcs_store), "azure": ("azurite", azure_store)}


@pytest.fixture(scope="module", params=sorted(STORES))
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    from tests.integration.serviceshelp import ensure, unavailable

    service, make = STORES[request.param]
    if why := ensure(service):
        unavailable(why)
    return _runs(tmp_path_factory.mktemp(request.param), make())


def test_both_runs_succeed(runs: Runs) -> None:
    for result in (runs.publish, runs.roundtrip):
        assert result.returncode == 0, result.stdout + result.stderr


def test_parquet_is_partitioned_by_region_and_published_without_staging_leftovers(runs: Runs) -> None:
    names = runs.store.list_names("orders_parquet")
    assert "region=north" in names and "region=south" in names
    assert "_ETL_CLI" in names
    assert [n for n in runs.store.list_names("") if "etl-staging" in n or "etl-replaced" in n] == []
    assert sorted(runs.store.list_names("")) == ["orders_csv", "orders_parquet"]


def test_overwrite_replaced_the_csv_with_the_roundtrip_through_the_stores_parquet(runs: Runs) -> None:
    parts = [n for n in runs.store.list_names("orders_csv") if n.startswith("part-") and n.endswith(".csv")]
    assert len(parts) == 1
    lines = runs.store.read(f"orders_csv/{parts[0]}").decode().splitlines()
    assert lines == EXPECTED_CSV


def test_dry_run_names_the_store_target_and_writes_nothing(runs: Runs) -> None:
    result = runs.dry_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{runs.store.root}/orders_csv" in result.stdout
