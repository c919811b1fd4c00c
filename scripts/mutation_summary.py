"""Per-module totals of mutmut runs, from the ``.meta`` files mutmut writes beside each mutated module.

Usage:
  ``python scripts/mutation_summary.py MUTANTS_DIR [LATER_MUTANTS_DIR ...]``
      a Markdown table: one row per module, and the whole scope's row last (scripts/mutation.sh calls it with its
      ``mutants/``). With more folders (other runs' ``mutants/``, e.g. survivors tested again with other tests in
      their own MUTATION_DIR), a later folder's kill of a mutant counts, and its survival replaces the first's
      survival, for each mutant whose function is unchanged between the two (mutmut's hash of the function).
      A mutant the first folder has not checked stays unchecked unless a later one killed it. The first folder
      sets the scope: make it the run of the current tree (a run of ``scripts/mutation.sh`` brings it up to date:
      mutmut drops the mutants of removed functions and tests again those of changed ones).
  ``python scripts/mutation_summary.py --survivors MUTANTS_DIR [LATER_MUTANTS_DIR ...]``
      the names of the mutants that survived or that no test reaches, one a line (for MUTATION_MUTANTS=@FILE).

The score is killed (timeouts included) over the mutants checked so far; "no tests" counts as checked and not
killed; "not checked" are the mutants a run stopped early has not reached.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

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


def _function(mutant: str) -> str:
    return mutant.rsplit("__mutmut_", 1)[0]


def verdicts(folders: list[Path]) -> dict[str, dict[str, int | None]]:
    """Module (as ``config/x.py``) → mutant → exit code: the first folder's, with the later folders' kills and
    survivals merged in as the module's docstring says."""
    merged: dict[str, dict[str, int | None]] = {}
    for meta in sorted(folders[0].glob("etl_cli/**/*.py.meta")):
        first: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
        codes: dict[str, int | None] = dict(first["exit_code_by_key"])
        if not codes:
            continue
        for later_folder in folders[1:]:
            later_meta = later_folder / meta.relative_to(folders[0])
            if not later_meta.exists():
                continue
            later: dict[str, Any] = json.loads(later_meta.read_text(encoding="utf-8"))
            hashes, later_hashes = first.get("hash_by_function_name", {}), later.get("hash_by_function_name", {})
            for mutant, code in later["exit_code_by_key"].items():
                function = _function(mutant).rsplit(".", 1)[-1]
                same = function in hashes and hashes[function] == later_hashes.get(function)
                if code is None or mutant not in codes or not same:
                    continue
                # a kill counts wherever it was found; a survival only replaces a survival (a mutant the first run
                # checked and did not kill, tested again with the tests added since)
                if code in KILLED or codes[mutant] in SURVIVED | NO_TESTS:
                    codes[mutant] = code
        merged[meta.relative_to(folders[0] / "etl_cli").as_posix().removesuffix(".meta")] = codes
    return merged


def main(folders: list[Path], survivors: bool = False) -> int:
    modules = verdicts(folders)
    if not modules:
        print(f"no mutmut results under {folders[0]}", file=sys.stderr)
        return 2
    if survivors:
        for codes in modules.values():
            for mutant, code in sorted(codes.items()):
                if code in SURVIVED or code in NO_TESTS:
                    print(mutant)
        return 0
    print("| module | " + " | ".join(COLUMNS) + " | score |")
    print("|---|" + "---:|" * (len(COLUMNS) + 1))
    total: Counter[str] = Counter()
    for name, codes in modules.items():
        counts = tally(codes)
        total.update(counts)
        print(f"| {name} | " + " | ".join(str(counts[c]) for c in COLUMNS) + f" | {score(counts)} |")
    print("| **all** | " + " | ".join(str(total[c]) for c in COLUMNS) + f" | {score(total)} |")
    return 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    only_survivors = arguments[:1] == ["--survivors"]
    folders = arguments[1:] if only_survivors else arguments
    if not folders or any(folder.startswith("-") for folder in folders):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main([Path(folder) for folder in folders], only_survivors))
