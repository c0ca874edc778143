"""Find the chunks closest to a question: dense top-k over the FAISS index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.chunking import Chunk
from qa.store import LoadedIndex


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk; `row` is its FAISS id and its row in the chunk table."""

    row: int
    chunk: Chunk
    score: float
    rank: int  # 1-based


def search(index: LoadedIndex, query: np.ndarray, k: int) -> list[Hit]:
    """The `k` chunks with the highest cosine similarity to the `(1, dim)` query vector."""
    k = min(k, index.faiss_index.ntotal)
    if k <= 0:
        return []
    scores, rows = index.faiss_index.search(np.ascontiguousarray(query, dtype=np.float32), k)
    chunks = index.data.chunks
    return [
        Hit(row=int(r), chunk=chunks[int(r)], score=float(s), rank=i + 1)
        for i, (s, r) in enumerate(zip(scores[0], rows[0], strict=True))
        if r >= 0
    ]
