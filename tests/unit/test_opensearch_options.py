"""The OpenSearch source's and sink's option checks, document ids and dry-run effects (no JVM, no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.opensearch_connection import (
    BulkSettings,
    Connection,
    OpenSearchError,
    bulk_partition,
    document_id,
    plain,
    safe_url,
)
from etl_cli.plugins.sinks.opensearch import OpenSearchSink
from etl_cli.plugins.sources.opensearch import OpenSearchSource


def messages(problems: list[Any]) -> list[tuple[tuple[str | int, ...], str]]:
    return [(problem.key_path, problem.message) for problem in problems]


def test_upsert_needs_keys_and_append_takes_none() -> None:
    assert messages(OpenSearchSink.check_options({"url": "http://h:9200", "index": "i"})) == [
        (("keys",), "mode upsert needs keys: the columns of the document id")
    ]
    assert OpenSearchSink.check_options({"url": "http://h:9200", "index": "i", "keys": ["id"]}) == []
    assert OpenSearchSink.check_options({"url": "http://h:9200", "index": "i", "mode": "append"}) == []
    assert messages(
        OpenSearchSink.check_options({"url": "http://h:9200", "index": "i", "mode": "append", "keys": ["id"]})
    ) == [(("keys",), "mode append lets the node choose ids: use mode upsert with keys")]


def test_basic_authentication_needs_both_halves() -> None:
    options = {"url": "http://h:9200", "index": "i", "password": "${secret:env:P}"}
    assert messages(OpenSearchSource.check_options(options)) == [
        (("password",), "basic authentication needs both username and password: add username")
    ]
    assert OpenSearchSource.check_options({**options, "username": "u"}) == []


def test_a_declared_schema_is_checked() -> None:
    problems = OpenSearchSource.check_options({"url": "http://h", "index": "i", "schema": {"n": "BIGNUM"}})
    assert [problem.key_path for problem in problems] == [("schema", "n")]


def test_document_ids_are_the_value_or_a_json_list() -> None:
    assert document_id({"id": 7, "name": "ada"}, ["id"]) == "7"
    assert document_id({"code": "A-1"}, ["code"]) == "A-1"
    assert document_id({"a": "x|y", "b": 2}, ["a", "b"]) == '["x|y",2]'
    assert document_id({"a": "x", "b": "y|2"}, ["a", "b"]) != document_id({"a": "x|y", "b": "2"}, ["a", "b"])
    with pytest.raises(ValueError, match="the id column b is null"):
        document_id({"a": 1}, ["a", "b"])


def test_urls_in_messages_carry_no_credentials() -> None:
    assert safe_url("https://user:pw@search.example:9200/?token=x") == "https://search.example:9200"
    assert OpenSearchSink.endpoint(StageSpec("s", "sink", "opensearch", (), {"url": "http://a:pw@h:9200"})) == (
        "http://h:9200"
    )


def test_frozen_queries_become_plain_json() -> None:
    from types import MappingProxyType

    frozen = MappingProxyType({"bool": MappingProxyType({"filter": (MappingProxyType({"term": {"a": 1}}),)})})
    assert plain(frozen) == {"bool": {"filter": [{"term": {"a": 1}}]}}


def test_a_node_that_does_not_answer_is_a_retryable_error() -> None:
    settings = BulkSettings(Connection("http://127.0.0.1:9", timeout=2), "i", ("id",), 10)
    with pytest.raises(OpenSearchError, match="no answer") as caught:
        list(bulk_partition(settings, ['{"id": 1}']))
    assert caught.value.retryable is True
    assert list(bulk_partition(settings, ['{"name": "no id"}'])) == [
        ("refused", '{"name": "no id"}', "the id column id is null")
    ]


def test_effects_name_the_index_mode_and_ids(tmp_path: Path) -> None:
    stage = StageSpec(
        "out", "sink", "opensearch", ("people",), {"url": "http://h:9200", "index": "people", "keys": ["id"]}
    )
    [effect] = OpenSearchSink().effects(stage, tmp_path)
    assert (effect.action, effect.target, effect.mode) == (
        "index",
        "opensearch index people at http://h:9200",
        "upsert",
    )
    assert effect.details["keys"] == ["id"]


def test_the_wizard_builds_an_upsert_into_an_index(tmp_path: Path) -> None:
    from tests.clihelp import etl_cli

    (tmp_path / "etl-project.yaml").write_text("name: shop\n", encoding="utf-8")
    (tmp_path / "people.csv").write_text("id,name\n1,ada\n", encoding="utf-8")
    answers = {
        "source.path": "people.csv",
        "sink.type": "opensearch",
        "sink.url": "http://127.0.0.1:9200",
        "sink.index": "people",
        "sink.mode": "upsert",
        "sink.keys": "id",
    }
    flags = [part for key, value in answers.items() for part in ("--answer", f"{key}={value}")]
    created = etl_cli(
        "create-pipeline", "--no-input", "--name", "to_index", "--template", "none", "--source-type", "csv", *flags,
        cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    text = (tmp_path / "pipelines" / "to_index" / "pipeline.yaml").read_text()
    assert "type: opensearch" in text and "keys: [id]" in text and "mode: upsert" in text
