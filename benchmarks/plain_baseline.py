"""The plain baseline, and the product's default mode beside it, in one run.

    python benchmarks/plain_baseline.py DATASET [--split test] [--mode hybrid]

"Plain" is what a first attempt does: each article cut into 200-word windows (no overlap, no
headline, longer windows silently truncated by the model), all-MiniLM-L6-v2 over them, exact
cosine search; the window ranking is collapsed to articles at their best window. The product
runs as `qa eval` does (its cached index, `Engine.search`, the mode given). Both rank the same
answerable questions and are scored with ranx at the article level; the script prints hit@1,
hit@4 and MRR@10 of each and the differences, and writes
`benchmarks/results/plain_baseline_NAME_SPLIT.json`. Window vectors are cached under
`.cache/plain/` by corpus digest, so a second run only encodes the questions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa.answer.engine import Engine
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.eval.datasets import check_evidence, corpus_digest, load_dataset
from qa.eval.evaluation import collapse, ensure_index, mean, ranking_metrics
from qa.ingest.corpus import read_corpus

ROOT = Path(__file__).resolve().parents[1]
WORDS = 200
METRICS = ("hit@1", "hit@4", "mrr@10")


def windows(articles) -> tuple[list[str], list[str]]:
    """200-word windows of every article's text, and the article id of each."""
    texts, owners = [], []
    for article in articles:
        words = article.text.split()
        for start in range(0, max(len(words), 1), WORDS):
            texts.append(" ".join(words[start : start + WORDS]))
            owners.append(article.id)
    return texts, owners


def plain_vectors(embedder: Embedder, texts: list[str], cache: Path) -> np.ndarray:
    if cache.is_file():
        vectors = np.load(cache)
        if len(vectors) == len(texts):
            return vectors
    vectors = embedder.encode_texts(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="all")
    parser.add_argument("--mode", default="hybrid")
    args = parser.parse_args()
    settings = Settings.from_env()
    embedder = Embedder.load(settings.model, settings.precision)
    dataset = load_dataset(args.dataset, args.split)
    cached, _ = ensure_index(settings, dataset, embedder)
    engine = Engine.load(cached, embedder)
    dataset = check_evidence(dataset, set(engine.index.data.articles))
    queries = [q for q in dataset.queries if q.answerable]
    qrels = {q.id: q.relevant for q in queries}

    articles = read_corpus(cached.corpus).articles
    texts, owners = windows(articles)
    cache = ROOT / ".cache" / "plain" / f"{corpus_digest(dataset.corpora)[:16]}-{WORDS}w.npy"
    vectors = plain_vectors(embedder, texts, cache)
    questions = embedder.encode_texts([q.question for q in queries])
    plain_run = {}
    for q, vec in zip(queries, questions, strict=True):
        order = np.argsort(-(vectors @ vec), kind="stable")[:200]
        plain_run[q.id] = list(dict.fromkeys(owners[i] for i in order))[:10]
    product_run = {}
    for q in queries:
        _, hits = engine.search(q.question, 50, mode=args.mode)
        product_run[q.id] = [a for a, _ in collapse(hits)][:10]

    plain = {m: v for m, v in mean(ranking_metrics(qrels, plain_run)).items() if m in METRICS}
    product = {m: v for m, v in mean(ranking_metrics(qrels, product_run)).items() if m in METRICS}
    result = {
        "dataset": dataset.name,
        "split": args.split,
        "n_queries": len(queries),
        "plain": {"windows": len(texts), "words": WORDS, **plain},
        args.mode: product,
        "difference": {m: round(product[m] - plain[m], 4) for m in METRICS},
    }
    out = ROOT / "benchmarks" / "results" / f"plain_baseline_{dataset.name}_{args.split}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for m in METRICS:
        print(f"{m:>7}: plain {plain[m]:.3f}  {args.mode} {product[m]:.3f}  "
              f"({product[m] - plain[m]:+.3f})")  # fmt: skip
    print(f"{len(queries)} questions; written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
