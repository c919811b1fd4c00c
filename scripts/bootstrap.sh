#!/usr/bin/env bash
# Create .venv (if needed) and install etl-cli into it at the versions locked in requirements/.
#   scripts/bootstrap.sh             -> etl-cli only                            (requirements/base.txt)
#   scripts/bootstrap.sh dev         -> plus every extra and the test and lint tools (requirements/dev.txt)
#   scripts/bootstrap.sh aws vault   -> etl-cli with these extras, at the versions requirements/dev.txt pins
#
# Packages are installed with uv (the version requirements/dev.txt pins, checked against its hashes) from the
# locks, which carry hashes; etl-cli itself goes in editable. uv keeps what it downloads in its cache
# (~/.cache/uv, or $UV_CACHE_DIR), so a second environment installs without downloading again. Packages the
# lock does not name are left alone. Refresh the locks with scripts/lock.sh (docs/development.md).
#
# Environment: PYTHON (default python3, 3.11+) creates the environment; ETL_VENV (default .venv) is its folder.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${ETL_VENV:-.venv}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: etl-cli needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
    exit 2
fi
# a lock older than pyproject.toml would install the wrong set of packages
if ! "$PYTHON" scripts/lockfile.py check --inputs-only; then
    exit 2
fi

lock=requirements/base.txt
editable=.
for extra in "$@"; do
    if [ "$extra" = dev ]; then lock=requirements/dev.txt; fi
done
if [ "$#" -gt 0 ] && [ "$lock" = requirements/base.txt ]; then
    editable=".[$(IFS=,; echo "$*")]"
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi

# uv at the version (and with the hashes) requirements/dev.txt pins, installed by pip unless already there
uv_pin="$(grep -m1 '^uv==' requirements/dev.txt | cut -d' ' -f1)"
installed_uv="$("$VENV/bin/uv" --version 2>/dev/null | cut -d' ' -f2 || true)"
if [ "uv==$installed_uv" != "$uv_pin" ]; then
    uv_requirement="$(mktemp)"
    trap 'rm -f "$uv_requirement"' EXIT
    # the `uv==X \` line and its --hash lines, up to the first line without a continuation backslash
    awk '/^uv==/ { found = 1 } found { print } found && !/\\$/ { exit }' requirements/dev.txt >"$uv_requirement"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
        -r "$uv_requirement"
fi

uv_pip=("$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python")
"${uv_pip[@]}" -r "$lock"
if [ "$editable" = . ]; then
    "${uv_pip[@]}" --no-deps -e .
else
    # extras other than dev: requirements/dev.txt pins every extra, so it constrains their versions
    "${uv_pip[@]}" -e "$editable" --constraint requirements/dev.txt
fi
