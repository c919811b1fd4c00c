#!/usr/bin/env bash
# Install etl-cli into .venv and run the quickstart pipeline on local Spark.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
    echo "error: Java was not found; Spark needs Java 17 or newer." >&2
    echo "  install it (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17)" >&2
    echo "  then put 'java' on PATH or set JAVA_HOME, and run this again." >&2
    exit 4
fi
scripts/bootstrap.sh
.venv/bin/etl-cli validate pipelines/quickstart
.venv/bin/etl-cli run pipelines/quickstart "$@"
echo
echo "Output written under output/quickstart/daily_revenue (Parquet, partitioned by order_date)."
echo "Activate the environment to keep using etl-cli:  source .venv/bin/activate"
