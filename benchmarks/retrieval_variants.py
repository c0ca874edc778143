"""Retrieval strategies compared at the article level on a cached `qa eval` index.

    python benchmarks/retrieval_variants.py --dataset ../shared/eval/realtimeqa \\
        --index .cache/eval/realtimeqa-c9a149519f8741f6 [--variants dense bm25 ...] [--time]

Every variant ranks chunks (or articles) for each answerable question; the chunk ranking is
collapsed to articles, each article at its best chunk, and scored with ranx (hit@1, hit@4,
hit@10, mrr@10). For datasets with `two_article` questions it also reports how often both gold
articles are in the top 5 articles, and hit@1 on the `single` questions.

Nothing is built: the index's chunk vectors and sentence vectors are used as stored, BM25 indexes
are built in memory from the chunk table (seconds), and question vectors are encoded once and
kept in /tmp (`--qcache`). Question vectors for the parts of split questions are encoded too.

Writes benchmarks/results/retrieval_variants_<dataset>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from qa import text
from qa.eval.datasets import Query, load_dataset
from qa.index import bm25, store

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEPTH = 10  # articles kept per ranking (metrics go to @10)

# ---------------------------------------------------------------- BM25 (bm25s + PyStemmer)


@dataclass(frozen=True)
class Bm25Config:
    """What BM25 indexes for a chunk and how it scores.

    field: "text" (chunk text), "title+text" (headline line, then the text) or
    "distinct+text" (the headline only when it is distinctive: see `boilerplate_titles`).
    """

    field: str = "title+text"
    k1: float = 1.5
    b: float = 0.75
    # bm25s's 33 English stopwords ("en", the plain baseline) or the product's list ("qa":
    # the same plus the words questions are made of, `qa.text.QUESTION_WORDS`)
    stopwords: str = "en"

    def stoplist(self) -> Collection[str] | None:
        from bm25s.stopwords import STOPWORDS_EN

        return STOPWORDS_EN if self.stopwords == "en" else None  # None: the product's


def _stemmer():  # noqa: ANN202 - PyStemmer has no type hints
    import Stemmer

    return Stemmer.Stemmer("english")


# The product's own tokenizer and headline rule, so a variant measures what the index does.
tokenize = bm25.tokenize
title_template = text.headline_template
boilerplate_titles = bm25.boilerplate_templates


# ---------------------------------------------------------------- the dataset in memory


@dataclass
class Bench:
    """One dataset and its cached index, with everything the variants share, computed once."""

    name: str
    index: store.LoadedIndex
    queries: list[Query]  # answerable only
    qvecs: np.ndarray  # (n_queries, dim) float32, unit length
    part_vecs: dict[str, np.ndarray] = field(default_factory=dict)  # split-question parts
    _bm25: dict[Bm25Config, object] = field(default_factory=dict)
    _bm25_rows: dict[tuple[Bm25Config, int], np.ndarray] = field(default_factory=dict)
    _sentence_words: dict[int, list[set[str]]] = field(default_factory=dict)

    @cached_property
    def chunk_article(self) -> np.ndarray:
        """Article number of each chunk row (positions in `article_ids`)."""
        pos = {a: i for i, a in enumerate(self.article_ids)}
        return np.array([pos[c.article_id] for c in self.index.data.chunks], dtype=np.int64)

    @cached_property
    def article_ids(self) -> list[str]:
        return list(dict.fromkeys(c.article_id for c in self.index.data.chunks))

    @cached_property
    def cos(self) -> np.ndarray:
        """Question-chunk cosine for every query and chunk (inner product of unit vectors)."""
        return self.qvecs @ self.index.data.vectors.T

    @cached_property
    def boilerplate(self) -> set[str]:
        return boilerplate_titles([a.title for a in self.index.data.articles.values()])

    def bm25_model(self, cfg: Bm25Config) -> object:
        if cfg not in self._bm25:
            import bm25s

            arts = self.index.data.articles
            texts = []
            for c in self.index.data.chunks:
                title = arts[c.article_id].title
                if cfg.field == "text" or (
                    cfg.field == "distinct+text" and title_template(title) in self.boilerplate
                ):
                    texts.append(c.text)
                else:
                    texts.append(f"{title}\n{c.text}")
            model = bm25s.BM25(k1=cfg.k1, b=cfg.b, method="lucene")
            model.index(tokenize(texts, cfg.stoplist()), show_progress=False)
            self._bm25[cfg] = model
        return self._bm25[cfg]

    def bm25(self, cfg: Bm25Config, qi: int) -> np.ndarray:
        """BM25 score of every chunk for query `qi`, `(n_chunks,)` float32 (0 = no match)."""
        key = (cfg, qi)
        if key not in self._bm25_rows:
            question = self.queries[qi].question
            self._bm25_rows[key] = bm25_scores(self.bm25_model(cfg), question, cfg)
        return self._bm25_rows[key]

    def sentence_tokens(self, row: int) -> list[set[str]]:
        """The stemmed words of each sentence of chunk `row` (cached)."""
        if row not in self._sentence_words:
            chunk = self.index.data.chunks[row]
            text = self.index.data.articles[chunk.article_id].text
            self._sentence_words[row] = [
                set(t) for t in tokenize([text[s:e] for s, e in chunk.sentences])
            ]
        return self._sentence_words[row]

    def sentence_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sentence-vector rows of the given chunks, and for each the position of its chunk."""
        off = self.index.sentence_offsets
        spans = [np.arange(off[r], off[r + 1]) for r in rows]
        owner = np.repeat(np.arange(len(rows)), [len(s) for s in spans])
        return (np.concatenate(spans) if spans else np.zeros(0, np.int64)), owner


def bm25_scores(model: object, question: str, cfg: Bm25Config) -> np.ndarray:
    words = [w for w in tokenize([question], cfg.stoplist())[0] if w in model.vocab_dict]  # type: ignore[attr-defined]
    if not words:
        return np.zeros(model.scores["num_docs"], dtype=np.float32)  # type: ignore[attr-defined]
    return np.asarray(model.get_scores(words), dtype=np.float32)  # type: ignore[attr-defined]


def load_bench(dataset: Path, index_dir: Path, qcache: Path) -> Bench:
    """Load the dataset's answerable queries, the cached index and the question vectors."""
    ds = load_dataset(dataset)
    queries = [q for q in ds.queries if q.answerable]
    index = store.load(index_dir, {})
    qvecs = _encoded([q.question for q in queries], qcache / f"{ds.name}-questions.npz")
    return Bench(ds.name, index, queries, qvecs)


def _encoded(texts: list[str], path: Path) -> np.ndarray:
    """Unit vectors of `texts`, from `path` when it holds exactly these texts."""
    if path.exists():
        saved = np.load(path, allow_pickle=False)
        if list(saved["texts"]) == texts:
            return saved["vectors"]
    from qa.config import Settings
    from qa.embed.embedding import Embedder

    emb = Embedder.load(Settings.from_env().model)
    vectors = np.concatenate([emb.encode_query(t) for t in texts]) if texts else np.zeros((0, 384))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, texts=np.array(texts), vectors=vectors.astype(np.float32))
    return vectors.astype(np.float32)


# ---------------------------------------------------------------- building blocks


def top_rows(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Rows of the `k` highest scores (only where `mask`), best first."""
    rows = np.flatnonzero(mask) if mask is not None else np.arange(len(scores))
    if len(rows) > k:
        rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
    return rows[np.argsort(-scores[rows], kind="stable")]


def collapse(b: Bench, rows: np.ndarray, scores: np.ndarray, pool: str = "max") -> list[str]:
    """Chunk scores as an article ranking. `max`: each article at its best chunk; `top2`: best
    plus half the second best; `mean2`: mean of the best two (the best alone for one chunk)."""
    order = np.argsort(-scores, kind="stable")
    best: dict[int, list[float]] = {}
    for i in order:
        best.setdefault(int(b.chunk_article[rows[i]]), []).append(float(scores[i]))
    if pool == "max":
        ranked = list(best)
    else:

        def pooled(s: list[float]) -> float:
            if pool == "top2":
                return s[0] + 0.5 * (s[1] if len(s) > 1 else 0.0)
            return (s[0] + s[1]) / 2 if len(s) > 1 else s[0]

        ranked = sorted(best, key=lambda a: -pooled(best[a]))
    return [b.article_ids[a] for a in ranked]


def candidates(b: Bench, qi: int, cfg: Bm25Config, depth: int) -> np.ndarray:
    """The union of the dense top `depth` and the BM25 top `depth` chunk rows."""
    bm = b.bm25(cfg, qi)
    dense = top_rows(b.cos[qi], depth)
    kw = top_rows(bm, depth, bm > 0)
    return np.array(list(dict.fromkeys([*dense.tolist(), *kw.tolist()])), dtype=np.int64)


def _minmax(x: np.ndarray) -> np.ndarray:
    span = float(x.max() - x.min()) if len(x) else 0.0
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std()) if len(x) else 0.0
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def _rrf(rank: np.ndarray, k: float) -> np.ndarray:
    return 1.0 / (k + rank)


def fused(
    b: Bench,
    qi: int,
    cfg: Bm25Config = Bm25Config(),
    *,
    depth: int = 100,
    norm: str = "max",
    w: float = 0.3,
    rrf_k: float = 60.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate rows and their fused dense + BM25 scores.

    norm "max":    cos + w · bm25 / max bm25 of the query (over the whole corpus)
    norm "minmax": minmax(cos) + w · minmax(bm25), both over the candidate pool
    norm "z":      z(cos) + w · z(bm25), z-scores over the candidate pool
    norm "rrf":    1/(k + dense rank) + 1/(k + BM25 rank), ranks within each top `depth`
    """
    rows = candidates(b, qi, cfg, depth)
    bm_all = b.bm25(cfg, qi)
    cos, bm = b.cos[qi][rows], bm_all[rows]
    if norm == "max":
        score = cos + w * bm / (float(bm_all.max()) or 1.0)
    elif norm == "minmax":
        score = _minmax(cos) + w * _minmax(bm)
    elif norm == "z":
        score = _z(cos) + w * _z(bm)
    elif norm == "rrf":
        d_rank = np.full(len(rows), np.inf)
        k_rank = np.full(len(rows), np.inf)
        d_rank[np.argsort(-cos, kind="stable")[:depth]] = np.arange(1, min(depth, len(rows)) + 1)
        k_order = np.argsort(-bm, kind="stable")
        k_order = k_order[bm[k_order] > 0][:depth]
        k_rank[k_order] = np.arange(1, len(k_order) + 1)
        score = _rrf(d_rank, rrf_k) + _rrf(k_rank, rrf_k)
    else:
        raise ValueError(f"Unknown normalisation {norm!r}: use max, minmax, z or rrf.")
    return rows, score.astype(np.float32)


def best_sentence(b: Bench, qvec: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each chunk's best sentence cosine: stored sentence vectors · the question vector."""
    srows, owner = b.sentence_rows(rows)
    sims = b.index.data.sentence_vectors[srows].astype(np.float32) @ qvec
    out = np.full(len(rows), -1.0, dtype=np.float32)
    np.maximum.at(out, owner, sims)
    return out


def sentence_coverage(b: Bench, qi: int, cfg: Bm25Config, rows: np.ndarray) -> np.ndarray:
    """Each chunk's best sentence by query-term coverage: the IDF-weighted share of the
    question's (stemmed) words that the sentence contains, 0 to 1."""
    model = b.bm25_model(cfg)
    words = [w for w in dict.fromkeys(tokenize([b.queries[qi].question])[0])]
    words = [w for w in words if w in model.vocab_dict]  # type: ignore[attr-defined]
    if not words:
        return np.zeros(len(rows), np.float32)
    n = model.scores["num_docs"]  # type: ignore[attr-defined]
    indptr = model.scores["indptr"]  # type: ignore[attr-defined]
    idf = {}
    for w in words:
        t = model.vocab_dict[w]  # type: ignore[attr-defined]
        df = int(indptr[t + 1] - indptr[t])
        idf[w] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
    total = sum(idf.values())
    out = np.zeros(len(rows), np.float32)
    for i, r in enumerate(rows):
        for sent in b.sentence_tokens(int(r)):
            out[i] = max(out[i], sum(idf[w] for w in words if w in sent) / total)
    return out


# ---------------------------------------------------------------- metrics


def metrics(b: Bench, rankings: list[list[str]]) -> dict[str, float]:
    """Article-level hit@1/4/10 and mrr@10 from ranx; both-in-top-5 and single hit@1 when the
    dataset has two-article questions."""
    from ranx import Qrels, Run, evaluate

    qrels = {q.id: {e.article_id: 1 for e in q.evidence} for q in b.queries}
    run = {
        q.id: {a: float(DEPTH - i) for i, a in enumerate(r[:DEPTH])} or {"\x00none": 0.0}
        for q, r in zip(b.queries, rankings, strict=True)
    }
    names = ["hit_rate@1", "hit_rate@4", "hit_rate@10", "mrr@10"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's notices inside ranx
        scores = evaluate(Qrels(qrels), Run(run), names, make_comparable=True)
    out = {n.replace("hit_rate", "hit"): round(float(scores[n]), 4) for n in names}
    two = [i for i, q in enumerate(b.queries) if q.type == "two_article"]
    if two:
        both = [
            set(e.article_id for e in b.queries[i].evidence) <= set(rankings[i][:5]) for i in two
        ]
        out["both@5"] = round(float(np.mean(both)), 4)
        single = [i for i, q in enumerate(b.queries) if q.type == "single"]
        hit1 = [rankings[i][0] in {e.article_id for e in b.queries[i].evidence} for i in single]
        out["single_hit@1"] = round(float(np.mean(hit1)), 4)
    return out


# ---------------------------------------------------------------- questions about two things

_COMPARISON = re.compile(r"^(?P<head>[^:,]+?)[:,]\s+(?P<a>.+?),?\s+or\s+(?P<b>.+?)\??$")


def split_question(question: str) -> list[str]:
    """The parts of a question that names two things, or [] for a question about one.

    - a comparison "Which is bigger: A, or B?" / "Who is older, A or B?" → "head A", "head B"
    - "… both A and B" → "… A", "… B"; "… the same … A and B" → "… A", "B"
    - several sentences ("X used to chair a club. Which club is that?") → each sentence
    A part needs two words besides stopwords, so "Which club is that?" alone is dropped.
    """
    q = " ".join(question.split())
    parts: list[str] = []
    if m := _COMPARISON.match(q):
        parts = [f"{m['head']}: {m['a']}", f"{m['head']}: {m['b']}"]
    elif re.search(r"\bboth\b|\bthe same\b", q, re.I) and " and " in q:
        before, _, after = q.rstrip("?").rpartition(" and ")
        head, both, rest = (re.split(r"\b(both)\s+", before, maxsplit=1, flags=re.I) + ["", ""])[:3]
        parts = [head + rest, head + after] if both else [before, after]
    else:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", q) if s]
        if len(sentences) > 1:
            parts = sentences
    parts = [p for p in parts if len(tokenize([p])[0]) >= 2]
    return [p for p in parts if p != q]


def part_vectors(b: Bench, qcache: Path) -> dict[str, np.ndarray]:
    """Question vectors of every part of every split question (encoded once, cached)."""
    parts = sorted({p for q in b.queries for p in split_question(q.question)})
    vecs = _encoded(parts, qcache / f"{b.name}-parts.npz") if parts else np.zeros((0, 384))
    return dict(zip(parts, vecs, strict=True))


def interleave(rankings: Sequence[Sequence[str]]) -> list[str]:
    """Round-robin merge, the first ranking leading each round; repeats are skipped."""
    out: dict[str, None] = {}
    for rank in range(max((len(r) for r in rankings), default=0)):
        for r in rankings:
            if rank < len(r):
                out.setdefault(r[rank], None)
    return list(out)


# ---------------------------------------------------------------- second stages


def with_sentences(
    b: Bench, qi: int, rows: np.ndarray, score: np.ndarray, a: float, top: int = 50
) -> np.ndarray:
    """The top `top` candidates rescored as score + a · best sentence cosine, kept above the
    rest (whose order is unchanged)."""
    order = np.argsort(-score, kind="stable")
    head = order[:top]
    out = score.copy()
    out[head] = score[head] + a * best_sentence(b, b.qvecs[qi], rows[head])
    out[order[top:]] = out[head].min() - 1.0 - np.arange(len(order) - len(head)) * 1e-6
    return out


def mmr(b: Bench, rows: np.ndarray, score: np.ndarray, lam: float, top: int = 30) -> list[str]:
    """Articles picked greedily by lam · score − (1 − lam) · the largest cosine between the
    article's best chunk and the best chunk of an article already picked."""
    order = np.argsort(-score, kind="stable")
    best: dict[int, int] = {}
    for i in order:
        best.setdefault(int(b.chunk_article[rows[i]]), int(i))
    arts = list(best)[:top]
    vecs = b.index.data.vectors[[rows[best[a]] for a in arts]]
    rel = np.array([score[best[a]] for a in arts])
    sim = vecs @ vecs.T
    picked: list[int] = []
    left = list(range(len(arts)))
    while left:
        red = sim[np.ix_(left, picked)].max(axis=1) if picked else np.zeros(len(left))
        j = left[int(np.argmax(lam * rel[left] - (1 - lam) * red))]
        picked.append(j)
        left.remove(j)
    rest = [b.article_ids[a] for a in list(best)[top:]]
    return [b.article_ids[arts[j]] for j in picked] + rest


def split_ranking(b: Bench, qi: int, cfg: Bm25Config, w: float, depth: int) -> list[str]:
    """The full question's article ranking interleaved with each part's (see `split_question`)."""
    full = collapse(b, *fused(b, qi, cfg, depth=depth, w=w))
    parts = split_question(b.queries[qi].question)
    rankings = [full]
    for p in parts:
        qvec = b.part_vecs[p]
        bm_all = bm25_scores(b.bm25_model(cfg), p, cfg)
        rows = np.array(
            list(
                dict.fromkeys(
                    [
                        *top_rows(b.index.data.vectors @ qvec, depth).tolist(),
                        *top_rows(bm_all, depth, bm_all > 0).tolist(),
                    ]
                )
            ),
            dtype=np.int64,
        )
        score = b.index.data.vectors[rows] @ qvec + w * bm_all[rows] / (float(bm_all.max()) or 1.0)
        rankings.append(collapse(b, rows, score))
    return interleave(rankings)


# ---------------------------------------------------------------- the variants

Variant = Callable[[Bench, int], list[str]]
TEXT = Bm25Config(field="text")
TITLE = Bm25Config(field="title+text")
DISTINCT = Bm25Config(field="distinct+text")
TEXT_B1 = Bm25Config(field="text", k1=2.0, b=1.0)
DISTINCT_B1 = Bm25Config(field="distinct+text", k1=2.0, b=1.0)
QA_B1 = Bm25Config(field="distinct+text", k1=2.0, b=1.0, stopwords="qa")
BEST = QA_B1
BEST_W = 0.5


def _dense(b: Bench, qi: int) -> list[str]:
    rows = top_rows(b.cos[qi], 200)
    return collapse(b, rows, b.cos[qi][rows])


def _bm25(cfg: Bm25Config) -> Variant:
    def run(b: Bench, qi: int) -> list[str]:
        s = b.bm25(cfg, qi)
        rows = top_rows(s, 200, s > 0)
        return collapse(b, rows, s[rows])

    return run


def _fusion(
    cfg: Bm25Config,
    norm: str = "max",
    w: float = 0.3,
    depth: int = 100,
    rrf_k: float = 60.0,
    pool: str = "max",
) -> Variant:
    def run(b: Bench, qi: int) -> list[str]:
        return collapse(b, *fused(b, qi, cfg, norm=norm, w=w, depth=depth, rrf_k=rrf_k), pool)

    return run


def _sentences(a: float) -> Variant:
    def run(b: Bench, qi: int) -> list[str]:
        rows, score = fused(b, qi, BEST, w=BEST_W)
        return collapse(b, rows, with_sentences(b, qi, rows, score, a))

    return run


def _coverage(c: float) -> Variant:
    def run(b: Bench, qi: int) -> list[str]:
        rows, score = fused(b, qi, BEST, w=BEST_W)
        order = np.argsort(-score, kind="stable")[:50]
        score = score.copy()
        score[order] += c * sentence_coverage(b, qi, BEST, rows[order])
        return collapse(b, rows[order], score[order])

    return run


def _mmr(lam: float) -> Variant:
    return lambda b, qi: mmr(b, *fused(b, qi, BEST, w=BEST_W), lam)


VARIANTS: dict[str, Variant] = {
    # baselines
    "dense": _dense,
    "bm25": _bm25(TEXT),
    "rrf60": _fusion(TEXT, "rrf"),
    "wsum0.3": _fusion(TEXT, "max", 0.3),
    # 1. BM25 fields and parameters
    "bm25-title": _bm25(TITLE),
    "bm25-distinct": _bm25(DISTINCT),
    "bm25-text-k2b1": _bm25(TEXT_B1),
    "bm25-distinct-k2b1": _bm25(DISTINCT_B1),
    # 2. fusion
    "rrf10": _fusion(TEXT, "rrf", rrf_k=10),
    "rrf10-d200": _fusion(TEXT, "rrf", rrf_k=10, depth=200),
    "minmax0.4": _fusion(TEXT, "minmax", 0.4),
    "z0.6": _fusion(TEXT, "z", 0.6),
    "wsum0.5": _fusion(TEXT, "max", 0.5),
    "wsum0.5-title": _fusion(TITLE, "max", 0.5),
    "wsum0.5-distinct": _fusion(DISTINCT, "max", 0.5),
    "wsum0.3-text-k2b1": _fusion(TEXT_B1, "max", 0.3),
    "wsum0.5-text-k2b1": _fusion(TEXT_B1, "max", 0.5),
    "wsum0.3-distinct-k2b1": _fusion(DISTINCT_B1, "max", 0.3),
    "wsum0.5-distinct-k2b1": _fusion(DISTINCT_B1, "max", 0.5),
    "wsum0.7-distinct-k2b1": _fusion(DISTINCT_B1, "max", 0.7),
    "rrf10-distinct-k2b1": _fusion(DISTINCT_B1, "rrf", rrf_k=10),
    "z0.6-distinct-k2b1": _fusion(DISTINCT_B1, "z", 0.6),
    # the product's stopwords (question words dropped too)
    "bm25-qa-k2b1": _bm25(QA_B1),
    "rrf60-qa-k2b1": _fusion(QA_B1, "rrf"),
    "wsum0.5-qa-k2b1": _fusion(QA_B1, "max", 0.5),
    "wsum0.7-qa-k2b1": _fusion(QA_B1, "max", 0.7),
    "best-d50": _fusion(BEST, "max", BEST_W, depth=50),
    "best-d200": _fusion(BEST, "max", BEST_W, depth=200),
    # 3. sentence second stage (top 50)
    "best+sent0.25": _sentences(0.25),
    "best+sent0.5": _sentences(0.5),
    "best+cov0.2": _coverage(0.2),
    # 4. article pooling
    "best-pool-top2": _fusion(BEST, "max", BEST_W, pool="top2"),
    "best-pool-mean2": _fusion(BEST, "max", BEST_W, pool="mean2"),
    # 5. two-article questions
    "best+mmr0.9": _mmr(0.9),
    "best+mmr0.7": _mmr(0.7),
    "best+split": lambda b, qi: split_ranking(b, qi, BEST, BEST_W, 100),
}


# ---------------------------------------------------------------- timing and the command


def live_dense(b: Bench, qvec: np.ndarray) -> list[str]:
    """Dense as served: FAISS top 200, collapsed to articles."""
    sims, rows = b.index.faiss_index.search(qvec.reshape(1, -1), 200)
    return collapse(b, rows[0], sims[0])


def live_best(b: Bench, question: str, qvec: np.ndarray) -> list[str]:
    """The best strategy as served, with nothing precomputed: FAISS top 100, BM25 scores of
    every chunk, the union of both top 100s scored cos + w · bm25 / max bm25, collapsed."""
    _, dense_rows = b.index.faiss_index.search(qvec.reshape(1, -1), 100)
    bm_all = bm25_scores(b.bm25_model(BEST), question, BEST)
    rows = np.array(
        list(dict.fromkeys([*dense_rows[0].tolist(), *top_rows(bm_all, 100, bm_all > 0).tolist()]))
    )
    score = b.index.data.vectors[rows] @ qvec + BEST_W * bm_all[rows] / (float(bm_all.max()) or 1.0)
    return collapse(b, rows, score)


def timings(b: Bench) -> dict[str, float]:
    """Median ms per query (question encoding excluded: the same for every strategy), and the
    served best strategy's metrics, to check it against the evaluated one."""
    out = {}
    for name, fn in (
        ("dense_ms", lambda qi: live_dense(b, b.qvecs[qi])),
        ("best_ms", lambda qi: live_best(b, b.queries[qi].question, b.qvecs[qi])),
    ):
        fn(0)
        ms = []
        for qi in range(len(b.queries)):
            t = time.perf_counter()
            fn(qi)
            ms.append((time.perf_counter() - t) * 1000)
        out[name] = round(float(np.median(ms)), 2)
    live = [live_best(b, q.question, b.qvecs[i]) for i, q in enumerate(b.queries)]
    out["best_live_metrics"] = metrics(b, live)  # should equal wsum0.5-distinct-k2b1's
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, required=True, help="dataset folder")
    parser.add_argument("--index", type=Path, required=True, help="cached index folder")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--qcache", type=Path, default=Path("/tmp/qa-retrieval-variants"))
    parser.add_argument("--time", action="store_true", help="also time dense and the best")
    args = parser.parse_args(argv)

    b = load_bench(args.dataset, args.index, args.qcache)
    b.part_vecs = part_vectors(b, args.qcache)
    rows: dict[str, dict[str, float]] = {}
    for name in args.variants:
        t = time.perf_counter()
        rankings = [VARIANTS[name](b, qi) for qi in range(len(b.queries))]
        rows[name] = metrics(b, rankings)
        rows[name]["seconds"] = round(time.perf_counter() - t, 1)
        print(_row(name, rows[name]), flush=True)
    result = {
        "dataset": b.name,
        "index": str(args.index),
        "queries": len(b.queries),
        "split_questions": sum(bool(split_question(q.question)) for q in b.queries),
        "boilerplate_titles": sorted(b.boilerplate),
        "variants": rows,
    }
    if args.time:
        result["timing"] = timings(b)
        print(result["timing"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"retrieval_variants_{b.name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


def _row(name: str, m: dict[str, float]) -> str:
    cols = ["hit@1", "hit@4", "hit@10", "mrr@10", "both@5", "single_hit@1"]
    return f"{name:24s} " + " ".join(f"{k}={m[k]:.3f}" for k in cols if k in m)


if __name__ == "__main__":
    sys.exit(main())
