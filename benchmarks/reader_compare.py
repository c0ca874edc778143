"""The reader against the fitted feature model, on the same questions in one run.

    python benchmarks/reader_compare.py tune     # fit the reader's confidence (tune sets)
    python benchmarks/reader_compare.py test     # report on held-out sets, nothing fitted

For each set, with the fitted model alone (QA_READER=0) and with the reader: the share of
answerable questions whose gold answer is quoted (outcome "answer" or "closest"), of those the
share given as the answer, the share of unanswerable ones not given as an answer, and the AUROC
of the confidence (answerable against unanswerable). `tune` first fits the reader's
confidence, a logistic regression over `reader.SIGNALS` with "the best sentence's quote holds
the gold answer" as its label, then sweeps its threshold for the best mean of "quoted answers
given as answers" and "unanswerable not answered" over the tune sets (each set weighing the
same), writes both into `qa/answer/models/reader.json`, and reports the sets with them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.answer import fitted, reader
from qa.answer.engine import Engine
from qa.answer.features import code_digest
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import answer_figures, ensure_index, is_right, run_queries

ROOT = Path(__file__).resolve().parents[1]
META = reader.FOLDER / "reader.json"
SIGNALS = reader.SIGNALS
SETS = {
    "tune": ("eval/seed:tune", "eval/seed-tune", "eval/bbc-dev:tune", "eval/bbc-tune",
             "eval/seed-tune-in-bbc"),
    "test": ("eval/seed:test", "eval/seed-test", "eval/bbc-dev:test", "eval/bbc-test",
             "eval/seed-in-bbc"),
    "fresh": ("eval/seed-fresh", "eval/bbc-fresh"),
    # written after the reader and its confidence were frozen, scored once
    "fresh2": ("eval/seed-fresh2", "eval/bbc-fresh2"),
}  # fmt: skip
SHOWN = ("quoted", "single_quoted", "multi_quoted", "quoted_as_answer", "null_abstain_rate",
         "null_none_rate", "auroc")  # fmt: skip
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)


def outcomes_of(spec: str, reader: bool, embedder: Embedder) -> list:
    path, _, split = spec.partition(":")
    data = load_dataset(ROOT / path, split or "all")
    cached, _ = ensure_index(Settings(), data, embedder)
    engine = Engine.load(cached.with_(reader=reader), embedder)
    return run_queries(engine, data.queries, "hybrid", 10)


def signals(spec: str, embedder: Embedder) -> list[tuple[list[float], bool]]:
    """Per question of a set: the reader's signals for its best sentence, and whether the quotes
    hold the gold answer."""
    from qa.answer.compose import compose
    from qa.index.calibration import TYPICAL

    path, _, split = spec.partition(":")
    data = load_dataset(ROOT / path, split or "all")
    cached, _ = ensure_index(Settings(), data, embedder)
    engine = Engine.load(cached.with_(reader=True), embedder)
    offer = replace(engine.policy, threshold=-np.inf)
    background = engine.index.background or TYPICAL
    found = []
    for q in data.queries:
        vector, hits = engine.search(q.question, engine.settings.top_k)
        answer = compose(q.question, vector, hits, engine.index, offer)
        why = answer.trace or {}
        logit = why["sentences"][0]["score"] if why.get("sentences") else -20.0
        z = background.z(max((h.dense for h in hits), default=-1.0))
        x = [logit, float(bool(why["confidence"]["missing"])), float(np.clip(z, -3.0, 10.0))]
        found.append((x, is_right(q, [(c.article_id, c.quote) for c in answer.citations])))
    return found


def fit(per_set: dict[str, list]) -> tuple[list[float], float]:
    """The logistic regression of the label on the signals, each set weighing the same."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([row for rows in per_set.values() for row, _ in rows])
    y = np.array([label for rows in per_set.values() for _, label in rows])
    w = np.concatenate([np.full(len(rows), 1.0 / len(rows)) for rows in per_set.values()])
    model = LogisticRegression(C=1.0).fit(x, y, sample_weight=w * len(y))
    return [round(float(c), 4) for c in model.coef_[0]], round(float(model.intercept_[0]), 4)


def sweep(per_set: dict[str, list]) -> float:
    """The threshold with the best mean, over sets, of the two shares (see the docstring)."""
    best = (-1.0, 0.5)
    print("threshold | " + " | ".join(per_set) + " | mean")
    for t in THRESHOLDS:
        means = []
        for outcomes in per_set.values():
            quoted = [o for o in outcomes if is_right(o.query, o.offered)]
            unanswerable = [o for o in outcomes if not o.query.answerable]
            parts = [
                np.mean([o.confidence >= t for o in quoted]) if quoted else None,
                np.mean([o.confidence < t for o in unanswerable]) if unanswerable else None,
            ]
            means.append(float(np.mean([p for p in parts if p is not None])))
        mean = float(np.mean(means))
        print(f"{t} | " + " | ".join(f"{m:.3f}" for m in means) + f" | {mean:.3f}")
        best = max(best, (mean, float(t)))
    return best[1]


def write_confidence(confidence: dict) -> None:
    """Replace the reader's fitted confidence in `reader.json`, and reload it."""
    meta = json.loads(META.read_text(encoding="utf-8"))
    meta["confidence"] = confidence
    META.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    reader.load.cache_clear()


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "test"
    embedder = Embedder.load()
    if which == "tune":
        # the signals read no confidence: stamp the old one with what this fit is made with
        # first, so that a confidence fitted with other feature code does not stop its refit
        made_with = {
            "signals": list(SIGNALS), "feature_code": code_digest(),
            "answer_model": hashlib.sha256(fitted.MODEL_FILE.read_bytes()).hexdigest()[:16],
        }  # fmt: skip
        old = json.loads(META.read_text(encoding="utf-8")).get("confidence", {})
        write_confidence(old | made_with)
        rows = {spec: signals(spec, embedder) for spec in SETS["tune"]}
        coef, intercept = fit(rows)
        write_confidence({
            "signals": list(SIGNALS), "coef": coef, "intercept": intercept, "threshold": 0.5,
            "fitted_on": list(SETS["tune"]), **made_with,
        })  # fmt: skip
        print(f"confidence: {coef} + {intercept}")
    print("set | model | n | " + " | ".join(SHOWN))
    read: dict[str, list] = {}
    for spec in SETS[which]:
        for with_reader in (False, True):
            outcomes = outcomes_of(spec, with_reader, embedder)
            figures = answer_figures(outcomes)
            name = "reader" if with_reader else "fitted"
            cells = " | ".join(str(figures.get(k)) for k in SHOWN)
            print(f"{spec} | {name} | {len(outcomes)} | {cells}", flush=True)
            if with_reader:
                read[spec] = outcomes
    if which == "tune":
        threshold = sweep(read)
        meta = json.loads(META.read_text(encoding="utf-8"))
        meta["confidence"]["threshold"] = threshold
        META.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        print(f"chosen threshold: {threshold} (written to {META.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
