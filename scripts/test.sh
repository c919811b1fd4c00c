#!/usr/bin/env bash
# Install etl-cli with its dev tools from the lock, check the locks and the declared dependencies, lint and
# type-check, install etl-cli into a fresh environment and run the quickstart there, run every test.
#   scripts/test.sh                 -> everything
#   scripts/test.sh -m "not spark"  -> extra arguments go to pytest
# A run of the whole suite starts the services of scripts/services.sh while the checks run, and stops them at the
# end; with pytest arguments the tests start the ones they need, when they first need them, and stop them at the
# end (tests/integration/serviceshelp.py): unit tests alone start none. ETL_KEEP_SERVICES=1 leaves them
# running for the next run, ETL_SKIP_SERVICES=1 starts none (tests that need one skip, or fail under CI).
# ETL_SKIP_SMOKE=1 leaves out the fresh install (it starts Spark once); ETL_SKIP_JARS as below; ETL_TEST_WORKERS
# (default 2; 0: one process) is how many pytest-xdist workers run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh dev
export PATH="$PWD/.venv/bin:$PATH"

# Each step prints how long it took, so the slow parts of a CI run are visible in its log.
STARTED=$SECONDS
step_start=$SECONDS
step() {
    echo "   ($((SECONDS - step_start)) s)"
    step_start=$SECONDS
    echo "== $1"
}

# What is downloaded or compiled rather than checked runs in the background while the checks below use the
# CPU: the connector jars (JDBC drivers, S3A, Kafka; runs put them on spark.jars instead of resolving Maven
# coordinates with Ivy at every Spark start, see etl_cli/runtime/spark/jars.py; Iceberg, Delta, MongoDB, Azure,
# spark-avro), the Debian programs some tests drive (Chromium, Graphviz,
# Prometheus: scripts/test-tools.sh) and the OpenTelemetry Collector the tracing tests build with Go
# (tests/integration/otelcolhelp.py). Each writes its own log; a failure fails this script before pytest.
background_log="$(mktemp -d "${TMPDIR:-/tmp}/etl-test-prep.XXXXXX")"
background=()
prepare() {  # prepare NAME COMMAND...: run COMMAND in the background, output to $background_log/NAME.log
    local name="$1"
    shift
    "$@" >"$background_log/$name.log" 2>&1 &
    background+=("$name:$!")
}
if [ -x scripts/fetch-jars.sh ] && [ "${ETL_SKIP_JARS:-0}" != "1" ]; then
    prepare jars sh -c 'scripts/fetch-jars.sh && scripts/fetch-jars.sh org.apache.iceberg:iceberg-spark-runtime-4.1_2.13:1.12.0 && scripts/fetch-jars.sh io.delta:delta-spark_2.13:4.3.0 && scripts/fetch-jars.sh org.mongodb.spark:mongo-spark-connector_2.13:10.5.0 && scripts/fetch-jars.sh org.apache.hadoop:hadoop-azure:3.4.2 && scripts/fetch-jars.sh org.apache.spark:spark-avro_2.13:4.1.1'
fi
prepare test-tools scripts/test-tools.sh
# The whole suite (no pytest arguments) needs every test service: start those not running yet now, while the
# checks below use the CPU, instead of one by one as the first test of each asks (a selective run starts only
# what its tests need, when they need it: tests/integration/serviceshelp.py). They are stopped at the end unless
# ETL_KEEP_SERVICES=1; services that were running before are left alone.
prestarted=()
if [ "$#" -eq 0 ] && [ "${ETL_SKIP_SERVICES:-0}" != "1" ]; then
    mapfile -t prestarted < <(scripts/services.sh status | awk '$2 == "stopped" {print $1}' || true)
    if [ "${#prestarted[@]}" -gt 0 ]; then
        prepare services scripts/services.sh up "${prestarted[@]}"
        if [ "${ETL_KEEP_SERVICES:-0}" != "1" ]; then
            trap 'scripts/services.sh down "${prestarted[@]}" >/dev/null 2>&1 || true' EXIT
        fi
    fi
fi
if command -v go >/dev/null; then
    prepare otelcol python -c 'from tests.integration.otelcolhelp import collector_binary; print(collector_binary())'
fi

echo "== lock (requirements/*.txt match pyproject.toml)"
python scripts/lockfile.py check
step "deptry (etl_cli imports only what pyproject.toml declares)"
deptry etl_cli
step "ruff"
ruff check etl_cli tests benchmarks scripts
step "import-linter"
lint-imports
# mypy (about a minute of one core) checks while the fresh install below mostly waits on pip and the JVM.
mypy_log="$background_log/mypy.log"
(mypy && mypy benchmarks) >"$mypy_log" 2>&1 &
mypy_pid=$!

if [ "${ETL_SKIP_SMOKE:-0}" != "1" ]; then
    step "smoke install (fresh environment, no extras)"
    scripts/smoke-install.sh
fi

step "mypy (ran beside the fresh install)"
if ! wait "$mypy_pid"; then
    cat "$mypy_log" >&2
    exit 1
fi
tail -n 1 "$mypy_log"
step "waiting for the background preparation (connector jars, test tools, the OpenTelemetry Collector, services)"
for job in "${background[@]}"; do
    name="${job%%:*}"
    if ! wait "${job##*:}"; then
        echo "error: preparing $name failed; its output:" >&2
        cat "$background_log/$name.log" >&2
        exit 1
    fi
    echo "   $name: ready"
done
rm -rf "$background_log"

step "pytest"
# The whole suite runs in two pytest-xdist workers (ETL_TEST_WORKERS, 0 for one process), each with its own
# shared Spark session: the CI run's pytest took 60 min instead of 77 in one process (docs/development.md, "Two
# workers"). Each test module runs whole in one worker, the integration tests in two groups that never share a
# server's state (tests/conftest.py: xdist_group). A run with pytest arguments stays in one process, starting the
# services its tests need.
workers=()
if [ "$#" -eq 0 ] && [ "${ETL_TEST_WORKERS:-2}" != "0" ]; then
    workers=(-n "${ETL_TEST_WORKERS:-2}" --dist loadfile)
fi
status=0
python -m pytest "${workers[@]}" "$@" || status=$?
echo "   ($((SECONDS - step_start)) s; scripts/test.sh took $((SECONDS - STARTED)) s after the install)"
exit "$status"
