"""Find the chunks that answer a question: dense, keyword (BM25) or both fused.

    dense    cosine of question and chunk vectors (FAISS)
    bm25     BM25 over chunk text plus headline (`qa.keyword`)
    hybrid   the union of both candidate lists, scored by a weighted sum of the cosine and the
             BM25 score scaled by the query's best BM25 score (or by reciprocal rank fusion)

Filters (source, category, date range) are applied inside the search, before the top k is
taken, so a filtered question still gets k chunks when k exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from qa.chunking import Chunk
from qa.errors import UsageError
from qa.store import LoadedIndex

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")
Fusion = Literal["weighted", "rrf"]
RRF_K = 60  # the usual reciprocal-rank-fusion constant


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk; `row` is its FAISS id and its row in the chunk table.

    `score` ranks the hits in the mode used; `dense` is always the question-chunk cosine and
    `keyword` the raw BM25 score (0 without keyword retrieval), so later stages compare like
    with like across modes.
    """

    row: int
    chunk: Chunk
    score: float
    rank: int  # 1-based
    dense: float = 0.0
    keyword: float = 0.0


@dataclass(frozen=True)
class Filters:
    """Which articles a question may draw on; empty fields do not filter."""

    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    since: str | None = None  # ISO date, inclusive
    until: str | None = None  # ISO date, inclusive

    def __bool__(self) -> bool:
        return bool(self.sources or self.categories or self.since or self.until)

    def allowed_rows(self, index: LoadedIndex) -> np.ndarray:
        """Boolean mask over chunk rows of the chunks whose article passes every filter."""
        sources = {s.casefold() for s in self.sources}
        categories = {c.casefold() for c in self.categories}
        ok_articles = set()
        for article in index.data.articles.values():
            if sources and (article.source or "").casefold() not in sources:
                continue
            if categories and (article.category or "").casefold() not in categories:
                continue
            day = (article.published or "")[:10]
            if (self.since or self.until) and not day:
                continue  # an undated article cannot be shown to fall inside the range
            if self.since and day < self.since[:10]:
                continue
            if self.until and day > self.until[:10]:
                continue
            ok_articles.add(article.id)
        return np.fromiter(
            (c.article_id in ok_articles for c in index.data.chunks), bool, len(index.data.chunks)
        )


@dataclass(frozen=True)
class Strategy:
    """How to retrieve; the defaults are the ones measured best (see README, Evaluation)."""

    mode: Mode = "hybrid"
    fusion: Fusion = "weighted"
    keyword_weight: float = 0.3  # weight of the scaled BM25 score beside the cosine
    candidates: int = 100  # per retriever, before fusion


def retrieve(
    index: LoadedIndex,
    query: np.ndarray,
    question: str,
    k: int,
    strategy: Strategy = Strategy(),
    filters: Filters = Filters(),
) -> list[Hit]:
    """The top `k` chunks for the question in the strategy's mode, best first."""
    if strategy.mode not in MODES:
        raise UsageError(f"Unknown mode {strategy.mode!r}: use one of {', '.join(MODES)}.")
    n = index.faiss_index.ntotal
    allowed = filters.allowed_rows(index) if filters else None
    if n == 0 or k <= 0 or (allowed is not None and not allowed.any()):
        return []
    q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    depth = max(k, strategy.candidates) if strategy.mode == "hybrid" else k
    dense_rows = _dense_rows(index, q, depth, allowed) if strategy.mode != "bm25" else []
    keyword = _keyword_scores(index, question, allowed) if strategy.mode != "dense" else None
    if keyword is not None:
        keyword_rows = _top(keyword, depth, keyword > 0)
        scale = float(keyword.max()) or 1.0
    else:
        keyword_rows, scale = [], 1.0
    rows = list(dict.fromkeys([*dense_rows, *keyword_rows]))
    cos = index.data.vectors[rows] @ q[0] if rows else np.zeros(0, np.float32)
    kw = keyword[rows] / scale if keyword is not None else np.zeros(len(rows), np.float32)
    if strategy.mode == "dense":
        fused = cos
    elif strategy.mode == "bm25":
        fused = kw
    elif strategy.fusion == "rrf":
        fused = np.array([_rrf(r, dense_rows) + _rrf(r, keyword_rows) for r in rows])
    else:
        fused = cos + strategy.keyword_weight * kw
    order = np.argsort(-fused, kind="stable")[:k]
    chunks = index.data.chunks
    return [
        Hit(
            row=int(rows[i]),
            chunk=chunks[rows[i]],
            score=float(fused[i]),
            rank=rank,
            dense=float(cos[i]),
            keyword=float(kw[i] * scale),
        )
        for rank, i in enumerate(order, start=1)
    ]


def search(index: LoadedIndex, query: np.ndarray, k: int) -> list[Hit]:
    """Dense top-k without filters: the plain cosine ranking."""
    return retrieve(index, query, "", k, Strategy(mode="dense"))


def _dense_rows(index: LoadedIndex, q: np.ndarray, k: int, allowed: np.ndarray | None) -> list[int]:
    import faiss

    params = None
    if allowed is not None:
        ids = np.flatnonzero(allowed).astype(np.int64)
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids))
        k = min(k, len(ids))
    _, rows = index.faiss_index.search(q, min(k, index.faiss_index.ntotal), params=params)
    return [int(r) for r in rows[0] if r >= 0]


def _keyword_scores(index: LoadedIndex, question: str, allowed: np.ndarray | None) -> np.ndarray:
    from qa import keyword

    if index.keyword is None:
        raise UsageError(
            "This index has no keyword (BM25) part: run `qa index build` to add it, "
            "or use --mode dense."
        )
    scores = keyword.scores(index.keyword, question)
    return np.where(allowed, scores, 0.0).astype(np.float32) if allowed is not None else scores


def _top(scores: np.ndarray, k: int, mask: np.ndarray) -> list[int]:
    candidates = np.flatnonzero(mask)
    if len(candidates) > k:
        candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
    return [int(r) for r in candidates[np.argsort(-scores[candidates], kind="stable")]]


def _rrf(row: int, ranked: list[int]) -> float:
    try:
        return 1.0 / (RRF_K + ranked.index(row) + 1)
    except ValueError:
        return 0.0
