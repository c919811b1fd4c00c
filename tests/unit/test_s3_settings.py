"""S3 without a server: per-bucket Hadoop settings, packages only for s3a:// paths, path checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyspark

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.plugins.registry import REGISTRY
from etl_cli.plugins.s3 import HADOOP_VERSION, S3_PACKAGES, bucket_settings


def problems(kind: str, type_name: str, **options: Any) -> list[str]:
    plugin = REGISTRY.get(kind, type_name)  # type: ignore[arg-type]
    return [p.message for p in plugin.check_options({"name": "s", "type": type_name, **options})]


def test_settings_are_scoped_to_their_bucket_so_two_buckets_keep_their_own_credentials() -> None:
    landing = bucket_settings(
        "landing",
        {"endpoint": "http://127.0.0.1:9000", "path_style_access": True, "access_key": "a", "secret_key": "b"},
    )
    partner = bucket_settings("partner", {"region": "eu-west-1", "access_key": "c", "secret_key": "d"})
    assert landing == {
        "fs.s3a.bucket.landing.endpoint": "http://127.0.0.1:9000",
        "fs.s3a.bucket.landing.connection.ssl.enabled": "false",
        "fs.s3a.bucket.landing.path.style.access": "true",
        "fs.s3a.bucket.landing.access.key": "a",
        "fs.s3a.bucket.landing.secret.key": "b",
        "fs.s3a.bucket.landing.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    }
    assert partner["fs.s3a.bucket.partner.endpoint.region"] == "eu-west-1"
    assert partner["fs.s3a.bucket.partner.access.key"] == "c"
    assert not [key for key in {**landing, **partner} if not key.startswith("fs.s3a.bucket.")], "nothing global"


def test_a_session_token_selects_temporary_credentials() -> None:
    conf = bucket_settings("b", {"access_key": "a", "secret_key": "s", "session_token": "t"})
    assert conf["fs.s3a.bucket.b.session.token"] == "t"
    assert conf["fs.s3a.bucket.b.aws.credentials.provider"].endswith("TemporaryAWSCredentialsProvider")


def test_file_stages_need_the_s3_connector_only_for_s3a_paths() -> None:
    parquet_sink = REGISTRY.get("sink", "parquet")
    csv_source = REGISTRY.get("source", "csv")
    assert parquet_sink.packages_for({"path": "s3a://lake/orders"}) == S3_PACKAGES
    assert parquet_sink.packages_for({"path": "/data/orders"}) == ()
    assert csv_source.packages_for({"path": ["data/a.csv", "s3a://lake/b.csv"]}) == S3_PACKAGES


def test_hadoop_aws_matches_the_hadoop_pyspark_bundles() -> None:
    jars = Path(pyspark.__file__).parent / "jars"
    assert (jars / f"hadoop-client-api-{HADOOP_VERSION}.jar").is_file()
    assert f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}" in S3_PACKAGES


def test_s3_and_s3n_paths_are_refused_with_the_s3a_spelling() -> None:
    assert problems("source", "parquet", path="s3://lake/orders") == ["'s3://' is not supported"]
    assert problems("sink", "csv", path="/local/out", s3={"region": "eu-west-1"}) == [
        "s3 settings are set but no path is s3a://"
    ]
    assert problems("sink", "parquet", path="s3a://lake/out", s3={"region": "eu-west-1"}) == []
