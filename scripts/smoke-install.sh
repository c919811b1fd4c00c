#!/usr/bin/env bash
# Install etl-cli as a user gets it, into a fresh virtual environment, and use it. This catches what the dev
# environment hides: a distribution etl-cli imports without declaring it may be installed there for a dev tool.
#   1. a new environment in a temporary folder (python3 -m venv, as scripts/bootstrap.sh makes one)
#   2. requirements/base.txt, the lock of an install with no extras (hashes checked)
#   3. etl-cli as a wheel built from this clone, installed with --no-deps (not editable), then `uv pip check`:
#      the lock satisfies every dependency the wheel declares
#   4. in a copy of the quickstart project: etl-cli --help, etl-cli validate pipelines/quickstart, etl-cli lineage
#      and etl-cli plugins list (offline), and
#      etl-cli run pipelines/quickstart on local Spark (needs Java 17+), which must write Parquet
# Any failing step fails the script (exit 1) and names the step. The temporary folder is removed at the end
# unless ETL_KEEP_SMOKE=1. Needs uv: the one in .venv (scripts/bootstrap.sh dev) or on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
uv="${ETL_VENV:-.venv}/bin/uv"
if [ ! -x "$uv" ]; then
    uv="$(command -v uv || true)"
fi
if [ -z "$uv" ]; then
    echo "error: smoke-install needs uv: run scripts/bootstrap.sh dev (or pip install uv)" >&2
    exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/etl-smoke.XXXXXX")"
step="creating the environment"
finish() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        echo "smoke-install: FAILED while $step (exit $status); files in $work" >&2
    elif [ "${ETL_KEEP_SMOKE:-0}" != 1 ]; then
        rm -rf "$work"
    fi
}
trap finish EXIT

begin() {
    step="$1"
    echo "== smoke-install: $step"
}

begin "creating a fresh environment in $work/venv"
"$PYTHON" -m venv "$work/venv"
venv_python="$work/venv/bin/python"

begin "installing requirements/base.txt (no extras)"
"$uv" pip install --quiet --python "$venv_python" -r requirements/base.txt

begin "building the etl-cli wheel and installing it with --no-deps"
"$uv" build --quiet --wheel --out-dir "$work/dist" .
"$uv" pip install --quiet --python "$venv_python" --no-deps "$work"/dist/etl_cli-*.whl
"$uv" pip check --python "$venv_python"

# the project the user would have: the quickstart pipeline and the project file, nothing else of this clone
mkdir -p "$work/project/pipelines"
cp etl-project.yaml "$work/project/"
cp -R pipelines/quickstart "$work/project/pipelines/"
cd "$work/project"
unset PYTHONPATH

begin "importing etl_cli from the environment, not from the clone"
"$venv_python" -c 'import sys, etl_cli; sys.exit(not etl_cli.__file__.startswith(sys.prefix))'

begin "etl-cli --help"
"$work/venv/bin/etl-cli" --help >/dev/null

begin "etl-cli validate pipelines/quickstart"
"$work/venv/bin/etl-cli" validate pipelines/quickstart

begin "etl-cli lineage pipelines/quickstart (offline column lineage: sqlglot, no JVM)"
"$work/venv/bin/etl-cli" lineage pipelines/quickstart --column quickstart.daily_revenue_out.revenue --upstream \
    | grep -q "daily_revenue_out"

begin "etl-cli plugins list"
"$work/venv/bin/etl-cli" plugins list >/dev/null

begin "etl-cli run pipelines/quickstart"
"$work/venv/bin/etl-cli" run pipelines/quickstart
compgen -G "output/quickstart/daily_revenue/*/*.parquet" >/dev/null

echo "smoke-install: ok (fresh environment, no extras, wheel install: --help, validate, lineage, plugins list and the quickstart run)"
