"""Use cases of ``etl-cli submit`` and ``etl-cli export k8s``: a pipeline's run handed to a cluster manager.

``submit`` packages what the driver needs and calls spark-submit (from the PySpark installation):

- ``etl_cli-VERSION.zip``, the etl_cli package, for ``--py-files`` (the driver and Python workers import it);
- the driver program (:mod:`etl_cli.usecases.submit_driver`), which runs ``etl-cli run`` in the driver;
- the JVM packages of the pipeline and its plug-ins: jars found locally (``$ETL_JARS_DIR``, the
  ``fetch-jars.sh`` cache) for ``--jars``, the other coordinates for ``--packages``;
- in cluster deploy mode, where the driver runs on the cluster, ``project.zip`` for ``--archives``: the
  project file and the pipeline files loaded (pipeline, templates, overlays) as written, so ``${secret:...}``
  references stay references, resolved by the driver through the project's providers.

Secret values never reach the command line: of the pipeline's ``spark.conf`` only the launch settings
(:data:`LAUNCH_SETTINGS`: driver and executor resources) go on it, and only those holding no secret reference;
the driver applies the rest when it starts the session, as ``etl-cli run`` does.

Spark runs Python drivers in cluster deploy mode on YARN and Kubernetes only: on a standalone cluster
(``spark://``) spark-submit refuses it, so ``submit`` refuses it first (exit 2), naming what works.

``export k8s`` writes a SparkApplication (``sparkoperator.k8s.io/v1beta2``) for the Kubernetes Spark
operator: the image holds etl-cli, the project and the driver program; the arguments are the run's.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

import etl_cli
from etl_cli import __version__
from etl_cli.app import load_spec, new_run_id, registry
from etl_cli.config.interpolate import resolve_runtime_value
from etl_cli.config.loader import LoadedConfig
from etl_cli.errors import ConfigError, UsageError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.orchestration.exports.kubernetes import cronjob_name
from etl_cli.plan.dag import compile_plan
from etl_cli.runtime.execution.workspace import plugin_packages
from etl_cli.runtime.spark.jars import resolve_local_jars
from etl_cli.runtime.spark.java import ensure_java
from etl_cli.runtime.spark.session import LOG4J_CONFIG
from etl_cli.usecases import submit_driver

DEPLOY_MODES = ("client", "cluster")
#: the settings of ``spark.conf`` that must be known when the driver starts, and so go to spark-submit
LAUNCH_SETTINGS = (
    "spark.driver.cores",
    "spark.driver.memory",
    "spark.driver.memoryOverhead",
    "spark.executor.cores",
    "spark.executor.memory",
    "spark.executor.memoryOverhead",
    "spark.executor.instances",
    "spark.cores.max",
    "spark.dynamicAllocation.enabled",
    "spark.dynamicAllocation.minExecutors",
    "spark.dynamicAllocation.maxExecutors",
)
#: the name of the driver program in the staging folder and, by default, in the image
DRIVER_FILE = "etl-cli-driver.py"
#: where ``--archives`` unpacks the project in the driver's working folder (cluster deploy mode)
PROJECT_ALIAS = "project"
#: where the image holds the project, as for ``schedule export --format kubernetes``
IMAGE_PROJECT_DIR = PurePosixPath("/project")
_STANDALONE_CLUSTER_MODE = (
    "--deploy-mode cluster: Spark runs Python drivers in cluster deploy mode on YARN and Kubernetes only; "
    "a standalone cluster (spark://) refuses it"
)


@dataclass(frozen=True)
class RunArguments:
    """What the driver's ``etl-cli run`` is given besides the pipeline (never a secret value)."""

    env: str | None = None
    sets: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    confirm_env: str | None = None

    def argv(self) -> list[str]:
        found = ["--env", self.env] if self.env else []
        for item in self.sets:
            found += ["--set", item]
        for item in self.params:
            found += ["--param", item]
        return found + (["--confirm-env", self.confirm_env] if self.confirm_env else [])


@dataclass(frozen=True)
class SubmitOptions:
    """What ``etl-cli submit`` was asked for."""

    master: str
    deploy_mode: str = "client"
    run: RunArguments = field(default_factory=RunArguments)
    #: ``--staging-dir``: where the package goes; None: ``<state dir>/submit/<id>``
    staging_dir: Path | None = None
    #: ``--verbose``: the client-mode driver's JVM logs warnings too
    verbose: bool = False


@dataclass(frozen=True)
class Submission:
    """A spark-submit command ready to run: its arguments, the variables it needs, the package's folder."""

    command: tuple[str, ...]
    #: environment variables spark-submit is run with, over the caller's (no secret among them)
    environment: Mapping[str, str]
    staging: Path
    pipeline: str


def check_deploy_mode(master: str, deploy_mode: str) -> None:
    """Refuse, before anything is built, a master and deploy mode spark-submit would refuse for Python."""
    if deploy_mode not in DEPLOY_MODES:
        raise UsageError(f"--deploy-mode {deploy_mode}: use client or cluster")
    known = master.startswith(("spark://", "k8s://", "local")) or master == "yarn"
    if not known:
        raise UsageError(
            f"--master {master}: not a master etl-cli submits to",
            hint="spark://HOST:PORT (standalone), yarn, k8s://https://HOST:PORT, or local[N]",
        )
    if deploy_mode == "cluster" and master.startswith("spark://"):
        raise UsageError(
            _STANDALONE_CLUSTER_MODE,
            hint="submit with --deploy-mode client (the driver runs here, the executors on the cluster), "
            "or to a YARN or Kubernetes master for cluster deploy mode",
        )
    if deploy_mode == "cluster" and master.startswith("local"):
        raise UsageError("--deploy-mode cluster needs a cluster: a local master runs everything here")


def prepare_submission(pipeline: Path, options: SubmitOptions) -> Submission:
    """Validate the pipeline, build its package and the spark-submit command that runs it."""
    check_deploy_mode(options.master, options.deploy_mode)
    loaded, spec = load_spec(pipeline, options.run.env, options.run.sets, params=options.run.params)
    staging = options.staging_dir or spec.state_dir / "submit" / new_run_id()
    staging.mkdir(parents=True, exist_ok=True)
    driver = staging / DRIVER_FILE
    shutil.copyfile(submit_driver.__file__, driver)
    package = package_etl_cli(staging)
    resolved = resolve_local_jars(coordinates(spec))
    jars = [*spec.spark.jars, *resolved.jars]
    command = [
        str(spark_submit()),
        "--master",
        options.master,
        "--deploy-mode",
        options.deploy_mode,
        "--name",
        spec.spark.app_name or f"etl-cli:{spec.name}",
        "--py-files",
        str(package),
    ]
    if jars:
        command += ["--jars", ",".join(dict.fromkeys(jars))]
    if resolved.packages:
        command += ["--packages", ",".join(sorted(set(resolved.packages)))]
    for key, value in launch_settings(spec).items():
        command += ["--conf", f"{key}={value}"]
    environment: dict[str, str] = {}
    if options.deploy_mode == "cluster":
        archive = package_project(loaded, spec, staging)
        command += ["--archives", f"{archive}#{PROJECT_ALIAS}"]
        target = str(PurePosixPath(PROJECT_ALIAS) / _in_project(spec, loaded.pipeline_file))
    else:
        # the driver runs here: with the interpreter etl-cli runs in (its dependencies), on the files here,
        # its JVM logging as etl-cli's own sessions do (errors only, unless --verbose)
        environment["PYSPARK_DRIVER_PYTHON"] = sys.executable
        level = "warn" if options.verbose else "error"
        command += ["--driver-java-options", f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG} -Detl.log.level={level}"]
        target = str(loaded.pipeline_file.resolve())
    command += [str(driver), target, *options.run.argv()]
    return Submission(tuple(command), environment, staging, target)


def submit(submission: Submission) -> int:
    """Run spark-submit in the foreground; its exit code (the run's in client deploy mode)."""
    java = ensure_java()
    environ = {**os.environ, **submission.environment}
    if "JAVA_HOME" not in environ:
        environ["JAVA_HOME"] = str(java.resolve().parent.parent)
    return subprocess.call(list(submission.command), env=environ)


def coordinates(spec: PipelineSpec) -> tuple[str, ...]:
    """The Maven coordinates the run needs: the pipeline's ``spark.packages`` and its plug-ins'."""
    return tuple(dict.fromkeys(spec.spark.packages + plugin_packages(compile_plan(spec), registry())))


def launch_settings(spec: PipelineSpec) -> dict[str, str]:
    """The pipeline's :data:`LAUNCH_SETTINGS`, those holding no secret reference, as spark-submit takes them."""
    found = {}
    for key in LAUNCH_SETTINGS:
        if key in spec.spark.conf and not holds_secret(spec.spark.conf[key]):
            found[key] = _text(resolve_runtime_value(spec.spark.conf[key], _no_secret))
    return found


def holds_secret(value: Any) -> bool:
    """Whether ``value`` holds a ``${secret:...}`` reference (read as the runtime reads it)."""
    seen: list[str] = []

    def note(reference: str) -> str:
        seen.append(reference)
        return ""

    resolve_runtime_value(value, note)
    return bool(seen)


def _no_secret(reference: str) -> str:
    raise AssertionError(f"secret {reference} resolved for a command line")


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def spark_submit() -> Path:
    """PySpark's ``bin/spark-submit`` (it honours ``$SPARK_HOME``)."""
    found = importlib.util.find_spec("pyspark")
    locations = list(found.submodule_search_locations or []) if found else []
    for folder in locations:
        script = Path(folder) / "bin" / "spark-submit"
        if script.is_file():
            return script
    raise UsageError("spark-submit not found: PySpark is not installed with etl-cli", hint="pip install pyspark")


def package_etl_cli(folder: Path) -> Path:
    """``etl_cli-VERSION.zip``: the installed etl_cli package (modules and data files, no bytecode)."""
    source = Path(etl_cli.__file__).resolve().parent
    target = folder / f"{submit_driver.ZIP_PREFIX}{__version__}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, (Path("etl_cli") / path.relative_to(source)).as_posix())
    return target


def project_files(loaded: LoadedConfig, spec: PipelineSpec) -> list[Path]:
    """The files a run of the pipeline loads: the project file, the pipeline, its templates and overlays."""
    files = [spec.project.config_file] if spec.project.config_file else []
    files += [loaded.pipeline_file, *loaded.files]
    return list(dict.fromkeys(path.resolve() for path in files if path is not None and path.is_file()))


def package_project(loaded: LoadedConfig, spec: PipelineSpec, folder: Path) -> Path:
    """``project.zip``: :func:`project_files` at their places under the project root."""
    target = folder / "project.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in project_files(loaded, spec):
            archive.write(path, _in_project(spec, path).as_posix())
    return target


def _in_project(spec: PipelineSpec, path: Path) -> PurePosixPath:
    root = spec.project_root.resolve()
    try:
        return PurePosixPath(path.resolve().relative_to(root).as_posix())
    except ValueError:
        raise UsageError(
            f"{path} is outside the project {root}",
            hint="a submitted run carries the project's files: keep templates and overlays inside the project",
        ) from None


@dataclass(frozen=True)
class KubernetesOptions:
    """What ``etl-cli export k8s`` was asked for."""

    image: str
    namespace: str = "default"
    run: RunArguments = field(default_factory=RunArguments)
    #: the project's folder inside the image
    image_project_dir: PurePosixPath = IMAGE_PROJECT_DIR
    #: the driver program in the image; None: ``local://<image project dir>/etl-cli-driver.py``
    main_file: str | None = None
    #: the service account the driver's pod runs as (it creates the executors' pods)
    service_account: str | None = None
    #: Kubernetes Secrets whose keys become the driver's environment variables (the ``env`` secret provider)
    secret_env: tuple[str, ...] = ()


def spark_application(pipeline: Path, options: KubernetesOptions) -> str:
    """The SparkApplication manifest of the pipeline's run, as YAML after a comment saying how it was made."""
    if not options.image:
        raise UsageError("export k8s needs --image", hint="the image that holds etl-cli, the project and the driver")
    loaded, spec = load_spec(pipeline, options.run.env, options.run.sets, params=options.run.params)
    manifest = application_manifest(spec, _in_project(spec, loaded.pipeline_file), options)
    header = f"# Generated by etl-cli {__version__} (etl-cli export k8s): export again after changing the pipeline.\n"
    return header + yaml.safe_dump(manifest, sort_keys=False)


def application_manifest(spec: PipelineSpec, pipeline: PurePosixPath, options: KubernetesOptions) -> dict[str, Any]:
    """The SparkApplication of one run of ``spec`` (``pipeline``: its file, relative to the project root)."""
    conf = launch_settings(spec)
    driver: dict[str, Any] = {
        "cores": _cores(conf, "spark.driver.cores"),
        "memory": conf.pop("spark.driver.memory", "1g"),
    }
    executor: dict[str, Any] = {
        "cores": _cores(conf, "spark.executor.cores"),
        "instances": _count(conf.pop("spark.executor.instances", "1"), "spark.executor.instances"),
        "memory": conf.pop("spark.executor.memory", "1g"),
    }
    labels = {"app.kubernetes.io/managed-by": "etl-cli", "etl-cli/pipeline": _label(spec.name)}
    driver["labels"] = dict(labels)
    executor["labels"] = dict(labels)
    if options.service_account:
        driver["serviceAccount"] = options.service_account
    if options.secret_env:
        driver["envFrom"] = [{"secretRef": {"name": name}} for name in options.secret_env]
    main_file = options.main_file or f"local://{options.image_project_dir / DRIVER_FILE}"
    body: dict[str, Any] = {
        "type": "Python",
        "pythonVersion": "3",
        "mode": "cluster",
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        "mainApplicationFile": main_file,
        "arguments": [str(options.image_project_dir / pipeline), *options.run.argv()],
        "sparkVersion": spark_version(),
        # etl-cli retries what can be retried inside the run: a failed run is a failed application
        "restartPolicy": {"type": "Never"},
    }
    if conf:
        body["sparkConf"] = conf
    packages = sorted(set(coordinates(spec)))
    deps = {key: value for key, value in (("packages", packages), ("jars", list(spec.spark.jars))) if value}
    if deps:
        body["deps"] = deps
    body["driver"] = driver
    body["executor"] = executor
    metadata = {"name": cronjob_name(spec.project.name, spec.name), "namespace": options.namespace, "labels": labels}
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": metadata,
        "spec": body,
    }


def spark_version() -> str:
    """The version of the PySpark etl-cli runs with (the image's Spark should be the same)."""
    try:
        return version("pyspark")
    except PackageNotFoundError:
        raise UsageError("PySpark is not installed with etl-cli: cannot tell the Spark version") from None


def _cores(conf: dict[str, str], key: str) -> int:
    return _count(conf.pop(key, "1"), key)


def _count(text: str, key: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"spark.conf '{key}' is {text!r}: a SparkApplication needs a whole number of at least 1")
    return int(text)


def _label(text: str) -> str:
    """A label value: at most 63 of letters, digits, ``-``, ``_`` and ``.``, starting and ending alphanumeric."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63].strip("-_.")
