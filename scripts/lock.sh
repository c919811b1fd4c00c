#!/usr/bin/env bash
# Refresh the locks in requirements/ from pyproject.toml (needs uv, which `scripts/bootstrap.sh dev` installs,
# and the network), then install them with scripts/bootstrap.sh dev.
#   scripts/lock.sh                          -> resolve again, keeping every pin that still fits pyproject.toml
#   scripts/lock.sh --upgrade                -> the newest versions pyproject.toml allows
#   scripts/lock.sh --upgrade-package rich   -> only that one (repeatable)
# Other arguments go to `uv pip compile` as well. See docs/development.md.
set -euo pipefail
cd "$(dirname "$0")/.."

python=python3
if [ -x "${ETL_VENV:-.venv}/bin/python" ]; then
    python="${ETL_VENV:-.venv}/bin/python"
fi
exec "$python" scripts/lockfile.py refresh "$@"
