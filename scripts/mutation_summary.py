"""Per-module totals of a mutmut run, from the ``.meta`` files mutmut writes beside each mutated module.

Usage: ``python scripts/mutation_summary.py MUTANTS_DIR`` (scripts/mutation.sh calls it with its ``mutants/``).
Prints a Markdown table: one row per module, and the whole scope's row last. The score is killed (timeouts
included) over the mutants checked so far; "no tests" counts as checked and not killed; "not checked" are the
mutants a run stopped early has not reached.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

#: mutmut 3's exit codes (mutmut.stats.status_by_exit_code), folded into the columns printed
KILLED = {1, 3, 36, -24, 24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}
COLUMNS = ("mutants", "killed", "survived", "no tests", "other", "not checked")


def tally(exit_codes: dict[str, int | None]) -> Counter[str]:
    counts: Counter[str] = Counter(mutants=len(exit_codes))
    for code in exit_codes.values():
        if code is None:
            counts["not checked"] += 1
        elif code in KILLED:
            counts["killed"] += 1
        elif code in SURVIVED:
            counts["survived"] += 1
        elif code in NO_TESTS:
            counts["no tests"] += 1
        else:
            counts["other"] += 1
    return counts


def score(counts: Counter[str]) -> str:
    checked = counts["mutants"] - counts["not checked"]
    return f"{100 * counts['killed'] / checked:.1f} %" if checked else "-"


def main(mutants: Path) -> int:
    metas = sorted(mutants.glob("etl_cli/**/*.py.meta"))
    if not metas:
        print(f"no mutmut results under {mutants}", file=sys.stderr)
        return 2
    print("| module | " + " | ".join(COLUMNS) + " | score |")
    print("|---|" + "---:|" * (len(COLUMNS) + 1))
    total: Counter[str] = Counter()
    for meta in metas:
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        if not exit_codes:
            continue
        counts = tally(exit_codes)
        total.update(counts)
        name = meta.relative_to(mutants / "etl_cli").as_posix().removesuffix(".meta")
        print(f"| {name} | " + " | ".join(str(counts[c]) for c in COLUMNS) + f" | {score(counts)} |")
    print("| **all** | " + " | ".join(str(total[c]) for c in COLUMNS) + f" | {score(total)} |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
