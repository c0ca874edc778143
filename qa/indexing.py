"""Build an index: read → chunk → embed → write, with progress and a summary.

Each chunk is embedded as "title\\n chunk text" so a passage that says "the firm" still carries
the story's headline; sentence vectors come from the same pass (see `qa.embedding`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa import store
from qa.chunking import Chunk, chunk_article
from qa.config import Settings
from qa.corpus import Article, CorpusRead, Skipped, read_corpus
from qa.embedding import Embedder
from qa.errors import QAError, UsageError

# stage name, items done, items in the stage
Progress = Callable[[str, int, int], None]
TITLE_TOKENS_MAX = 48  # longer headlines are not prefixed: they would crowd out the passage


@dataclass(frozen=True)
class BuildReport:
    articles: int
    chunks: int
    sentences: int
    skipped: list[Skipped]
    seconds: float
    generation: Path | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    up_to_date: bool = False


def manifest_expectations(settings: Settings, embedder: Embedder | None = None) -> dict[str, Any]:
    """What a loaded index must match: the same model and the same chunking."""
    expect: dict[str, Any] = {"model": settings.model, "chunking": chunking_params(settings)}
    if embedder is not None:
        expect["dimension"] = embedder.dim
    return expect


def chunking_params(settings: Settings) -> dict[str, Any]:
    return {
        "chunk_tokens": settings.chunk_tokens,
        "overlap": settings.chunk_overlap,
        "title_prefix": True,
        "splitter": "blingfire",
    }


def is_up_to_date(settings: Settings, corpus: CorpusRead) -> bool:
    """True when the current index was built from exactly this corpus with these settings."""
    try:
        manifest = store.read_manifest(settings.index)
    except QAError:
        return False
    hashes = {a.id: a.content_hash for a in corpus.articles}
    return (
        manifest.get("format") == store.FORMAT_VERSION
        and manifest.get("model") == settings.model
        and manifest.get("chunking") == chunking_params(settings)
        and manifest.get("articles") == hashes
    )


def build_index(
    settings: Settings,
    embedder: Embedder,
    progress: Progress | None = None,
    corpus: CorpusRead | None = None,
) -> BuildReport:
    """Build a complete index of `settings.corpus` into a new generation of `settings.index`."""
    if settings.chunk_tokens > embedder.max_tokens:
        raise UsageError(
            f"chunk_tokens={settings.chunk_tokens} is above the model's window of "
            f"{embedder.max_tokens} tokens: lower QA_CHUNK_TOKENS."
        )
    report = progress or (lambda stage, done, total: None)
    t0 = time.perf_counter()
    stages: dict[str, float] = {}

    report("reading", 0, 1)
    corpus = corpus or read_corpus(settings.corpus)
    report("reading", 1, 1)
    if not corpus.articles:
        raise UsageError(
            f"No readable articles in {settings.corpus} ({len(corpus.skipped)} files skipped): "
            "add .txt, .md, .html, .json or .jsonl files, or point --corpus elsewhere."
        )
    stages["read"] = time.perf_counter() - t0

    t = time.perf_counter()
    chunks, texts, spans = chunk_corpus(corpus.articles, settings, embedder, report)
    stages["chunk"] = time.perf_counter() - t

    t = time.perf_counter()
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        report("embedding", done, len(texts))

    report("embedding", 0, len(texts))
    vectors = embedder.encode_documents(texts, spans, settings.batch_size, on_batch=advance)
    stages["embed"] = time.perf_counter() - t

    t = time.perf_counter()
    report("writing", 0, 1)
    sentence_vectors = (
        np.concatenate(vectors.span_vectors).astype(np.float16)
        if chunks
        else np.zeros((0, embedder.dim), np.float16)
    )
    manifest = {
        "model": settings.model,
        "dimension": embedder.dim,
        "max_seq_length": embedder.max_tokens,
        "chunking": chunking_params(settings),
        "corpus": str(settings.corpus),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "counts": {
            "articles": len(corpus.articles),
            "chunks": len(chunks),
            "sentences": int(len(sentence_vectors)),
            "skipped": len(corpus.skipped),
        },
        "articles": {a.id: a.content_hash for a in corpus.articles},
    }
    data = store.IndexData(
        manifest=manifest,
        articles={a.id: a for a in corpus.articles},
        chunks=chunks,
        vectors=vectors.vectors,
        sentence_vectors=sentence_vectors,
    )
    generation = store.save(settings.index, data)
    report("writing", 1, 1)
    stages["write"] = time.perf_counter() - t
    seconds = time.perf_counter() - t0
    return BuildReport(
        articles=len(corpus.articles),
        chunks=len(chunks),
        sentences=int(len(sentence_vectors)),
        skipped=corpus.skipped,
        seconds=seconds,
        generation=generation,
        stage_seconds=stages,
    )


def embed_input(article: Article, chunk: Chunk, prefix: str) -> tuple[str, list[tuple[int, int]]]:
    """The text the model sees for a chunk, and its sentences' spans within that text."""
    shift = len(prefix) - chunk.start
    return prefix + chunk.text, [(s + shift, e + shift) for s, e in chunk.sentences]


def chunk_corpus(
    articles: list[Article], settings: Settings, embedder: Embedder, report: Progress
) -> tuple[list[Chunk], list[str], list[list[tuple[int, int]]]]:
    """Chunks of every article, the text the model sees for each, and its sentence spans."""
    title_tokens = embedder.count_tokens([a.title for a in articles])
    chunks: list[Chunk] = []
    texts: list[str] = []
    spans: list[list[tuple[int, int]]] = []
    for i, (article, n_title) in enumerate(zip(articles, title_tokens, strict=True)):
        use_title = 0 < n_title <= TITLE_TOKENS_MAX
        prefix = f"{article.title}\n" if use_title else ""
        budget = settings.chunk_tokens - 2 - (n_title if use_title else 0)
        for chunk in chunk_article(
            article.id, article.text, embedder.count_tokens, budget, settings.chunk_overlap
        ):
            text, chunk_spans = embed_input(article, chunk, prefix)
            chunks.append(chunk)
            texts.append(text)
            spans.append(chunk_spans)
        if i % 100 == 0 or i == len(articles) - 1:
            report("chunking", i + 1, len(articles))
    return chunks, texts, spans
