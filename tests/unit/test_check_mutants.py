"""What the typed pipeline model keeps of a validated document, found untested by mutation testing (mutmut) of
etl_cli/model/check.py (``build_pipeline``, through ``check_pipeline``).

Pins the spec's ``description``, ``vars``, ``spark`` settings (master, Spark Connect server, application name,
configuration, packages and jars), ``lineage`` (namespace, transport, project root and the ``lineage:`` line) and
``checkpoints`` retention, each as the pipeline writes it and as it is when the pipeline writes nothing; and which
Spark Connect server a pipeline runs on: its own ``spark.remote``, none when it names a master, else the project's.
Then what ``check_document`` makes of a document (``_plugin_rules``, ``_fill_defaults``): a plug-in's own rule is
reported for a stage that follows one of an unknown type in the same section, and each sink without a ``mode`` gets
its type's default mode (``render`` prints it) while a written mode stays.
Which problems ``check_document`` says at all: a file that could not be read into a document says only why, while an
empty document, or one the loader found a problem in, is still checked against the schema (every problem at once);
and the rules that depend on the environment get it: a literal credential is an error in a protected environment and
a warning elsewhere, and a key's ``secrets:`` entry is looked up among the environment's own entries.
No JVM: the pipeline is only loaded and checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic, error, warning
from etl_cli.errors import Location
from etl_cli.model.check import check_document, check_pipeline
from etl_cli.model.checkpoints import CheckpointSettings
from etl_cli.model.lineage import LineageSpec
from etl_cli.model.pipeline import PipelineSpec, SparkSettings

from .helpers import make_project

PROJECT = "name: shop\nspark:\n  remote: sc://proj:15002\n"
STAGES = """\
sources:
  - {name: raw, type: csv, path: raw.csv}
sinks:
  - {name: out, type: parquet, input: raw, path: out}
"""
WRITTEN = """\
name: orders
description: Orders of the day
vars:
  region: eu
spark:
  master: local[2]
  app_name: orders-app
  conf: {spark.sql.shuffle.partitions: 4}
  packages: [org.example:pkg:1.0]
  jars: [libs/extra.jar]
lineage:
  transport: {type: console}
checkpoints:
  retention_runs: 3
  retention_days: 7
"""


def spec_of(root: Path, pipeline: str) -> PipelineSpec:
    make_project(root, {"raw.csv": "id\n1\n", "p/pipeline.yaml": pipeline}, project=PROJECT)
    spec, diagnostics = check_pipeline(load_pipeline(root / "p", None, environ={}), registry())
    assert diagnostics == []
    assert spec is not None
    return spec


def test_the_spec_keeps_the_description_vars_spark_lineage_and_checkpoints_the_pipeline_writes(
    tmp_path: Path,
) -> None:
    spec = spec_of(tmp_path, WRITTEN + STAGES)
    assert spec.description == "Orders of the day"
    assert spec.vars == {"region": "eu"}
    assert spec.spark == SparkSettings(
        master="local[2]",
        remote=None,  # a pipeline naming its own master does not run on the project's server
        app_name="orders-app",
        conf={"spark.sql.shuffle.partitions": 4},
        packages=("org.example:pkg:1.0",),
        jars=("libs/extra.jar",),
    )
    assert spec.lineage == LineageSpec(
        namespace="shop",  # the project's name, as the pipeline names none
        transport={"type": "console"},
        project_root=tmp_path,
        location=Location(str(tmp_path / "p" / "pipeline.yaml"), 11, 1),
    )
    assert spec.checkpoints == CheckpointSettings(retention_runs=3, retention_days=7)


def test_a_pipeline_writing_none_of_them_has_no_description_no_vars_no_lineage_and_default_retention(
    tmp_path: Path,
) -> None:
    spec = spec_of(tmp_path, "name: orders\n" + STAGES)
    assert (spec.description, spec.vars, spec.lineage) == (None, {}, None)
    assert spec.spark == SparkSettings(remote="sc://proj:15002")
    assert spec.checkpoints == CheckpointSettings()


@pytest.mark.parametrize(
    ("spark", "master", "remote"),
    [
        ({"remote": "sc://pipe:15002"}, None, "sc://pipe:15002"),  # its own server wins over the project's
        ({"master": "local[2]"}, "local[2]", None),  # its own master: no server
        ({"app_name": "a"}, None, "sc://proj:15002"),  # neither: the project's server
    ],
)
def test_a_pipeline_runs_on_its_own_server_or_master_else_on_the_projects_server(
    tmp_path: Path, spark: dict[str, Any], master: str | None, remote: str | None
) -> None:
    spec = spec_of(tmp_path, f"name: orders\nspark: {spark}\n" + STAGES)
    assert (spec.spark.master, spec.spark.remote) == (master, remote)


def test_a_plugin_rule_is_reported_for_a_stage_after_one_of_an_unknown_type(tmp_path: Path) -> None:
    pipeline = """\
sources: [{name: raw, type: csv, path: raw.csv}]
transforms:
  - {name: odd, type: nosuch, inputs: [raw]}
  - {name: some, type: sample, inputs: [raw], fraction: 2}
sinks: [{name: out, type: parquet, input: some, path: out}, {name: o2, type: parquet, input: odd, path: o2}]
"""
    make_project(tmp_path, {"raw.csv": "id\n1\n", "p/pipeline.yaml": pipeline})
    document, diagnostics = check_document(load_pipeline(tmp_path / "p", None, environ={}), registry())
    assert document is None
    assert [(d.code, d.message, d.hint, d.location) for d in diagnostics if d.code == "invalid-option"] == [
        (
            "invalid-option",
            "transforms.some.fraction: fraction 2 is a probability without replacement: it must be at most 1",
            "write a fraction between 0 and 1, or set with_replacement: true to pick rows several times",
            Location(str(tmp_path / "p" / "pipeline.yaml"), 4, 57),
        )
    ]


def test_each_sink_without_a_mode_gets_its_types_default_mode_and_a_written_mode_stays(tmp_path: Path) -> None:
    pipeline = """\
sources: [{name: raw, type: csv, path: raw.csv}]
sinks:
  - {name: files, type: parquet, input: raw, path: out}
  - {name: kf, type: kafka, input: raw, topic: t, bootstrap_servers: "k:9092"}
  - {name: more, type: csv, input: raw, path: more, mode: append}
"""
    make_project(tmp_path, {"raw.csv": "id\n1\n", "p/pipeline.yaml": pipeline})
    document, diagnostics = check_document(load_pipeline(tmp_path / "p", None, environ={}), registry())
    assert diagnostics == []
    assert document is not None
    assert document["sinks"] == [
        {"name": "files", "type": "parquet", "input": "raw", "path": "out", "mode": "overwrite"},
        {
            "name": "kf",
            "type": "kafka",
            "input": "raw",
            "topic": "t",
            "bootstrap_servers": "k:9092",
            "mode": "append",
        },
        {"name": "more", "type": "csv", "input": "raw", "path": "more", "mode": "append"},
    ]


@pytest.mark.parametrize("section", ["sources", "transforms", "sinks", "checks"])
def test_a_stage_section_that_is_not_a_list_is_the_only_problem_said(tmp_path: Path, section: str) -> None:
    """The checks after the schema walk the stage sections: when one is not a list, only the schema's error is said
    (the source's missing input file is not)."""
    stages = {
        "sources": "  - {name: s, type: csv, path: s.csv}",
        "sinks": "  - {name: o, type: json, input: s, path: o}",
    }
    text = "name: p\n" + "".join(f"{name}:\n{stages[name]}\n" for name in stages if name != section)
    text += f"{section}: {{s: 1}}\n"
    root = make_project(tmp_path / "proj", {"p/pipeline.yaml": text}, project="name: t\n")
    document, diagnostics = check_document(load_pipeline(root / "p", None, environ={}), registry())
    line = text.count("\n")
    assert document is None
    assert [(d.code, d.message, d.location) for d in diagnostics] == [
        (
            "wrong-type",
            f"{section} must be a list, got {{'s': 1}}",
            Location(str(root / "p" / "pipeline.yaml"), line, len(section) + 3),
        )
    ]


@pytest.mark.parametrize(
    ("pipeline", "problems"),
    [
        pytest.param("sources: [\n", [("yaml-syntax", 2, 1)], id="unreadable-yaml-says-only-why"),
        pytest.param("{}\n", [("missing-key", 1, 1), ("missing-key", 1, 1)], id="an-empty-document-is-checked"),
        pytest.param(
            'description: "${var:nosuch}"\n'
            "sources: [{name: a, type: csv, path: a.csv}]\n"
            "sinks: [{name: o, type: json, input: a, path: o, mode: sideways}]\n",
            [("unset-variable", 1, 14), ("invalid-value", 3, 56)],
            id="a-loader-problem-and-the-schemas-are-said-together",
        ),
    ],
)
def test_a_document_is_checked_unless_the_file_could_not_be_read_into_one(
    tmp_path: Path, pipeline: str, problems: list[tuple[str, int, int]]
) -> None:
    make_project(tmp_path, {"a.csv": "id\n1\n", "p/pipeline.yaml": pipeline})
    document, diagnostics = check_document(load_pipeline(tmp_path / "p", None, environ={}), registry())
    file = str(tmp_path / "p" / "pipeline.yaml")
    assert document is None
    assert [(d.severity, d.code, d.location) for d in diagnostics] == [
        ("error", code, Location(file, line, col)) for code, line, col in problems
    ]


ENVIRONMENTS = """\
name: t
keys:
  customer: {provider: vault_transit, key: etl-customer, secrets: corp}
environments:
  dev: {}
  prod:
    protected: true
    secrets:
      corp: {type: vault, url: 'https://v'}
"""
KEYED = """\
sources:
  - {name: db, type: jdbc, url: 'jdbc:postgresql://h/d', table: t, user: u, password: hunter2}
transforms:
  - {name: enc, type: encrypt, inputs: [db], columns: [email], key: customer}
sinks:
  - {name: out, type: json, input: enc, path: out}
"""
LITERAL = "sources.db.password is a credential written as plain text"
LITERAL_HINT = (
    'write password: "${secret:vault:pipeline/db#password}" (or "${env:DB_PASSWORD}") and keep the value in a '
    "secret store, e.g. etl-cli secrets set keyring:pipeline/db#password"
)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_credential_and_key_rules_are_checked_for_the_pipelines_environment(tmp_path: Path, env: str) -> None:
    """prod is protected (a literal password is an error) and declares the key's ``corp`` secrets; dev does neither."""
    make_project(tmp_path, {"p/pipeline.yaml": KEYED}, project=ENVIRONMENTS)
    document, diagnostics = check_document(load_pipeline(tmp_path / "p", env, environ={}), registry())
    file = str(tmp_path / "p" / "pipeline.yaml")
    expected: list[Diagnostic] = {
        "dev": [
            warning(
                "literal-credential",
                LITERAL + " (an error in protected environments)",
                Location(file, 2, 87),
                LITERAL_HINT,
            ),
            error(
                "unknown-key-provider",
                "transform 'enc': key 'customer' reaches vault_transit through secrets entry 'corp', which "
                "etl-project.yaml does not declare for environment dev",
                Location(file, 4, 69),
                "add secrets: {corp: {type: vault, ...}}",
            ),
        ],
        "prod": [error("literal-credential", LITERAL, Location(file, 2, 87), LITERAL_HINT)],
    }[env]
    assert document is None
    assert diagnostics == expected
