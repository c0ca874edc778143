"""Find the chunks that answer a question: dense, keyword (BM25), or both fused.

    dense    cosine of the question and chunk vectors (FAISS, exact)
    bm25     BM25 over each chunk's text and headline (`qa.index.bm25`)
    rrf      plain reciprocal rank fusion of the two rankings: the textbook hybrid, kept as
             the baseline the default has to beat
    hybrid   the default: both candidate lists, scored by the cosine plus a weighted BM25 score
             scaled by the question's best BM25 score (see README, Evaluation, for the figures)

Filters (source, category, date range) are applied inside the search, before the top k is
taken, so a filtered question still gets k chunks when k exist.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from qa.config import Mode, choice
from qa.errors import UsageError
from qa.index import ann, bm25
from qa.index.store import LoadedIndex
from qa.ingest.chunking import Chunk

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}($|[T ])")  # compared as text: only this form


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk; `row` is its FAISS id and its row in the chunk table.

    `score` ranks the hits in the mode used; `dense` is always the question–chunk cosine and
    `keyword` the raw BM25 score (0 when the mode used no keyword retrieval), so later stages
    compare like with like whatever the mode.
    """

    row: int
    chunk: Chunk
    score: float
    rank: int  # 1-based
    dense: float = 0.0
    keyword: float = 0.0
    dense_rank: int | None = None  # 1-based, among the dense candidates; None: not among them
    keyword_rank: int | None = None  # ... among the BM25 candidates


@dataclass(frozen=True)
class Filters:
    """Which articles a question may draw on; empty fields do not filter.

    Sources and categories match case-insensitively; `since` and `until` are ISO dates,
    inclusive, and an article with no date never passes a date filter.
    """

    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                if not _ISO_DAY.match(value):
                    raise ValueError(value)
                dt.date.fromisoformat(value[:10])
            except ValueError:
                raise UsageError(
                    f"{name}={value!r} is not a date: write it as YYYY-MM-DD, e.g. 2005-01-31."
                ) from None
        if self.since and self.until and self.since[:10] > self.until[:10]:
            raise UsageError(f"since {self.since} is after until {self.until}: swap them.")

    def __bool__(self) -> bool:
        return bool(self.sources or self.categories or self.since or self.until)

    def describe(self) -> str:
        """One line naming the active filters, e.g. "Filters active: category = sport · since
        2005-01-01"; empty when nothing filters. The chat and the CLI both say it."""
        parts = []
        if self.sources:
            parts.append("source = " + ", ".join(self.sources))
        if self.categories:
            parts.append("category = " + ", ".join(self.categories))
        if self.since:
            parts.append(f"since {self.since}")
        if self.until:
            parts.append(f"until {self.until}")
        return "Filters active: " + " · ".join(parts) if parts else ""

    def admits(self, source: str | None, category: str | None, published: str | None) -> bool:
        if self.sources and (source or "").casefold() not in {s.casefold() for s in self.sources}:
            return False
        wanted = {c.casefold() for c in self.categories}
        if self.categories and (category or "").casefold() not in wanted:
            return False
        day = (published or "")[:10]
        if (self.since or self.until) and not day:
            return False
        if self.since and day < self.since[:10]:
            return False
        return not (self.until and day > self.until[:10])

    def allowed_rows(self, index: LoadedIndex) -> np.ndarray:
        """Boolean mask over chunk rows: the chunks whose article passes every filter."""
        articles = index.data.articles.values()
        ok = {a.id for a in articles if self.admits(a.source, a.category, a.published)}
        rows = index.row_articles
        return np.fromiter((a in ok for a in rows), bool, len(rows))


NO_FILTERS = Filters()


@dataclass(frozen=True)
class Strategy:
    """The knobs of the fused modes; the defaults are the ones measured best."""

    keyword_weight: float = 0.5  # weight of the scaled BM25 score beside the cosine (hybrid)
    candidates: int = 100  # taken from each retriever before fusing
    rrf_k: int = 60  # the usual reciprocal-rank-fusion constant (rrf)


DEFAULT = Strategy()


def retrieve(
    index: LoadedIndex,
    query: np.ndarray,
    question: str,
    k: int,
    mode: Mode = "hybrid",
    filters: Filters = NO_FILTERS,
    strategy: Strategy = DEFAULT,
) -> list[Hit]:
    """The top `k` chunks for the question in `mode`, best first.

    `query` is the question's vector (`Embedder.encode_query`), `question` its text (for BM25).
    """
    choice("mode", mode)
    if mode != "dense" and index.keyword is None:
        raise UsageError(
            f"This index has no keyword (BM25) part, which mode {mode} needs: run "
            "`qa index update` to add it (no re-embedding), or use --mode dense."
        )
    n = index.faiss_index.ntotal
    allowed = filters.allowed_rows(index) if filters else None
    if n == 0 or k <= 0 or (allowed is not None and not allowed.any()):
        return []
    q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    depth = k if mode in ("dense", "bm25") else max(k, strategy.candidates)
    dense_rows = _dense_rows(index, q, depth, allowed) if mode != "bm25" else []
    keyword_scores = None if mode == "dense" else bm25.scores(index.keyword, question, allowed)  # type: ignore[arg-type]
    keyword_rows = _top(keyword_scores, depth) if keyword_scores is not None else []
    rows = np.array(list(dict.fromkeys([*dense_rows, *keyword_rows])), dtype=np.int64)
    if len(rows) == 0:
        return []
    cos = index.data.vectors[rows] @ q[0]
    raw = keyword_scores[rows] if keyword_scores is not None else np.zeros(len(rows), np.float32)
    if mode == "rrf":
        fused = _rrf(rows, dense_rows, strategy.rrf_k) + _rrf(rows, keyword_rows, strategy.rrf_k)
    else:
        fused = _fused(mode, cos, raw, keyword_scores, strategy)
    order = np.argsort(-fused, kind="stable")[:k]
    chunks = index.data.chunks
    dense_rank = {r: n for n, r in enumerate(dense_rows, start=1)}
    keyword_rank = {r: n for n, r in enumerate(keyword_rows, start=1)}
    return [
        Hit(
            row=int(rows[i]),
            chunk=chunks[int(rows[i])],
            score=float(fused[i]),
            rank=rank,
            dense=float(cos[i]),
            keyword=float(raw[i]),
            dense_rank=dense_rank.get(int(rows[i])),
            keyword_rank=keyword_rank.get(int(rows[i])),
        )
        for rank, i in enumerate(order, start=1)
    ]


def _fused(
    mode: Mode,
    cos: np.ndarray,
    raw: np.ndarray,
    keyword_scores: np.ndarray | None,
    strategy: Strategy,
) -> np.ndarray:
    """Each candidate's score in `mode` (not rrf): its cosine, its BM25 score, or (hybrid) the
    cosine plus the BM25 score scaled by the question's best."""
    if mode == "dense":
        return cos
    if mode == "bm25":
        return raw
    best = float(keyword_scores.max()) if keyword_scores is not None else 0.0
    return cos + strategy.keyword_weight * raw / (best if best > 0 else 1.0)


def _dense_rows(index: LoadedIndex, q: np.ndarray, k: int, allowed: np.ndarray | None) -> list[int]:
    return ann.search(index.faiss_index, index.data.vectors, q, k, allowed)


def _top(scores: np.ndarray, k: int) -> list[int]:
    """Rows of the `k` best positive scores, best first."""
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > k:
        candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
    return [int(r) for r in candidates[np.argsort(-scores[candidates], kind="stable")]]


def _rrf(rows: np.ndarray, ranked: list[int], k: int) -> np.ndarray:
    position = {r: i for i, r in enumerate(ranked)}
    return np.array([1.0 / (k + position[r] + 1) if r in position else 0.0 for r in rows])
