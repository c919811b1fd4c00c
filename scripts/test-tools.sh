#!/usr/bin/env bash
# Install the programs some tests drive that are neither Python packages nor services (Debian packages):
#   chromium  headless browser: tests/lineage/test_render_browser.py opens the HTML lineage page in it,
#             scripts/lineage-screenshot.sh takes the picture of docs/lineage.md with it; the studio's browser
#             tests (tests/studio/test_browser*.py) drive /usr/bin/chromium through Playwright (the dev extra),
#             which never downloads a browser of its own
#   graphviz  `dot`: tests/lineage/test_render_text.py lays out the dot lineage picture with it
#   prometheus, prometheus-alertmanager  Prometheus, promtool and Alertmanager: the observability tests start
#             their own (tests/integration/promstack.py) and check the alert rules with promtool
# Only what is missing is installed (apt-get, as root or through sudo), as scripts/services.sh does for the
# services' packages. Without them those tests skip, except under CI (CI=true), where they fail (and so does
# this script when it cannot install them).
set -euo pipefail

ETL_LOG_TAG=test-tools
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

missing=()
have chromium || have chromium-browser || missing+=(chromium)
have dot || missing+=(graphviz)
have prometheus && have promtool || missing+=(prometheus)
have prometheus-alertmanager || missing+=(prometheus-alertmanager)
if [[ ${#missing[@]} -gt 0 ]] && ! (apt_install "${missing[@]}"); then
  [[ -z "${CI:-}" ]] || exit 1
  warn "could not install ${missing[*]}: the tests that need them will skip"
fi
