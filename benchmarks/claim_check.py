"""How the language model's check (`qa.answer.llm.check`) treats claims of known truth.

    python benchmarks/claim_check.py            # the held-out set, eval/claims-test
    python benchmarks/claim_check.py --set eval/claims-test2/claims.jsonl   # the second one
    python benchmarks/claim_check.py --tune     # the claims written for training (tune articles)

Each claim is checked as a model's one-sentence answer citing its excerpt ("claim [1]"). Prints
the share of faithful claims kept and of false ones dropped, by kind of error, and the reasons
given; writes benchmarks/results/claim_check[-tune].json.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from qa.answer import llm

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT = ROOT / "eval" / "claims-test" / "claims.jsonl"
TUNE = ROOT / "train" / "reader" / "claims.jsonl"


def figures(rows: list[dict]) -> dict:
    """Kept share of the faithful claims, dropped share of each kind of false claim."""
    kept: dict[str, list[bool]] = defaultdict(list)
    reasons: Counter[str] = Counter()
    for row in rows:
        checked = llm.check(f"{row['claim']} [1]", [row["excerpt"]])
        kind = row.get("error") or "faithful"
        kept[kind].append(bool(checked.kept))
        for _, why in checked.dropped:
            reasons[f"{kind}: {why.split(' ', 1)[-1] if why[0].isdigit() else why}"] += 1
    false = [k for kind, ks in kept.items() if kind != "faithful" for k in ks]
    result = {
        "claims": len(rows),
        "faithful_kept": round(sum(kept["faithful"]) / max(1, len(kept["faithful"])), 3),
        "false_dropped": round(1 - sum(false) / max(1, len(false)), 3),
        "dropped_by_error": {
            kind: round(1 - sum(ks) / len(ks), 3) for kind, ks in sorted(kept.items())
        },
        "reasons": dict(reasons.most_common(12)),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tune", action="store_true", help="the training claims, not held out")
    parser.add_argument("--set", default="", help="another claims file (JSONL)")
    args = parser.parse_args()
    path = Path(args.set).resolve() if args.set else TUNE if args.tune else HELD_OUT
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = {"set": str(path.relative_to(ROOT)), **figures(rows)}
    print(json.dumps(result, indent=2))
    name = "claim_check-tune.json" if args.tune else "claim_check.json"
    if args.set:
        name = f"claim_check-{path.parent.name}.json"
    (ROOT / "benchmarks" / "results" / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
