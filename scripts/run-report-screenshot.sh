#!/usr/bin/env bash
# Take the picture of docs/observability.md: the page of `etl-cli runs report` over a real run history, as headless
# Chromium shows it. The history is made here: the daily_shop example pipelines run on local Spark, one at a time, in
# a copy of the project (orders arrive between runs, so the rows change; stage_orders gets two data-quality checks
# with --set; one run fails because its input is missing).
#   scripts/run-report-screenshot.sh            -> docs/run-report.png
#   scripts/run-report-screenshot.sh PNG        -> another file
# Needs etl-cli (.venv, scripts/bootstrap.sh), Java and Chromium (scripts/test-tools.sh installs it). About two minutes.
# ETL_SCREENSHOT_SIZE (default 1400,1150) is the browser window, so the picture's size, in pixels.
# The runs happen in ETL_SCREENSHOT_ROOT (default /tmp/run-report, which must not exist yet).
set -euo pipefail
cd "$(dirname "$0")/.."

ETL_LOG_TAG=run-report-screenshot
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source scripts/lib/common.sh

png="$(realpath -m "${1:-docs/run-report.png}")"
size="${ETL_SCREENSHOT_SIZE:-1400,1150}"

browser="$(command -v chromium || command -v chromium-browser || true)"
[[ -n "$browser" ]] || die "Chromium is not installed: scripts/test-tools.sh installs it (apt-get install chromium)"
etl_cli="$(command -v etl-cli || echo "$PWD/.venv/bin/etl-cli")"
[[ -x "$etl_cli" ]] || die "etl-cli is not installed: run scripts/bootstrap.sh"

root="${ETL_SCREENSHOT_ROOT:-/tmp/run-report}"
[[ ! -e "$root" ]] || die "$root exists: remove it, or name another folder with ETL_SCREENSHOT_ROOT"
work="$(mktemp -d)"
trap 'rm -rf "$work" "$root"' EXIT
mkdir -p "$root/pipelines"
cp -R etl-project.yaml templates "$root/"
cp -R pipelines/daily_shop "$root/pipelines/"
cd "$root"
unset ETL_STATE_DIR ETL_ENV # the history goes to this copy's .etl/

checks='[{name: has_customer, stage: orders_export, type: not_null, columns: [customer_id], action: warn},
 {name: big_enough, stage: latest, type: range, column: amount, min: 20, action: warn}]'
run() { # run PIPELINE [ARGS...]: one run, its outcome logged; a failure is expected once
  local code=0
  "$etl_cli" run "pipelines/daily_shop/$1" "${@:2}" >"$work/run.log" 2>&1 || code=$?
  log "$1: exit $code"
}
more_orders() { # more_orders FIRST_ID COUNT: orders arriving since the last run
  local id
  for ((id = $1; id < $1 + $2; id++)); do
    printf '%d,%d,2026-03-04T%02d:00:00,paid,%d.00,2026-03-04T%02d:00:00\n' "$id" $((id % 5 + 1)) $((id % 24)) \
      $((id * 7 % 60 + 5)) $((id % 24)) >>pipelines/daily_shop/data/orders.csv
  done
}

run stage_customers
run stage_orders --set "checks=$checks"
run enrich_orders
more_orders 100 6
run stage_orders --set "checks=$checks"
run stage_orders --set "checks=$checks" --set sources.orders_export.path=pipelines/daily_shop/data/missing.csv
more_orders 200 9
run stage_orders --set "checks=$checks"
run enrich_orders
more_orders 300 4
run stage_orders --set "checks=$checks"

"$etl_cli" runs report stage_orders --output "$work/report.html"
sandbox=()
if is_root; then sandbox=(--no-sandbox); fi # Chromium refuses to sandbox itself as root
# no host can be reached: the page must need none
"$browser" --headless=new --disable-gpu --no-first-run --hide-scrollbars "${sandbox[@]}" \
  --user-data-dir="$work/profile" --host-resolver-rules="MAP * ~NOTFOUND" --window-size="$size" \
  --screenshot="$work/report.png" "file://$work/report.html" >/dev/null 2>&1 ||
  die "Chromium failed to take the screenshot"
mv "$work/report.png" "$png"
log "wrote $png"
