"""How well each confidence signal tells answerable from unanswerable questions, on tune sets.

    python benchmarks/abstention_signals.py

Why this exists: the abstention targets of issue 9 ask for answering ≥ 90 % right *and*
abstaining on ≥ 80 % of on-topic unanswerable questions about the same article. This measures
whether any signal we have can separate the two, before anyone tunes a threshold on it:

1. per set, the AUROC (answerable vs unanswerable) of every `qa.answer.features.CONFIDENCE` column;
   0.5 is no signal, under 0.5 means the unanswerable questions score *higher*;
2. the cross-validated trade-off of the fitted confidence (the model of
   `benchmarks/fit_answer.py`, refitted per fold) under several labels and threshold rules:
   whether any of them answers more right without abstaining less.

Only tune sets and tune halves are read (the same as `fit_answer.py`); nothing is written but
`benchmarks/results/abstention_signals.md`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from fit_answer import (
    RESULTS,
    ROOT,
    SENTENCES_FROM,
    TUNE,
    choose_margins,
    collect,
    confidence_rows,
    fit_linear,
    fit_sentences,
    folds_of,
    logit,
    question_weights,
)
from sklearn.metrics import roc_auc_score

from qa.answer.compose import Policy
from qa.answer.features import CONFIDENCE
from qa.config import Settings
from qa.embed.embedding import Embedder

FOLDS = 5
THRESHOLDS = np.round(np.arange(0.02, 0.9, 0.02), 2)


def out_of_fold(x, y, w, folds, c: float = 0.03) -> np.ndarray:
    """Each question's confidence from the model fitted on the other folds."""
    p = np.zeros(len(y))
    for f in range(FOLDS):
        train = folds != f
        params = fit_linear(x[train], y[train], w[train], c)
        p[~train] = 1.0 / (1.0 + np.exp(-logit(params, x[~train])))
    return p


def right_minus_wrong(p, t, right, answerable, corpus, w) -> float:
    answered = p >= t
    return float(np.dot(np.where(answered, np.where(right > 0, 1.0, -1.0), 0.0), w))


def balanced(p, t, right, answerable, corpus, w) -> float:
    """Per corpus, right rate of the answerable less answered rate of the unanswerable."""
    answered, total = p >= t, 0.0
    for c in set(corpus):
        a, u = (corpus == c) & answerable, (corpus == c) & ~answerable
        total += (answered & a & (right > 0)).sum() / max(1, a.sum())
        total -= (answered & u).sum() / max(1, u.sum())
    return total / len(set(corpus))


def pick(p, rule, *args) -> float:
    values = np.array([rule(p, t, *args) for t in THRESHOLDS])
    smooth = np.convolve(np.pad(values, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    return float(THRESHOLDS[int(np.argmax(smooth))])


def main() -> None:
    os.chdir(ROOT)
    settings = Settings.from_env()
    examples = collect(settings, Embedder.load(settings.model), list(TUNE), ["hybrid", "dense"])
    folds = folds_of(examples, FOLDS)
    _, _, _, oof = fit_sentences(examples, folds, FOLDS, list(SENTENCES_FROM))
    margin, part, _, _ = choose_margins(examples, oof, settings.max_quotes)
    policy = Policy(max_quotes=settings.max_quotes, margin=margin, part_margin=part)
    x, right = confidence_rows(examples, oof, policy)
    w = question_weights(examples)
    answerable = np.array([e.answerable for e in examples])
    corpus = np.array([e.corpus for e in examples])
    dataset = np.array([e.dataset for e in examples])
    mixed = [s for s in set(dataset) if 0 < answerable[dataset == s].sum() < (dataset == s).sum()]
    sets = sorted(mixed)  # sets with both kinds of question

    lines = [
        "# Can the confidence signals tell answerable from unanswerable? (tune sets only)",
        "",
        "Written by `python benchmarks/abstention_signals.py`. AUROC of each signal, answerable",
        "against unanswerable questions of the same set (both modes, hybrid and dense); 0.5 is",
        "no signal, below 0.5 the unanswerable questions score higher.",
        "",
    ]
    fitted = out_of_fold(x, right, w, folds)
    lines += ["| signal | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    columns = [("fitted confidence (cross-validated)", fitted)]
    columns += [(name, x[:, i]) for i, name in enumerate(CONFIDENCE)]
    for name, values in columns:
        cells = [roc_auc_score(answerable[dataset == s], values[dataset == s]) for s in sets]
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in cells) + " |")

    lines += [
        "",
        "Cross-validated trade-off: the threshold each rule picks, and per set the answerable",
        "questions answered right and the unanswerable ones abstained on.",
        "",
        "| label | threshold rule | threshold | "
        + " | ".join(f"{s} right / abstained" for s in sets + ["realtimeqa"])
        + " |",
        "|---|---|---|" + "---|" * (len(sets) + 1),
    ]
    labels = {"right": right, "answerable": answerable.astype(np.float32)}
    rules = {"right − wrong": right_minus_wrong, "balanced per corpus": balanced}
    for label, y in labels.items():
        p = fitted if label == "right" else out_of_fold(x, y, w, folds)
        for rule_name, rule in rules.items():
            t = pick(p, rule, right, answerable, corpus, w)
            cells = []
            for s in sets + ["realtimeqa"]:
                a, u = (dataset == s) & answerable, (dataset == s) & ~answerable
                got = ((p >= t) & a & (right > 0)).sum() / max(1, a.sum())
                held = ((p < t) & u).sum() / u.sum() if u.any() else float("nan")
                cells.append(f"{got:.2f} / {held:.2f}")
            lines.append(f"| {label} | {rule_name} | {t:.2f} | " + " | ".join(cells) + " |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "abstention_signals.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
