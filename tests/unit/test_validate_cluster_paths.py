"""``validate`` warns when a pipeline whose ``spark.master`` is a cluster reads or writes a local path.

Executors on other machines than the driver do not see the driver's files. A warning (exit code 0):
a shared mount or a cluster on the driver's own machine works. Line and column numbers are counted
by hand in the files written below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.diagnostics import Diagnostic
from etl_cli.model.cluster_paths import LOCAL_PATH_ON_CLUSTER, is_cluster_master
from tests.clihelp import etl_cli
from tests.unit.helpers import make_project, write


def pipeline(root: Path, master: str, source_path: str, sink_path: str) -> Path:
    """A project whose pipeline ``p`` reads ``source_path`` and writes ``sink_path``.

    Their ``path`` keys are at line 3, column 28 and line 5, column 44.
    """
    write(root, "data/orders.csv", "id\n1\n")  # present: the missing-input warning stays out of the way
    return make_project(
        root,
        {
            "p/pipeline.yaml": (
                f"spark: {{master: '{master}'}}\n"
                "sources:\n"
                f"  - {{name: raw, type: csv, path: '{source_path}'}}\n"
                "sinks:\n"
                f"  - {{name: out, type: parquet, input: raw, path: '{sink_path}'}}\n"
            )
        },
    )


def cluster_warnings(root: Path) -> list[Diagnostic]:
    (report,) = app.validate([root / "p"])
    assert report.ok, report.diagnostics
    return [d for d in report.diagnostics if d.code == LOCAL_PATH_ON_CLUSTER]


@pytest.mark.parametrize(
    "master", ["spark://10.0.0.5:7077", "yarn", "k8s://https://k8s.example:6443", "mesos://m:5050"]
)
def test_local_paths_on_a_cluster_master_are_warnings_at_their_path(tmp_path: Path, master: str) -> None:
    found = cluster_warnings(pipeline(tmp_path, master, "data/orders.csv", str(tmp_path / "out")))

    assert [(d.severity, d.location.line, d.location.column) for d in found if d.location] == [
        ("warning", 3, 28),
        ("warning", 5, 44),
    ]
    assert all(d.location and Path(d.location.file).name == "pipeline.yaml" for d in found)
    source, sink = found
    assert source.message == (
        f"source 'raw' reads the local path data/orders.csv, but spark.master is {master}: "
        "executors on other machines than the driver do not see it"
    )
    assert sink.message.startswith(f"sink 'out' writes the local path {tmp_path}/out, but spark.master is {master}")
    assert "s3a://" in str(source.hint) and "every machine mounts at the same path" in str(source.hint)


def test_a_file_uri_is_local_too(tmp_path: Path) -> None:
    found = cluster_warnings(pipeline(tmp_path, "spark://h:7077", f"file:{tmp_path}/data/orders.csv", "s3a://b/out"))
    assert [d.message.split(",")[0] for d in found] == [
        f"source 'raw' reads the local path file:{tmp_path}/data/orders.csv"
    ]


@pytest.mark.parametrize("master", ["local[*]", "local[2]", "local"])
def test_a_local_master_gives_no_warning(tmp_path: Path, master: str) -> None:
    assert cluster_warnings(pipeline(tmp_path, master, "data/orders.csv", "out")) == []


def test_shared_storage_gives_no_warning(tmp_path: Path) -> None:
    root = pipeline(tmp_path, "spark://h:7077", "s3a://bucket/orders/*.csv", "hdfs://nn:8020/warehouse/out")
    assert cluster_warnings(root) == []


def test_the_cli_prints_the_warning_with_file_line_col_and_exits_0(tmp_path: Path) -> None:
    root = pipeline(tmp_path, "spark://h:7077", "data/orders.csv", "s3a://b/out")

    result = etl_cli("validate", "p", cwd=root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "p/pipeline.yaml:3:28: warning: source 'raw' reads the local path data/orders.csv" in result.stdout
    assert etl_cli("validate", "p", "--strict", cwd=root).returncode == 1


def test_cluster_masters() -> None:
    assert [is_cluster_master(m) for m in ("spark://h:7077", "YARN", "k8s://h", "mesos://h")] == [True] * 4
    assert [is_cluster_master(m) for m in ("local[*]", "local-cluster[2,1,1024]", "sc://h", None)] == [False] * 4
