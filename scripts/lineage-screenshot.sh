#!/usr/bin/env bash
# Take the picture of docs/lineage.md: the HTML lineage page of an example pipeline, as headless Chromium shows it
# with one column selected (what it is made from highlighted in blue, what it reaches in pink).
#   scripts/lineage-screenshot.sh                       -> docs/lineage.png: pipelines/quickstart, enriched.amount
#   scripts/lineage-screenshot.sh PIPELINE PNG COLUMN   -> another pipeline (a folder relative to the repository), file
#                                                          or column (PIPELINE.STAGE.COLUMN)
# Needs etl-cli (.venv, scripts/bootstrap.sh) and Chromium (scripts/test-tools.sh installs it).
# ETL_SCREENSHOT_SIZE (default 1400,820) is the browser window, so the picture's size, in pixels.
# The pipeline runs from a copy of the project in ETL_SCREENSHOT_ROOT (default /tmp/shop, which must not exist yet),
# so the dataset paths in the picture name that folder, not this clone's.
set -euo pipefail
cd "$(dirname "$0")/.."

ETL_LOG_TAG=lineage-screenshot
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source scripts/lib/common.sh

pipeline="${1:-pipelines/quickstart}"
png="${2:-docs/lineage.png}"
column="${3:-quickstart.enriched.amount}"
size="${ETL_SCREENSHOT_SIZE:-1400,820}"

browser="$(command -v chromium || command -v chromium-browser || true)"
[[ -n "$browser" ]] || die "Chromium is not installed: scripts/test-tools.sh installs it (apt-get install chromium)"
etl_cli="$(command -v etl-cli || echo "$PWD/.venv/bin/etl-cli")"
[[ -x "$etl_cli" ]] || die "etl-cli is not installed: run scripts/bootstrap.sh"

root="${ETL_SCREENSHOT_ROOT:-/tmp/shop}"
[[ ! -e "$root" ]] || die "$root exists: remove it, or name another folder with ETL_SCREENSHOT_ROOT"
work="$(mktemp -d)"
trap 'rm -rf "$work" "$root"' EXIT
mkdir -p "$root"
cp -R etl-project.yaml templates "$root/"
mkdir -p "$root/$(dirname "$pipeline")"
cp -R "$pipeline" "$root/$pipeline"
(cd "$root" && "$etl_cli" lineage "$pipeline" --format html --output "$work/lineage.html")
sandbox=()
if is_root; then sandbox=(--no-sandbox); fi # Chromium refuses to sandbox itself as root
# no host can be reached: the page must need none
"$browser" --headless=new --disable-gpu --no-first-run --hide-scrollbars "${sandbox[@]}" \
  --user-data-dir="$work/profile" --host-resolver-rules="MAP * ~NOTFOUND" --window-size="$size" \
  --screenshot="$work/lineage.png" "file://$work/lineage.html#column=$column" >/dev/null 2>&1 ||
  die "Chromium failed to take the screenshot"
mv "$work/lineage.png" "$png"
log "wrote $png ($pipeline, column $column)"
