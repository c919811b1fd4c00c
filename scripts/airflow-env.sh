#!/usr/bin/env bash
# Create a virtualenv with Apache Airflow, apart from etl-cli's own, for tests/integration/test_airflow_export.py:
# it loads the DAG file `etl-cli schedule export --format airflow` writes in a real DagBag and runs one task with
# `airflow tasks test`. Airflow lives in its own environment so that its many pinned dependencies never
# constrain etl-cli's (the exported DAG file imports nothing from etl_cli: it runs the etl-cli executable).
#   scripts/airflow-env.sh          -> prints the environment's folder when Airflow is ready in it
# Environment: AIRFLOW_VENV (default .tools/airflow-venv under the repository, git-ignored) is its folder;
# AIRFLOW_VERSION (default below) the version; PYTHON (default python3, 3.10 to 3.13) creates it.
# Airflow's published constraint files cannot be downloaded here (only package registries are reachable), so
# the Airflow version is pinned and its dependencies resolved from PyPI, with uv when it is installed (etl-cli's
# dev tools bring it; it is several times faster than pip). A second run finds the stamp file and returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
VENV="${AIRFLOW_VENV:-$PWD/.tools/airflow-venv}"
PYTHON="${PYTHON:-python3}"
requirement="apache-airflow==$AIRFLOW_VERSION"
stamp="$VENV/.etl-cli-airflow"

if [ -x "$VENV/bin/airflow" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$requirement" ]; then
    echo "$VENV"
    exit 0
fi

started=$(date +%s)
rm -f "$stamp"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
uv="$(command -v uv || true)"
if [ -z "$uv" ] && [ -x .venv/bin/uv ]; then
    uv="$PWD/.venv/bin/uv"
fi
if [ -n "$uv" ]; then
    "$uv" pip install --quiet --python "$VENV/bin/python" "$requirement"
else
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
fi
# the DAG file's operator (BashOperator) comes from the standard provider, which apache-airflow installs
"$VENV/bin/python" -c 'import airflow.providers.standard.operators.bash' >/dev/null
echo "$requirement" >"$stamp"
echo "installed $requirement into $VENV in $(($(date +%s) - started)) s" >&2
echo "$VENV"
