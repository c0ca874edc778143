"""How the language model's check (`qa.answer.llm.check`) treats claims of known truth.

    python benchmarks/claim_check.py            # the held-out set, eval/claims-test
    python benchmarks/claim_check.py --set eval/claims-test2/claims.jsonl   # the second one
    python benchmarks/claim_check.py --set eval/claims-test3/claims.jsonl   # the third one
    python benchmarks/claim_check.py --set eval/claims-test4/claims.jsonl   # the fourth one
    python benchmarks/claim_check.py --set eval/claims-test5/claims.jsonl   # the fifth one
    python benchmarks/claim_check.py --set eval/claims-test6/claims.jsonl   # the sixth one
    python benchmarks/claim_check.py --set eval/claims-test7/claims.jsonl   # the seventh one
    python benchmarks/claim_check.py --set eval/claims-test8/claims.jsonl   # the eighth one
    python benchmarks/claim_check.py --set eval/claims-test9/claims.jsonl   # the ninth one
    python benchmarks/claim_check.py --tune     # the claims written for training (tune articles)
    python benchmarks/claim_check.py --set F --checker DIR   # also how a trained checker ranks them
    python benchmarks/claim_check.py --fit DIR   # choose that checker's threshold (kept claims)
    python benchmarks/claim_check.py --fit DIR --keep 0.8   # the most dropped, 80 % kept there

Each claim is checked as a model's one-sentence answer citing its excerpt ("claim [1]"). Prints
the share of faithful claims kept and of false ones dropped (all, and of the four kinds the target
names), by kind of error, and the reasons given (and, for a set that marks each claim's `wording`,
the share kept of the close and the reworded ones); writes
benchmarks/results/claim_check[-tune].json. With `--checker DIR` (a `checker.onnx` and
`checker.json` made by `train/train_reader.py --name checker`), also the AUROC with which its
logit ranks faithful claims above false ones: over all, and over those the rules for numbers,
names and "not" let through (where it would have to decide), beside the AUROC of the share of the
claim's words found in its excerpt there.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from qa.answer import llm

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT = ROOT / "eval" / "claims-test" / "claims.jsonl"
TUNE = ROOT / "train" / "reader" / "claims.jsonl"
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"
# The training claims kept out of the checker's data (`train/pairs.py`'s CLAIMS_KEPT), on which
# its threshold is chosen.
KEPT = [ROOT / "train" / "reader" / "claims-2" / f"claims-{k}.jsonl" for k in (2, 3)]
# The kinds of false claim the target names (negation, wrong entity, swapped roles, wrong
# number); the sets also hold recombined facts and unstated details, counted in `false_dropped`.
TARGET_ERRORS = ("negation", "wrong_entity", "swapped_roles", "wrong_number")


def titles() -> dict[str, str]:
    """Each BBC article's headline: the checker reads it before the excerpt, as in the product."""
    with open(BBC, encoding="utf-8") as f:
        return {a["id"]: a["title"] for a in map(json.loads, f)}


def figures(rows: list[dict], headlines: dict[str, str]) -> dict:
    """Kept share of the faithful claims, dropped share of each kind of false claim."""
    kept: dict[str, list[bool]] = defaultdict(list)
    by_wording: dict[str, list[bool]] = defaultdict(list)  # sets that say how close each claim is
    reasons: Counter[str] = Counter()
    for row in rows:
        title = headlines[row["article_id"]]
        checked = llm.check(f"{row['claim']} [1]", [row["excerpt"]], [title])
        kind = row.get("error") or "faithful"
        kept[kind].append(bool(checked.kept))
        if "wording" in row:
            truth = "faithful" if kind == "faithful" else "false"
            by_wording[f"{truth}, {row['wording']}"].append(bool(checked.kept))
        for _, why in checked.dropped:
            reasons[f"{kind}: {why.split(' ', 1)[-1] if why[0].isdigit() else why}"] += 1
    false = [k for kind, ks in kept.items() if kind != "faithful" for k in ks]
    named = [k for kind in TARGET_ERRORS for k in kept.get(kind, [])]
    result = {
        "claims": len(rows),
        "faithful_kept": round(sum(kept["faithful"]) / max(1, len(kept["faithful"])), 3),
        "false_dropped": round(1 - sum(false) / max(1, len(false)), 3),
        "false_dropped_of_the_target_kinds": round(1 - sum(named) / max(1, len(named)), 3),
        "dropped_by_error": {
            kind: round(1 - sum(ks) / len(ks), 3) for kind, ks in sorted(kept.items())
        },
        "reasons": dict(reasons.most_common(12)),
    }
    if by_wording:
        result["kept_by_wording"] = {
            group: round(sum(ks) / len(ks), 3) for group, ks in sorted(by_wording.items())
        }
    return result


def checker_logits(rows: list[dict], folder: Path) -> tuple[dict, np.ndarray]:
    """The metadata of the checker in `folder`, and its logit of each claim after its excerpt."""
    from qa.answer import reader

    checker = reader.load("checker", folder)
    headlines = titles()
    logits = [
        float(checker.logits(row["claim"], [(headlines[row["article_id"]], row["excerpt"], "")])[0])
        for row in rows
    ]
    return checker.meta, np.array(logits)


def ranking(rows: list[dict], folder: Path) -> dict:
    """How a trained checker's logit, and the share of words, rank faithful claims above false."""
    from sklearn.metrics import roc_auc_score

    meta, logits = checker_logits(rows, folder)
    faithful = [row["label"] == "supported" for row in rows]
    passed = [i for i, row in enumerate(rows) if not llm.contradicted(row["claim"], row["excerpt"])]
    shares = [llm.word_share(rows[i]["claim"], rows[i]["excerpt"]) for i in passed]
    kept = [faithful[i] for i in passed]
    passing_logits = [logits[i] for i in passed]
    return {
        "checker": {k: meta.get(k) for k in ("data_sha256", "onnx_sha256", "epochs")},
        "auroc": round(float(roc_auc_score(faithful, logits)), 3),
        "passing_the_rules": len(passed),
        "auroc_passing_the_rules": round(float(roc_auc_score(kept, passing_logits)), 3),
        "share_auroc_passing_the_rules": round(float(roc_auc_score(kept, shares)), 3),
    }


def choose(
    logits: np.ndarray,
    shares: np.ndarray,
    faithful: np.ndarray,
    ruled_out: np.ndarray,
    keep: float = 0.0,
) -> tuple[float, float]:
    """The logit above which a claim reads as supported, and the least share of its words that
    must be in its excerpt: those that best keep faithful claims and drop false ones (the mean of
    the two shares); with `keep`, those that drop the most false claims while keeping at least
    that share of the faithful ones. `ruled_out`: claims the rules for numbers, names and "not"
    already drop."""

    def score(threshold: float, floor: float = 0.0) -> float:
        kept = ~ruled_out & (logits > threshold) & (shares >= floor)
        faithful_kept, false_dropped = kept[faithful].mean(), 1 - kept[~faithful].mean()
        if keep:
            return false_dropped if faithful_kept >= keep else -1.0
        return (faithful_kept + false_dropped) / 2

    best = max(np.arange(-4.0, 4.01, 0.25), key=score)
    # the most of a claim's words that may be asked to be in its excerpt at no cost there: so that
    # a claim about something else is dropped whatever the checker reads
    floor = max(
        (f for f in np.arange(0.0, 0.61, 0.05) if score(best, f) >= score(best) - 1e-9),
        key=lambda f: (score(best, f), f),
    )
    return round(float(best), 2), round(float(floor), 2)


def fit(folder: Path, keep: float = 0.0) -> None:
    """Choose the threshold and floor of the checker in `folder` (`choose`) on the kept training
    claims, and write them into its checker.json."""
    rows = [json.loads(line) for path in KEPT for line in path.read_text().splitlines()]
    faithful = np.array([row["label"] == "supported" for row in rows])
    ruled_out = np.array([bool(llm.contradicted(row["claim"], row["excerpt"])) for row in rows])
    _, logits = checker_logits(rows, folder)
    shares = np.array([llm.word_share(row["claim"], row["excerpt"]) for row in rows])
    best, floor = choose(logits, shares, faithful, ruled_out, keep)
    kept = ~ruled_out & (logits > best) & (shares >= floor)
    meta_file = folder / "checker.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["supports_above"] = best
    meta["words_at_least"] = floor
    meta["supports_fitted_on"] = [str(p.relative_to(ROOT)) for p in KEPT]
    meta["supports_fitted_for"] = f"faithful kept >= {keep}" if keep else "mean of kept and dropped"
    meta_file.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    kept_share, dropped_share = kept[faithful].mean(), 1 - kept[~faithful].mean()
    print(f"supports above logit {best:.2f}, at least {floor:.0%} of the words: faithful kept "
          f"{kept_share:.3f}, false dropped {dropped_share:.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tune", action="store_true", help="the training claims, not held out")
    parser.add_argument("--set", default="", help="another claims file (JSONL)")
    parser.add_argument("--checker", default="", help="a folder with a trained checker.onnx")
    parser.add_argument("--fit", default="", help="choose the threshold of the checker there")
    parser.add_argument(
        "--keep", type=float, default=0.0, help="with --fit: keep at least this share of faithful"
    )
    args = parser.parse_args()
    if not 0 <= args.keep < 1:
        parser.error(f"--keep {args.keep} is not a share: give one from 0 to 1, such as 0.8")
    if args.fit:
        fit(Path(args.fit), args.keep)
        return
    path = Path(args.set).resolve() if args.set else TUNE if args.tune else HELD_OUT
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = {"set": str(path.relative_to(ROOT)), **figures(rows, titles())}
    if args.checker:
        result["ranking"] = ranking(rows, Path(args.checker))
    print(json.dumps(result, indent=2))
    name = "claim_check-tune.json" if args.tune else "claim_check.json"
    if args.set:
        named = path.parent.name if path.stem == "claims" else f"{path.parent.name}-{path.stem}"
        name = f"claim_check-{named}.json"
    (ROOT / "benchmarks" / "results" / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
