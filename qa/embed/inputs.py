"""What the model reads for each chunk: its article's headline line, then its text.

The same input gives the same vectors, so its hash (`text_hash`) is the key of the vector
cache an update reuses. A build makes the inputs when they are asked for (`ModelInputs`), batch
by batch, rather than holding the corpus's text a second time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from qa.embed.embedding import Embedder, Span
from qa.ingest.chunking import Chunk
from qa.ingest.corpus import Article
from qa.lazy import LazySequence
from qa.text import headline_template

TITLE_TOKENS_MAX = 48  # longer headlines are not prefixed: they would crowd out the passage


def text_hash(text: str, spans: list[tuple[int, int]]) -> str:
    """The vector cache key: what the model reads and where its sentences are, nothing else.

    Two chunks with the same hash get the same chunk and sentence vectors from the model, so
    one can stand for the other. The model itself is not in the key: an update only reuses the
    vectors of a generation whose manifest names the same model and chunking.
    """
    payload = json.dumps([text, spans], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def embed_input(chunk: Chunk, prefix: str) -> tuple[str, list[Span]]:
    """The text the model sees for a chunk, and its sentences' spans within that text."""
    return prefix + chunk.text, input_spans(chunk, prefix)


def input_spans(chunk: Chunk, prefix: str) -> list[Span]:
    """The chunk's sentence spans within `prefix + chunk.text`."""
    shift = len(prefix) - chunk.start
    return [(s + shift, e + shift) for s, e in chunk.sentences]


class ModelInputs(LazySequence[str]):
    """What the model reads for each chunk (`embed_input`), made when asked for: a build holds
    the chunks and one headline line per article, never the corpus's text a second time.
    `spans[k]` are input k's sentence spans, likewise made when asked for."""

    def __init__(self, chunks: Sequence[Chunk], prefixes: Sequence[str]) -> None:
        self.chunks = chunks
        self.prefixes = prefixes  # per chunk, its article's headline line (one shared str)
        self.spans = _InputSpans(self)

    def __len__(self) -> int:
        return len(self.chunks)

    def _item(self, k: int) -> str:
        return self.prefixes[k] + self.chunks[k].text

    def select(self, picks: Sequence[int]) -> ModelInputs:
        """The inputs at `picks`, in that order."""
        return ModelInputs(_Picked(self.chunks, picks), _Picked(self.prefixes, picks))


class _Picked(LazySequence):
    """`items[picks[i]]` for each i, without copying the items."""

    def __init__(self, items: Sequence, picks: Sequence[int]) -> None:
        self.items, self.picks = items, picks

    def __len__(self) -> int:
        return len(self.picks)

    def _item(self, i: int) -> Any:
        return self.items[self.picks[i]]


class _InputSpans(LazySequence[list[Span]]):
    def __init__(self, inputs: ModelInputs) -> None:
        self.inputs = inputs

    def __len__(self) -> int:
        return len(self.inputs)

    def _item(self, k: int) -> list[Span]:
        return input_spans(self.inputs.chunks[k], self.inputs.prefixes[k])


def headlines(
    articles: list[Article], embedder: Embedder, boilerplate: set[str]
) -> list[tuple[str, int]]:
    """The headline line put before each article's chunks, and its tokens ("" and 0 when the
    headline is empty, too long, or boilerplate: "CNN news quiz 2025-01-10: answer evidence"
    on 800 articles would pull their vectors together and away from what each one says)."""
    counts = embedder.count_tokens([a.title for a in articles])
    return [
        (f"{a.title}\n", n)
        if 0 < n <= TITLE_TOKENS_MAX and headline_template(a.title) not in boilerplate
        else ("", 0)
        for a, n in zip(articles, counts, strict=True)
    ]
