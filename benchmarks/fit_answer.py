"""Fit the answer model, `qa/answer/answer_model.json`, on the tune halves of the question sets.

    python benchmarks/fit_answer.py [--data DIR[:SPLIT] ...] [--sentences-from DIR ...]
        [--modes hybrid dense] [--folds 5]

Two logistic regressions (scikit-learn), fitted in turn:

1. **sentence**: pairwise, over the candidate sentences of a question's top chunks
   (`qa.answer.features.SENTENCE`): each row is the difference between a sentence that quotes a gold
   fact (`qa.eval.evaluation.facts_quoted`) and one that does not, labelled 1 (and
   its negation, 0), so the fit learns what ranks the answering sentence first among its own
   question's candidates; no intercept. Only answerable questions with a fact among their
   candidates take part, from the sets named by `--sentences-from`: by default the seed and
   BBC ones, whose facts are single sentences of whole articles. RealTime QA's gold "article"
   is a quiz's one-to-three-sentence evidence excerpt in a pool of whole articles; learning
   from it teaches "prefer short documents", which is that dataset's construction, not news.
2. **confidence**: one row per question (`qa.answer.features.CONFIDENCE`, built from the sentence
   model's *out-of-fold* scores, so it learns from scores like those it will meet), label 1 when
   the answer the quotes make is right (`qa.eval.evaluation.is_right`); unanswerable questions are
   always 0.

Rows come from every question retrieved in each of `--modes`, so the decision holds in more than
one mode. Each corpus (the seed article, BBC, RealTime QA) carries the same total weight, so no
corpus decides the fit alone, and within a corpus every question weighs the same. The
regularisation is chosen by grouped cross-validation (questions never split across folds); the
quote margins by the right rate of the cross-validated scores. The threshold maximises (right
answers − wrong answers) over the cross-validated confidences, a wrong answer to an
unanswerable question counting as wrong and every corpus weighing the same; the curve is flat
near its top, so it is smoothed (the mean of each threshold and its two neighbours) before its
maximum is taken, rather than chasing one question's worth of noise.

Held-out sets (`"held_out": true` in dataset.json) and `:test` halves are refused: nothing here
may see them. Writes `qa/answer/answer_model.json` and `benchmarks/results/fit_answer.{md,json}`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.answer.compose import Policy, Scored, choose, cite
from qa.answer.engine import Engine
from qa.answer.features import (
    CONFIDENCE,
    SENTENCE,
    Sentence,
    analyse,
    code_digest,
    confidence_features,
    sentence_features,
    term_weights,
)
from qa.answer.fitted import FORMAT, MODEL_FILE
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.eval.datasets import Query, check_evidence, corpus_digest, load_dataset
from qa.eval.evaluation import cache_folder, ensure_index, facts_quoted, is_right
from qa.index.calibration import PROBES_FILE, probes

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TUNE = (
    "eval/seed:tune",
    "eval/seed-tune",
    "eval/bbc-dev:tune",
    "eval/bbc-tune",
    "eval/seed-tune-in-bbc",
    "../shared/eval/realtimeqa:tune",
)
SENTENCES_FROM = ("eval/seed", "eval/seed-tune", "eval/bbc-dev", "eval/bbc-tune")
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
MARGINS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
PART_MARGINS = (0.0, 2.0, 4.0, 6.0, 8.0)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.2, 0.81, 0.02))


@dataclass
class Example:
    """One question retrieved in one mode, with its candidates' features and labels."""

    corpus: str
    dataset: str
    folder: str  # the dataset folder, as --data names it
    mode: str
    query: Query
    scored: Scored  # scores are filled in with out-of-fold logits
    hits: list
    index: object
    labels: np.ndarray  # per sentence: 1 when it quotes a gold fact

    @property
    def answerable(self) -> bool:
        return self.query.answerable


def collect(
    settings: Settings, embedder: Embedder, specs: list[str], modes: list[str]
) -> list[Example]:
    """Every question of `specs` in every mode; then the off-topic probes (`qa/index/probes.txt`),
    unanswerable by construction, asked of every corpus those sets use."""
    examples: list[Example] = []
    engines: dict[str, Engine] = {}
    for spec in specs:
        folder, _, split = spec.partition(":")
        split = split or "all"
        if split == "test":
            raise SystemExit(f"{spec}: a test half is never fitted on")
        dataset = load_dataset(ROOT / folder, split)  # refuses a held-out set's tune half
        if dataset.held_out:
            raise SystemExit(f"{spec}: {folder} is held out and is never fitted on")
        cached, _ = ensure_index(settings, dataset, embedder)
        engine = Engine.load(cached, embedder)
        dataset = check_evidence(dataset, set(engine.index.data.articles))
        corpus = cache_folder(settings, dataset).name.rsplit("-", 1)[0]
        engines[corpus] = engine
        examples += _examples(engine, corpus, dataset.name, folder, dataset.queries, modes)
        print(f"{spec}: {len(dataset.queries)} questions, corpus {corpus}", flush=True)
    queries = [Query(f"probe-{n}", text, "off_topic") for n, text in enumerate(probes(), 1)]
    for corpus, engine in engines.items():
        examples += _examples(engine, corpus, f"probes@{corpus}", "", queries, modes)
    print(f"probes: {len(queries)} questions asked of {len(engines)} corpora", flush=True)
    return examples


def _examples(
    engine: Engine, corpus: str, name: str, folder: str, queries: list[Query], modes: list[str]
) -> list[Example]:
    out = []
    weights = term_weights(engine.index)
    for mode in modes:
        for query in queries:
            vector, hits = engine.search(query.question, engine.settings.top_k, mode=mode)
            q = analyse(query.question, weights)
            sentences, x = sentence_features(q, vector, hits, engine.index)
            if not sentences:
                continue
            labels = np.array([_quotes_fact(s, query) for s in sentences], dtype=np.float32)
            scored = Scored(q, sentences, x, np.zeros(len(x), np.float32), np.arange(len(x)))
            out.append(
                Example(corpus, name, folder, mode, query, scored, hits, engine.index, labels)
            )
    return out


def _quotes_fact(sentence: Sentence, query: Query) -> bool:
    """As `qa.eval.evaluation.facts_quoted` counts: the fact's text, from any copy of the story."""
    return any(facts_quoted(query, [(sentence.hit.chunk.article_id, sentence.text)]))


def question_weights(examples: list[Example]) -> np.ndarray:
    """Every corpus the same total weight, every question the same within it."""
    per_corpus: dict[str, int] = {}
    for e in examples:
        per_corpus[e.corpus] = per_corpus.get(e.corpus, 0) + 1
    return np.array([1.0 / (per_corpus[e.corpus] * len(per_corpus)) for e in examples])


def fit_linear(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((x - mean) / scale, y, sample_weight=w * len(w) / w.sum())
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def logit(params, x: np.ndarray) -> np.ndarray:
    mean, scale, coef, intercept = params
    return ((x - mean) / scale) @ coef + intercept


def folds_of(examples: list[Example], k: int) -> np.ndarray:
    """A fold per question (the same question in every mode shares one), stable across runs."""
    import hashlib

    return np.array(
        [int(hashlib.sha256(e.query.id.encode()).hexdigest(), 16) % k for e in examples]
    )


def fit_sentences(examples: list[Example], folds: np.ndarray, k: int, folders: list[str]):
    """Grouped-CV choice of C, out-of-fold scores for every example, and the final fit, learnt
    from the examples of `folders` (the fold models score the others all the same)."""
    usable = [i for i, e in enumerate(examples) if e.labels.any() and e.folder in folders]
    weights = question_weights(examples)
    best = None
    for c in C_GRID:
        oof = _oof_sentences(examples, usable, folds, k, weights, c)
        acc = _top1(examples, usable, oof, weights)
        print(f"  sentence C={c}: weighted top-1 {acc:.4f}", flush=True)
        if best is None or acc > best[1] + 1e-9:
            best = (c, acc, oof)
    c, acc, oof = best
    params = fit_pairwise(examples, usable, weights, c)
    for i, e in enumerate(examples):
        if i not in oof:  # unanswerable or no fact retrieved: scored by the full fit
            oof[i] = logit(params, e.scored.features)
    return params, c, acc, oof


NEGATIVES = 40  # non-answering sentences paired with each answering one (a fixed sample)


def fit_pairwise(examples: list[Example], chosen: list[int], weights: np.ndarray, c: float):
    """A logistic regression on differences (answering − other sentence), no intercept."""
    from sklearn.linear_model import LogisticRegression

    diffs, w = [], []
    for i in chosen:
        x, y = examples[i].scored.features, examples[i].labels
        pos, neg = x[y > 0], x[y == 0]
        if len(neg) > NEGATIVES:
            neg = neg[np.random.default_rng(i).choice(len(neg), NEGATIVES, replace=False)]
        if not len(neg):
            continue
        for p in pos:
            diffs.append(p - neg)
            w.append(np.full(len(neg), weights[i] / (len(pos) * len(neg))))
    d, w = np.concatenate(diffs), np.concatenate(w)
    scale = np.concatenate([examples[i].scored.features for i in chosen]).std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    x = np.concatenate([d, -d]) / scale
    y = np.concatenate([np.ones(len(d)), np.zeros(len(d))])
    sample = np.concatenate([w, w])
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=3000)
    model.fit(x, y, sample_weight=sample * len(sample) / sample.sum())
    mean = np.concatenate([examples[i].scored.features for i in chosen]).mean(axis=0)
    coef = model.coef_[0]
    return mean, scale, coef, 0.0


def _oof_sentences(examples, usable, folds, k, weights, c) -> dict[int, np.ndarray]:
    oof: dict[int, np.ndarray] = {}
    for f in range(k):
        params = fit_pairwise(examples, [i for i in usable if folds[i] != f], weights, c)
        for i, e in enumerate(examples):
            if folds[i] == f:
                oof[i] = logit(params, e.scored.features)
    return oof


def _top1(examples, usable, scores, weights) -> float:
    hits = [float(examples[i].labels[int(np.argmax(scores[i]))] > 0) for i in usable]
    w = weights[usable]
    return float(np.dot(hits, w) / w.sum())


def with_scores(example: Example, scores: np.ndarray) -> Scored:
    order = np.argsort(-scores, kind="stable")
    return replace(example.scored, scores=scores.astype(np.float32), order=order)


def _scored(examples: list[Example], oof: dict[int, np.ndarray], i: int) -> Scored:
    return with_scores(examples[i], oof[i])


def quotes_of(example: Example, scored: Scored, policy: Policy) -> list[tuple[str, str]]:
    groups = choose(scored, policy)
    return [(c.article_id, c.quote) for c in cite(groups, scored, example.index)]


def choose_margins(examples, oof, max_quotes: int):
    """The margins that make the most answerable questions right (every corpus equal)."""
    weights = question_weights(examples)
    answerable = [i for i, e in enumerate(examples) if e.answerable]
    w = weights[answerable]
    grid = []
    for margin in MARGINS:
        for part in PART_MARGINS:
            policy = Policy(max_quotes=max_quotes, margin=margin, part_margin=part)
            right = [
                is_right(
                    examples[i].query, quotes_of(examples[i], _scored(examples, oof, i), policy)
                )
                for i in answerable
            ]
            grid.append((float(np.dot(right, w) / w.sum()), margin, part))
    best = max(r for r, _, _ in grid)
    # the tightest margins within half a point of the best: shorter answers, same right rate
    margin, part = min((m, p) for r, m, p in grid if r >= best - 0.005)
    return margin, part, best, grid


def confidence_rows(examples, oof, policy: Policy):
    rows, labels = [], []
    for i, e in enumerate(examples):
        scored = with_scores(e, oof[i])
        groups = choose(scored, policy)
        quoted = [j for group in groups for j in group]
        row, _ = confidence_features(
            scored.question, scored.sentences, scored.features, scored.scores, e.hits, e.index,
            quoted,
        )  # fmt: skip
        rows.append(row)
        quotes = [(c.article_id, c.quote) for c in cite(groups, scored, e.index)]
        labels.append(float(e.answerable and is_right(e.query, quotes)))
    return np.asarray(rows, np.float32), np.asarray(labels, np.float32)


def fit_confidence(examples, x, y, folds, k):
    weights = question_weights(examples)
    best = None
    for c in C_GRID:
        oof = np.zeros(len(y))
        for f in range(k):
            train = folds != f
            params = fit_linear(x[train], y[train], weights[train], c)
            oof[~train] = 1.0 / (1.0 + np.exp(-logit(params, x[~train])))
        loss = -np.sum(weights * (y * np.log(oof + 1e-9) + (1 - y) * np.log(1 - oof + 1e-9)))
        print(f"  confidence C={c}: weighted log loss {loss / weights.sum():.4f}", flush=True)
        if best is None or loss < best[1]:
            best = (c, loss, oof)
    c, _, oof = best
    return fit_linear(x, y, weights, c), c, oof


def figures(examples, probs, right, threshold: float) -> dict:
    """Per dataset and mode, at `threshold`: answered, right, abstained on unanswerable."""
    out: dict[str, dict] = {}
    for key in sorted({(e.dataset, e.mode) for e in examples}):
        idx = [i for i, e in enumerate(examples) if (e.dataset, e.mode) == key]
        ans = [i for i in idx if examples[i].answerable]
        una = [i for i in idx if not examples[i].answerable]
        answered = probs >= threshold
        out[f"{key[0]} ({key[1]})"] = {
            "n_answerable": len(ans),
            "n_unanswerable": len(una),
            "answered": _rate([answered[i] for i in ans]),
            "right": _rate([answered[i] and right[i] > 0 for i in ans]),
            "right_if_answering_all": _rate([right[i] > 0 for i in ans]),
            "abstained": _rate([not answered[i] for i in una]),
        }
    return out


def _rate(values) -> float | None:
    return round(float(np.mean(values)), 4) if len(values) else None


def pick_threshold(curve: list[dict]) -> float:
    """The threshold at the maximum of the utility curve smoothed over three neighbours."""
    values = np.array([p["utility"] for p in curve])
    smooth = np.convolve(np.pad(values, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    return float(curve[int(np.argmax(smooth))]["threshold"])


def utility_curve(examples, probs, right) -> list[dict]:
    """Right − wrong answers per question at each threshold, every corpus weighing the same."""
    weights = question_weights(examples)
    curve = []
    for t in THRESHOLDS:
        answered = probs >= t
        gain = np.where(answered, np.where(right > 0, 1.0, -1.0), 0.0)
        curve.append({"threshold": t, "utility": round(float(np.dot(gain, weights)), 4)})
    return curve


def _auroc(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, p)), 4) if 0 < y.sum() < len(y) else None


def to_json(params, features) -> dict:
    mean, scale, coef, intercept = params
    return {
        "features": list(features),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in coef],
        "intercept": round(float(intercept), 6),
    }


def markdown(fit: dict) -> str:
    lines = [
        "# The answer model, fitted on tune halves (benchmarks/fit_answer.py)",
        "",
        f"Fitted on: {', '.join(fit['fitted_on'])}; modes {', '.join(fit['modes'])}; "
        f"{fit['questions']} questions, {fit['sentences']} candidate sentences; "
        f"{fit['folds']}-fold grouped cross-validation. These are *tuned* figures "
        "(cross-validated on the sets the model is fitted on), not held-out ones.",
        "",
        f"Sentence model: C = {fit['sentence_c']}, cross-validated top-1 (the best-scored "
        f"sentence quotes a gold fact, weighted by corpus) {fit['sentence_top1']:.3f}.",
        f"Quote margins: {fit['margin']} logits (others), {fit['part_margin']} (a part of the "
        f"question the first quotes miss); right when answering everything "
        f"{fit['right_all']:.3f}.",
        f"Confidence model: C = {fit['confidence_c']}, cross-validated AUROC "
        f"{fit['confidence_auroc']}; threshold {fit['threshold']}.",
        "",
        "Right − wrong answers per question (cross-validated, corpora weighted alike) by "
        "threshold: "
        + ", ".join(
            f"{p['threshold']:.2f}: {p['utility']:.3f}" for p in fit["threshold_curve"][::3]
        )
        + ".",
        "",
        "| feature | sentence weight | | feature | confidence weight |",
        "|---|---|---|---|---|",
    ]
    s, c = fit["model"]["sentence"], fit["model"]["confidence"]
    for j in range(max(len(s["features"]), len(c["features"]))):
        left = f"{s['features'][j]} | {s['coef'][j]:+.3f}" if j < len(s["features"]) else " | "
        right = f"{c['features'][j]} | {c['coef'][j]:+.3f}" if j < len(c["features"]) else " | "
        lines.append(f"| {left} | | {right} |")
    lines += [
        "",
        "Cross-validated, at the threshold (rates of answerable questions answered / right, and "
        "of unanswerable ones abstained):",
        "",
        "| set (mode) | answerable | answered | right | right, answering all | unanswerable | "
        "abstained |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, f in fit["cv_figures"].items():
        lines.append(
            f"| {name} | {f['n_answerable']} | {f['answered']} | {f['right']} | "
            f"{f['right_if_answering_all']} | {f['n_unanswerable']} | {f['abstained']} |"
        )
    return "\n".join(lines) + "\n"


def data_digest(specs: list[str]) -> str:
    """A hash of the question sets fitted on (each folder's own files) with their corpora, and
    of the probes: the same data gives the same digest on any machine."""
    digest = hashlib.sha256()
    for folder in sorted({spec.partition(":")[0] for spec in specs}):
        for path in sorted((ROOT / folder).glob("*.json*")):
            if path.name != "corpus.jsonl":  # read below, with the other corpora
                digest.update(f"{folder}/{path.name}\n".encode() + path.read_bytes())
        digest.update(corpus_digest(load_dataset(ROOT / folder, "all").corpora).encode())
    digest.update(PROBES_FILE.read_bytes())
    return digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", default=list(TUNE), help="DIR[:tune|all] ...")
    parser.add_argument("--sentences-from", nargs="+", default=list(SENTENCES_FROM))
    parser.add_argument(
        "--confidence-features",
        nargs="+",
        default=list(CONFIDENCE),
        choices=CONFIDENCE,
        help="the qa.answer.features.CONFIDENCE columns the confidence model weighs",
    )
    parser.add_argument("--modes", nargs="+", default=["hybrid", "dense"])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    os.chdir(ROOT)
    settings = Settings.from_env()
    # fp32 whatever the CPU: bf16 exists on some CPUs only, and the same data must give the
    # same file on every machine
    embedder = Embedder.load(settings.model, "fp32")
    t0 = time.perf_counter()
    examples = collect(settings, embedder, args.data, args.modes)
    folds = folds_of(examples, args.folds)
    print(f"{len(examples)} examples collected in {time.perf_counter() - t0:.0f} s", flush=True)

    s_params, s_c, s_top1, oof = fit_sentences(examples, folds, args.folds, args.sentences_from)
    margin, part, right_all, _ = choose_margins(examples, oof, settings.max_quotes)
    policy = Policy(max_quotes=settings.max_quotes, margin=margin, part_margin=part)
    x, right = confidence_rows(examples, oof, policy)
    columns = [CONFIDENCE.index(f) for f in args.confidence_features]
    x = x[:, columns]
    c_params, c_c, probs = fit_confidence(examples, x, right, folds, args.folds)
    curve = utility_curve(examples, probs, right)
    threshold = pick_threshold(curve)

    model = {
        "format": FORMAT,
        "sentence": to_json(s_params, SENTENCE),
        "confidence": to_json(c_params, args.confidence_features),
        "threshold": threshold,
        "margin": margin,
        "part_margin": part,
        "fitted": {
            "script": "benchmarks/fit_answer.py",
            "on": args.data,
            "sentences_from": args.sentences_from,
            "probes": f"qa/index/probes.txt ({len(probes())} off-topic questions, unanswerable)",
            "modes": args.modes,
            "questions": len({(e.dataset, e.query.id) for e in examples}),
            "embedding_model": settings.model,
            "feature_code": code_digest(),
            "data": data_digest([*args.data, *args.sentences_from]),
        },
    }
    MODEL_FILE.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    fit = {
        "fitted_on": args.data,
        "modes": args.modes,
        "questions": model["fitted"]["questions"],
        "sentences": int(sum(len(e.labels) for e in examples)),
        "folds": args.folds,
        "sentence_c": s_c,
        "sentence_top1": s_top1,
        "margin": margin,
        "part_margin": part,
        "right_all": right_all,
        "confidence_c": c_c,
        "confidence_auroc": _auroc(right, probs),
        "threshold": threshold,
        "threshold_curve": curve,
        "cv_figures": figures(examples, probs, right, threshold),
        "model": model,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fit_answer.json").write_text(json.dumps(fit, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "fit_answer.md").write_text(markdown(fit), encoding="utf-8")
    print(markdown(fit))


if __name__ == "__main__":
    main()
