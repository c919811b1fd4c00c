"""``s3a://`` paths for file sources and sinks: JVM packages and per-bucket settings.

Each file source or sink may carry an ``s3:`` block (endpoint, region, path-style
access, credentials). Its values become Hadoop settings *of the buckets its paths
name* (``fs.s3a.bucket.<bucket>.endpoint`` ...), set on the session's Hadoop
configuration when the stage runs. Nothing is set globally, so two sources reading
two buckets with different endpoints or credentials work in one run; two stages of
one run that give the *same* bucket different settings are refused, since a bucket
has one set of settings.

The S3A connector (``hadoop-aws``) must match the Hadoop that pyspark bundles (its
``jars/hadoop-client-api-<version>.jar``), with the AWS SDK v2 bundle hadoop-aws
was built against.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from etl_cli.errors import RunError
from etl_cli.plugins.api import OptionProblem, RunContext, StageSpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: the Hadoop version pyspark 4.1.x bundles (pyspark/jars/hadoop-client-api-3.4.2.jar)
HADOOP_VERSION = "3.4.2"
#: the AWS SDK v2 bundle hadoop-aws 3.4.2 depends on
AWS_SDK_BUNDLE_VERSION = "2.29.52"
S3_PACKAGES = (
    f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}",
    f"software.amazon.awssdk:bundle:{AWS_SDK_BUNDLE_VERSION}",
)
SCHEME = "s3a"
_OTHER_SCHEMES = ("s3", "s3n")

S3_OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "S3 settings for the buckets of this stage's s3a:// paths (set per bucket, not globally). "
    "Without them the connector's defaults apply (AWS endpoint, credentials from the environment, "
    "~/.aws or the instance profile).",
    "properties": {
        "endpoint": {
            "type": "string",
            "minLength": 1,
            "description": "S3 endpoint URL, for S3-compatible stores (MinIO, moto, Ceph): "
            "http://127.0.0.1:9000. An http:// endpoint turns TLS off.",
        },
        "region": {"type": "string", "minLength": 1, "description": "Region of the bucket, e.g. eu-west-1."},
        "path_style_access": {
            "type": "boolean",
            "description": "Address buckets as endpoint/bucket instead of bucket.endpoint "
            "(needed by most S3-compatible stores).",
        },
        "access_key": {
            "type": "string",
            "minLength": 1,
            "description": "Access key id; write a reference: ${secret:...} or ${env:AWS_ACCESS_KEY_ID}.",
        },
        "secret_key": {
            "type": "string",
            "minLength": 1,
            "description": "Secret access key; write a reference: ${secret:...}.",
        },
        "session_token": {
            "type": "string",
            "minLength": 1,
            "description": "Session token of temporary credentials (with access_key and secret_key).",
        },
    },
}


def paths_of(options: Mapping[str, Any]) -> list[str]:
    """The ``path`` option as a list (a source may read several)."""
    value = options.get("path")
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [p for p in value if isinstance(p, str)]
    return []


def is_s3a(path: str) -> bool:
    return path.lower().startswith(f"{SCHEME}://")


def bucket_of(path: str) -> str:
    """The bucket of an ``s3a://bucket/key`` path."""
    bucket = urlsplit(path).netloc
    if not bucket:
        raise RunError(f"{path} names no bucket (write s3a://bucket/path)")
    return bucket


def s3_packages(options: Mapping[str, Any]) -> tuple[str, ...]:
    """The S3A connector's packages when any path of the stage is ``s3a://``."""
    return S3_PACKAGES if any(is_s3a(p) for p in paths_of(options)) else ()


def s3_option_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """Paths with a scheme Hadoop has no connector for, and ``s3:`` settings no path uses."""
    problems = []
    for index, path in enumerate(paths_of(options)):
        scheme = path.split("://", 1)[0].lower() if "://" in path else ""
        if scheme in _OTHER_SCHEMES:
            key: tuple[str | int, ...] = ("path",) if isinstance(options.get("path"), str) else ("path", index)
            problems.append(
                OptionProblem(key, f"'{scheme}://' is not supported", hint=f"write s3a://{path.split('://', 1)[1]}")
            )
    if "s3" in options and not any(is_s3a(p) for p in paths_of(options)):
        problems.append(OptionProblem(("s3",), "s3 settings are set but no path is s3a://"))
    return problems


def bucket_settings(bucket: str, settings: Mapping[str, Any]) -> dict[str, str]:
    """Hadoop settings (``fs.s3a.bucket.<bucket>.*``) for one bucket from a stage's resolved ``s3:`` block."""
    prefix = f"fs.s3a.bucket.{bucket}."
    conf: dict[str, str] = {}
    if endpoint := settings.get("endpoint"):
        conf[prefix + "endpoint"] = str(endpoint)
        if "://" in str(endpoint):
            secure = str(endpoint).lower().startswith("https://")
            conf[prefix + "connection.ssl.enabled"] = "true" if secure else "false"
    if region := settings.get("region"):
        conf[prefix + "endpoint.region"] = str(region)
    if "path_style_access" in settings:
        conf[prefix + "path.style.access"] = "true" if settings["path_style_access"] else "false"
    if settings.get("access_key") or settings.get("secret_key"):
        conf[prefix + "access.key"] = str(settings.get("access_key") or "")
        conf[prefix + "secret.key"] = str(settings.get("secret_key") or "")
        provider = "SimpleAWSCredentialsProvider"
        if settings.get("session_token"):
            conf[prefix + "session.token"] = str(settings["session_token"])
            provider = "TemporaryAWSCredentialsProvider"
        conf[prefix + "aws.credentials.provider"] = f"org.apache.hadoop.fs.s3a.{provider}"
    return conf


def configure_buckets(ctx: RunContext, stage: StageSpec, paths: Iterable[str]) -> None:
    """Set the stage's ``s3:`` settings on the buckets of its ``s3a://`` paths, before Spark touches them."""
    buckets = sorted({bucket_of(p) for p in paths if is_s3a(p)})
    raw = stage.option("s3")
    if not buckets or not raw:
        return
    settings = ctx.resolve(dict(raw))
    for bucket in buckets:
        apply_settings(
            ctx.spark,
            ctx.run_id,
            stage,
            f"fs.s3a.bucket.{bucket}.etl-cli.settings",
            bucket_settings(bucket, settings),
            conflict=f"give bucket '{bucket}' different s3 settings",
            hint="S3A settings are per bucket: give both stages the same s3 block",
            forget=[f"{SCHEME}://{bucket}/"],
        )


def apply_settings(
    spark: SparkSession,
    run_id: str,
    stage: StageSpec,
    marker_key: str,
    conf: Mapping[str, str],
    *,
    conflict: str,
    hint: str,
    forget: Iterable[str] = (),
) -> None:
    """Set ``conf`` (a stage's store settings) on the session's Hadoop configuration, once per run.

    ``marker_key`` records who set them (run, stage, a digest, the keys set). The same settings
    again are left alone; other settings from another stage of the same run are refused
    (``conflict`` says what differs, ``hint`` what to do); a later run in the same JVM (tests,
    notebooks) with other settings first unsets the keys the earlier one set and this one does
    not (the session's own ``spark.conf`` keys stay), then closes the file systems Hadoop cached
    for the URIs of ``forget``, built with the old settings.
    """
    hadoop = spark._jsc.hadoopConfiguration()
    fingerprint = hashlib.sha256(json.dumps(sorted(conf.items())).encode()).hexdigest()[:16]
    previous = hadoop.get(marker_key)
    if previous:
        previous_run, previous_stage, previous_print, *earlier = str(previous).split(" ", 3)
        if previous_print == fingerprint:
            return  # set already, by another stage of this run or by an earlier run in this JVM
        if previous_run == run_id:
            raise RunError(f"{stage.label} and stage '{previous_stage}' {conflict}", location=stage.location, hint=hint)
        for key in earlier[0].split(",") if earlier and earlier[0] else ():
            if key not in conf:
                hadoop.unset(key)
    for key, value in conf.items():
        hadoop.set(key, value)
    hadoop.set(marker_key, f"{run_id} {stage.name} {fingerprint} {','.join(sorted(conf))}")
    if previous:
        jvm = spark._jvm
        assert jvm is not None
        for uri in forget:
            with suppress(Exception):  # nothing cached, or no connector on the classpath: nothing to forget
                jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI(uri), hadoop).close()
