#!/usr/bin/env bash
# Install etl-cli with its dev tools, lint and type-check, start the test services, run every test.
#   scripts/test.sh                 -> everything
#   scripts/test.sh -m "not spark"  -> extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh dev
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check etl_cli tests benchmarks scripts
echo "== mypy"
mypy
mypy benchmarks
echo "== import-linter"
lint-imports

services_started=0
if [ -x scripts/services.sh ] && [ -d tests/integration ] && [ "${ETL_SKIP_SERVICES:-0}" != "1" ]; then
    echo "== test services"
    scripts/services.sh up
    services_started=1
    eval "$(scripts/services.sh env)"
fi
cleanup() {
    if [ "$services_started" = 1 ] && [ "${ETL_KEEP_SERVICES:-0}" != "1" ]; then
        scripts/services.sh down || true
    fi
}
trap cleanup EXIT

if [ -x scripts/fetch-jars.sh ] && [ "${ETL_SKIP_JARS:-0}" != "1" ]; then
    # Connector jars (JDBC drivers, S3A, Kafka) once, into ~/.cache/etl-cli/jars: runs then put them on
    # spark.jars instead of resolving Maven coordinates with Ivy at every Spark start (see etl_cli/runtime/jars.py)
    echo "== connector jars"
    scripts/fetch-jars.sh >/dev/null
fi

echo "== pytest"
python -m pytest "$@"
