#!/usr/bin/env bash
# Create .venv (if needed) and install etl-cli into it, with the extras given as arguments.
#   scripts/bootstrap.sh            -> etl-cli only
#   scripts/bootstrap.sh dev        -> plus test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: etl-cli needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
extras=""
if [ "$#" -gt 0 ]; then
    extras="[$(IFS=,; echo "$*")]"
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${extras}"
