"""Read a folder of articles and clean them into `Article`s.

TO BE IMPLEMENTED (contract fixed; see the docstrings).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Article:
    """One cleaned article. Chunk offsets index into `text` (the body, without the title)."""

    id: str
    title: str
    text: str
    published: str | None = None  # ISO date, YYYY-MM-DD (or a longer ISO timestamp) when known
    source: str | None = None
    url: str | None = None
    category: str | None = None
    path: str | None = None  # the file it came from, relative to the corpus folder

    @property
    def content_hash(self) -> str:
        """A hash of everything that ends up in the index, to detect changed articles."""
        payload = json.dumps(
            [self.title, self.text, self.published, self.source, self.url, self.category],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Skipped:
    """A file (or a line of a file) that was not read, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class CorpusRead:
    articles: list[Article]
    skipped: list[Skipped]
