"""Split articles into sentence-aligned chunks that fit the embedding model's window.

TO BE IMPLEMENTED (contract fixed; see the docstrings).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article: `article.text[start:end] == text`."""

    article_id: str
    chunk_id: str  # f"{article_id}#{n}", n counting from 0 within the article
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # article-relative (start, end) of each sentence
