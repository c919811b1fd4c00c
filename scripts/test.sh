#!/usr/bin/env bash
# Install etl-cli with its dev tools from the lock, check the locks and the declared dependencies, lint and
# type-check, install etl-cli into a fresh environment and run the quickstart there, run every test.
#   scripts/test.sh                 -> everything
#   scripts/test.sh -m "not spark"  -> extra arguments go to pytest
# The tests start the services of scripts/services.sh they need, when they first need them, and stop them at
# the end (tests/integration/serviceshelp.py): unit tests alone start none. ETL_KEEP_SERVICES=1 leaves them
# running for the next run, ETL_SKIP_SERVICES=1 starts none (tests that need one skip, or fail under CI).
# ETL_SKIP_SMOKE=1 leaves out the fresh install (it starts Spark once); ETL_SKIP_JARS as below.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh dev
export PATH="$PWD/.venv/bin:$PATH"

echo "== lock (requirements/*.txt match pyproject.toml)"
python scripts/lockfile.py check
echo "== deptry (etl_cli imports only what pyproject.toml declares)"
deptry etl_cli
echo "== ruff"
ruff check etl_cli tests benchmarks scripts
echo "== mypy"
mypy
mypy benchmarks
echo "== import-linter"
lint-imports

if [ "${ETL_SKIP_SMOKE:-0}" != "1" ]; then
    echo "== smoke install (fresh environment, no extras)"
    scripts/smoke-install.sh
fi

if [ -x scripts/fetch-jars.sh ] && [ "${ETL_SKIP_JARS:-0}" != "1" ]; then
    # Connector jars (JDBC drivers, S3A, Kafka) once, into ~/.cache/etl-cli/jars: runs then put them on
    # spark.jars instead of resolving Maven coordinates with Ivy at every Spark start (see etl_cli/runtime/spark/jars.py)
    echo "== connector jars"
    scripts/fetch-jars.sh >/dev/null
    # Apache Sedona (the geo transforms and the geojson source: etl_cli/plugins/sedona.py), about 100 MB, once
    scripts/fetch-jars.sh org.apache.sedona:sedona-spark-shaded-4.0_2.13:1.8.0 org.datasyslab:geotools-wrapper:1.8.0-33.1 >/dev/null
fi

echo "== test tools (Chromium and Graphviz, for the lineage pictures' tests)"
scripts/test-tools.sh

echo "== pytest"
# One process, one shared Spark session: on two cores, two pytest processes side by side (integration and the
# others) took longer in all than one after the other, as they fought for the CPU and each started a JVM.
python -m pytest "$@"
