"""``etl-cli submit`` (its package and spark-submit command line) and ``etl-cli export k8s`` (its manifest).

No JVM: the command line is read with ``--print``, the package's zips are opened, and the manifests are
validated against the SparkApplication CRD of the Kubernetes Spark operator, vendored in tests/fixtures
(its ``openAPIV3Schema`` with unknown fields refused, as ``kubectl apply`` does with strict field validation).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml

from etl_cli import __version__
from etl_cli.app import load_spec
from etl_cli.errors import ConfigError, UsageError
from etl_cli.usecases.submit import (
    KubernetesOptions,
    RunArguments,
    SubmitOptions,
    application_manifest,
    check_deploy_mode,
    prepare_submission,
)
from etl_cli.usecases.submit_driver import run_arguments, unpack_shipped_package
from tests.clihelp import REPO, etl_cli

CRD = REPO / "tests" / "fixtures" / "sparkoperator.k8s.io_sparkapplications.yaml"
SECRET_VALUE = "s3cr3t-value-never-shown"

PROJECT = """\
name: shop
environments:
  dev: {}
  prod: {protected: true}
"""
TEMPLATE = """\
spark:
  conf:
    spark.sql.shuffle.partitions: 4
"""
PIPELINE = """\
name: orders_daily
extends: base
spark:
  packages: [org.postgresql:postgresql:42.7.4]
  conf:
    spark.executor.memory: 2g
    spark.executor.cores: 2
    spark.executor.instances: 3
    spark.driver.memory: 3g
    spark.executor.memoryOverhead: ${secret:env:OVERHEAD}
    spark.hadoop.fs.s3a.secret.key: ${secret:env:S3_SECRET}
sources:
  - name: orders
    type: csv
    path: data/orders.csv
sinks:
  - name: out
    type: parquet
    input: orders
    path: out/orders
"""
OVERLAY = """\
spark:
  conf:
    spark.executor.instances: 5
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with a template, a pipeline and a prod overlay; a secret in spark.conf."""
    root = tmp_path / "shop"
    (root / "templates").mkdir(parents=True)
    (root / "pipelines" / "orders" / "env").mkdir(parents=True)
    (root / "etl-project.yaml").write_text(PROJECT)
    (root / "templates" / "base.yaml").write_text(TEMPLATE)
    (root / "pipelines" / "orders" / "pipeline.yaml").write_text(PIPELINE)
    (root / "pipelines" / "orders" / "env" / "prod.yaml").write_text(OVERLAY)
    (root / "unrelated.txt").write_text("not part of any run")
    return root


def test_a_python_driver_in_cluster_mode_on_a_standalone_cluster_is_refused_naming_what_works() -> None:
    with pytest.raises(UsageError) as raised:
        check_deploy_mode("spark://127.0.0.1:7077", "cluster")
    assert "YARN and Kubernetes" in str(raised.value) and "--deploy-mode client" in (raised.value.hint or "")
    with pytest.raises(UsageError):
        check_deploy_mode("local[2]", "cluster")
    with pytest.raises(UsageError):
        check_deploy_mode("mesos://host:5050", "client")
    with pytest.raises(UsageError):
        check_deploy_mode("yarn", "server")
    for master, mode in [("spark://h:7077", "client"), ("yarn", "cluster"), ("k8s://https://h:6443", "cluster")]:
        check_deploy_mode(master, mode)


def test_the_refusal_exits_2_and_builds_nothing(project: Path, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    result = etl_cli(
        "submit", str(project / "pipelines" / "orders"), "--master", "spark://127.0.0.1:7077",
        "--deploy-mode", "cluster", "--staging-dir", str(staging),
    )  # fmt: skip
    assert result.returncode == 2
    assert "standalone cluster (spark://) refuses it" in result.stderr
    assert not staging.exists()


def test_the_printed_client_command_carries_launch_settings_and_jars_but_no_secret(
    project: Path, tmp_path: Path
) -> None:
    staging = tmp_path / "staging"
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "postgresql-42.7.4.jar").write_bytes(b"PK")
    result = etl_cli(
        "submit", str(project / "pipelines" / "orders"), "--master", "spark://127.0.0.1:7077",
        "--env", "prod", "--confirm-env", "prod", "--print",
        "--staging-dir", str(staging),
        env={"ETL_JARS_DIR": str(jars), "S3_SECRET": SECRET_VALUE, "OVERHEAD": "777m"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    words = shlex.split(result.stdout)
    assert words[0] == f"PYSPARK_DRIVER_PYTHON={sys.executable}"
    assert Path(words[1]).name == "spark-submit" and Path(words[1]).parent.name == "bin"
    options = dict(zip(words[2::2], words[3::2], strict=False))
    assert options["--master"] == "spark://127.0.0.1:7077" and options["--deploy-mode"] == "client"
    assert options["--py-files"] == str(staging / f"etl_cli-{__version__}.zip")
    assert options["--jars"] == str(jars / "postgresql-42.7.4.jar")
    assert "--packages" not in words, "a coordinate whose jar is local is not resolved again"
    confs = [words[i + 1] for i, word in enumerate(words) if word == "--conf"]
    # the overlay's instances, the pipeline's memory and cores; the settings holding a secret stay off
    assert sorted(confs) == [
        "spark.driver.memory=3g", "spark.executor.cores=2", "spark.executor.instances=5", "spark.executor.memory=2g",
    ]  # fmt: skip
    for hidden in (SECRET_VALUE, "777m", "memoryOverhead", "s3a"):
        assert hidden not in result.stdout
    driver = words.index(str(staging / "etl-cli-driver.py"))
    assert words[driver + 1 :] == [
        str((project / "pipelines" / "orders" / "pipeline.yaml").resolve()), "--env", "prod",
        "--confirm-env", "prod",
    ]  # fmt: skip
    assert (staging / "etl-cli-driver.py").read_text() == Path(
        sys.modules["etl_cli.usecases.submit_driver"].__file__ or ""
    ).read_text()


def test_packages_not_found_locally_go_to_packages(project: Path, tmp_path: Path) -> None:
    options = SubmitOptions("yarn", "client", RunArguments(env="dev"), tmp_path / "staging")
    submission = prepare_submission(project / "pipelines" / "orders", options)
    command = list(submission.command)
    assert command[command.index("--packages") + 1] == "org.postgresql:postgresql:42.7.4"
    assert "--jars" not in command and "--archives" not in command


def test_cluster_mode_ships_the_project_files_the_run_loads_as_written(project: Path, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    options = SubmitOptions("yarn", "cluster", RunArguments(env="prod", sets=("sinks.out.path=out/o2",)), staging)
    submission = prepare_submission(project / "pipelines" / "orders", options)
    command = list(submission.command)
    assert command[command.index("--archives") + 1] == f"{staging / 'project.zip'}#project"
    assert submission.environment == {}, "the driver runs on the cluster, with the cluster's Python"
    assert "--driver-java-options" not in command
    assert command[command.index(str(staging / "etl-cli-driver.py")) + 1 :] == [
        "project/pipelines/orders/pipeline.yaml", "--env", "prod", "--set", "sinks.out.path=out/o2",
    ]  # fmt: skip
    with zipfile.ZipFile(staging / "project.zip") as archive:
        assert sorted(archive.namelist()) == [
            "etl-project.yaml",
            "pipelines/orders/env/prod.yaml",
            "pipelines/orders/pipeline.yaml",
            "templates/base.yaml",
        ]
        # references stay references: the driver resolves them
        assert "${secret:env:S3_SECRET}" in archive.read("pipelines/orders/pipeline.yaml").decode()


def test_the_etl_cli_zip_holds_modules_and_data_files_and_runs_once_unpacked(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    prepare_submission(REPO / "pipelines" / "quickstart", SubmitOptions("local[1]", staging_dir=staging))
    package = staging / f"etl_cli-{__version__}.zip"
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
    assert {"etl_cli/__init__.py", "etl_cli/cli/main.py", "etl_cli/model/pipeline.schema.json"} <= names
    assert "etl_cli/runtime/spark/resources/log4j2.properties" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # the driver swaps the zip on sys.path for a folder it unpacks it into; etl-cli runs from there
    path = ["/somewhere", str(package)]
    folder = unpack_shipped_package(path)
    assert folder is not None and path == ["/somewhere", folder]
    check = subprocess.run(
        [sys.executable, "-c", "import etl_cli.model.schema as s; print(s.__file__); print(s.SCHEMA_FILE.is_file())"],
        env={"PYTHONPATH": folder, "PYTHONNOUSERSITE": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.splitlines() == [str(Path(folder) / "etl_cli" / "model" / "schema.py"), "True"]


def test_the_driver_runs_etl_cli_run_with_the_submitted_master() -> None:
    assert run_arguments(["p.yaml", "--env", "dev"], "spark://h:7077") == [
        "run", "p.yaml", "--env", "dev", "--master", "spark://h:7077",
    ]  # fmt: skip
    assert run_arguments(["p.yaml"], None) == ["run", "p.yaml"]


@cache
def _crd_schema() -> dict[str, Any]:
    """The v1beta2 openAPIV3Schema of the vendored CRD, unknown fields refused where fields are listed."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(CRD.read_text(encoding="utf-8"), Loader=loader)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta2")
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    _strict(schema)
    return schema


def _strict(schema: Any) -> None:
    if isinstance(schema, dict):
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for value in schema:
            _strict(value)


def _errors(manifest: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(_crd_schema())
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest))


def test_the_exported_manifest_is_valid_against_the_operator_crd(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "app.yaml"
    result = etl_cli(
        "export", "k8s", str(project / "pipelines" / "orders"), "--image", "registry.example/shop:1",
        "--namespace", "etl", "--env", "prod", "--confirm-env", "prod", "--secret-env", "shop-secrets",
        "--service-account", "spark", "-o", str(out),
        env={"S3_SECRET": SECRET_VALUE, "OVERHEAD": "777m"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    for hidden in (SECRET_VALUE, "777m", "memoryOverhead", "s3a"):
        assert hidden not in text
    manifest = yaml.safe_load(text)
    assert _errors(manifest) == []
    assert manifest["apiVersion"] == "sparkoperator.k8s.io/v1beta2" and manifest["kind"] == "SparkApplication"
    assert manifest["metadata"]["name"] == "shop-orders-daily" and manifest["metadata"]["namespace"] == "etl"
    spec = manifest["spec"]
    assert spec["type"] == "Python" and spec["mode"] == "cluster"
    assert spec["mainApplicationFile"] == "local:///project/etl-cli-driver.py"
    assert spec["arguments"] == ["/project/pipelines/orders/pipeline.yaml", "--env", "prod", "--confirm-env", "prod"]
    assert spec["sparkVersion"] == __import__("pyspark").__version__
    assert spec["deps"] == {"packages": ["org.postgresql:postgresql:42.7.4"]}
    assert spec["executor"]["instances"] == 5 and spec["executor"]["cores"] == 2
    assert spec["executor"]["memory"] == "2g"
    assert spec["driver"]["memory"] == "3g" and spec["driver"]["serviceAccount"] == "spark"
    assert spec["driver"]["cores"] == 1, "not set: one core"
    assert spec["driver"]["envFrom"] == [{"secretRef": {"name": "shop-secrets"}}]
    assert "sparkConf" not in spec, "memoryOverhead holds a secret reference: the driver applies it"


def test_the_crd_check_rejects_broken_manifests(project: Path) -> None:
    _, spec = load_spec(project / "pipelines" / "orders", "dev")
    good = application_manifest(spec, PurePosixPath("pipelines/orders/pipeline.yaml"), KubernetesOptions("img"))
    assert _errors(good) == []
    misspelt = {**good, "spec": {**good["spec"], "mainApplicationFlie": "x"}}
    assert any("mainApplicationFlie" in e for e in _errors(misspelt))
    wrong_type = {**good, "spec": {**good["spec"], "type": "Perl"}}
    assert any(e.startswith("spec/type") for e in _errors(wrong_type))
    no_version = {**good, "spec": {k: v for k, v in good["spec"].items() if k != "sparkVersion"}}
    assert any("sparkVersion" in e for e in _errors(no_version))
    text_cores = {**good, "spec": {**good["spec"], "driver": {**good["spec"]["driver"], "cores": "two"}}}
    assert any(e.startswith("spec/driver/cores") for e in _errors(text_cores))


def test_export_k8s_refuses_resources_a_spark_application_cannot_hold(project: Path) -> None:
    pipeline = project / "pipelines" / "orders" / "pipeline.yaml"
    pipeline.write_text(PIPELINE.replace("spark.executor.cores: 2", "spark.executor.cores: 1.5"))
    _, spec = load_spec(pipeline, "dev")
    with pytest.raises(ConfigError, match=r"spark\.executor\.cores"):
        application_manifest(spec, PurePosixPath("pipelines/orders/pipeline.yaml"), KubernetesOptions("img"))
