"""Two runs of `make eval` compared question by question: which answer figures moved beyond chance.

    make eval                                          # measure the change
    python benchmarks/compare_answers.py HEAD          # against the results committed at HEAD
    python benchmarks/compare_answers.py /tmp/before   # against a copy of results/answers/
    python benchmarks/compare_answers.py eefa61c --sets bbc-test seed-fresh2

For each set both runs measured: each figure old → new, the change, and the 95 % interval of the
change from a paired bootstrap over the questions both asked (`qa.eval.intervals.differences`).
"yes" where the interval leaves out zero: a change that moves a question or two either way
is not told from chance on sets of this size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from answer_figures import COLUMNS, RESULTS, ROOT, SETS

from qa.eval.intervals import differences, loaded


def base_results(base: str, name: str) -> dict | None:
    """The results of set `name` in the folder `base`, or committed at the revision `base`."""
    folder = Path(base)
    if folder.is_dir():
        path = folder / f"{name}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    shown = subprocess.run(
        ["git", "show", f"{base}:{(RESULTS / f'{name}.json').relative_to(ROOT).as_posix()}"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="a git revision, or a folder of results to compare with")
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    args = parser.parse_args()
    titles = dict(COLUMNS)
    print("| set | figure | old | new | change (95 % interval) | beyond chance |")
    print("|---|---|---|---|---|---|")
    compared = 0
    for name in args.sets:
        old, new_path = base_results(args.base, name), RESULTS / f"{name}.json"
        if old is None or not new_path.exists():
            print(f"{name}: no results in both runs; skipped", file=sys.stderr)
            continue
        new = json.loads(new_path.read_text(encoding="utf-8"))
        if "marks" not in old or "marks" not in new:
            print(f"{name}: a run keeps no per-question marks (results from before they were "
                  f"kept): run `make eval` on that version first", file=sys.stderr)  # fmt: skip
            continue
        compared += 1
        for key, found in differences(loaded(old["marks"]), loaded(new["marks"])).items():
            if found["difference"] is None:
                continue
            low, high = found["interval"]
            moved = "yes" if low > 0 or high < 0 else "no"
            change = f"{found['difference']:+.3f} ({low:+.2f} to {high:+.2f})"
            print(f"| {name} | {titles[key]} | {found['old']:.3f} | {found['new']:.3f} | "
                  f"{change} | {moved} |")  # fmt: skip
    if not compared:
        print(f"No set could be compared with {args.base}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
