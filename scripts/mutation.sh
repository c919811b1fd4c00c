#!/usr/bin/env bash
# Mutation testing (mutmut 3) of the configuration and model layers, on demand: not part of scripts/test.sh.
#   scripts/mutation.sh                                      -> every module of etl_cli/config and etl_cli/model
#   scripts/mutation.sh config/params.py model/schedule.py   -> only these modules (paths under etl_cli/)
# Environment:
#   MUTATION_TESTS    pytest arguments choosing the tests (default: tests/unit and the row access rules'
#                     offline tests, without Spark, browsers, promtool and the latency benchmark: fast tests only)
#   MUTATION_WORKERS  parallel test processes (default 1: the machine is shared; CI runners can use more)
#   MUTATION_DIR      work folder (default ~/.cache/etl-cli/mutation): a copy of the tree, mutmut's `mutants/`
#                     and its results, kept so that `cd $MUTATION_DIR && mutmut results|show NAME|browse` work
#   MUTATION_MINUTES  stop after this many minutes (default: run to the end). The verdicts found so far are kept
#                     and the next run goes on from them: a whole run can be done in several sittings.
#   MUTATION_MUTANTS  test only these mutants again, even those with a verdict (mutmut names or fnmatch patterns,
#                     space-separated, e.g. "etl_cli.model.late.x__rule__mutmut_*"): after tests were added for them;
#                     @FILE reads them from FILE, one a line (python scripts/mutation_summary.py --survivors DIR)
#   MUTATION_FRESH=1  forget earlier verdicts and start over. Without it, mutmut (3.8) keeps the verdict of every
#                     mutant whose function is unchanged, tests the changed functions' mutants again, maps new
#                     tests to functions, and starts over by itself when the test selection changes.
# Why a copy: mutmut writes `mutants/` and reads its settings from the current folder; running it in a copy keeps
# the work tree clean and the settings in this script (a setup.cfg written below) instead of pyproject.toml.
# The last lines printed are mutmut's totals (mutants/mutmut-cicd-stats.json) and the surviving mutants.
set -euo pipefail
if [[ "${MUTATION_MUTANTS:-}" == @* ]]; then
    mapfile -t mutants <"${MUTATION_MUTANTS#@}"
else
    read -r -a mutants <<<"${MUTATION_MUTANTS:-}"
fi
cd "$(dirname "$0")/.."
REPO="$PWD"
export PATH="$REPO/.venv/bin:$PATH"
command -v mutmut >/dev/null || { echo "mutmut is not installed: scripts/bootstrap.sh dev installs it" >&2; exit 2; }

WORK="${MUTATION_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/etl-cli/mutation}"
WORKERS="${MUTATION_WORKERS:-1}"
# The default leaves out, besides what needs Spark, a browser, promtool or quiet cores, eight tests that each
# spend 2.5-11 s in `etl-cli` subprocesses while reaching 70-155 mutated functions in-process: mutmut runs every
# test reaching a function for each of that function's surviving mutants, and these eight made up about half of
# the whole scope's worst case (measured from a whole-scope stats run; docs/testing.md). What they check in
# process is checked by the in-process tests of the same modules.
TESTS="${MUTATION_TESTS:-tests/unit tests/test_row_access_rules.py -m 'not spark' \
 --ignore=tests/unit/test_dag_page_browser.py --ignore=tests/unit/test_run_report_browser.py \
 --ignore=tests/unit/test_alerts_promtool.py --ignore=tests/unit/test_cli_latency_benchmark.py \
 --deselect=tests/unit/test_audit_trail.py::test_run_into_a_protected_environment_without_confirmation_is_refused_and_recorded \
 --deselect=tests/unit/test_connect_validate.py::test_a_stream_written_by_sparks_own_sinks_runs_over_connect \
 --deselect=tests/unit/test_connect_validate.py::test_a_jdbc_stage_cannot_run_over_connect_and_validate_says_so_at_the_stage \
 --deselect=tests/unit/test_expression_check.py::test_a_lateral_view_is_valid_and_its_columns_are_not_guessed \
 --deselect=tests/unit/test_extends_list.py::test_validate_does_not_warn_about_unread_library_sources_and_render_shows_the_merge \
 --deselect=tests/unit/test_submit.py::test_the_etl_cli_zip_holds_modules_and_data_files_and_runs_once_unpacked \
 --deselect=tests/unit/test_secrets_cli.py::test_set_on_a_terminal_prompts_without_echo_and_confirms \
 --deselect=tests/unit/test_launch.py::test_an_invalid_pipeline_ends_with_exit_1_its_error_in_the_log_and_no_results}"

modules=()
for module in "$@"; do
    module="${module#etl_cli/}"
    case "$module" in
        config/*.py | model/*.py) ;;
        *) echo "not a module of etl_cli/config or etl_cli/model: $module (write e.g. config/params.py)" >&2; exit 2 ;;
    esac
    [ -f "etl_cli/$module" ] || { echo "no such file: etl_cli/$module" >&2; exit 2; }
    modules+=("etl_cli/$module")
done
[ ${#modules[@]} -gt 0 ] || modules=("etl_cli/config/*" "etl_cli/model/*")

# The tests read docs, pipelines, examples and the benchmarks' pipelines relative to the repository: copy what they
# need, not .venv/.git.
mkdir -p "$WORK"
rsync -a --delete --exclude=__pycache__ --exclude=mutants --exclude=setup.cfg --exclude=/output \
    --exclude=/spark-warehouse --exclude=/benchmarks/data --exclude=.etl --exclude=.services \
    --include='/etl_cli/***' --include='/tests/***' --include='/docs/***' --include='/pipelines/***' \
    --include='/examples/***' --include='/templates/***' --include='/scripts/***' --include='/benchmarks/***' \
    --include=/pyproject.toml \
    --include=/etl-project.yaml --include=/README.md --exclude='/*' "$REPO/" "$WORK/"
# mutmut reads [tool.mutmut] of pyproject.toml before setup.cfg: the copy's pyproject must not have one.
python - "$WORK/pyproject.toml" <<'EOF'
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
open(path, "w", encoding="utf-8").write(re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "", text))
EOF

# Settings: mutate only the chosen modules (source_paths is the whole package so the tests can import it); run
# the chosen tests without --durations and without coverage. Subprocesses (`etl-cli ...` in tests) import the
# mutated package too, through PYTHONPATH, so tests driving the real entry point can kill mutants.
{
    echo "[mutmut]"
    echo "source_paths = etl_cli"
    echo "only_mutate ="
    for module in "${modules[@]}"; do echo "    $module"; done
    echo "also_copy ="
    for extra in docs pipelines examples templates scripts benchmarks etl-project.yaml README.md; do echo "    $extra"; done
    printf 'pytest_add_cli_args =\n    -p\n    no:cacheprovider\n    -o\n    addopts=\n    -q\n'
    echo "pytest_add_cli_args_test_selection ="
    eval "set -- $TESTS"
    for arg in "$@"; do echo "    $arg"; done
} >"$WORK/setup.cfg"

# While mutmut finds which tests reach which function (its "stats" run, MUTANT_UNDER_TEST=stats), the mutated
# code records each call in mutmut's memory, reading mutmut's settings from the current folder: in an `etl-cli`
# subprocess a test starts elsewhere there are none (FileNotFoundError "Could not figure out where the code to
# mutate is"), and what it would record is lost with the process anyway. This sitecustomize, imported by every
# Python process at start, makes such a subprocess run the original code; while a mutant is tested
# (MUTANT_UNDER_TEST=<module>.<mutant>) subprocesses run that mutant, as before.
# mutmut calls every function of a mutated module through a trampoline (three more frames a call): the YAML
# loader's tests of 100 nested levels need more than Python's default 1,000 frames then.
mkdir -p "$WORK/site"
cat >"$WORK/site/sitecustomize.py" <<'PY'
import os
import sys

if os.environ.get("MUTANT_UNDER_TEST") == "stats":
    del os.environ["MUTANT_UNDER_TEST"]
sys.setrecursionlimit(10_000)
PY

# mutmut hands pytest the tests that reach the mutated function in no particular order and stops at the first
# failure: a killed mutant costs every test run before the one that fails. This plugin (loaded through
# PYTEST_PLUGINS, which unlike pytest_add_cli_args leaves mutmut's saved verdicts valid) runs the tests of files
# named after the mutated module first (test_streaming_*.py for model/streaming.py), then the rest fastest
# first by mutmut's recorded durations. The verdicts do not change: a surviving mutant still runs every test.
cat >"$WORK/site/etl_mutation_order.py" <<'PY'
import json
import os
import re
from pathlib import Path

_durations: dict[str, float] = {}


def pytest_collection_modifyitems(session, config, items):
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    found = re.match(r"^etl_cli\.(?:\w+\.)*?(\w+)\.x[_\u01c1]", mutant)
    if "__mutmut_" not in mutant or found is None:
        return
    if not _durations and Path("mutmut-stats.json").exists():
        _durations.update(json.loads(Path("mutmut-stats.json").read_text())["duration_by_test"])
    module = found.group(1)
    items.sort(key=lambda item: (module not in item.nodeid.split("::")[0], _durations.get(item.nodeid, 1.0)))
PY

cd "$WORK"
# mutants/ must exist before Python starts: a PYTHONPATH folder missing at start up is never looked in later.
[ "${MUTATION_FRESH:-0}" = 1 ] && rm -rf mutants
mkdir -p mutants
# ETL_TEST_SLOWDOWN: tests bounding a child's time (tests/unit/test_config_limits.py) give the trampolined code more
# ETL_FUZZ_EXAMPLES: the hypothesis fuzz tests of tests/unit/test_config_fuzz.py try 10 documents, not 80, per run
export ETL_KEEP_SERVICES=1 ETL_SKIP_SERVICES=1 ETL_TEST_SLOWDOWN=6 ETL_FUZZ_EXAMPLES=10 \
    PYTEST_PLUGINS=etl_mutation_order PYTHONPATH="$WORK/mutants:$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
start=$(date +%s)
status=0
if [ -n "${MUTATION_MINUTES:-}" ]; then
    # SIGINT is mutmut's "stop": it ends its workers; every verdict found so far is already saved.
    timeout --signal=INT --kill-after=120 "${MUTATION_MINUTES}m" mutmut run --max-children "$WORKERS" "${mutants[@]}" ||
        status=$?
    [ "$status" = 124 ] && echo "== stopped after ${MUTATION_MINUTES} min: run again to go on" && status=0
else
    mutmut run --max-children "$WORKERS" "${mutants[@]}" || status=$?
fi
echo "== run time: $(( $(date +%s) - start ))s (scope: ${modules[*]})"
mutmut export-cicd-stats >/dev/null
echo "== totals"
cat mutants/mutmut-cicd-stats.json
echo
echo "== surviving mutants (inspect with: cd $WORK && mutmut show NAME)"
mutmut results
echo "== per module (score = killed / checked; not checked: not reached yet by a run stopped early)"
python "$REPO/scripts/mutation_summary.py" mutants
exit "$status"
