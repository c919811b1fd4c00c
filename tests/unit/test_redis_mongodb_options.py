"""Option checks of the Redis and MongoDB plug-ins, without Spark or a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.mongodb_connection import server_of as mongo_server
from etl_cli.plugins.redis_connection import database_of, template_columns, template_parts
from etl_cli.plugins.redis_connection import server_of as redis_server
from etl_cli.plugins.sinks.mongodb import MongoSink
from etl_cli.plugins.sinks.redis import RedisSink
from etl_cli.plugins.sources.mongodb import MongoSource
from etl_cli.plugins.sources.redis import RedisSource

URL = "redis://127.0.0.1:6379/2"


def messages(problems: list[Any]) -> list[tuple[tuple[str | int, ...], str]]:
    return [(p.key_path, p.message) for p in problems]


def test_key_templates_name_their_columns_and_keep_escaped_braces() -> None:
    assert template_columns("order:{region}:{id}") == ["region", "id"]
    assert template_columns("events") == []
    assert template_parts("a{{b}}:{id}") == [("a{", None), ("b}", None), (":", "id")]
    for bad in ("customer:{id", "customer:{}", "x:{id!r}", "x:{id:>5}"):
        with pytest.raises(ValueError):
            template_columns(bad)


def test_servers_are_named_without_credentials_or_database() -> None:
    assert redis_server("redis://user:pw@cache.example:7000/3") == "redis://cache.example:7000"
    assert redis_server("rediss://cache.example/0") == "rediss://cache.example:6379"
    assert redis_server("${secret:vault:redis#url}") is None
    assert database_of(URL) == 2 and database_of("redis://h") == 0
    assert mongo_server("mongodb://app:pw@db1:27017,db2:27017/?replicaSet=rs") == "mongodb://db1:27017"
    assert mongo_server("${secret:env:MONGO_URI}") is None


def test_redis_sink_pairs_data_types_with_modes_and_options() -> None:
    ok = {"url": URL, "key": "c:{id}", "mode": "upsert"}
    assert RedisSink.check_options(ok) == []
    assert RedisSink.check_options({**ok, "data_type": "stream", "mode": "append", "max_length": 100}) == []
    assert messages(RedisSink.check_options({**ok, "data_type": "stream"})) == [
        (("mode",), "data_type stream is written in mode append, not upsert")
    ]
    assert messages(RedisSink.check_options({**ok, "mode": "append"})) == [
        (("mode",), "data_type hash is written in mode upsert, not append")
    ]
    assert messages(RedisSink.check_options({**ok, "value_column": "name", "max_length": 5})) == [
        (("value_column",), "value_column applies to data_type string only"),
        (("max_length",), "max_length applies to data_type stream only"),
    ]
    string = {**ok, "data_type": "string", "value_column": "name", "columns": ["a"], "ttl_seconds": 60}
    assert messages(RedisSink.check_options(string)) == [(("columns",), "give value_column or columns, not both")]
    assert [p.key_path for p in RedisSink.check_options({**ok, "key": "c:{id"})] == [("key",)]


def test_a_password_in_a_redis_url_is_refused() -> None:
    problems = RedisSource.check_options({"url": "redis://:hunter2@h:6379/0", "pattern": "*"})
    assert messages(problems) == [(("url",), "the URL holds a password")]
    assert "hunter2" not in repr(problems)


def test_redis_source_needs_a_pattern_or_a_stream() -> None:
    assert RedisSource.check_options({"url": URL, "pattern": "c:*", "schema": {"n": "INT"}}) == []
    assert RedisSource.check_options({"url": URL, "data_type": "stream", "stream": "s", "start_id": "5-0"}) == []
    assert messages(RedisSource.check_options({"url": URL})) == [((), "data_type hash needs `pattern`")]
    assert messages(RedisSource.check_options({"url": URL, "data_type": "stream", "pattern": "x"})) == [
        ((), "data_type stream needs `stream`"),
        (("pattern",), "`pattern` does not apply to data_type stream"),
    ]
    assert messages(RedisSource.check_options({"url": URL, "pattern": "x", "end_id": "+"})) == [
        (("end_id",), "`end_id` applies to data_type stream only")
    ]
    string_schema = RedisSource.check_options({"url": URL, "data_type": "string", "pattern": "x", "schema": "a INT"})
    assert [p.key_path for p in string_schema] == [("schema",)]
    assert [p.key_path for p in RedisSource.check_options({"url": URL, "pattern": "x", "schema": {"n": "NUMBER"}})] == [
        ("schema", "n")
    ]


def test_redis_sink_effects_name_the_server_and_key() -> None:
    stage = StageSpec("out", "sink", "redis", ("people",), {"url": URL, "key": "c:{id}", "ttl_seconds": 60})
    (effect,) = RedisSink().effects(stage, Path("."))
    assert (effect.action, effect.target, effect.mode) == (
        "upsert hashes",
        "redis://127.0.0.1:6379 hash c:{id}",
        "upsert",
    )
    assert effect.details == {"server": "redis://127.0.0.1:6379", "data_type": "hash", "ttl_seconds": 60}
    assert RedisSink.endpoint(stage) == "redis://127.0.0.1:6379"


def test_mongodb_sink_keys_and_reserved_options() -> None:
    base = {"uri": "mongodb://h:27017/", "database": "d", "collection": "c"}
    assert MongoSink.check_options({**base, "mode": "upsert", "keys": ["code"]}) == []
    assert messages(MongoSink.check_options({**base, "mode": "append", "keys": ["code"]})) == [
        (("keys",), "keys apply only to mode upsert")
    ]
    assert messages(MongoSink.check_options({**base, "options": {"operationType": "update", "maxBatchSize": 10}})) == [
        (("options", "operationType"), "'operationType' is set by `mode`")
    ]
    stage = StageSpec("out", "sink", "mongodb", ("x",), {**base, "mode": "upsert"})
    (effect,) = MongoSink().effects(stage, Path("."))
    assert (effect.action, effect.target, effect.details["keys"]) == (
        "upsert documents",
        "mongodb://h:27017 d.c",
        ["_id"],
    )


def test_mongodb_source_checks_its_schema_and_options() -> None:
    base = {"uri": "mongodb://h:27017/", "database": "d", "collection": "c", "schema": "_id INT, name STRING"}
    assert MongoSource.check_options(base) == []
    assert [p.key_path for p in MongoSource.check_options({**base, "schema": "_id WHATEVER"})] == [("schema",)]
    assert messages(MongoSource.check_options({**base, "options": {"aggregation.pipeline": "[]"}})) == [
        (("options", "aggregation.pipeline"), "'aggregation.pipeline' is set by `pipeline or filter`")
    ]
    assert MongoSource.required_options == ("uri", "database", "collection", "schema")


def test_mongodb_stages_have_lineage_dataset_names() -> None:
    from etl_cli.lineage.naming import dataset_name

    options = {"uri": "mongodb://app:pw@db1:27017,db2:27017/", "database": "shop", "collection": "orders"}
    named = dataset_name(StageSpec("o", "source", "mongodb", (), options), Path("."))
    assert named is not None and (named.namespace, named.name) == ("mongodb://db1:27017", "shop.orders")
    hidden = {**options, "uri": "${secret:env:MONGO_URI}"}
    assert dataset_name(StageSpec("o", "source", "mongodb", (), hidden), Path(".")) is None
