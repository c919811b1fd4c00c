"""``create-pipeline`` for every connector: Delta, Iceberg, REST, Redis, MongoDB, OpenSearch and object-store paths.

Each pipeline is created without a terminal from answers into a temporary project, then validated with the same
use case as ``etl-cli validate --all-envs``; the expected stages are written out by hand from the answers. One
session is typed in a pseudo-terminal. No Spark: validation starts no JVM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from etl_cli import app
from etl_cli.errors import UsageError

from ..ptyhelp import DOWN, ENTER, Terminal

PROJECT_FILE = """name: connectors
default_env: dev
environments: {dev: {}, prod: {protected: true}}
catalogs:
  lake: {type: iceberg, catalog_type: hadoop, warehouse: lake, database: sales}
"""
CSV_SOURCE = {"source": {"type": "csv", "path": "data/orders.csv"}}
#: every question the wizard asks of any pipeline answered as "nothing more"
PLAIN = {"template": "none", "transforms": [], "checks": [], "test": False, "description": ""}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "etl-project.yaml").write_text(PROJECT_FILE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("order_id,amount\n1,5.0\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def create(name: str, answers: dict[str, Any]) -> dict[str, Any]:
    """Create pipeline ``name`` from nested answers; check it validates in every environment; its document."""
    from etl_cli.authoring.questions import flatten

    created = app.create_pipeline(flatten({"name": name, **PLAIN, **answers}), None)
    reports = app.validate([created.folder], all_envs=True)
    assert [r.env for r in reports] == ["dev", "prod"]
    for report in reports:
        assert report.ok, [str(d) for d in report.diagnostics]
    document = yaml.safe_load((created.folder / "pipeline.yaml").read_text())
    assert isinstance(document, dict)
    return document


def stage(document: dict[str, Any], section: str) -> dict[str, Any]:
    (item,) = document[section]
    assert isinstance(item, dict)
    return item


@pytest.mark.parametrize(
    ("mode", "more", "expected"),
    [
        ("append", {}, {}),
        ("overwrite", {}, {}),
        ("merge", {"keys": "order_id"}, {"keys": ["order_id"]}),
    ],
)
def test_a_delta_sink_appends_overwrites_or_merges_by_keys(
    project: Path, mode: str, more: dict[str, Any], expected: dict[str, Any]
) -> None:
    document = create(
        f"to_delta_{mode}", {**CSV_SOURCE, "sink": {"type": "delta", "path": "lake/orders", "mode": mode, **more}}
    )
    assert stage(document, "sinks") == {
        "name": "output", "type": "delta", "input": "input", "path": "lake/orders", **expected, "mode": mode,
    }  # fmt: skip


def test_an_iceberg_sink_offers_the_projects_catalogs_and_merges_by_keys(project: Path) -> None:
    answers = {"type": "iceberg", "catalog": "lake", "table": "orders", "mode": "merge", "keys": "order_id"}
    document = create("to_iceberg", {**CSV_SOURCE, "sink": answers})
    assert stage(document, "sinks") == {
        "name": "output", "type": "iceberg", "input": "input", "catalog": "lake", "table": "orders",
        "keys": ["order_id"], "mode": "merge",
    }  # fmt: skip
    with pytest.raises(UsageError, match=r"answer sink\.catalog: choose one of: lake"):
        create("to_other", {**CSV_SOURCE, "sink": {**answers, "catalog": "warehouse"}})


def test_without_an_iceberg_catalog_the_answer_says_how_to_declare_one(project: Path) -> None:
    (project / "etl-project.yaml").write_text("name: bare\nenvironments: {dev: {}}\n")
    with pytest.raises(UsageError, match=r"declares no iceberg catalog named 'lake'; add one to etl-project.yaml"):
        create("to_iceberg", {**CSV_SOURCE, "sink": {"type": "iceberg", "catalog": "lake", "table": "t"}})


def test_a_rest_source_asks_pages_records_and_auth_and_writes_the_token_as_a_reference(project: Path) -> None:
    source = {
        "type": "rest",
        "url": "https://api.example.com/v1/orders",
        "records_path": "data.items",
        "paginate": {"type": "cursor", "cursor_path": "meta.next"},
        "auth": {"type": "bearer", "token": "tok-123456789"},
    }
    document = create(
        "orders_api", {"source": source, "secrets": {"store": "keyring", "save": False}, "sink": {"type": "parquet"}}
    )
    assert stage(document, "sources") == {
        "name": "input",
        "type": "rest",
        "url": "https://api.example.com/v1/orders",
        "records_path": "data.items",
        "paginate": {"type": "cursor", "cursor_path": "meta.next"},
        "auth": {"type": "bearer", "token": "${secret:keyring:orders_api/auth_token}"},
    }
    assert stage(document, "sinks") == {
        "name": "output", "type": "parquet", "input": "input", "path": "output/orders_api", "mode": "overwrite",
    }  # fmt: skip
    assert "tok-123456789" not in (project / "pipelines" / "orders_api" / "pipeline.yaml").read_text()


def test_rest_oauth2_client_credentials_and_offset_pages(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITEMS_API_AUTH_CLIENT_SECRET", "set-where-it-runs")  # what the wizard says to set
    source = {
        "type": "rest",
        "url": "https://api.example.com/v1/items",
        "records_path": "",
        "paginate": {"type": "offset", "limit": "100"},
        "auth": {"type": "oauth2_client_credentials", "token_url": "https://auth.example.com/token",
                 "client_id": "etl", "client_secret": "", "scope": "read"},
    }  # fmt: skip
    document = create("items_api", {"source": source, "secrets": {"store": "env"}, "sink": {"type": "parquet"}})
    assert stage(document, "sources")["paginate"] == {"type": "offset", "limit": 100}
    assert stage(document, "sources")["auth"] == {
        "type": "oauth2_client_credentials",
        "token_url": "https://auth.example.com/token",
        "client_id": "etl",
        "client_secret": "${env:ITEMS_API_AUTH_CLIENT_SECRET}",
        "scope": "read",
    }


def test_a_cursor_without_its_path_is_a_missing_answer(project: Path) -> None:
    source = {"type": "rest", "url": "https://api.example.com/x", "records_path": "", "paginate": {"type": "cursor"},
              "auth": {"type": "none"}}  # fmt: skip
    with pytest.raises(UsageError, match=r"missing answers .*: source\.paginate\.cursor_path"):
        create("half", {"source": source, "sink": {"type": "parquet"}})


def test_redis_sinks_hash_upserts_stream_appends_and_a_source_reads_keys_by_pattern(project: Path) -> None:
    redis = {"type": "redis", "url": "redis://127.0.0.1:6379/0", "username": "", "password": ""}
    secrets = {"secrets": {"store": "keyring"}}
    hashes = create(
        "to_redis", {**CSV_SOURCE, **secrets, "sink": {**redis, "key": "order:{order_id}", "data_type": "hash"}}
    )
    assert stage(hashes, "sinks") == {
        "name": "output", "type": "redis", "input": "input", "url": "redis://127.0.0.1:6379/0",
        "key": "order:{order_id}", "data_type": "hash", "mode": "upsert",
    }  # fmt: skip
    events = create("to_stream", {**CSV_SOURCE, **secrets, "sink": {**redis, "key": "orders", "data_type": "stream"}})
    assert stage(events, "sinks")["mode"] == "append", "a stream is appended to: the default mode follows data_type"
    read = create("from_redis", {**secrets, "source": {**redis, "data_type": "hash", "pattern": "order:*"},
                                 "sink": {"type": "parquet"}})  # fmt: skip
    assert stage(read, "sources") == {
        "name": "input", "type": "redis", "url": "redis://127.0.0.1:6379/0", "data_type": "hash", "pattern": "order:*",
    }  # fmt: skip


def test_mongodb_upserts_by_keys_and_a_uri_with_a_password_must_be_a_reference(project: Path) -> None:
    sink = {"type": "mongodb", "uri": "${secret:keyring:shop/mongo_uri}", "database": "shop",
            "collection": "orders", "mode": "upsert", "keys": "order_id"}  # fmt: skip
    document = create("to_mongo", {**CSV_SOURCE, "sink": sink})
    assert stage(document, "sinks") == {"name": "output", "input": "input", **sink, "keys": ["order_id"]}
    with pytest.raises(UsageError, match=r"answer sink\.uri: the password would be written into the pipeline"):
        create("leaky", {**CSV_SOURCE, "sink": {**sink, "uri": "mongodb://loader:hunter2@db:27017"}})
    read = create("from_mongo", {
        "source": {"type": "mongodb", "uri": "mongodb://127.0.0.1:27017", "database": "shop",
                   "collection": "orders", "schema": "_id STRING, total DOUBLE"},
        "sink": {"type": "parquet"},
    })  # fmt: skip
    assert stage(read, "sources")["schema"] == "_id STRING, total DOUBLE"


def test_opensearch_sink_and_source_with_credentials_as_references(project: Path) -> None:
    sink = {"type": "opensearch", "url": "http://127.0.0.1:9200", "index": "orders", "username": "loader",
            "password": "s3cret-pass", "mode": "upsert", "keys": "order_id"}  # fmt: skip
    document = create("to_search", {**CSV_SOURCE, "secrets": {"store": "keyring", "save": False}, "sink": sink})
    assert stage(document, "sinks") == {
        "name": "output", "type": "opensearch", "input": "input", "url": "http://127.0.0.1:9200", "index": "orders",
        "username": "loader", "password": "${secret:keyring:to_search/output_password}", "keys": ["order_id"],
        "mode": "upsert",
    }  # fmt: skip
    source = {"type": "opensearch", "url": "http://127.0.0.1:9200", "index": "orders", "username": "", "password": ""}
    read = create("from_search", {"source": source, "secrets": {"store": "keyring"}, "sink": {"type": "parquet"}})
    assert stage(read, "sources") == {
        "name": "input",
        "type": "opensearch",
        "url": "http://127.0.0.1:9200",
        "index": "orders",
    }


def test_object_store_paths_ask_their_stores_settings_with_keys_as_references(project: Path) -> None:
    answers = {
        "source": {"type": "parquet", "path": "gs://landing/events/", "gcs": {"endpoint": "http://127.0.0.1:54443",
                   "project_id": "", "auth": "none", "service_account_key_file": ""}},
        "secrets": {"store": "keyring", "save": False},
        "sink": {"type": "csv", "path": "wasbs://archive@acct.blob.core.windows.net/events", "mode": "overwrite",
                 "azure": {"account_key": "typed-account-key", "emulator": False}, "partition_by": ""},
    }  # fmt: skip
    document = create("gs_to_azure", answers)
    assert stage(document, "sources") == {
        "name": "input", "type": "parquet", "path": "gs://landing/events/",
        "gcs": {"endpoint": "http://127.0.0.1:54443", "auth": "none"},
    }  # fmt: skip
    assert stage(document, "sinks") == {
        "name": "output", "type": "csv", "input": "input", "path": "wasbs://archive@acct.blob.core.windows.net/events",
        "azure": {"account_key": "${secret:keyring:gs_to_azure/output_azure_account_key}"}, "mode": "overwrite",
    }  # fmt: skip
    assert "typed-account-key" not in (project / "pipelines" / "gs_to_azure" / "pipeline.yaml").read_text()


def test_the_files_template_takes_hdfs_and_s3_paths_and_asks_the_s3_keys(project: Path) -> None:
    params = {"input_path": "s3a://landing/orders/", "input_format": "parquet",
              "output_path": "hdfs://127.0.0.1:59820/orders", "mode": "overwrite"}  # fmt: skip
    s3 = {"endpoint": "http://127.0.0.1:5000", "region": "", "access_key": "AKIATYPED", "secret_key": "typed-secret"}
    secrets = {"store": "keyring", "save": False}
    document = create("s3_to_hdfs", {"template": "files_to_parquet", "params": params, "source": {"s3": s3},
                                     "secrets": secrets, "sink": {"partition_by": ""}})  # fmt: skip
    assert document["extends"] == {"template": "files_to_parquet", "params": params}
    assert document["sources"] == [
        {
            "name": "input",
            "s3": {
                "endpoint": "http://127.0.0.1:5000",
                "access_key": "${secret:keyring:s3_to_hdfs/input_s3_access_key}",
                "secret_key": "${secret:keyring:s3_to_hdfs/input_s3_secret_key}",
            },
        }
    ]
    assert "sinks" not in document, "hdfs:// needs no settings"


def test_an_abfss_path_is_refused_with_the_wasbs_path_to_write(project: Path) -> None:
    with pytest.raises(UsageError, match=r"answer source\.path: 'abfss://' is not supported .*write wasbs://"):
        create("adls", {"source": {"type": "parquet", "path": "abfss://c@acct.dfs.core.windows.net/x"}})


def test_a_rest_source_typed_in_a_terminal(project: Path) -> None:
    given = ["--name=typed_api", "--template=none", "--answer=source.type=rest", "--answer=description=",
             "--answer=transforms=", "--answer=checks=", "--answer=sink.type=parquet", "--answer=test=no",
             "--answer=sink.mode=overwrite", "--answer=sink.partition_by="]  # fmt: skip
    term = Terminal("etl-cli", "create-pipeline", *given, cwd=project)
    term.expect("url")
    term.line("https://api.example.com/v1/orders")
    term.expect("records_path")
    term.line("results")
    term.expect("paginate")
    term.type(DOWN * 5 + ENTER)  # none, page_number, offset, cursor, link_header, next_url
    term.expect("next_url_path")
    term.line("links.next")
    term.expect("auth")
    term.type(DOWN * 3 + ENTER)  # none, bearer, basic, api_key
    term.expect("name")
    term.line("X-Api-Key")
    term.expect("Where should credentials live?")
    term.type(DOWN + ENTER)  # env
    term.expect("auth_api_key (hidden")
    term.line("key-typed-at-the-keyboard")
    term.expect("location")
    term.type(DOWN + ENTER)  # query
    term.expect("More options")
    term.type(ENTER)
    term.expect("Folder")  # the sink's path, its default taken
    term.line()
    term.expect("More options")
    term.type(ENTER)
    assert term.wait() == 0, term.screen
    text = (project / "pipelines" / "typed_api" / "pipeline.yaml").read_text()
    assert "key-typed-at-the-keyboard" not in text
    assert yaml.safe_load(text)["sources"] == [
        {
            "name": "input",
            "type": "rest",
            "url": "https://api.example.com/v1/orders",
            "records_path": "results",
            "paginate": {"type": "next_url", "next_url_path": "links.next"},
            "auth": {"type": "api_key", "name": "X-Api-Key", "api_key": "${env:TYPED_API_AUTH_API_KEY}",
                     "location": "query"},
        }
    ]  # fmt: skip
