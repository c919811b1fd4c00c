"""The driver program ``etl-cli submit`` hands to spark-submit: ``etl-cli run`` inside the driver spark-submit started.

spark-submit runs this file with the arguments of ``etl-cli run`` (the pipeline, ``--env``, ``--param``...;
never a secret value: secrets are resolved here, on the driver, by the project's providers). It

1. makes etl-cli importable from a plain folder: when ``--py-files`` put the ``etl_cli-VERSION.zip`` of
   ``etl-cli submit`` on ``sys.path``, the zip is unpacked into a private temporary folder used instead
   (etl-cli reads files beside its modules: the JSON Schema, the JVM's log settings);
2. joins the JVM spark-submit started and reads the master it was given (``spark.master``), so the run's
   session is the one spark-submit configured (its ``--jars``, ``--packages``, resources);
3. runs etl-cli's entry point as ``etl-cli run PIPELINE ... --master MASTER``: the same checks, run
   results, lock and exit codes (spark-submit exits with the driver's exit code in client deploy mode).

It imports nothing of etl-cli before step 1, and is also the ``mainApplicationFile`` of the manifests
``etl-cli export k8s`` writes (copied into the image: docs/cluster.md).
"""

from __future__ import annotations

import atexit
import os
import runpy
import shutil
import sys
import tempfile
import zipfile

#: the name ``etl-cli submit`` gives the zip of the etl_cli package (``etl_cli-VERSION.zip``)
ZIP_PREFIX = "etl_cli-"


def unpack_shipped_package(path: list[str]) -> str | None:
    """Replace an ``etl_cli-*.zip`` entry of ``path`` by a folder it is unpacked into; that folder, or None."""
    for index, entry in enumerate(path):
        name = os.path.basename(entry)
        if name.startswith(ZIP_PREFIX) and name.endswith(".zip") and os.path.isfile(entry):
            folder = tempfile.mkdtemp(prefix="etl-cli-driver-")
            atexit.register(shutil.rmtree, folder, True)
            with zipfile.ZipFile(entry) as archive:
                archive.extractall(folder)
            path[index] = folder
            return folder
    return None


def submitted_master() -> str | None:
    """The master spark-submit was given, read from the JVM it started (None outside spark-submit)."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return None
    from pyspark import SparkContext

    SparkContext._ensure_initialized()
    jvm = SparkContext._jvm
    master = jvm.java.lang.System.getProperty("spark.master") if jvm is not None else None
    return str(master) if master else None


def run_arguments(arguments: list[str], master: str | None) -> list[str]:
    """The ``etl-cli`` command line of the run: ``run``, the given arguments, and the master."""
    return ["run", *arguments, *(["--master", master] if master else [])]


def main(arguments: list[str]) -> None:
    """Run ``etl-cli run`` with ``arguments`` in this driver; exits with its exit code."""
    unpack_shipped_package(sys.path)
    sys.argv = ["etl-cli", *run_arguments(arguments, submitted_master())]
    runpy.run_module("etl_cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
