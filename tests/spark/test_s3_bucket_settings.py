"""Per-bucket S3 settings, and azure: and gcs: settings, on a live session's Hadoop configuration (no server)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from etl_cli.errors import RunError
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.object_stores import configure_stores
from etl_cli.plugins.s3 import configure_buckets


def stage(name: str, path: str, **s3: Any) -> StageSpec:
    return StageSpec(name, "source", "parquet", (), {"path": path, "s3": s3})


def context(spark: Any, run_id: str) -> RunContext:
    secrets = {"${secret:env:KEY_A}": "key-a", "${secret:env:KEY_B}": "key-b"}
    return RunContext(spark, Path("."), run_id, resolve=lambda v: {k: secrets.get(x, x) for k, x in v.items()})


def hadoop_get(spark: Any, key: str) -> str | None:
    value = spark._jsc.hadoopConfiguration().get(key)
    return None if value is None else str(value)


def test_two_buckets_get_their_own_credentials_and_nothing_global(spark: Any) -> None:
    a, b = f"etl-a-{uuid.uuid4().hex[:6]}", f"etl-b-{uuid.uuid4().hex[:6]}"
    ctx = context(spark, "run-1")
    configure_buckets(
        ctx, stage("one", f"s3a://{a}/x", access_key="${secret:env:KEY_A}", secret_key="s"), [f"s3a://{a}/x"]
    )
    configure_buckets(
        ctx, stage("two", f"s3a://{b}/y", access_key="${secret:env:KEY_B}", secret_key="t"), [f"s3a://{b}/y"]
    )
    assert hadoop_get(spark, f"fs.s3a.bucket.{a}.access.key") == "key-a"
    assert hadoop_get(spark, f"fs.s3a.bucket.{b}.access.key") == "key-b"
    assert hadoop_get(spark, "fs.s3a.access.key") is None


def test_one_run_cannot_give_a_bucket_two_sets_of_settings(spark: Any) -> None:
    bucket = f"etl-c-{uuid.uuid4().hex[:6]}"
    ctx = context(spark, "run-2")
    configure_buckets(ctx, stage("reader", f"s3a://{bucket}/in", region="eu-west-1"), [f"s3a://{bucket}/in"])
    configure_buckets(ctx, stage("writer", f"s3a://{bucket}/out", region="eu-west-1"), [f"s3a://{bucket}/out"])
    with pytest.raises(RunError, match=r"give bucket .* different s3 settings"):
        configure_buckets(ctx, stage("other", f"s3a://{bucket}/x", region="us-east-1"), [f"s3a://{bucket}/x"])


def test_a_later_run_in_the_same_session_replaces_the_settings_it_does_not_repeat(spark: Any) -> None:
    bucket = f"etl-d-{uuid.uuid4().hex[:6]}"
    path = f"s3a://{bucket}/data"
    configure_buckets(
        context(spark, "run-3"), stage("s", path, region="eu-west-1", access_key="k", secret_key="v"), [path]
    )
    configure_buckets(context(spark, "run-4"), stage("s", path, region="us-east-2"), [path])
    assert hadoop_get(spark, f"fs.s3a.bucket.{bucket}.endpoint.region") == "us-east-2"
    assert hadoop_get(spark, f"fs.s3a.bucket.{bucket}.access.key") is None


def test_a_later_run_drops_the_gcs_and_azure_settings_it_does_not_repeat(spark: Any) -> None:
    """wasb:// and gs:// settings share the S3 rule: what an earlier run in this JVM set and this one does not goes."""
    account = f"acct{uuid.uuid4().hex[:6]}"
    wasb = f"wasb://box@{account}/data"
    first = StageSpec("s", "source", "parquet", (), {"path": wasb, "azure": {"emulator": True, "account_key": "k1"}})
    configure_stores(context(spark, "run-5"), first, [wasb])
    assert hadoop_get(spark, f"fs.azure.account.key.{account}") == "k1"
    later = StageSpec("s", "source", "parquet", (), {"path": wasb, "azure": {"account_key": "k2"}})
    configure_stores(context(spark, "run-6"), later, [wasb])
    assert hadoop_get(spark, f"fs.azure.account.key.{account}") == "k2"
    assert hadoop_get(spark, "fs.azure.storage.emulator.account.name") is None

    gs = "gs://etl-bucket/data"
    configure_stores(
        context(spark, "run-7"),
        StageSpec("g", "source", "parquet", (), {"path": gs, "gcs": {"auth": "none", "project_id": "p1"}}),
        [gs],
    )
    assert hadoop_get(spark, "fs.gs.project.id") == "p1"
    configure_stores(
        context(spark, "run-8"), StageSpec("g", "source", "parquet", (), {"path": gs, "gcs": {"auth": "none"}}), [gs]
    )
    assert hadoop_get(spark, "fs.gs.project.id") is None
    assert hadoop_get(spark, "fs.gs.auth.type") == "UNAUTHENTICATED"
