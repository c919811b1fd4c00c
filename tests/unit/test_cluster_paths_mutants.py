"""Which ``path`` settings the local-path-on-cluster warning reads (etl_cli/model/cluster_paths.py, ``_paths``
through ``check_cluster_paths``), called in-process on a loaded pipeline whose ``spark.master`` is ``yarn``: an
item that is not a mapping, a stage of a type no plug-in has and a stage whose plug-in takes no ``path`` (JDBC) are
passed over without stopping at them; each item of a ``path`` list is warned about at its own line; a pipeline
without a sinks section is read without crashing; a remote path (``s3a://``) and one holding a ``${...}`` reference
are passed over without stopping at them. Lines and columns are counted by hand in the text below."""

from __future__ import annotations

from pathlib import Path

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.model.cluster_paths import check_cluster_paths
from tests.unit.helpers import make_project

PIPELINE = """\
spark: {master: yarn}
sources:
  - oops
  - {name: odd, type: nosuch, path: x.csv}
  - {name: db, type: jdbc, url: "jdbc:postgresql://h/db", table: t}
  - name: files
    type: csv
    path:
      - a.csv
      - /data/b.csv
"""
HINT = (
    "put the data on a file system every machine mounts at the same path, or on object storage (s3a://bucket/...) "
    "or HDFS; a local path works only when the driver and the executors share the machine"
)


def warned(diagnostic: Diagnostic) -> tuple[str, str, str, str | None, int, int]:
    """A diagnostic's severity, code, message, hint, line and column."""
    where = diagnostic.location
    assert where is not None
    return diagnostic.severity, diagnostic.code, diagnostic.message, diagnostic.hint, where.line, where.column


def test_each_item_of_a_path_list_after_stages_without_a_path_is_warned_about_at_its_line(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE})
    loaded = load_pipeline(tmp_path / "p", None, environ={})

    found = check_cluster_paths(loaded.document, loaded, registry())

    assert [warned(d) for d in found] == [
        (
            "warning",
            "local-path-on-cluster",
            f"source 'files' reads the local path {path}, but spark.master is yarn: executors on other machines "
            "than the driver do not see it",
            HINT,
            line,
            9,
        )
        for path, line in (("a.csv", 9), ("/data/b.csv", 10))
    ]


def test_remote_paths_and_paths_holding_a_reference_are_passed_over_and_later_local_paths_still_warned(
    tmp_path: Path,
) -> None:
    text = (
        "spark: {master: yarn}\nsources:\n  - name: files\n    type: csv\n    path:\n"
        "      - s3a://bucket/a.csv\n      - ${secret:env:DATA_DIR}/b.csv\n      - c.csv\n"
    )
    make_project(tmp_path, {"p/pipeline.yaml": text})
    loaded = load_pipeline(tmp_path / "p", None, environ={})

    found = check_cluster_paths(loaded.document, loaded, registry())

    assert [warned(d) for d in found] == [
        (
            "warning",
            "local-path-on-cluster",
            "source 'files' reads the local path c.csv, but spark.master is yarn: executors on other machines than "
            "the driver do not see it",
            HINT,
            8,
            9,
        )
    ]
