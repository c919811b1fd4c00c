"""Options of wasb:// and gs:// paths on file sources and sinks, checked without Spark."""

from __future__ import annotations

from pathlib import Path

from etl_cli.lineage.naming import DatasetName, _file_name
from etl_cli.plugins.object_stores import (
    AZURE_PACKAGES,
    GCS_PACKAGES,
    account_of,
    azure_settings,
    gcs_settings,
    store_option_problems,
    store_packages,
)


def messages(options: dict[str, object]) -> list[tuple[tuple[str | int, ...], str]]:
    return [(p.key_path, p.message) for p in store_option_problems(options)]


def test_packages_follow_the_schemes_of_the_paths() -> None:
    assert store_packages({"path": "wasb://c@acct.blob.core.windows.net/x"}) == AZURE_PACKAGES
    assert store_packages({"path": ["gs://b/x", "/local"]}) == GCS_PACKAGES
    assert store_packages({"path": "hdfs://127.0.0.1:8020/x"}) == ()


def test_abfs_and_paths_without_container_or_bucket_are_refused() -> None:
    found = messages({"path": ["abfs://c@a.dfs.core.windows.net/x", "wasb://acct/x", "gs:///x"]})
    assert [key for key, _ in found] == [("path", 0), ("path", 1), ("path", 2)]
    assert "not supported" in found[0][1] and "no container" in found[1][1] and "no bucket" in found[2][1]


def test_blocks_without_a_matching_path_and_key_file_without_auth_are_refused() -> None:
    assert messages({"path": "/x", "azure": {"emulator": True}}) == [
        (("azure",), "azure settings are set but no path is wasb://")
    ]
    found = messages({"path": "gs://b/x", "gcs": {"service_account_key_file": "/k.json"}})
    assert found == [(("gcs", "service_account_key_file"), "set auth: service_account_key_file to use it")]
    assert messages({"path": "gs://b/x", "gcs": {"auth": "none", "endpoint": "http://127.0.0.1:1"}}) == []


def test_azure_settings_are_per_account() -> None:
    account = account_of("wasb://sales@acct.blob.core.windows.net/orders")
    assert account == "acct.blob.core.windows.net"
    assert azure_settings(account, {"account_key": "k=="}) == {"fs.azure.account.key.acct.blob.core.windows.net": "k=="}
    assert azure_settings("devstoreaccount1", {"emulator": True}) == {
        "fs.azure.storage.emulator.account.name": "devstoreaccount1"
    }


def test_gcs_settings_for_an_emulator_and_for_a_key_file() -> None:
    emulator = gcs_settings({"endpoint": "http://127.0.0.1:4443", "auth": "none", "project_id": "p"})
    assert emulator["fs.gs.storage.root.url"] == "http://127.0.0.1:4443/"
    assert emulator["fs.gs.auth.type"] == "UNAUTHENTICATED"
    assert emulator["fs.gs.operation.move.enable"] == "false"
    assert emulator["fs.gs.project.id"] == "p"
    keyed = gcs_settings({"auth": "service_account_key_file", "service_account_key_file": "/k.json"})
    assert keyed == {
        "fs.gs.auth.type": "SERVICE_ACCOUNT_JSON_KEYFILE",
        "fs.gs.auth.service.account.json.keyfile": "/k.json",
    }


def test_lineage_names_follow_openlineage_for_each_store(tmp_path: Path) -> None:
    assert _file_name("gs://landing/events/2024/", tmp_path) == DatasetName("gs://landing", "events/2024")
    assert _file_name("hdfs://127.0.0.1:59820/data/orders", tmp_path) == DatasetName(
        "hdfs://127.0.0.1:59820", "/data/orders"
    )
    assert _file_name("wasb://sales@acct/orders", tmp_path) == DatasetName("wasb://sales@acct", "/orders")
